"""`python -m tools.bench_policy`: time the policy pack on synthetic stacks, through the Analyzer gRPC service.

A synthetic stack is a few shared resources (the aws provider, an encrypted and subscribed alert
topic, the KMS key of the log groups, an HTTP API with its throttled, access-logged stage, the backup
vaults in two regions with the plan and the selection of every table) and a
repeated unit of sixteen resources, each a correct, fully monitored slice of a real stack: a Lambda
function with its encrypted log group, role policy, live alias, invoke permission, API integration
and authorized route, a CodeDeploy deployment group and the release that shifts the alias, a
DynamoDB table, and six metric alarms (three on the function, three on the table, half of them
metric-math) routed to the topic. Every policy of the pack has work to do in it and must find
nothing; the numbers show how `Analyze` (per resource) and `AnalyzeStack` (whole stack) scale, and
what each stack rule costs on its own. The stack rules index the stack once, so doubling the
resources should roughly double `AnalyzeStack`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
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
SHARED = 11
UNIT_SIZE = 16
SIZES = (2_500, 5_000, 10_000)
# The smallest stack that holds a few units: what the normal test run analyses, so a benchmark whose
# stack no longer satisfies the pack fails there and not first in `make bench`.
SMOKE_SIZE = SHARED + 3 * UNIT_SIZE
TAGS = {"Project": "prodready", "Environment": "dev", "Service": "catalog", "Owner": "team@example.com",
        "CostCenter": "CC-1", "ManagedBy": "pulumi"}
RUNBOOK = "https://github.com/example/prodready/blob/main/docs/runbooks"
ACCESS_LOG_FORMAT = json.dumps({"requestId": "$context.requestId", "ip": "$context.identity.sourceIp",
                                "requestTime": "$context.requestTime", "routeKey": "$context.routeKey",
                                "status": "$context.status", "integrationError": "$context.integration.error",
                                "responseLatency": "$context.responseLatency"})
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


def _arn(service: str, resource: str, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def _log_key_policy() -> str:
    """The log groups' key: the account administers it through IAM; CloudWatch Logs may use it only for
    this account's log groups (encryption-context condition)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdministersKeyThroughIam", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion",
                    "kms:CancelKeyDeletion"],
         "Resource": "*"},
        {"Sid": "LogsUseItForThisAccountsLogGroups", "Effect": "Allow",
         "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
         "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": _arn("logs", "log-group:*")}}},
    ]})


