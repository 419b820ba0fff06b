"""Signal liveness, against a moto server on a loopback port: the stack's real alarm specs put as CloudWatch
alarms, its real metric filters on its log groups, and metrics that did or did not get data."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from components.monitoring import logs_insights
from components.monitoring.alarm_set import alarm_set
from components.monitoring.catalog import AlarmContext, AlarmSpec, Thresholds
from components.monitoring.kinds import WatchedApi, WatchedFunction
from components.monitoring.metrics import STANDARD_STATISTICS
from components.monitoring.registry import KINDS
from tools.signals import MetricRef, alarm_metrics, check, fed_by_traffic, main, runbook_of

REGION = "eu-west-1"
BASE = "https://example.com/runbooks"


def _dims(dimensions: dict[str, str]) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in dimensions.items()]


def _put_alarm(cloudwatch: Any, spec: AlarmSpec) -> None:
    """PutMetricAlarm of a spec, as the program's MetricAlarm resource would create it."""
    args: dict[str, Any] = {
        "AlarmName": spec.name, "AlarmDescription": spec.description, "ComparisonOperator": spec.comparison,
        "EvaluationPeriods": spec.evaluation_periods, "DatapointsToAlarm": spec.datapoints_to_alarm,
        "TreatMissingData": spec.treat_missing_data, "Threshold": spec.threshold,
    }
    if spec.metric is not None:
        m = spec.metric
        args.update(Namespace=m.namespace, MetricName=m.metric_name, Period=m.period, Dimensions=_dims(m.dimensions))
        args["Statistic" if m.stat in STANDARD_STATISTICS else "ExtendedStatistic"] = m.stat
    else:
        args["Metrics"] = [
            {"Id": q.id, "ReturnData": q.return_data,
             **({"Expression": q.expression} if q.expression else {}),
             **({"MetricStat": {"Metric": {"Namespace": q.metric.namespace, "MetricName": q.metric.metric_name,
                                           "Dimensions": _dims(q.metric.dimensions)},
                                "Period": q.metric.period, "Stat": q.metric.stat}} if q.metric else {})}
            for q in spec.queries
        ]
    cloudwatch.put_metric_alarm(**args)


@dataclass
class Stack:
    """One function behind one API stage, its alarms and metric filters, under a unique prefix."""

    prefix: str
    cloudwatch: Any
    logs: Any
    function: WatchedFunction
    api: WatchedApi
    alarm_names: list[str]
    log_groups: list[str]
    now: datetime

    def publish(self, namespace: str, name: str, dimensions: dict[str, str] | None = None, value: float = 1) -> None:
        self.cloudwatch.put_metric_data(Namespace=namespace, MetricData=[{
            "MetricName": name, "Dimensions": _dims(dimensions or {}), "Value": value,
            "Timestamp": self.now - timedelta(minutes=10)}])

    def traffic(self, *, skip: tuple[str, ...] = ()) -> None:
        """What a smoke test's requests make AWS publish: every traffic-fed metric, errors as zeros."""
        api = {"ApiId": self.api.api_id, "Stage": self.api.stage_name}
        fn = {"FunctionName": self.function.function_name}
        published = [
            ("AWS/ApiGateway", "Count", api, 12), ("AWS/ApiGateway", "5xx", api, 0), ("AWS/ApiGateway", "4xx", api, 0),
            ("AWS/ApiGateway", "Latency", api, 40), ("AWS/ApiGateway", "IntegrationLatency", api, 30),
            ("AWS/Lambda", "Invocations", fn, 12), ("AWS/Lambda", "Errors", fn, 0), ("AWS/Lambda", "Duration", fn, 25),
            ("AWS/Logs", "IncomingLogEvents", {"LogGroupName": self.function.log_group_name}, 48),
            ("AWS/Logs", "IncomingLogEvents", {"LogGroupName": self.api.access_log_group_name}, 12),
            (self.function.log_metrics_namespace, "MaxMemoryUsed", {}, 90),
            (self.function.log_metrics_namespace, "ErrorLogLines", {}, 0),
            (self.api.log_metrics_namespace, "AuthRefusals", {}, 0),
        ]
        for namespace, name, dims, value in published:
            if f"{namespace} {name}" not in skip and name not in skip:
                self.publish(namespace, name, dims, value)

    def run(self, *args: str, tmp_path: Path) -> tuple[int, str]:
        outputs = tmp_path / "outputs.json"
        outputs.write_text(json.dumps({"alarmNames": self.alarm_names, "region": REGION,
                                       "logGroupNames": {"function": self.log_groups[0],
                                                         "apiAccess": self.log_groups[1]}}))
        out = io.StringIO()
        code = main(["--outputs", str(outputs), *args], clients=(self.cloudwatch, self.logs), out=out)
        return code, out.getvalue()


