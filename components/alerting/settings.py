"""Chat alerts' settings: Slack and Microsoft Teams channels that receive the alert topics through
Amazon Q Developer in chat applications (formerly AWS Chatbot), and what chat users may do there.

The id shapes are the Chatbot API's own (its service model: `SlackTeamId` `[0-9A-Z]{1,255}`,
`SlackChannelId` `[A-Za-z0-9]+`, Teams' `TeamId` and `TenantId` UUIDs, `TeamsChannelId` the
URL-encoded `19:...@thread...` form, so it holds `%3a` and `%40`), so a mistyped id fails here and not
halfway through `pulumi up`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from components.settings import Settings

ChatSeverity = Literal["critical", "warning"]

# Regions with the Chatbot API (its API reference, "Welcome"); configurations are account-wide, stored
# in each of them, whichever one creates them.
CHATBOT_REGIONS: tuple[str, ...] = ("us-east-2", "us-west-2", "eu-west-1", "ap-southeast-1")
ChatbotRegion = Literal["us-east-2", "us-west-2", "eu-west-1", "ap-southeast-1"]

# AWS-managed policies a channel's guardrails may name: read-only views of what this stack operates
# (alarms, metrics and logs; traces; releases). None reads table items or bucket objects, which the
# broad `ReadOnlyAccess` would; none changes anything, which `AdministratorAccess` (Chatbot's default
# when no guardrail is set) would.
GuardrailPolicy = Literal["CloudWatchReadOnlyAccess", "AWSXrayReadOnlyAccess", "AWSCodeDeployReadOnlyAccess"]

def _not_empty[Item](values: tuple[Item, ...]) -> tuple[Item, ...]:
    # An emptiness check after the items' own (a length bound would also report a list of bad items as empty).
    if not values:
        raise ValueError("list at least one")
    return values


# The schema still says what the check does (editors warn of an empty list).
NON_EMPTY = Field(json_schema_extra={"minItems": 1})
Severities = Annotated[tuple[ChatSeverity, ...], AfterValidator(_not_empty), NON_EMPTY]

UUID_PATTERN = r"^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$"


class SlackChannel(Settings):
    """A Slack channel that receives the alerts of some severities."""

    workspace_id: str = Field(pattern=r"^[0-9A-Z]{1,255}$")
    """The Slack workspace (team) id, authorised once in the Chatbot console, e.g. T07EA123LEP."""
    channel_id: str = Field(pattern=r"^[A-Za-z0-9]{1,255}$")
    """The channel id, the last part of the channel's link, e.g. C07EZ1ABC23. A private channel needs
    the app invited to it."""
    severities: Severities
    """Severities whose topics the channel subscribes to, e.g. [critical, warning]."""


class TeamsChannel(Settings):
    """A Microsoft Teams channel that receives the alerts of some severities."""

    team_id: str = Field(pattern=UUID_PATTERN)
    """The team's id (a UUID), copied from the Chatbot console once the team is onboarded."""
    tenant_id: str = Field(pattern=UUID_PATTERN)
    """The Microsoft Entra tenant's id (a UUID)."""
    channel_id: str = Field(pattern=r"^[A-Za-z0-9_=+/.,-]*%3[aA][A-Za-z0-9_=+/.,-]*%40[A-Za-z0-9_=+/.,-]*$",
                            max_length=255)
    """The channel's id as its link carries it, URL-encoded: 19%3a...%40thread.tacv2."""
    severities: Severities
    """Severities whose topics the channel subscribes to."""


class ChatConfig(Settings):
    """Alert topics delivered to chat channels by Amazon Q Developer in chat applications (AWS Chatbot);
    off until a channel is listed."""

    slack: list[SlackChannel] = Field(default_factory=list, max_length=20)
    """Slack channels, e.g. [{workspaceId: T07EA123LEP, channelId: C07EZ1ABC23, severities: [critical]}]."""
    teams: list[TeamsChannel] = Field(default_factory=list, max_length=20)
    """Microsoft Teams channels, e.g. [{teamId: <uuid>, tenantId: <uuid>, channelId: 19%3a...%40thread.tacv2,
    severities: [critical, warning]}]."""
    guardrail_policies: Annotated[tuple[GuardrailPolicy, ...], AfterValidator(_not_empty), NON_EMPTY] = (
        "CloudWatchReadOnlyAccess",
    )
    """AWS-managed policies that cap what anyone in the channel can do through it, whatever their role."""
    user_authorization_required: bool = False
    """Each chat user must choose an IAM role of their own before running anything from the channel
    (the prod profile turns it on); otherwise everyone acts with the channel role, which can read alarms only."""
    logging_level: Literal["ERROR", "INFO", "NONE"] = "ERROR"
    """What Chatbot logs to CloudWatch Logs about its deliveries: ERROR, INFO or NONE."""
    region: ChatbotRegion = "us-east-2"
    """Region whose Chatbot API manages the configurations (the API exists in four; the console's is
    us-east-2). The channels receive topics of every region."""

    @property
    def enabled(self) -> bool:
        return bool(self.slack or self.teams)

    def channels(self) -> list[tuple[str, int, SlackChannel | TeamsChannel]]:
        """Every channel as (config key, index in its list, channel)."""
        slack: list[tuple[str, int, SlackChannel | TeamsChannel]] = [("slack", i, c) for i, c in enumerate(self.slack)]
        return [*slack, *(("teams", i, c) for i, c in enumerate(self.teams))]

    @model_validator(mode="after")
    def _channels_are_distinct(self) -> ChatConfig:
        problems = []
        for key, channels in (("slack", [(c.workspace_id, c.channel_id) for c in self.slack]),
                              ("teams", [(c.team_id.lower(), c.channel_id) for c in self.teams])):
            repeated = sorted({channel for channel in channels if channels.count(channel) > 1})
            if repeated:
                # Chatbot refuses a second configuration of a channel in one account.
                problems.append(f"{key}: channel {repeated[0][1]} is listed twice; list its severities once")
        teams = [c.team_id.lower() for c in self.teams]
        if len(set(teams)) != len(teams):
            # The AWS provider finds a Teams configuration by its team id alone and fails when a team has
            # two (hashicorp/terraform-provider-aws#47039).
            problems.append("teams: one channel per team: the AWS provider cannot tell two channels of a team apart")
        for key, index, channel in self.channels():
            if len(set(channel.severities)) != len(channel.severities):
                problems.append(f"{key}[{index}].severities: duplicate severities in {list(channel.severities)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self
