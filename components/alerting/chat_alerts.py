"""Chat alerts: Slack and Microsoft Teams channels subscribed to the alert topics of their severities,
through Amazon Q Developer in chat applications (formerly AWS Chatbot)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alerting import documents as routing
from components.alerting.settings import ChatConfig
from components.iam import assume_role_policy
from components.types import CHAT_ALERTS


@dataclass(frozen=True)
class ChatAlertsArgs:
    name_prefix: str
    """Prefix of every physical name, `<service>-<stack>`."""
    config: ChatConfig
    """The stack's chat channels and what their users may do."""
    topic_arns: Mapping[str, Sequence[pulumi.Input[str]]]
    """Alert topics per severity, of any region (the service's; the edge's and the billing alarm's in us-east-1)."""


class ChatAlerts(pulumi.ComponentResource):
    """One configuration per channel, subscribed to every topic of its severities, sharing one channel role.

    The channel role reads alarms and their graphs and nothing else. The guardrails cap what a chat user
    can do through the channel whatever role they choose, and with userAuthorizationRequired each user
    must choose one of their own. The topics need nothing more: SNS decrypts a message before delivering
    it, so Chatbot never uses the topics' key; their key policies already let the publishers encrypt.
    """

    configuration_arns: dict[str, pulumi.Output[str]]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ChatAlertsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(CHAT_ALERTS, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.config
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        partition = identity.arn.apply(routing.partition_of)

        role = aws.iam.Role(
            f"{name}-role",
            description=f"Amazon Q Developer in chat applications posts the alerts of {args.name_prefix}",
            # Chatbot documents no source condition for its channel roles (its console creates them
            # without one); the role can read alarms only.
            assume_role_policy=pulumi.Output.json_dumps(assume_role_policy(routing.CHATBOT_PRINCIPAL)),
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(routing.chat_role_policy()),
            opts=child,
        )
        guardrails = partition.apply(lambda p: routing.guardrail_arns(p, config.guardrail_policies))
        # The configuration waits for the role's policy: its first notification needs it.
        after_policy = pulumi.ResourceOptions(parent=self, depends_on=[role_policy])

        def topics(severities: Sequence[str]) -> list[pulumi.Input[str]]:
            return [arn for severity in severities for arn in args.topic_arns.get(severity, ())]

        self.configuration_arns = {}
        for slack in config.slack:
            suffix = routing.chat_logical_suffix(slack.channel_id)
            configuration = aws.chatbot.SlackChannelConfiguration(
                f"{name}-slack-{suffix}",
                configuration_name=routing.chat_configuration_name(args.name_prefix, "slack", slack.channel_id),
                iam_role_arn=role.arn,
                slack_team_id=slack.workspace_id,
                slack_channel_id=slack.channel_id,
                sns_topic_arns=topics(slack.severities),
                guardrail_policy_arns=guardrails,
                user_authorization_required=config.user_authorization_required,
                logging_level=config.logging_level,
                region=config.region,
                opts=after_policy,
            )
            self.configuration_arns[f"slack/{slack.channel_id}"] = configuration.chat_configuration_arn
        for teams in config.teams:
            suffix = routing.chat_logical_suffix(teams.channel_id)
            teams_configuration = aws.chatbot.TeamsChannelConfiguration(
                f"{name}-teams-{suffix}",
                configuration_name=routing.chat_configuration_name(args.name_prefix, "teams", teams.channel_id),
                iam_role_arn=role.arn,
                team_id=teams.team_id,
                tenant_id=teams.tenant_id,
                channel_id=teams.channel_id,
                sns_topic_arns=topics(teams.severities),
                guardrail_policy_arns=guardrails,
                user_authorization_required=config.user_authorization_required,
                logging_level=config.logging_level,
                region=config.region,
                opts=after_policy,
            )
            self.configuration_arns[f"teams/{teams.channel_id}"] = teams_configuration.chat_configuration_arn

        self.role_arn = role.arn
        self.register_outputs({"configurationArns": self.configuration_arns, "roleArn": self.role_arn})
