"""The policy pack's identity and the full list of its policies, in report order."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from prodready_policy import access, alarms, delivery, resilience, retention, security, tagging

PACK_NAME = "prodready-guard"
# Every violation stops the deployment unless a stack's policy config lowers a policy's level.
ENFORCEMENT_LEVEL = EnforcementLevel.MANDATORY
# Young-generation collections every 100,000 allocations instead of 700: a stack analysis allocates
# millions of short-lived objects while keeping the whole deserialised stack alive, and each
# collection of the older generations walks all of it. Measured with tools/bench_policy.py; memory
# stays bounded because the objects die together when the call returns.
GC_THRESHOLDS = (100_000, 20, 100)


def all_policies() -> list[Policy]:
    return [
        *tagging.policies(),
        *retention.policies(),
        *alarms.policies(),
        *security.policies(),
        *access.policies(),
        *delivery.policies(),
        *resilience.policies(),
    ]
