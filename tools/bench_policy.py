"""`python -m tools.bench_policy`: time the policy pack on synthetic stacks, through the Analyzer gRPC service.

A synthetic stack repeats a unit of ten resources, each a correct, fully monitored slice of a real
stack: a Lambda function, its log group and role policy, a DynamoDB table, and six metric alarms
(three on the function, three on the table, half of them metric-math) routed to one encrypted,
subscribed topic. The pack must find nothing in it; the numbers show how `Analyze` (per resource)
and `AnalyzeStack` (whole stack) scale. The stack policies index the stack once, so doubling the
resources should roughly double `AnalyzeStack`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tools.plan.harness import Plan, PlannedResource
from tools.plan.policy import (
    POLICY_PACK_DIR,
    PolicyPackProcess,
    analyze_requests,
    analyze_stack_request,
    parse_policy_config,
    reconcile_config,
)

ACCOUNT = "123456789012"
REGION = "eu-west-1"
STACK = "bench"
UNIT_SIZE = 10
TAGS = {"Project": "prodready", "Environment": "dev", "Service": "catalog", "Owner": "team@example.com",
        "CostCenter": "CC-1", "ManagedBy": "pulumi"}
RUNBOOK = "https://github.com/example/prodready/blob/main/docs/runbooks"
CONFIG = {
    "required-tags": {"allowedEnvironments": ["dev"]},
    "log-group-retention": {"minDays": 1, "maxDays": 30, "securityMinDays": 14},
    "alarm-coverage": {"requiredMetrics": {
        "aws:lambda/function:Function": ["Errors", "Throttles", "Duration"],
        "aws:dynamodb/table:Table": ["ReadThrottleEvents", "WriteThrottleEvents", "SystemErrors"],
    }},
}


def _urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::prodready::{type_}::{name}"


def synthetic_plan(resources: int) -> Plan:
    """A correct stack of about `resources` resources (3 shared + units of 10)."""
    provider_urn = _urn("pulumi:providers:aws", "aws")
    provider_ref = f"{provider_urn}::provider-id"
    provider_inputs = {"region": REGION, "defaultTags": json.dumps({"tags": TAGS})}
    items: list[PlannedResource] = [
        PlannedResource(provider_urn, "pulumi:providers:aws", "aws", True, "provider-id", None, None,
                        provider_inputs, dict(provider_inputs)),
    ]

    def add(type_: str, name: str, inputs: dict[str, Any], outputs: dict[str, Any] | None = None,
            deps: dict[str, list[str]] | None = None) -> str:
        urn = _urn(type_, name)
        property_deps = deps or {}
        items.append(PlannedResource(
            urn, type_, name, True, name, None, provider_ref, inputs, {**inputs, **(outputs or {})},
            dependencies=sorted({u for v in property_deps.values() for u in v}), property_dependencies=property_deps,
        ))
        return urn

    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
    topic = add("aws:sns/topic:Topic", "alerts", {"name": "alerts", "kmsMasterKeyId": "alias/alerts"},
                {"arn": topic_arn})
    add("aws:sns/topicSubscription:TopicSubscription", "alerts-email",
        {"topic": topic_arn, "protocol": "email", "endpoint": "oncall@example.com"}, deps={"topic": [topic]})

    def alarm(name: str, namespace: str, dims: dict[str, str], metric: str, math: bool, source: str) -> None:
        inputs: dict[str, Any] = {
            "name": name, "comparisonOperator": "GreaterThanThreshold", "threshold": 1, "evaluationPeriods": 1,
            "alarmActions": [topic_arn], "okActions": [topic_arn],
            "alarmDescription": f"{name} fired. Runbook: {RUNBOOK}/{metric.lower()}.md",
        }
        key = "metricQueries" if math else "dimensions"
        if math:
            inputs["metricQueries"] = [
                {"id": "m", "metric": {"namespace": namespace, "metricName": metric, "dimensions": dims,
                                       "stat": "Sum", "period": 300}},
                {"id": "n", "metric": {"namespace": namespace, "metricName": "Invocations", "dimensions": dims,
                                       "stat": "Sum", "period": 300}},
                {"id": "rate", "expression": "IF(n >= 10, 100 * m / n, 0)", "returnData": True},
            ]
        else:
            inputs.update(namespace=namespace, metricName=metric, dimensions=dims, statistic="Sum", period=300)
        add("aws:cloudwatch/metricAlarm:MetricAlarm", name, inputs,
            {"arn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"},
            deps={key: [source], "alarmActions": [topic], "okActions": [topic]})

    for index in range(max(0, (resources - 3) // UNIT_SIZE)):
        fn_name = f"fn-{index}"
        group_name = f"/aws/lambda/{fn_name}"
        group = add("aws:cloudwatch/logGroup:LogGroup", f"logs-{index}", {"name": group_name, "retentionInDays": 7},
                    {"arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group_name}"})
        table_name = f"table-{index}"
        table = add("aws:dynamodb/table:Table", table_name, {
            "name": table_name, "billingMode": "PAY_PER_REQUEST", "hashKey": "pk",
            "pointInTimeRecovery": {"enabled": True}, "deletionProtectionEnabled": True,
        }, {"arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table_name}"})
        add("aws:iam/rolePolicy:RolePolicy", f"policy-{index}", {"role": f"role-{index}", "policy": json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                 "Resource": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group_name}:*"]},
                {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                 "Resource": [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table_name}"]},
            ],
        })}, deps={"policy": [group, table]})
        function = add("aws:lambda/function:Function", fn_name, {
            "name": fn_name, "runtime": "python3.13", "handler": "h.h", "tracingConfig": {"mode": "Active"},
            "loggingConfig": {"logFormat": "JSON", "logGroup": group_name},
        }, {"arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fn_name}"}, deps={"loggingConfig": [group]})
        for metric, math in (("Errors", True), ("Throttles", False), ("Duration", True)):
            alarm(f"{fn_name}-{metric.lower()}", "AWS/Lambda", {"FunctionName": fn_name}, metric, math, function)
        for metric, math in (("ReadThrottleEvents", False), ("WriteThrottleEvents", False), ("SystemErrors", True)):
            alarm(f"{table_name}-{metric.lower()}", "AWS/DynamoDB", {"TableName": table_name}, metric, math, table)
    return Plan("prodready", STACK, {}, items, {})


@dataclass(frozen=True)
class Measurement:
    resources: int
    analyze_total_s: float
    analyze_per_resource_ms: float
    analyze_p95_ms: float
    analyze_stack_s: float
    stack_rules_s: float
    violations: int


def stack_rules_seconds(plan: Plan, repeats: int = 3) -> float:
    """The pack's own stack rules on the plan, without gRPC and the SDK's per-policy deserialisation.

    Isolates the algorithm, the part that must be linear in the number of resources: the collector
    is paused while the rules run, since its full collections walk every live object and would
    show up as growth that no rule causes (the pack process raises its thresholds for that reason).
    """
    import gc

    from prodready_policy import alarms, retention, security  # the pack's package (policies/ on sys.path)
    from prodready_policy.values import ResourceView

    checks = [
        (alarms.check_alarm_coverage, alarms.ALARM_COVERAGE),
        (alarms.check_alarm_routing, alarms.ALARM_ROUTING),
        (alarms.check_topic_subscriptions, alarms.TOPIC_SUBSCRIPTIONS),
        (retention.check_lambda_log_groups, retention.LAMBDA_LOG_GROUP),
        (security.check_route_throttling, security.ROUTE_THROTTLING),
    ]
    configs = parse_policy_config(CONFIG)
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        elapsed = 0.0
        for check, spec in checks:
            views = [ResourceView(r.urn, r.type, r.name, r.outputs, r.dependencies, r.property_dependencies)
                     for r in plan.resources]
            config = spec.effective_config(configs.get(spec.name, {}).get("properties"))
            gc.disable()
            try:
                started = time.perf_counter()
                findings = list(check(views, config))
                elapsed += time.perf_counter() - started
            finally:
                gc.enable()
            assert not findings, findings[:3]
        best = min(best, elapsed)
    return best


def measure(pack: PolicyPackProcess, resources: int, repeats: int = 3) -> Measurement:
    """Analyze every resource once, and AnalyzeStack `repeats` times (best of)."""
    plan = synthetic_plan(resources)
    pack.configure(reconcile_config(pack.info(), parse_policy_config(CONFIG)))
    requests = list(analyze_requests(plan))
    stack_request = analyze_stack_request(plan)
    violations = 0
    durations = []
    started = time.perf_counter()
    for request in requests:
        t0 = time.perf_counter()
        violations += len(pack.analyze(request).diagnostics)
        durations.append(time.perf_counter() - t0)
    analyze_total = time.perf_counter() - started
    stack_times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        response = pack.analyze_stack(stack_request)
        stack_times.append(time.perf_counter() - t0)
    violations += len(response.diagnostics)
    durations.sort()
    rules = stack_rules_seconds(plan)
    return Measurement(
        resources=len(plan.resources),
        analyze_total_s=analyze_total,
        analyze_per_resource_ms=1000 * statistics.fmean(durations),
        analyze_p95_ms=1000 * durations[int(0.95 * (len(durations) - 1))],
        analyze_stack_s=min(stack_times),
        stack_rules_s=rules,
        violations=violations,
    )


def render(measurements: Sequence[Measurement]) -> str:
    lines = [f"{'resources':>9}  {'Analyze total':>13}  {'per resource':>12}  {'p95':>8}  {'AnalyzeStack':>12}  "
             f"{'x prev':>6}  {'stack rules':>11}  {'x prev':>6}  violations"]
    previous: Measurement | None = None
    for m in measurements:
        stack_ratio = f"{m.analyze_stack_s / previous.analyze_stack_s:6.2f}" if previous else "     -"
        rules_ratio = f"{m.stack_rules_s / previous.stack_rules_s:6.2f}" if previous else "     -"
        lines.append(f"{m.resources:>9}  {m.analyze_total_s:>11.2f} s  {m.analyze_per_resource_ms:>9.3f} ms  "
                     f"{m.analyze_p95_ms:>5.2f} ms  {m.analyze_stack_s:>10.3f} s  {stack_ratio}  "
                     f"{m.stack_rules_s:>9.3f} s  {rules_ratio}  {m.violations}")
        previous = m
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_policy", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2500, 5000, 10000],
                        help="stack sizes to measure (default: 2500 5000 10000)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(POLICY_PACK_DIR))  # the pack's rule package, for the rules-only timing
    with PolicyPackProcess(stack=STACK, dry_run=False) as pack:
        measurements = [measure(pack, size) for size in args.sizes]
    print(render(measurements))
    return 1 if any(m.violations for m in measurements) else 0


if __name__ == "__main__":
    sys.exit(main())
