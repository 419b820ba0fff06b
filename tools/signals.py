"""Signal liveness: does every alarm's metric and every log metric filter actually receive data?

    pulumi stack output --json > outputs.json
    python -m tools.signals --outputs outputs.json                 # the last 60 minutes
    python -m tools.signals --outputs outputs.json --wait 600      # after a deploy: give metrics time to land

An alarm whose metric never gets data looks exactly like a healthy one: it sits in OK (missing data
is not breaching) and can never fire. CloudWatch only holds datapoints for a metric while something
publishes it; a metric that published zeros has datapoints of 0, a metric nobody published has none.
So each metric is read with the SampleCount statistic over the window (GetMetricData): any sample,
even of value 0, means the signal is alive.

Signals are the stack's metric alarms (DescribeAlarms of `alarmNames`; a metric-math alarm is each of
the metrics it reads, composites read alarms, not metrics) and the metric filters of its log groups
(DescribeMetricFilters of each group in `logGroupNames`). Each metric is either *fed by traffic*
(requests, invocations, their log lines, a canary's schedule: after the post-deploy smoke test it must
have data) or *fed by events* (throttles, system errors, cold starts, delivery failures, billing:
legitimately silent for hours). Every silent signal is listed with the runbook of the alarm that
reads it; the exit status is 1 when a traffic-fed signal is silent, 2 on a usage or AWS error.

Needs cloudwatch:DescribeAlarms, cloudwatch:GetMetricData and logs:DescribeMetricFilters.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from components.monitoring import logs_insights

DESCRIBE_BATCH = 100  # DescribeAlarms: at most 100 names per call
QUERY_BATCH = 500  # GetMetricData: at most 500 queries per call
DEFAULT_WINDOW_MIN = 60
POLL_S = 60

# AWS metrics that traffic (or a schedule) publishes whenever it flows, zeros included: API Gateway
# publishes Count, latencies, 4xx and 5xx for every request; Lambda Invocations, Duration and Errors for
# every invocation; DynamoDB SuccessfulRequestLatency for every successful call; CloudWatch Logs
# IncomingLogEvents while a group receives events; Synthetics a canary's SuccessPercent and Duration on
# every run. Everything else (throttles, DynamoDB system and user errors, SNS delivery failures, billing
# every few hours, the maintenance switch, business metrics) is published only when it happens.
TRAFFIC_FED: frozenset[tuple[str, str]] = frozenset({
    ("AWS/ApiGateway", "Count"), ("AWS/ApiGateway", "Latency"), ("AWS/ApiGateway", "IntegrationLatency"),
    ("AWS/ApiGateway", "4xx"), ("AWS/ApiGateway", "5xx"),
    ("AWS/Lambda", "Invocations"), ("AWS/Lambda", "Duration"), ("AWS/Lambda", "Errors"),
    ("AWS/Lambda", "ConcurrentExecutions"),
    ("AWS/DynamoDB", "SuccessfulRequestLatency"),
    ("AWS/Logs", "IncomingLogEvents"),
    ("CloudWatchSynthetics", "SuccessPercent"), ("CloudWatchSynthetics", "Duration"),
})
# Log metric filters' metrics, by name (their namespace is per watched resource): fed by traffic when every
# request or invocation writes a matching line or the filter publishes a default value for every event.
FILTER_METRICS_ON_TRAFFIC: frozenset[str] = frozenset(
    spec.metric_name
    for spec in (*logs_insights.function_metric_filters(snap_start=True), *logs_insights.ACCESS_LOG_METRIC_FILTERS)
    if spec.on_traffic or spec.default_value is not None
)

_RUNBOOK = re.compile(r"Runbook:\s*(\S+)\s*$")


@dataclass(frozen=True)
class MetricRef:
    """One CloudWatch metric: namespace, name and dimensions (sorted, so equal metrics compare equal)."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, namespace: str, name: str, dimensions: Iterable[Mapping[str, str]] = ()) -> MetricRef:
        return cls(namespace, name, tuple(sorted((d["Name"], d["Value"]) for d in dimensions)))

    def __str__(self) -> str:
        dims = ",".join(f"{k}={v}" for k, v in self.dimensions)
        return f"{self.namespace} {self.name}" + (f" [{dims}]" if dims else "")


def fed_by_traffic(metric: MetricRef) -> bool:
    """Whether requests (or a canary's schedule) must make this metric publish."""
    if (metric.namespace, metric.name) in TRAFFIC_FED:
        return True
    return not metric.namespace.startswith("AWS/") and metric.name in FILTER_METRICS_ON_TRAFFIC


@dataclass(frozen=True)
class Signal:
    """Something that should receive data: a metric alarm or a log metric filter."""

    source: str
    """`alarm` or `filter`."""
    name: str
    """Alarm name, or filter name."""
    metrics: tuple[MetricRef, ...]
    """The metrics it reads (an alarm) or publishes (a filter)."""
    runbook: str = ""
    """The runbook of the alarm (for a filter: of an alarm that reads its metric)."""
    where: str = ""
    """For a filter: its log group."""


