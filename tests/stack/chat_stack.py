"""A test-only stack config with chat channels: the committed stack file plus `monitoring.chat`. The
committed stacks list none, since a real `pulumi up` needs a Slack workspace or Teams team authorised in
the account; these overrides are planned offline through the harness."""

from __future__ import annotations

import json
from typing import Any

from tools.plan.harness import stack_config

SLACK_WORKSPACE = "T07EA123LEP"
SLACK_PAGES = "C07EZ1ABC23"
SLACK_ALL = "C07EZ1XYZ99"
TEAM_ID = "74361522-da01-438d-aa2e-ac7918c6bb92"
TENANT_ID = "0f3c6b2a-1111-4a5e-9b7c-2d3e4f5a6b7c"
TEAMS_CHANNEL = "19%3a0123456789abcdef0123456789abcdef%40thread.tacv2"

# Pages to one Slack channel, everything to another and to Teams.
CHANNELS: dict[str, Any] = {
    "slack": [
        {"workspaceId": SLACK_WORKSPACE, "channelId": SLACK_PAGES, "severities": ["critical"]},
        {"workspaceId": SLACK_WORKSPACE, "channelId": SLACK_ALL, "severities": ["critical", "warning"]},
    ],
    "teams": [
        {"teamId": TEAM_ID, "tenantId": TENANT_ID, "channelId": TEAMS_CHANNEL, "severities": ["warning"]},
    ],
}


def monitoring_with_chat(stack: str = "prod", **chat: Any) -> dict[str, Any]:
    """The stack file's `monitoring` with `chat` set (CHANNELS unless `chat` says otherwise)."""
    raw, _ = stack_config(stack)
    monitoring = json.loads(raw["prodready:monitoring"])
    monitoring["chat"] = chat or CHANNELS
    return monitoring


def with_chat(stack: str = "prod", **chat: Any) -> dict[str, Any]:
    """Raw config overrides: the stack's `monitoring` with chat channels."""
    return {"prodready:monitoring": monitoring_with_chat(stack, **chat)}