@pytest.fixture
def stack(moto_url: str) -> Stack:
    def client(service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=moto_url)

    cloudwatch, logs = client("cloudwatch"), client("logs")
    prefix = f"svc-{uuid.uuid4().hex[:6]}"
    ns = f"prodready/{prefix}"
    function = WatchedFunction("api", f"{prefix}-api", f"/aws/lambda/{prefix}-api", timeout_seconds=10,
                               memory_mb=512, metrics_namespace=ns)
    api = WatchedApi("http", uuid.uuid4().hex[:10], "$default", "https://x.example", f"/aws/apigateway/{prefix}",
                     ns)
    ctx = AlarmContext(prefix, BASE, Thresholds(KINDS), min_requests=10, expect_traffic=True)
    alarms = alarm_set(ctx, [function, api], metrics_namespace=ns)
    for spec in alarms.alarms:
        _put_alarm(cloudwatch, spec)
    for watched in (function, api):
        logs.create_log_group(logGroupName=watched.log_filters()[0].log_group_name)
        for f in watched.log_filters():
            transformation: dict[str, Any] = {"metricName": f.spec.metric_name, "metricNamespace": f.namespace,
                                              "metricValue": f.spec.value}
            if f.spec.default_value is not None:
                transformation["defaultValue"] = float(f.spec.default_value)
            logs.put_metric_filter(logGroupName=f.log_group_name, filterName=f"{prefix}-{f.key}",
                                   filterPattern=f.spec.pattern, metricTransformations=[transformation])
    names = [spec.name for spec in alarms.alarms]
    return Stack(prefix, cloudwatch, logs, function, api, names,
                 [function.log_group_name, api.access_log_group_name], datetime.now(UTC))


def _line(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if f" {name}" in line and not line.startswith(" "))


def test_a_stack_whose_traffic_fed_every_signal_passes(stack: Stack, tmp_path: Path) -> None:
    stack.traffic()
    code, output = stack.run(tmp_path=tmp_path)
    assert code == 0, output
    # Published zeros are data: the error-rate alarm is live although no request failed.
    assert _line(output, f"{stack.prefix}-api-lambda-error-rate-critical").startswith("LIVE")
    assert _line(output, f"{stack.prefix}-http-api-access-log-ingestion-warning").startswith("LIVE")
    # Throttles are published only when something throttles: quiet, listed, not failing.
    throttles = _line(output, f"{stack.prefix}-api-lambda-throttles-warning")
    assert throttles.startswith("QUIET")
    assert f"runbook: {BASE}/lambda-throttles.md" in output
    # The cold-start filter publishes on cold starts only; the smoke test's traffic may not cause one.
    assert _line(output, f"{stack.prefix}-api-init-duration").startswith("QUIET")
    assert _line(output, f"{stack.prefix}-api-error-log-lines").startswith("LIVE")
    assert "RESULT PASS" in output


def test_a_log_group_that_stopped_receiving_events_fails_with_its_runbook(stack: Stack, tmp_path: Path) -> None:
    stack.traffic(skip=("AWS/Logs IncomingLogEvents", "MaxMemoryUsed", "ErrorLogLines"))
    code, output = stack.run(tmp_path=tmp_path)
    assert code == 1, output
    ingestion = f"{stack.prefix}-api-lambda-log-ingestion-warning"
    assert _line(output, ingestion).startswith("SILENT")
    block = output.split(ingestion, 1)[1]
    assert f"no data: AWS/Logs IncomingLogEvents [LogGroupName={stack.function.log_group_name}]" in block
    assert f"runbook: {BASE}/lambda-log-ingestion.md" in block
    # The filters on the silent group are silent too, each with the runbook of the alarm reading it.
    errors = _line(output, f"{stack.prefix}-api-error-log-lines")
    assert errors.startswith("SILENT") and stack.function.log_group_name in errors
    assert f"runbook: {BASE}/lambda-error-logs.md" in output
    assert "RESULT FAIL" in output


