"""ChatAlerts under Pulumi's mocks, on prod (and dev) with chat channels: which topics each channel gets,
the channel role, the guardrails, and that nothing is created without channels."""

from __future__ import annotations

import json

import pytest

from components.alerting import documents as routing
from tests.conftest import COMMITTED_STACKS
from tests.grants import grants, wildcard_findings
from tests.stack.chat_stack import SLACK_ALL, SLACK_PAGES, TEAM_ID, TEAMS_CHANNEL, TENANT_ID, with_chat
from tests.stack.edge_stack import with_front
from tools.plan.cost import estimate
from tools.plan.harness import Plan, PlannedResource, committed_config, run_plan
from tools.plan.mocks import ACCOUNT_ID

CHAT = "prodready:chat_alerts:ChatAlerts"
SLACK = "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration"
TEAMS = "aws:chatbot/teamsChannelConfiguration:TeamsChannelConfiguration"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
READ_ONLY_GUARDRAIL = "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"


@pytest.fixture(scope="module")
def prod_chat() -> Plan:
    return run_plan("prod", config_overrides=with_chat("prod"))


@pytest.fixture(scope="module")
def dev_chat() -> Plan:
    return run_plan("dev", config_overrides=with_chat("dev"))


def _topic(stack: str, severity: str, region: str = "eu-west-1", of: str = "") -> str:
    """A topic's ARN: the service's, or `of` the edge's or the billing alarm's."""
    name = routing.topic_name(f"catalog-{stack}{f'-{of}' if of else ''}", severity)
    return f"arn:aws:sns:{region}:{ACCOUNT_ID}:{name}"


def _billing(stack: str) -> list[str]:
    """The billing alarm's us-east-1 topic, in the stacks that own the account's billing alarm (prod)."""
    return [_topic(stack, "warning", "us-east-1", of="billing")] if committed_config(stack).cost.billing_alarm else []


def _configurations(plan: Plan) -> dict[str, PlannedResource]:
    slack = {str(c.inputs["slackChannelId"]): c for c in plan.of_type(SLACK)}
    return {**slack, **{str(c.inputs["channelId"]): c for c in plan.of_type(TEAMS)}}


def _role(plan: Plan) -> PlannedResource:
    (component,) = plan.of_type(CHAT)
    (role,) = [r for r in plan.children(component.urn) if r.type == ROLE]
    return role


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_committed_stacks_list_no_channels_and_create_nothing(plans: dict[str, Plan], stack: str) -> None:
    assert not committed_config(stack).monitoring.chat.enabled
    plan = plans[stack]
    assert plan.of_type(CHAT) == [] and plan.of_type(SLACK) == [] and plan.of_type(TEAMS) == []
    assert not any(r.type == ROLE and "chatbot.amazonaws.com" in str(r.inputs.get("assumeRolePolicy"))
                   for r in plan.resources)


@pytest.mark.parametrize("fixture, stack", [("prod_chat", "prod"), ("dev_chat", "dev")])
def test_each_channel_subscribes_the_topics_of_its_severities(request: pytest.FixtureRequest, fixture: str,
                                                              stack: str) -> None:
    plan: Plan = request.getfixturevalue(fixture)
    channels = _configurations(plan)
    assert set(channels) == {SLACK_PAGES, SLACK_ALL, TEAMS_CHANNEL}
    assert channels[SLACK_PAGES].inputs["snsTopicArns"] == [_topic(stack, "critical")]
    assert channels[SLACK_ALL].inputs["snsTopicArns"] == [_topic(stack, "critical"), _topic(stack, "warning"),
                                                         *_billing(stack)]
    assert channels[TEAMS_CHANNEL].inputs["snsTopicArns"] == [_topic(stack, "warning"), *_billing(stack)]
    # The subscribed ARNs are the topics the stack creates, not guesses of their names.
    topics = {t.outputs["arn"] for t in plan.of_type("aws:sns/topic:Topic")}
    assert {arn for c in channels.values() for arn in c.inputs["snsTopicArns"]} <= topics
    teams = channels[TEAMS_CHANNEL].inputs
    assert (teams["teamId"], teams["tenantId"]) == (TEAM_ID, TENANT_ID)
    for channel in channels.values():
        # The Chatbot API lives in four regions only; configurations are named by stack and channel.
        assert channel.inputs["region"] == "us-east-2"
        assert channel.inputs["configurationName"].startswith(f"catalog-{stack}-")
        assert channel.outputs["chatConfigurationArn"].startswith(f"arn:aws:chatbot::{ACCOUNT_ID}:chat-configuration/")
        assert channel.inputs["loggingLevel"] == "ERROR"
        assert channel.outputs["tagsAll"]["Environment"] == stack