@dataclass(frozen=True)
class Verdict:
    """A signal with the metrics of it that had no data in the window."""

    signal: Signal
    silent: tuple[MetricRef, ...]

    @property
    def live(self) -> bool:
        return not self.silent

    @property
    def failing(self) -> bool:
        """Silent where traffic must have fed it."""
        return any(fed_by_traffic(metric) for metric in self.silent)


def runbook_of(description: str) -> str:
    """The runbook URL an alarm description ends with (`... Runbook: <url>`), or empty."""
    match = _RUNBOOK.search(description or "")
    return match.group(1) if match else ""


def alarm_metrics(alarm: Mapping[str, Any]) -> tuple[MetricRef, ...]:
    """The metrics a DescribeAlarms MetricAlarm reads: its metric, or each metric of its metric math."""
    if alarm.get("MetricName"):
        return (MetricRef.of(alarm.get("Namespace", ""), alarm["MetricName"], alarm.get("Dimensions", [])),)
    refs = []
    for query in alarm.get("Metrics", []):
        metric = (query.get("MetricStat") or {}).get("Metric")
        if metric:
            refs.append(MetricRef.of(metric["Namespace"], metric["MetricName"], metric.get("Dimensions", [])))
    return tuple(dict.fromkeys(refs))


def load_outputs(source: str, stdin: TextIO | None = None) -> tuple[list[str], list[str], str | None]:
    """Alarm names, log group names and region from `pulumi stack output --json` (a file, or - for stdin)."""
    text = (stdin or sys.stdin).read() if source == "-" else Path(source).read_text()
    outputs = json.loads(text)
    if not isinstance(outputs, dict):
        raise ValueError("stack outputs must be a JSON object")
    names = outputs.get("alarmNames") or []
    groups = outputs.get("logGroupNames") or {}
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError("`alarmNames` must be a list of alarm names")
    if not isinstance(groups, dict) or not all(isinstance(group, str) for group in groups.values()):
        raise ValueError("`logGroupNames` must map a role to a log group name")
    region = outputs.get("region")
    return names, list(dict.fromkeys(groups.values())), region if isinstance(region, str) else None


