"""`prodready:monitoring.chat`: channels by severity, ids of the Chatbot API's shapes, prod's user roles, and
mistakes named by key and stack before anything is registered."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.alerting import documents as routing
from components.config import ConfigError, load_stack_config
from tests.stack.chat_stack import CHANNELS, SLACK_PAGES, TEAM_ID, TEAMS_CHANNEL, TENANT_ID, monitoring_with_chat
from tools.plan.harness import stack_config


def _raw(stack: str, monitoring: dict[str, Any]) -> dict[str, Any]:
    raw, _ = stack_config(stack)
    return {**raw, "prodready:monitoring": monitoring}


def _problems(stack: str, **chat: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(stack, _raw(stack, monitoring_with_chat(stack, **chat)))
    assert f"stack '{stack}'" in str(caught.value)
    return caught.value.problems


def _channels(**changes: Any) -> dict[str, Any]:
    chat = copy.deepcopy(CHANNELS)
    chat.update(changes)
    return chat


def test_channels_load_with_the_profile_defaults() -> None:
    prod = load_stack_config("prod", _raw("prod", monitoring_with_chat("prod"))).monitoring.chat
    dev = load_stack_config("dev", _raw("dev", monitoring_with_chat("dev"))).monitoring.chat
    assert prod.enabled and [c.channel_id for c in prod.slack] == [SLACK_PAGES, "C07EZ1XYZ99"]
    assert (prod.teams[0].team_id, prod.teams[0].tenant_id, prod.teams[0].channel_id) == (TEAM_ID, TENANT_ID,
                                                                                          TEAMS_CHANNEL)
    assert prod.user_authorization_required and not dev.user_authorization_required
    for chat in (prod, dev):
        assert chat.guardrail_policies == ("CloudWatchReadOnlyAccess",)
        assert chat.logging_level == "ERROR" and chat.region == "us-east-2"


@pytest.mark.parametrize("channel, key, shown", [
    ({"workspaceId": "t07ea123lep"}, "prodready:monitoring.chat.slack[0].workspaceId", "t07ea123lep"),
    ({"channelId": "#alerts"}, "prodready:monitoring.chat.slack[0].channelId", "#alerts"),
    ({"severities": []}, "prodready:monitoring.chat.slack[0].severities", "[]"),
    ({"severities": ["info"]}, "prodready:monitoring.chat.slack[0].severities[0]", "info"),
    ({"workspace": "T07EA123LEP"}, "prodready:monitoring.chat.slack[0].workspace", "T07EA123LEP"),
])
def test_a_bad_slack_channel_is_named_by_key(channel: dict[str, Any], key: str, shown: str) -> None:
    slack = [{**CHANNELS["slack"][0], **channel}]
    (problem,) = _problems("dev", **_channels(slack=slack, teams=[]))
    assert problem.startswith(key) and shown in problem, problem


@pytest.mark.parametrize("channel, key", [
    ({"teamId": "my-team"}, "teamId"),
    ({"tenantId": "0f3c6b2a11114a5e9b7c2d3e4f5a6b7c"}, "tenantId"),
    # The channel id as Teams shows it, not URL-encoded as its link carries it.
    ({"channelId": "19:0123456789abcdef@thread.tacv2"}, "channelId"),
])
def test_a_bad_teams_channel_is_named_by_key(channel: dict[str, Any], key: str) -> None:
    teams = [{**CHANNELS["teams"][0], **channel}]
    (problem,) = _problems("dev", **_channels(teams=teams))
    assert problem.startswith(f"prodready:monitoring.chat.teams[0].{key}"), problem


def test_a_channel_listed_twice_is_refused() -> None:
    slack = [CHANNELS["slack"][0], {**CHANNELS["slack"][0], "severities": ["warning"]}]
    (problem,) = _problems("dev", **_channels(slack=slack))
    assert problem.startswith("prodready:monitoring.chat") and f"channel {SLACK_PAGES} is listed twice" in problem


def test_two_channels_of_one_team_are_refused() -> None:
    other = {**CHANNELS["teams"][0], "channelId": "19%3aother%40thread.tacv2"}
    (problem,) = _problems("dev", **_channels(teams=[CHANNELS["teams"][0], other]))
    assert "one channel per team" in problem


def test_duplicate_severities_are_refused() -> None:
    slack = [{**CHANNELS["slack"][0], "severities": ["critical", "critical"]}]
    (problem,) = _problems("dev", **_channels(slack=slack))
    assert "slack[0].severities: duplicate severities" in problem


@pytest.mark.parametrize("guardrails", [["AdministratorAccess"], ["ReadOnlyAccess"], []])
def test_guardrails_are_read_only_policies_of_the_list(guardrails: list[str]) -> None:
    (problem,) = _problems("dev", **_channels(guardrailPolicies=guardrails))
    assert problem.startswith("prodready:monitoring.chat.guardrailPolicies"), problem


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1"])
def test_the_configurations_region_must_have_the_chatbot_api(region: str) -> None:
    (problem,) = _problems("dev", **_channels(region=region))
    assert problem.startswith("prodready:monitoring.chat.region") and "us-east-2" in problem


def test_prod_refuses_channels_where_everyone_acts_with_the_channel_role() -> None:
    (problem,) = _problems("prod", **_channels(userAuthorizationRequired=False))
    assert "monitoring.chat.userAuthorizationRequired: must be true in a prod stack" in problem
    # Without channels there is nothing to protect.
    raw = _raw("prod", monitoring_with_chat("prod", slack=[], teams=[], userAuthorizationRequired=False))
    assert not load_stack_config("prod", raw).monitoring.chat.enabled


def test_a_chat_channel_is_a_subscriber_of_its_severity() -> None:
    monitoring = monitoring_with_chat("dev", slack=[{**CHANNELS["slack"][0], "severities": ["warning"]}])
    monitoring["alertEmails"] = {"critical": ["oncall@example.com"]}
    assert load_stack_config("dev", _raw("dev", monitoring)).monitoring.chat.enabled
    monitoring["alertEmails"] = {}
    with pytest.raises(ConfigError, match="no subscriber for critical"):
        load_stack_config("dev", _raw("dev", monitoring))


def test_configuration_names_fit_the_api_and_name_the_stack() -> None:
    import re

    for channel in (SLACK_PAGES, TEAMS_CHANNEL, "x" * 300):
        name = routing.chat_configuration_name("catalog-prod", "teams", channel)
        assert re.fullmatch(r"[A-Za-z0-9-_]{1,128}", name) and name.startswith("catalog-prod-teams-")
    assert routing.chat_logical_suffix(TEAMS_CHANNEL) == "19-3a0123456789abcdef0123456789abcdef-40thread-tacv2"