def test_channels_of_a_front_also_get_its_us_east_1_topics() -> None:
    plan = run_plan("prod", config_overrides={**with_front("prod"), **with_chat("prod")})
    channels = _configurations(plan)
    assert channels[SLACK_PAGES].inputs["snsTopicArns"] == [
        _topic("prod", "critical"), _topic("prod", "critical", "us-east-1", of="edge")]
    assert channels[TEAMS_CHANNEL].inputs["snsTopicArns"] == [
        _topic("prod", "warning"), _topic("prod", "warning", "us-east-1", of="edge"), *_billing("prod")]


def test_prod_channels_require_each_user_to_bring_a_role_dev_channels_do_not(prod_chat: Plan, dev_chat: Plan) -> None:
    assert all(c.inputs["userAuthorizationRequired"] is True for c in _configurations(prod_chat).values())
    assert all(c.inputs["userAuthorizationRequired"] is False for c in _configurations(dev_chat).values())


def test_guardrails_are_read_only_and_never_left_to_the_admin_default(prod_chat: Plan) -> None:
    for channel in _configurations(prod_chat).values():
        assert channel.inputs["guardrailPolicyArns"] == [READ_ONLY_GUARDRAIL]


def test_the_channel_role_only_reads_alarms_and_trusts_chatbot_alone(prod_chat: Plan) -> None:
    role = _role(prod_chat)
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (trusted,) = grants(trust)
    assert trusted.principal == "Service:chatbot.amazonaws.com" and trusted.actions == {"sts:AssumeRole"}
    # One inline policy, no managed policy attached: the notification reads and nothing else.
    policies = [r for r in prod_chat.of_type(ROLE_POLICY) if r.inputs["role"] == role.outputs["name"]]
    (policy,) = policies
    document = json.loads(policy.inputs["policy"])
    (statement,) = document["Statement"]
    assert statement["Effect"] == "Allow" and set(statement) == {"Sid", "Effect", "Action", "Resource"}
    assert set(statement["Action"]) == set(routing.NOTIFICATION_ACTIONS) and statement["Resource"] == "*"
    # Reads of AWS's notification template (cloudwatch:Describe*, Get*), never a write or another service.
    assert all(action.startswith(("cloudwatch:Describe", "cloudwatch:Get")) for action in statement["Action"])
    assert wildcard_findings(document) == []
    attachments = [a for a in prod_chat.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                   if a.inputs.get("role") == role.outputs["name"]]
    assert attachments == []
    for channel in _configurations(prod_chat).values():
        assert channel.inputs["iamRoleArn"] == role.outputs["arn"]


def test_the_topics_keys_are_left_as_they_are(plans: dict[str, Plan], prod_chat: Plan) -> None:
    # SNS decrypts before delivering, so Chatbot never uses the alert key: no statement for it.
    def key_policies(plan: Plan) -> list[str]:
        return sorted(k.inputs["policy"] for k in plan.of_type("aws:kms/key:Key") if "alerts" in str(k.inputs))

    assert key_policies(prod_chat) == key_policies(plans["prod"])
    assert all("chatbot" not in policy for policy in key_policies(prod_chat))


def test_the_estimate_lists_the_channels_at_no_cost(prod_chat: Plan) -> None:
    config = committed_config("prod")
    lines = [line for line in estimate(prod_chat, config.traffic).lines if line.item.startswith("Chat channels")]
    (line,) = lines
    assert (line.quantity_at_rest, line.quantity_at_traffic, line.unit_price) == (3, 3, 0.0)
    assert line.region == "eu-west-1" and line.at_traffic == 0.0
