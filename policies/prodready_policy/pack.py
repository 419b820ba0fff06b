"""The policy pack's identity and the full list of its policies, in report order."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from prodready_policy import alarms, retention, security, tagging

PACK_NAME = "prodready-guard"
# Every violation stops the deployment unless a stack's policy config lowers a policy's level.
ENFORCEMENT_LEVEL = EnforcementLevel.MANDATORY


def all_policies() -> list[Policy]:
    return [
        *tagging.policies(),
        *retention.policies(),
        *alarms.policies(),
        *security.policies(),
    ]
