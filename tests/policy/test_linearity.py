"""Each stack rule's work grows linearly with the stack: 4x the resources may not cost anything near 16x.

Work is counted, not timed (a shared machine makes time ratios flaky, and tests never assert time):
every attribute a rule reads from a resource view is one step. A rule that indexes the stack once
reads each resource a bounded number of times; one that scans the stack for every resource of some
type reads it that many times over. The two stacks are 8x apart: a scan of a part of the stack that
grows with it (every alias named `live`, for each integration) adds little on small stacks, so a
narrower spread let one pass at 4x (5.2x reads) that read 38x as much at 16x the resources. The
benchmark (`python -m tools.bench_policy`) has the times.
"""

from __future__ import annotations

from typing import Any

import pytest
from prodready_policy.values import ResourceView

from tools.bench_policy import CONFIG, stack_rules, synthetic_plan
from tools.plan.harness import Plan
from tools.plan.policy import parse_policy_config

SMALL, LARGE = 500, 4_000


class _CountingView(ResourceView):
    reads = 0

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_"):
            _CountingView.reads += 1
        return super().__getattribute__(name)


def _reads(plan: Plan, policy: Any) -> int:
    views = [_CountingView(r.urn, r.type, r.name, r.outputs, r.dependencies, r.property_dependencies, parent=r.parent)
             for r in plan.resources]
    config = policy.spec.effective_config(parse_policy_config(CONFIG).get(policy.name, {}).get("properties"))
    _CountingView.reads = 0
    assert list(policy.check(views, config)) == []
    return _CountingView.reads


@pytest.fixture(scope="module")
def plans() -> tuple[Plan, Plan]:
    small, large = synthetic_plan(SMALL), synthetic_plan(LARGE)
    assert len(large.resources) >= 7.9 * len(small.resources)
    return small, large


@pytest.mark.parametrize("policy", stack_rules(), ids=lambda p: p.name)
def test_stack_rule_reads_each_resource_a_bounded_number_of_times(plans: tuple[Plan, Plan], policy: Any):
    small, large = plans
    ratio = _reads(large, policy) / max(1, _reads(small, policy))
    # Linear is ~8x; a scan of the stack per resource of some type is ~64x.
    assert ratio < 10, f"{policy.name} read resources {ratio:.1f}x as often on 8x the resources"


def test_counting_catches_a_rule_that_scans_the_stack_per_resource(plans: tuple[Plan, Plan]):
    class Quadratic:
        name = "quadratic"
        spec = stack_rules()[0].spec

        @staticmethod
        def check(resources: list[ResourceView], config: Any) -> list[tuple[str, str]]:
            for alarm in resources:
                if alarm.type == "aws:cloudwatch/metricAlarm:MetricAlarm":
                    _ = [r for r in resources if r.urn in alarm.dependencies]
            return []

    small, large = plans
    assert _reads(large, Quadratic) / _reads(small, Quadratic) > 40