def synthetic_plan(resources: int) -> Plan:
    """A correct stack of about `resources` resources (SHARED + units of UNIT_SIZE)."""
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

    topic_arn = _arn("sns", "alerts")
    topic = add("aws:sns/topic:Topic", "alerts", {"name": "alerts", "kmsMasterKeyId": "alias/alerts"},
                {"arn": topic_arn})
    add("aws:sns/topicSubscription:TopicSubscription", "alerts-email",
        {"topic": topic_arn, "protocol": "email", "endpoint": "oncall@example.com"}, deps={"topic": [topic]})
    key_id = "0b5e8a3c-5d4e-4f7a-9c1b-2a3d4e5f6a7b"
    key_arn = _arn("kms", f"key/{key_id}")
    log_key = add("aws:kms/key:Key", "logs-key", {"description": "Encrypts the log groups", "enableKeyRotation": True,
                                                  "policy": _log_key_policy()}, {"arn": key_arn, "keyId": key_id})
    api_id = "a1b2c3d4e5"
    api = add("aws:apigatewayv2/api:Api", "api", {"name": "api", "protocolType": "HTTP"}, {
        "apiEndpoint": f"https://{api_id}.execute-api.{REGION}.amazonaws.com",
        "executionArn": _arn("execute-api", api_id), "arn": f"arn:aws:apigateway:{REGION}::/apis/{api_id}",
    })
    access_group_name = "/aws/apigateway/api"
    access_logs = add("aws:cloudwatch/logGroup:LogGroup", "api-access-logs",
                      {"name": access_group_name, "retentionInDays": 30, "kmsKeyId": key_arn},
                      {"arn": _arn("logs", f"log-group:{access_group_name}")}, deps={"kmsKeyId": [log_key]})
    add("aws:apigatewayv2/stage:Stage", "api-stage", {
        "apiId": api_id, "name": "$default", "autoDeploy": True,
        "defaultRouteSettings": {"throttlingRateLimit": 100, "throttlingBurstLimit": 200},
        "accessLogSettings": {"destinationArn": _arn("logs", f"log-group:{access_group_name}"),
                              "format": ACCESS_LOG_FORMAT},
    }, deps={"apiId": [api], "accessLogSettings": [access_logs]})

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
            {"arn": _arn("cloudwatch", f"alarm:{name}")},
            deps={key: [source], "alarmActions": [topic], "okActions": [topic]})

    tables: list[tuple[str, str]] = []  # (urn, arn) of every unit's table: the backup selection lists them
    for index in range(max(0, (resources - SHARED) // UNIT_SIZE)):
        fn_name = f"fn-{index}"
        fn_arn = _arn("lambda", f"function:{fn_name}")
        group_name = f"/aws/lambda/{fn_name}"
        group = add("aws:cloudwatch/logGroup:LogGroup", f"logs-{index}",
                    {"name": group_name, "retentionInDays": 7, "kmsKeyId": key_arn},
                    {"arn": _arn("logs", f"log-group:{group_name}")}, deps={"kmsKeyId": [log_key]})
        table_name = f"table-{index}"
        table = add("aws:dynamodb/table:Table", table_name, {
            "name": table_name, "billingMode": "PAY_PER_REQUEST", "hashKey": "pk",
            "pointInTimeRecovery": {"enabled": True}, "deletionProtectionEnabled": True,
        }, {"arn": _arn("dynamodb", f"table/{table_name}")})
        tables.append((table, _arn("dynamodb", f"table/{table_name}")))
        add("aws:iam/rolePolicy:RolePolicy", f"policy-{index}", {"role": f"role-{index}", "policy": json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                 "Resource": [_arn("logs", f"log-group:{group_name}:*")]},
                {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                 "Resource": [_arn("dynamodb", f"table/{table_name}")]},
            ],
        })}, deps={"policy": [group, table]})
        function = add("aws:lambda/function:Function", fn_name, {
            "name": fn_name, "runtime": "python3.13", "handler": "h.h", "publish": True,
            "tracingConfig": {"mode": "Active"}, "loggingConfig": {"logFormat": "JSON", "logGroup": group_name},
        }, {"arn": fn_arn, "version": "1"}, deps={"loggingConfig": [group]})
        alias = add("aws:lambda/alias:Alias", f"live-{index}",
                    {"name": "live", "functionName": fn_name, "functionVersion": "1"},
                    {"arn": f"{fn_arn}:live"}, deps={"functionName": [function], "functionVersion": [function]})
        add("aws:lambda/permission:Permission", f"invoke-{index}", {
            "action": "lambda:InvokeFunction", "function": fn_name, "qualifier": "live",
            "principal": "apigateway.amazonaws.com", "sourceArn": _arn("execute-api", f"{api_id}/$default/*"),
        }, deps={"function": [function], "qualifier": [alias], "sourceArn": [api]})
        invoke = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{fn_arn}:live/invocations"
        integration = add("aws:apigatewayv2/integration:Integration", f"integration-{index}", {
            "apiId": api_id, "integrationType": "AWS_PROXY", "integrationUri": invoke, "payloadFormatVersion": "2.0",
        }, deps={"apiId": [api], "integrationUri": [alias]})
        add("aws:apigatewayv2/route:Route", f"route-{index}", {
            "apiId": api_id, "routeKey": f"GET /{fn_name}", "target": f"integrations/{index:07x}",
            "authorizationType": "JWT", "authorizerId": "auth123", "authorizationScopes": ["items/read"],
        }, deps={"apiId": [api], "target": [integration]})
        group_alarms = [f"{fn_name}-errors", f"{fn_name}-duration"]
        deployment_group = add("aws:codedeploy/deploymentGroup:DeploymentGroup", f"release-group-{index}", {
            "appName": "bench", "deploymentGroupName": fn_name, "serviceRoleArn": f"arn:aws:iam::{ACCOUNT}:role/cd",
            "deploymentConfigName": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            "autoRollbackConfiguration": {"enabled": True, "events": ["DEPLOYMENT_FAILURE",
                                                                      "DEPLOYMENT_STOP_ON_ALARM"]},
            "alarmConfiguration": {"enabled": True, "alarms": group_alarms},
        })
        add("pulumi-python:dynamic/prodready:Release", f"release-{index}", {
            "functionName": fn_name, "alias": "live", "deploymentGroup": fn_name, "targetVersion": "1",
            # Both traffic hooks name a function of the stack (here the unit's own, to keep 16 per unit).
            "hookFunction": fn_name, "afterHookFunction": fn_name,
        }, deps={"functionName": [function], "alias": [alias], "deploymentGroup": [deployment_group]})
        for metric, math in (("Errors", True), ("Throttles", False), ("Duration", True)):
            alarm(f"{fn_name}-{metric.lower()}", "AWS/Lambda", {"FunctionName": fn_name}, metric, math, function)
        for metric, math in (("ReadThrottleEvents", False), ("WriteThrottleEvents", False), ("SystemErrors", True)):
            alarm(f"{table_name}-{metric.lower()}", "AWS/DynamoDB", {"TableName": table_name}, metric, math, table)
    # Every table backed up daily for 35 days with a copy in a second region (dynamodb-backup-plan).
    copy_vault_arn = f"arn:aws:backup:eu-central-1:{ACCOUNT}:backup-vault:bench-copy"
    add("aws:backup/vault:Vault", "backup-vault", {"name": "bench"}, {"arn": _arn("backup", "backup-vault:bench")})
    copy_vault = add("aws:backup/vault:Vault", "backup-copy-vault", {"name": "bench-copy", "region": "eu-central-1"},
                     {"arn": copy_vault_arn})
    plan = add("aws:backup/plan:Plan", "backup-plan", {"name": "bench", "rules": [{
        "ruleName": "daily", "targetVaultName": "bench", "schedule": "cron(0 3 * * ? *)",
        "lifecycle": {"deleteAfter": 35},
        "copyActions": [{"destinationVaultArn": copy_vault_arn, "lifecycle": {"deleteAfter": 35}}],
    }]}, {"arn": _arn("backup", "backup-plan:bench")}, deps={"rules": [copy_vault]})
    add("aws:backup/selection:Selection", "backup-selection", {
        "name": "bench-tables", "planId": "bench", "iamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/backup",
        "resources": [arn for _, arn in tables],
    }, deps={"planId": [plan], "resources": [urn for urn, _ in tables]})
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
    pack_rss_mb: float | None = None
    """The pack process's resident memory after the AnalyzeStack calls."""
    pack_peak_mb: float | None = None
    """Its peak resident memory so far (the high-water mark; grows with the largest stack analysed)."""
    analyze_stack_cpu_s: float | None = None
    """The pack process's CPU time (user + system) in its cheapest AnalyzeStack call: unlike the
    elapsed time it leaves out waiting for a core, so it compares across runs on a busy machine."""

    @property
    def analyze_stack_per_resource_ms(self) -> float:
        return 1000 * self.analyze_stack_s / self.resources

    @property
    def analyze_stack_cpu_per_resource_ms(self) -> float | None:
        return None if self.analyze_stack_cpu_s is None else 1000 * self.analyze_stack_cpu_s / self.resources


