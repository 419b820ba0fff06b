"""The policy pack over the analyzer interface on a planned prod stack with chat channels: quiet as planned,
and firing once a channel loses its guardrails (Chatbot would apply AdministratorAccess) or gets an admin one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.policy.builders import mutate
from tests.policy.conftest import only
from tests.stack.chat_stack import with_chat
from tools.plan.harness import Plan, PlannedResource, run_plan
from tools.plan.policy import PolicyReport

SLACK_CONFIGURATION = "::catalog-chat-slack-c07ez1abc23"


@pytest.fixture(scope="module")
def chat_plan() -> Plan:
    return run_plan("prod", config_overrides=with_chat("prod"))


def test_the_planned_channels_pass_the_whole_pack(chat_plan: Plan, analyze: Callable[..., PolicyReport]) -> None:
    assert analyze(chat_plan).violations == []


@pytest.mark.parametrize("guardrails, expected", [
    (None, "sets no guardrailPolicyArns"),
    (["arn:aws:iam::aws:policy/AdministratorAccess"], "has guardrail arn:aws:iam::aws:policy/AdministratorAccess"),
])
def test_a_channel_without_read_only_guardrails_is_refused(chat_plan: Plan, analyze: Callable[..., PolicyReport],
                                                           guardrails: list[str] | None, expected: str) -> None:
    def loosen(channel: PlannedResource) -> None:
        for props in (channel.inputs, channel.outputs):
            if guardrails is None:
                props.pop("guardrailPolicyArns", None)
            else:
                props["guardrailPolicyArns"] = guardrails

    (violation,) = only(analyze(mutate(chat_plan, SLACK_CONFIGURATION, loosen)), "iam-no-wildcards")
    assert violation.urn.endswith(SLACK_CONFIGURATION) and expected in violation.message


def test_a_severity_reaching_only_a_chat_channel_is_subscribed(analyze: Callable[..., PolicyReport]) -> None:
    overrides = with_chat("dev", slack=[{"workspaceId": "T07EA123LEP", "channelId": "C07EZ1ABC23",
                                         "severities": ["critical"]}])
    overrides["prodready:monitoring"]["alertEmails"] = {"warning": ["platform-team@example.com"]}
    plan = run_plan("dev", config_overrides=overrides)
    critical = [t for t in plan.of_type("aws:sns/topic:Topic") if t.inputs["name"] == "catalog-dev-alerts-critical"]
    assert critical and not [s for s in plan.of_type("aws:sns/topicSubscription:TopicSubscription")
                             if s.inputs["topic"] == critical[0].outputs["arn"]]
    assert only(analyze(plan), "alert-topic-subscription") == []
    assert analyze(plan).violations == []
