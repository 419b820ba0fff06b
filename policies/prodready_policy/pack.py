"""The policy pack's identity and the full list of its policies, in report order."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from prodready_policy import access, alarms, delivery, edge, resilience, retention, security, tagging

PACK_NAME = "prodready-guard"
# Every violation stops the deployment unless a stack's policy config lowers a policy's level.
ENFORCEMENT_LEVEL = EnforcementLevel.MANDATORY
# Young-generation collections every 1,000,000 allocations, middle-generation ones every 100 of
# those. For each stack policy the SDK deserialises the whole stack into a tree of dicts, lists and
# proxies that stays alive for the policy's call: at 10,000 resources a few million objects that
# survive the young generation, which every middle- or old-generation collection then walks. With
# (100_000, 20, 100) such collections still ran within each call, more of them the larger the stack
# (AnalyzeStack 0.35 ms per resource at 1,000 resources, 0.46 at 10,000); with these thresholds they
# do not (0.34 and 0.39, as with the collector disabled), and peak memory is the same (240 MB at
# 10,000): the trees are acyclic and freed by reference counting when each policy returns, so the
# collector has next to nothing to find. Measured with tools/bench_policy.py.
GC_THRESHOLDS = (1_000_000, 100, 100)


def all_policies() -> list[Policy]:
    return [
        *tagging.policies(),
        *retention.policies(),
        *alarms.policies(),
        *security.policies(),
        *access.policies(),
        *delivery.policies(),
        *edge.policies(),
        *resilience.policies(),
    ]