def stack_rules() -> list[Any]:
    """Every stack policy of the pack (`StackRulePolicy`: its rule and spec), in the pack's order."""
    from prodready_policy.base import StackRulePolicy  # the pack's package (policies/ on sys.path)
    from prodready_policy.pack import all_policies

    return [p for p in all_policies() if isinstance(p, StackRulePolicy)]


def stack_rules_seconds(plan: Plan, repeats: int = 3) -> dict[str, float]:
    """Each stack rule of the pack on the plan, without gRPC and the SDK's per-policy deserialisation.

    Isolates the algorithm, the part that must be linear in the number of resources: the collector
    is paused while the rules run, since its full collections walk every live object and would
    show up as growth that no rule causes. Best of `repeats`, per rule name. Raises if any rule
    finds something: the synthetic stack must satisfy every policy.
    """
    from prodready_policy.values import ResourceView

    configs = parse_policy_config(CONFIG)
    best: dict[str, float] = {}
    for _ in range(repeats):
        gc.collect()
        for policy in stack_rules():
            views = [ResourceView(r.urn, r.type, r.name, r.outputs, r.dependencies, r.property_dependencies,
                                  parent=r.parent, raw_provider_props=None)
                     for r in plan.resources]
            config = policy.spec.effective_config(configs.get(policy.name, {}).get("properties"))
            gc.disable()
            try:
                started = time.perf_counter()
                findings = list(policy.check(views, config))
                elapsed = time.perf_counter() - started
            finally:
                gc.enable()
            if findings:
                raise AssertionError(f"{policy.name} flags the synthetic stack: {findings[:3]}")
            best[policy.name] = min(best.get(policy.name, float("inf")), elapsed)
    return best


