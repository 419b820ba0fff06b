"""Policy pack benchmarks over the Analyzer gRPC service, on a synthetic stack of 10,000 resources.

`make bench` runs them; the numbers go in the notes (`python -m tools.bench_policy` prints the
2,500 / 5,000 / 10,000 table with the growth ratios).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tools.bench_policy import CONFIG, STACK, stack_rules_seconds, synthetic_plan
from tools.plan.harness import Plan
from tools.plan.policy import (
    PolicyPackProcess,
    analyze_requests,
    analyze_stack_request,
    parse_policy_config,
    reconcile_config,
)

SIZE = 10_000


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyPackProcess]:
    with PolicyPackProcess(stack=STACK, dry_run=False) as process:
        process.configure(reconcile_config(process.info(), parse_policy_config(CONFIG)))
        yield process


@pytest.fixture(scope="module")
def plan() -> Plan:
    return synthetic_plan(SIZE)


def test_analyze_stack_10k(benchmark, pack: PolicyPackProcess, plan: Plan):
    request = analyze_stack_request(plan)
    response = benchmark.pedantic(pack.analyze_stack, args=(request,), rounds=3, iterations=1)
    benchmark.extra_info["resources"] = len(plan.resources)
    assert list(response.diagnostics) == []


@pytest.mark.parametrize("type_", ["aws:lambda/function:Function", "aws:cloudwatch/metricAlarm:MetricAlarm",
                                   "aws:iam/rolePolicy:RolePolicy"])
def test_analyze_one_resource(benchmark, pack: PolicyPackProcess, plan: Plan, type_: str):
    request = next(r for r in analyze_requests(plan) if r.type == type_)
    response = benchmark(pack.analyze, request)
    assert list(response.diagnostics) == []


def test_analyze_every_resource_10k(benchmark, pack: PolicyPackProcess, plan: Plan):
    requests = list(analyze_requests(plan))

    def analyze_all() -> int:
        return sum(len(pack.analyze(request).diagnostics) for request in requests)

    assert benchmark.pedantic(analyze_all, rounds=1, iterations=1) == 0
    benchmark.extra_info["per_resource_ms"] = 1000 * benchmark.stats.stats.mean / len(requests)


def test_stack_rules_growth(benchmark):
    """The pack's stack rules alone at 2,500 / 5,000 / 10,000 resources: the growth ratios."""
    plans = [synthetic_plan(size) for size in (2_500, 5_000, 10_000)]
    times = benchmark.pedantic(lambda: [stack_rules_seconds(p) for p in plans], rounds=1, iterations=1)
    benchmark.extra_info.update(
        seconds=[round(t, 4) for t in times],
        ratio_5k=round(times[1] / times[0], 2),
        ratio_10k=round(times[2] / times[1], 2),
    )