def test_a_request_metric_nobody_published_fails_the_alarms_that_read_it(stack: Stack, tmp_path: Path) -> None:
    stack.traffic(skip=("AWS/ApiGateway 5xx",))
    code, output = stack.run(tmp_path=tmp_path)
    assert code == 1
    assert _line(output, f"{stack.prefix}-http-api-5xx-rate-critical").startswith("SILENT")
    # The 4xx alarm reads Count and 4xx, both published: live.
    assert _line(output, f"{stack.prefix}-http-api-4xx-rate-warning").startswith("LIVE")
    # --ignore takes a known-quiet alarm out of the verdict.
    code, output = stack.run("--ignore", "5xx-rate", tmp_path=tmp_path)
    assert code == 0, output


def test_an_alarm_in_the_outputs_that_does_not_exist_fails(stack: Stack, tmp_path: Path) -> None:
    stack.traffic()
    stack.alarm_names.append(f"{stack.prefix}-deleted-alarm-warning")
    code, output = stack.run(tmp_path=tmp_path)
    assert code == 1
    assert f"MISSING  alarm  {stack.prefix}-deleted-alarm-warning" in output


def test_waiting_looks_again_until_late_metrics_land(stack: Stack) -> None:
    stack.traffic(skip=("Count",))
    clock = [stack.now]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += timedelta(seconds=seconds)
        stack.traffic()  # the requests' Count lands while the tool waits

    report = check(stack.cloudwatch, stack.logs, stack.alarm_names, stack.log_groups, wait_s=300,
                   now=lambda: clock[0], sleep=sleep)
    assert report.passed and sleeps == [60]
    # Without waiting it would have failed on the API's request count.
    stack.now = clock[0] + timedelta(hours=3)  # the earlier data is out of the window now
    late = check(stack.cloudwatch, stack.logs, stack.alarm_names, stack.log_groups,
                 now=lambda: stack.now, sleep=sleep)
    assert not late.passed and sleeps == [60]


# -- pure parts ----------------------------------------------------------------------------------


def test_which_metrics_traffic_must_feed() -> None:
    assert fed_by_traffic(MetricRef("AWS/ApiGateway", "Count"))
    assert fed_by_traffic(MetricRef("AWS/Logs", "IncomingLogEvents", (("LogGroupName", "/aws/lambda/x"),)))
    assert fed_by_traffic(MetricRef("prodready/svc/api", "ErrorLogLines"))  # default value 0 on every line
    assert fed_by_traffic(MetricRef("prodready/svc/api", "MaxMemoryUsed"))  # every invocation's report
    assert not fed_by_traffic(MetricRef("AWS/Lambda", "Throttles"))
    assert not fed_by_traffic(MetricRef("AWS/DynamoDB", "SystemErrors"))
    assert not fed_by_traffic(MetricRef("prodready/svc/api", "InitDuration"))  # cold starts only
    assert not fed_by_traffic(MetricRef("prodready/svc", "MaintenanceWindow"))
    on_traffic = {s.metric_name for s in logs_insights.FUNCTION_METRIC_FILTERS if s.on_traffic}
    assert on_traffic == {"MaxMemoryUsed", "ErrorLogLines"}


def test_runbook_and_metrics_are_read_from_the_describe_alarms_shape() -> None:
    assert runbook_of("Lambda ... Severity warning: notifies. Runbook: https://x.example/r/lambda-memory.md") == \
        "https://x.example/r/lambda-memory.md"
    assert runbook_of("no link") == ""
    math = {"AlarmName": "a", "Metrics": [
        {"Id": "errors", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors",
                                                    "Dimensions": [{"Name": "FunctionName", "Value": "f"}]},
                                         "Period": 300, "Stat": "Sum"}},
        {"Id": "rate", "Expression": "100 * errors", "ReturnData": True},
    ]}
    assert alarm_metrics(math) == (MetricRef("AWS/Lambda", "Errors", (("FunctionName", "f"),)),)
    single = {"AlarmName": "b", "Namespace": "AWS/Lambda", "MetricName": "Throttles", "Dimensions": []}
    assert alarm_metrics(single) == (MetricRef("AWS/Lambda", "Throttles"),)