def pack_memory_mb(pid: int) -> tuple[float | None, float | None]:
    """(resident, peak resident) MB of a process, from /proc where there is one."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return None, None
    fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)

    def mb(key: str) -> float | None:
        value = fields.get(key, "").split()
        return int(value[0]) / 1024 if value else None

    return mb("VmRSS"), mb("VmHWM")


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far, from /proc where there is one."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return None
    # The command name (field 2) may hold spaces; utime and stime are the 12th and 13th fields after it.
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    stack_cpu: list[float] = []
    for _ in range(repeats):
        cpu_before = process_cpu_seconds(pack.process.pid)
        t0 = time.perf_counter()
        response = pack.analyze_stack(stack_request)
        stack_times.append(time.perf_counter() - t0)
        cpu_after = process_cpu_seconds(pack.process.pid)
        if cpu_before is not None and cpu_after is not None:
            stack_cpu.append(cpu_after - cpu_before)
    violations += len(response.diagnostics)
    rss, peak = pack_memory_mb(pack.process.pid)
    durations.sort()
    rules = sum(stack_rules_seconds(plan).values())
    return Measurement(
        resources=len(plan.resources),
        analyze_total_s=analyze_total,
        analyze_per_resource_ms=1000 * statistics.fmean(durations),
        analyze_p95_ms=1000 * durations[int(0.95 * (len(durations) - 1))],
        analyze_stack_s=min(stack_times),
        stack_rules_s=rules,
        violations=violations,
        pack_rss_mb=rss,
        pack_peak_mb=peak,
        analyze_stack_cpu_s=min(stack_cpu) if stack_cpu else None,
    )


def render(measurements: Sequence[Measurement]) -> str:
    """One row per stack size. `x prev` is the growth of the total over the previous row; `vs first`
    compares the CPU per resource with the first row's (1.00: linear)."""
    lines = [f"{'resources':>9}  {'Analyze total':>13}  {'per resource':>12}  {'p95':>8}  {'AnalyzeStack':>12}  "
             f"{'per resource':>12}  {'x prev':>6}  {'pack CPU':>9}  {'per resource':>12}  {'vs first':>8}  "
             f"{'stack rules':>11}  {'x prev':>6}  {'pack RSS/peak':>13}  violations"]
    previous: Measurement | None = None
    first_cpu = measurements[0].analyze_stack_cpu_per_resource_ms if measurements else None
    for m in measurements:
        stack_ratio = f"{m.analyze_stack_s / previous.analyze_stack_s:6.2f}" if previous else "     -"
        rules_ratio = f"{m.stack_rules_s / previous.stack_rules_s:6.2f}" if previous else "     -"
        memory = f"{m.pack_rss_mb:.0f}/{m.pack_peak_mb:.0f} MB" if m.pack_rss_mb and m.pack_peak_mb else "-"
        cpu_per = m.analyze_stack_cpu_per_resource_ms
        cpu = f"{m.analyze_stack_cpu_s:>7.2f} s" if m.analyze_stack_cpu_s is not None else f"{'-':>9}"
        cpu_each = f"{cpu_per:>9.3f} ms" if cpu_per is not None else f"{'-':>12}"
        versus = f"{cpu_per / first_cpu:8.2f}" if cpu_per is not None and first_cpu else f"{'-':>8}"
        lines.append(f"{m.resources:>9}  {m.analyze_total_s:>11.2f} s  {m.analyze_per_resource_ms:>9.3f} ms  "
                     f"{m.analyze_p95_ms:>5.2f} ms  {m.analyze_stack_s:>10.3f} s  "
                     f"{m.analyze_stack_per_resource_ms:>9.3f} ms  {stack_ratio}  {cpu}  {cpu_each}  {versus}  "
                     f"{m.stack_rules_s:>9.3f} s  {rules_ratio}  {memory:>13}  {m.violations}")
        previous = m
    return "\n".join(lines)


def render_rules(plan: Plan) -> str:
    """Each stack rule's own time on one plan (best of three, collector paused)."""
    seconds = stack_rules_seconds(plan)
    width = max(len(name) for name in seconds)
    rows = [f"stack rules on {len(plan.resources)} resources:"]
    rows += [f"  {name:<{width}}  {1000 * value:8.2f} ms" for name, value in seconds.items()]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_policy", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES),
                        help=f"stack sizes to measure (default: {' '.join(map(str, SIZES))})")
    args = parser.parse_args(argv)
    if str(POLICY_PACK_DIR) not in sys.path:
        sys.path.insert(0, str(POLICY_PACK_DIR))  # the pack's rule package, for the rules-only timing
    with PolicyPackProcess(stack=STACK, dry_run=False) as pack:
        measurements = [measure(pack, size) for size in args.sizes]
    print(render(measurements))
    print()
    print(render_rules(synthetic_plan(max(args.sizes))))
    return 1 if any(m.violations for m in measurements) else 0


if __name__ == "__main__":
    sys.exit(main())