def alarm_signals(cloudwatch: Any, names: Sequence[str]) -> tuple[list[Signal], list[str]]:
    """The metric alarms among `names` as signals, and the names DescribeAlarms does not know."""
    found: dict[str, Signal] = {}
    composites: set[str] = set()
    paginator = cloudwatch.get_paginator("describe_alarms")
    for i in range(0, len(names), DESCRIBE_BATCH):
        batch = list(names[i : i + DESCRIBE_BATCH])
        for page in paginator.paginate(AlarmNames=batch, AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
            for alarm in page.get("MetricAlarms", []):
                found[alarm["AlarmName"]] = Signal("alarm", alarm["AlarmName"], alarm_metrics(alarm),
                                                   runbook_of(alarm.get("AlarmDescription", "")))
            composites.update(alarm["AlarmName"] for alarm in page.get("CompositeAlarms", []))
    missing = [name for name in names if name not in found and name not in composites]
    return [found[name] for name in names if name in found], missing


def filter_signals(logs: Any, log_groups: Sequence[str], alarms: Sequence[Signal]) -> list[Signal]:
    """The metric filters of the log groups as signals, each with the runbook of an alarm reading its metric."""
    runbooks: dict[tuple[str, str], str] = {}
    for alarm in alarms:
        for metric in alarm.metrics:
            runbooks.setdefault((metric.namespace, metric.name), alarm.runbook)
    signals = []
    paginator = logs.get_paginator("describe_metric_filters")
    for group in log_groups:
        for page in paginator.paginate(logGroupName=group):
            for found in page.get("metricFilters", []):
                metrics = tuple(
                    MetricRef.of(t["metricNamespace"], t["metricName"],
                                 [{"Name": k, "Value": v} for k, v in (t.get("dimensions") or {}).items()])
                    for t in found.get("metricTransformations", [])
                )
                runbook = next((runbooks[key] for m in metrics if (key := (m.namespace, m.name)) in runbooks), "")
                where = found.get("logGroupName", group)
                signals.append(Signal("filter", found["filterName"], metrics, runbook, where))
    return signals


def metrics_with_data(cloudwatch: Any, metrics: Iterable[MetricRef], start: datetime, end: datetime) -> set[MetricRef]:
    """The metrics that have at least one datapoint (of any value, zeros included) between start and end."""
    unique = list(dict.fromkeys(metrics))
    # One bucket per 5 minutes: SampleCount counts published datapoints, whatever their values.
    period = 300
    alive: set[MetricRef] = set()
    for i in range(0, len(unique), QUERY_BATCH):
        batch = unique[i : i + QUERY_BATCH]
        queries = [
            {
                "Id": f"m{j}",
                "MetricStat": {
                    "Metric": {"Namespace": m.namespace, "MetricName": m.name,
                               "Dimensions": [{"Name": k, "Value": v} for k, v in m.dimensions]},
                    "Period": period,
                    "Stat": "SampleCount",
                },
                "ReturnData": True,
            }
            for j, m in enumerate(batch)
        ]
        paginator = cloudwatch.get_paginator("get_metric_data")
        for page in paginator.paginate(MetricDataQueries=queries, StartTime=start, EndTime=end):
            for result in page.get("MetricDataResults", []):
                if any(value > 0 for value in result.get("Values", [])):
                    alive.add(batch[int(result["Id"][1:])])
    return alive


def judge(signals: Sequence[Signal], alive: set[MetricRef]) -> list[Verdict]:
    return [Verdict(s, tuple(m for m in s.metrics if m not in alive)) for s in signals]


@dataclass
class Report:
    verdicts: list[Verdict]
    missing: list[str]
    window_min: int

    @property
    def failing(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.failing]

    @property
    def passed(self) -> bool:
        return not self.missing and not self.failing


def check(
    cloudwatch: Any,
    logs: Any,
    alarm_names: Sequence[str],
    log_groups: Sequence[str],
    *,
    window_min: int = DEFAULT_WINDOW_MIN,
    wait_s: float = 0,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
    ignore: re.Pattern[str] | None = None,
) -> Report:
    """Every signal's liveness over the last `window_min` minutes; while a traffic-fed one is silent,
    look again every minute for up to `wait_s` seconds (metrics land a few minutes after the traffic)."""
    alarms, missing = alarm_signals(cloudwatch, alarm_names)
    signals = [*alarms, *filter_signals(logs, log_groups, alarms)]
    if ignore is not None:
        signals = [s for s in signals if not ignore.search(s.name)]
    deadline = now() + timedelta(seconds=wait_s)
    while True:
        end = now()
        alive = metrics_with_data(cloudwatch, (m for s in signals for m in s.metrics),
                                  end - timedelta(minutes=window_min), end)
        report = Report(judge(signals, alive), missing, window_min)
        if not report.failing or now() >= deadline:
            return report
        sleep(min(POLL_S, max(1.0, (deadline - now()).total_seconds())))


def print_report(report: Report, out: TextIO) -> None:
    for name in report.missing:
        out.write(f"MISSING  alarm  {name}: listed in the stack outputs, unknown to CloudWatch\n")
    for verdict in report.verdicts:
        s = verdict.signal
        label = f"{s.source:<6} {s.name}" + (f" ({s.where})" if s.where else "")
        if verdict.live:
            out.write(f"LIVE     {label}\n")
            continue
        status = "SILENT" if verdict.failing else "QUIET"
        out.write(f"{status:<8} {label}\n")
        for metric in verdict.silent:
            fed = "fed by traffic: must have data" if fed_by_traffic(metric) else "fed by events: may be silent"
            out.write(f"           no data: {metric} ({fed})\n")
        if s.runbook:
            out.write(f"           runbook: {s.runbook}\n")
    live = sum(v.live for v in report.verdicts)
    quiet = sum(not v.live and not v.failing for v in report.verdicts)
    out.write(
        f"RESULT {'PASS' if report.passed else 'FAIL'}: {len(report.verdicts)} signals over the last "
        f"{report.window_min} min: {live} live, {quiet} quiet (event-fed), {len(report.failing)} silent "
        f"(traffic-fed), {len(report.missing)} missing\n"
    )


def main(argv: list[str] | None = None, clients: tuple[Any, Any] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.signals", description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", required=True, help="`pulumi stack output --json` file, or - for stdin")
    parser.add_argument("--window", type=int, default=DEFAULT_WINDOW_MIN, help="minutes to look back (default 60)")
    parser.add_argument("--wait", type=float, default=0, help="seconds to keep looking while a traffic-fed signal "
                        "is silent (metrics land minutes after the traffic)")
    parser.add_argument("--ignore", help="regular expression of alarm or filter names not to judge")
    parser.add_argument("--region", help="AWS region (default: the outputs' `region`, then the environment's)")
    args = parser.parse_args(argv)
    out = out or sys.stdout
    if args.window < 5:
        parser.error("--window must be at least 5 minutes (metrics are read in 5-minute buckets)")
    try:
        alarm_names, log_groups, region = load_outputs(args.outputs)
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read the stack outputs: {exc}")
    if not alarm_names and not log_groups:
        parser.error("the outputs list no `alarmNames` and no `logGroupNames`: nothing to check")
    if clients is None:
        session = boto3.session.Session(region_name=args.region or region)
        clients = (session.client("cloudwatch"), session.client("logs"))
    try:
        report = check(clients[0], clients[1], alarm_names, log_groups, window_min=args.window, wait_s=args.wait,
                       ignore=re.compile(args.ignore) if args.ignore else None)
    except (BotoCoreError, ClientError) as exc:
        out.write(f"ERROR: {exc}\n")
        return 2
    print_report(report, out)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
