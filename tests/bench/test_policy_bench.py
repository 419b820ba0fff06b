"""Policy pack benchmarks over the Analyzer gRPC service, on synthetic stacks of 1,000 and 10,000 resources.

`make bench` runs the timed ones; the numbers go in the notes (`python -m tools.bench_policy` prints the
2,500 / 5,000 / 10,000 table with the growth ratios, the pack's memory and each stack rule's time). The
normal test run skips the timed tests but runs the benchmark's smallest stack through the pack, so a
benchmark whose stack no longer satisfies the pack fails there. Timings are never asserted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from tools.bench_policy import (
    CONFIG,
    SMOKE_SIZE,
    STACK,
    main,
    process_cpu_seconds,
    stack_rules,
    stack_rules_seconds,
    synthetic_plan,
)
from tools.plan.harness import Plan
from tools.plan.policy import (
    PolicyPackProcess,
    analyze_requests,
    analyze_stack_request,
    parse_policy_config,
    reconcile_config,
)

SIZES = (1_000, 10_000)


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyPackProcess]:
    with PolicyPackProcess(stack=STACK, dry_run=False) as process:
        process.configure(reconcile_config(process.info(), parse_policy_config(CONFIG)))
        yield process


@pytest.fixture(scope="module")
def plans() -> dict[int, Plan]:
    return {}


def _plan(plans: dict[int, Plan], size: int) -> Plan:
    if size not in plans:
        plans[size] = synthetic_plan(size)
    return plans[size]


def _diagnostics(pack: PolicyPackProcess, plan: Plan) -> list[tuple[str, str]]:
    found = [(d.policyName, request.urn) for request in analyze_requests(plan)
             for d in pack.analyze(request).diagnostics]
    found += [(d.policyName, d.urn) for d in pack.analyze_stack(analyze_stack_request(plan)).diagnostics]
    return found


# -- the smallest size, in every test run ------------------------------------------------------------


def test_the_benchmark_stack_satisfies_every_policy(pack: PolicyPackProcess):
    plan = synthetic_plan(SMOKE_SIZE)
    assert len(plan.resources) == SMOKE_SIZE
    assert _diagnostics(pack, plan) == []


def test_the_pack_flags_a_broken_benchmark_stack(pack: PolicyPackProcess):
    """The stack is checked for real: one unencrypted log group and one unthrottled route are found."""
    plan = synthetic_plan(SMOKE_SIZE)
    resources = []
    for resource in plan.resources:
        if resource.name == "logs-1":
            outputs = {k: v for k, v in resource.outputs.items() if k != "kmsKeyId"}
            inputs = {k: v for k, v in resource.inputs.items() if k != "kmsKeyId"}
            resource = dataclasses.replace(resource, inputs=inputs, outputs=outputs)
        elif resource.name == "route-2":
            outputs = {**resource.outputs, "apiId": "another-api"}
            resource = dataclasses.replace(resource, outputs=outputs, property_dependencies={})
        resources.append(resource)
    broken = dataclasses.replace(plan, resources=resources)
    found = sorted((policy, urn.rsplit("::", 1)[-1]) for policy, urn in _diagnostics(pack, broken))
    assert found == [("api-route-throttling", "route-2"), ("log-group-encryption", "logs-1")]


def test_every_stack_rule_of_the_pack_is_timed(pack: PolicyPackProcess):
    timed = stack_rules_seconds(synthetic_plan(SMOKE_SIZE), repeats=1)
    assert list(timed) == [p.name for p in pack.info().policies if p.stack_policy]
    assert list(timed) == [p.name for p in stack_rules()]


def test_the_benchmark_tool_runs_clean_at_its_smallest_size(capsys: pytest.CaptureFixture[str]):
    assert main(["--sizes", str(SMOKE_SIZE)]) == 0
    printed = capsys.readouterr().out
    assert f"stack rules on {SMOKE_SIZE} resources:" in printed and "lambda-safe-deployment" in printed


# -- timed, `make bench` ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_analyze_stack(benchmark, pack: PolicyPackProcess, plans: dict[int, Plan], size: int):
    plan = _plan(plans, size)
    request = analyze_stack_request(plan)
    cpu_before = process_cpu_seconds(pack.process.pid)
    response = benchmark.pedantic(pack.analyze_stack, args=(request,), rounds=3, iterations=1)
    cpu_after = process_cpu_seconds(pack.process.pid)
    benchmark.extra_info["resources"] = len(plan.resources)
    benchmark.extra_info["per_resource_ms"] = 1000 * benchmark.stats.stats.min / len(plan.resources)
    if cpu_before is not None and cpu_after is not None:
        # The pack's own CPU per call (mean of the rounds): what a busy machine does not inflate.
        benchmark.extra_info["pack_cpu_s"] = round((cpu_after - cpu_before) / 3, 3)
    assert list(response.diagnostics) == []


@pytest.mark.parametrize("type_", ["aws:lambda/function:Function", "aws:cloudwatch/metricAlarm:MetricAlarm",
                                   "aws:iam/rolePolicy:RolePolicy", "aws:apigatewayv2/route:Route"])
def test_analyze_one_resource(benchmark, pack: PolicyPackProcess, plans: dict[int, Plan], type_: str):
    request = next(r for r in analyze_requests(_plan(plans, SIZES[0])) if r.type == type_)
    response = benchmark(pack.analyze, request)
    assert list(response.diagnostics) == []


@pytest.mark.parametrize("size", SIZES)
def test_analyze_every_resource(benchmark, pack: PolicyPackProcess, plans: dict[int, Plan], size: int):
    requests = list(analyze_requests(_plan(plans, size)))

    def analyze_all() -> int:
        return sum(len(pack.analyze(request).diagnostics) for request in requests)

    assert benchmark.pedantic(analyze_all, rounds=1, iterations=1) == 0
    benchmark.extra_info["per_resource_ms"] = 1000 * benchmark.stats.stats.mean / len(requests)


def test_stack_rules_growth(benchmark):
    """The pack's stack rules alone at 2,500 / 5,000 / 10,000 resources: the growth ratios, per rule."""
    plans = [synthetic_plan(size) for size in (2_500, 5_000, 10_000)]
    times = benchmark.pedantic(lambda: [stack_rules_seconds(p) for p in plans], rounds=1, iterations=1)
    totals = [sum(t.values()) for t in times]
    benchmark.extra_info.update(
        seconds=[round(t, 4) for t in totals],
        ratio_5k=round(totals[1] / totals[0], 2),
        ratio_10k=round(totals[2] / totals[1], 2),
        per_rule_ratio_10k={name: round(times[2][name] / times[1][name], 2) for name in times[2]},
    )
