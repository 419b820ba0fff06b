"""Alarm catalog, naming, thresholds and specs: pure data, no Pulumi.

Every alarm the monitoring layer creates is described here first as an `AlarmSpec` (a metric alarm)
or a `CompositeSpec`, built by the functions below from the names of what is watched and the
thresholds in force. `ServiceMonitoring` only turns specs into resources, so everything an on-call
engineer would ask of an alarm (what it watches, when it fires, where it routes, which runbook it
links) is decided, and tested, here.

Conventions, after cdk-monitoring-constructs:
- one naming function, `alarm_name`: `<prefix>-[<resource>-]<kind>[-<qualifier>]-<severity>`;
- thresholds keyed by alarm kind and severity (`critical` pages, `warning` notifies), defaults from
  production-readiness practice, overridable per stack (`prodready:monitoring.thresholds`);
- every description says what is wrong and ends with ` Runbook: <base>/<kind>.md`;
- rate and percentile alarms only judge a period with at least `min_requests` samples (metric math
  `IF(samples >= N, value, 0)`, cdk-monitoring-constructs' `minMetricSamplesToAlarm`), so a single
  failed or slow request in a quiet stack does not page; the SLO burn-rate alarms cover low traffic.

Routing: critical alarms carry no action of their own and are members of the service's critical
roll-up composite, which pages once (and is silenced by the maintenance-window alarm); warning alarms
notify the warning topic directly. The two window alarms of an SLO burn-rate pair carry no action;
their composite routes (a critical pair through the roll-up, the warning pair to the warning topic).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.monitoring import logs_insights
from components.monitoring import slo as slo_math

SEVERITIES: tuple[str, ...] = ("critical", "warning")

GT = "GreaterThanThreshold"
GTE = "GreaterThanOrEqualToThreshold"
LT = "LessThanThreshold"
LTE = "LessThanOrEqualToThreshold"

# CloudWatch's own metric namespaces and the Synthetics one.
LAMBDA_NS = "AWS/Lambda"
API_NS = "AWS/ApiGateway"
DYNAMODB_NS = "AWS/DynamoDB"
SYNTHETICS_NS = "CloudWatchSynthetics"

# Composite alarm rules are at most 10240 characters (PutCompositeAlarm).
MAX_ALARM_RULE_LENGTH = 10240
# Metric math alarms take at most 20 metric queries.
MAX_METRIC_QUERIES = 20


@dataclass(frozen=True)
class AlarmKind:
    """One kind of alarm: what it watches and its production-readiness defaults."""

    kind: str
    """Stable id: runbook file name, `AlarmKind` tag, part of the alarm name."""
    title: str
    """Short human title (runbook heading, dashboard)."""
    scope: str
    """What it is raised for: function, api, table, canary, service or slo."""
    unit: str
    """Unit of the threshold: `%`, `ms`, `count` or `requests`."""
    comparison: str
    """CloudWatch comparison operator between the alarm's value and its threshold."""
    condition: str
    """What is wrong, with `{threshold}` and `{window}` placeholders."""
    defaults: Mapping[str, float] = field(default_factory=dict)
    """Default threshold per severity; a severity absent here gets no alarm unless config adds one."""
    period: int = 300
    """Seconds per evaluated datapoint."""
    evaluation_periods: int = 1
    """Datapoints looked at (the N of M-out-of-N)."""
    datapoints_to_alarm: int = 1
    """Breaching datapoints needed (the M)."""
    treat_missing_data: str = "notBreaching"
    """What a period without data counts as."""
    overridable: bool = True
    """Whether `prodready:monitoring.thresholds` may set its thresholds."""

    @property
    def percent(self) -> bool:
        return self.unit == "%"


def _kinds(*kinds: AlarmKind) -> dict[str, AlarmKind]:
    return {k.kind: k for k in kinds}


KINDS: dict[str, AlarmKind] = _kinds(
    # Lambda, per function.
    AlarmKind("lambda-error-rate", "Lambda error rate", "function", "%", GT,
              "more than {threshold:g}% of invocations failed over {window}",
              {"critical": 5, "warning": 1}),
    AlarmKind("lambda-throttles", "Lambda throttles", "function", "count", GT,
              "more than {threshold:g} invocations were throttled over {window}",
              {"warning": 10}),
    AlarmKind("lambda-duration-p99", "Lambda duration p99", "function", "%", GT,
              "p99 duration above {threshold:g}% of the timeout in {datapoints} of {evaluations} "
              "{period_text} periods", {"warning": 80}, evaluation_periods=3, datapoints_to_alarm=2),
    AlarmKind("lambda-concurrency", "Lambda concurrency", "function", "%", GT,
              "concurrent executions above {threshold:g}% of the reserved concurrency over {window}",
              {"warning": 80}),
    AlarmKind("lambda-init-duration-p99", "Lambda cold-start init duration p99", "function", "ms", GT,
              "p99 cold-start init duration above {threshold:g} ms in {datapoints} of {evaluations} "
              "{period_text} periods", {"warning": 2000}, period=900, evaluation_periods=3,
              datapoints_to_alarm=2),
    AlarmKind("lambda-memory", "Lambda memory use", "function", "%", GT,
              "an invocation used more than {threshold:g}% of the configured memory over {window}",
              {"warning": 80}),
    AlarmKind("lambda-error-logs", "Lambda ERROR log lines", "function", "count", GT,
              "more than {threshold:g} ERROR-level application log lines over {window}",
              {"warning": 5}),
    # HTTP API, per stage.
    AlarmKind("api-5xx-rate", "API 5xx rate", "api", "%", GT,
              "more than {threshold:g}% of requests answered 5xx over {window}",
              {"critical": 3, "warning": 1}),
    AlarmKind("api-4xx-rate", "API 4xx rate", "api", "%", GT,
              "more than {threshold:g}% of requests answered 4xx over {window}",
              {"warning": 10}),
    AlarmKind("api-latency-p99", "API latency p99", "api", "ms", GT,
              "p99 latency above {threshold:g} ms in {datapoints} of {evaluations} {period_text} periods",
              {"warning": 3000}, evaluation_periods=3, datapoints_to_alarm=2),
    AlarmKind("api-integration-latency-p99", "API integration latency p99", "api", "ms", GT,
              "p99 integration (function) latency above {threshold:g} ms in {datapoints} of {evaluations} "
              "{period_text} periods", {"warning": 2500}, evaluation_periods=3, datapoints_to_alarm=2),
    AlarmKind("api-no-traffic", "API receives no traffic", "api", "requests", LT,
              "fewer than {threshold:g} requests per {period_text} for {window}: the service looks down "
              "or unreachable", {"critical": 1}, evaluation_periods=3, datapoints_to_alarm=3,
              treat_missing_data="breaching"),
    # DynamoDB, per table (user errors are only published per account and region).
    AlarmKind("dynamodb-read-throttles", "DynamoDB read throttles", "table", "count", GT,
              "more than {threshold:g} read requests were throttled over {window}", {"critical": 0}),
    AlarmKind("dynamodb-write-throttles", "DynamoDB write throttles", "table", "count", GT,
              "more than {threshold:g} write requests were throttled over {window}", {"critical": 0}),
    AlarmKind("dynamodb-system-errors", "DynamoDB system errors", "table", "count", GT,
              "DynamoDB answered more than {threshold:g} requests with a 500 error over {window}",
              {"warning": 0}),
    AlarmKind("dynamodb-user-errors", "DynamoDB user errors", "service", "count", GT,
              "more than {threshold:g} DynamoDB requests in this account and region were rejected as "
              "invalid (HTTP 400) over {window}", {"warning": 5}),
    # Synthetic check.
    AlarmKind("canary-success-rate", "Synthetic health check", "canary", "%", LT,
              "the /health/ready canary succeeded in less than {threshold:g}% of runs in {datapoints} of "
              "{evaluations} {period_text} periods", {"critical": 90}, evaluation_periods=3,
              datapoints_to_alarm=2, treat_missing_data="breaching"),
    # SLO burn rate (thresholds derived from the SLO, not configured per alarm).
    AlarmKind("slo-availability-burn-rate", "Availability SLO burn rate", "slo", "x", GTE,
              "the availability error budget burns at {threshold:g}x or more", overridable=False),
    AlarmKind("slo-latency-burn-rate", "Latency SLO burn rate", "slo", "x", GTE,
              "the latency error budget burns at {threshold:g}x or more", overridable=False),
    # Composites and operator switches.
    AlarmKind("service-critical-rollup", "Service critical roll-up", "service", "", GTE,
              "at least one critical alarm of the service is in ALARM", overridable=False),
    AlarmKind("maintenance-window", "Maintenance window", "service", "", GTE,
              "an operator opened a maintenance window: paging is suppressed", overridable=False,
              treat_missing_data="ignore"),
)

THRESHOLD_KINDS: tuple[str, ...] = tuple(k for k, info in KINDS.items() if info.overridable)


def window_text(seconds: int) -> str:
    """`300` -> `5 min`, `3600` -> `1 h`, `259200` -> `3 d`."""
    if seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def alarm_name(prefix: str, resource: str, kind: str, severity: str, qualifier: str = "") -> str:
    """The one naming function: `<prefix>-[<resource>-]<kind>[-<qualifier>]-<severity>`."""
    if kind not in KINDS:
        raise ValueError(f"unknown alarm kind {kind!r}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    parts = [prefix, resource, kind, qualifier, severity]
    return "-".join(p for p in parts if p)


def runbook_url(base_url: str, kind: str) -> str:
    """Runbook link of an alarm kind: `<base>/<kind>.md`."""
    return f"{base_url.rstrip('/')}/{kind}.md"


def rollup_name(prefix: str) -> str:
    """Name of the service's critical roll-up composite."""
    return alarm_name(prefix, "", "service-critical-rollup", "critical")


def describe(
    subject: str, condition: str, severity: str, runbook: str, extra: str = "", routing: str = ""
) -> str:
    """An alarm description: subject, what is wrong, severity and routing, then the runbook link last."""
    how = routing or ("pages on-call through the critical roll-up" if severity == "critical"
                      else "notifies the warning topic")
    text = f"{subject}: {condition}. Severity {severity}: {how}."
    if extra:
        text += f" {extra}"
    return f"{text} Runbook: {runbook}"


# ---------------------------------------------------------------------------------------------
# Thresholds


def threshold_problems(overrides: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What is wrong with a `thresholds` override map (empty when nothing is)."""
    problems: list[str] = []
    for kind, per_severity in overrides.items():
        info = KINDS.get(kind)
        if info is None or not info.overridable:
            problems.append(f"unknown alarm kind {kind!r}; thresholds apply to {', '.join(THRESHOLD_KINDS)}")
            continue
        if not isinstance(per_severity, Mapping):
            problems.append(f"{kind}: expected a map of severity to threshold, got {per_severity!r}")
            continue
        for severity, value in per_severity.items():
            if severity not in SEVERITIES:
                problems.append(f"{kind}.{severity}: unknown severity; use one of {list(SEVERITIES)}")
            elif value is None:
                continue
            elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                problems.append(f"{kind}.{severity}: threshold must be a number or null, got {value!r}")
            elif value < 0 or (info.percent and value > 100):
                limit = "between 0 and 100 (percent)" if info.percent else "at least 0"
                problems.append(f"{kind}.{severity}: threshold must be {limit}, got {value!r}")
    return problems


def resolve_thresholds(
    overrides: Mapping[str, Mapping[str, float | None]] | None = None,
) -> dict[str, dict[str, float]]:
    """Thresholds in force per kind and severity: defaults, then overrides (`null` removes a severity)."""
    problems = threshold_problems(overrides or {})
    if problems:
        raise ValueError("; ".join(problems))
    resolved: dict[str, dict[str, float]] = {}
    for kind in THRESHOLD_KINDS:
        merged: dict[str, float | None] = {**KINDS[kind].defaults, **(overrides or {}).get(kind, {})}
        resolved[kind] = {s: float(merged[s]) for s in SEVERITIES if merged.get(s) is not None}  # type: ignore[arg-type]
    return resolved


# ---------------------------------------------------------------------------------------------
# Specs


@dataclass(frozen=True)
class MetricStat:
    """One CloudWatch metric with a statistic over a period."""

    namespace: str
    """Metric namespace."""
    metric_name: str
    """Metric name."""
    dimensions: Mapping[str, Any]
    """Dimension name to value (values may be Pulumi outputs; specs never look inside them)."""
    stat: str
    """Statistic: Sum, Average, Maximum, SampleCount, pNN, PR(:x)."""
    period: int
    """Seconds."""


@dataclass(frozen=True)
class Query:
    """One entry of a metric-math alarm: a metric or an expression over the other ids."""

    id: str
    """Lower-case id, usable as a variable in expressions."""
    metric: MetricStat | None = None
    """The metric, for a metric entry."""
    expression: str | None = None
    """The metric-math expression, for an expression entry."""
    label: str | None = None
    """Human label."""
    return_data: bool = False
    """True on exactly one entry: the alarm's value."""


@dataclass(frozen=True)
class AlarmSpec:
    """A metric alarm, fully decided."""

    name: str
    """Alarm name (from `alarm_name`)."""
    kind: str
    """Alarm kind (catalog key)."""
    severity: str
    """critical or warning."""
    resource: str
    """Key of the watched resource (`api`, `http`, `table`...); empty for service-level alarms."""
    description: str
    """What is wrong, ending with the runbook link."""
    comparison: str
    """Comparison operator."""
    threshold: float
    """Threshold, in the unit of the alarm's value."""
    evaluation_periods: int
    """N of M-out-of-N."""
    datapoints_to_alarm: int
    """M of M-out-of-N."""
    treat_missing_data: str
    """missing, ignore, breaching or notBreaching."""
    metric: MetricStat | None = None
    """A single-metric alarm's metric."""
    queries: tuple[Query, ...] = ()
    """A metric-math alarm's queries."""
    routed: bool = True
    """True: alarm and OK actions go to the severity's topic. False: a composite routes it."""
    pair: str = ""
    """Name of the burn-rate composite this alarm is one window of, if any."""

    def __post_init__(self) -> None:
        if (self.metric is None) == (not self.queries):
            raise ValueError(f"{self.name}: give either a metric or metric queries")
        if self.queries:
            returned = [q for q in self.queries if q.return_data]
            if len(returned) != 1:
                raise ValueError(f"{self.name}: exactly one metric query must return data")
            if len(self.queries) > MAX_METRIC_QUERIES:
                raise ValueError(f"{self.name}: at most {MAX_METRIC_QUERIES} metric queries")
        slo_math.check_alarm_window(self.period, self.evaluation_periods)
        if not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise ValueError(f"{self.name}: datapoints_to_alarm must be within 1..evaluation_periods")

    @property
    def period(self) -> int:
        if self.metric is not None:
            return self.metric.period
        return max(q.metric.period for q in self.queries if q.metric is not None)

    @property
    def metrics(self) -> tuple[MetricStat, ...]:
        """Every metric the alarm reads (CloudWatch bills an alarm per metric)."""
        if self.metric is not None:
            return (self.metric,)
        return tuple(q.metric for q in self.queries if q.metric is not None)

    def breaches(self, value: float) -> bool:
        """Whether a datapoint of this value breaches the threshold."""
        return compare(self.comparison, value, self.threshold)


@dataclass(frozen=True)
class CompositeSpec:
    """A composite alarm over other alarms."""

    name: str
    """Alarm name (from `alarm_name`)."""
    kind: str
    """Alarm kind."""
    severity: str
    """critical or warning."""
    resource: str
    """Resource key, or empty."""
    description: str
    """What is wrong, ending with the runbook link."""
    members: tuple[str, ...]
    """Names of the alarms the rule combines."""
    operator: str
    """AND or OR."""
    routed: bool = True
    """True: alarm and OK actions go to the severity's topic. False: the roll-up routes it."""
    suppressor: str | None = None
    """Name of the alarm that silences this one's actions while in ALARM (maintenance window)."""

    def __post_init__(self) -> None:
        if self.operator not in ("AND", "OR") or not self.members:
            raise ValueError(f"{self.name}: needs members and an AND/OR operator")
        if len(self.rule()) > MAX_ALARM_RULE_LENGTH:
            raise ValueError(f"{self.name}: alarm rule longer than {MAX_ALARM_RULE_LENGTH} characters")

    def rule(self, names: Sequence[str] | None = None) -> str:
        """The alarm rule, e.g. `ALARM("a") AND ALARM("b")` (names may be given resolved)."""
        return alarm_rule(names if names is not None else self.members, self.operator)


def alarm_rule(names: Iterable[str], operator: str) -> str:
    return f" {operator} ".join(f'ALARM("{name}")' for name in names)


def compare(comparison: str, value: float, threshold: float) -> bool:
    return {
        GT: value > threshold,
        GTE: value >= threshold,
        LT: value < threshold,
        LTE: value <= threshold,
    }[comparison]


@dataclass(frozen=True)
class AlarmContext:
    """What every alarm builder needs besides the watched resource."""

    prefix: str
    """Physical-name prefix of the stack, `<service>-<stack>`."""
    runbook_base_url: str
    """Base URL of docs/runbooks."""
    thresholds: Mapping[str, Mapping[str, float]]
    """Thresholds in force (`resolve_thresholds`)."""
    min_requests: int = 10
    """Samples a period needs before a rate or percentile alarm judges it."""

    def runbook(self, kind: str) -> str:
        return runbook_url(self.runbook_base_url, kind)


def _gated(value_expr: str, samples_id: str, minimum: int) -> str:
    # A period with too few samples counts as healthy (0); see the module docstring.
    return f"IF({samples_id} >= {minimum}, {value_expr}, 0)"


def _metric_alarm(
    ctx: AlarmContext,
    *,
    kind: str,
    severity: str,
    resource: str,
    subject: str,
    threshold: float,
    shown_threshold: float | None = None,
    metric: MetricStat | None = None,
    queries: tuple[Query, ...] = (),
    extra: str = "",
) -> AlarmSpec:
    info = KINDS[kind]
    period = metric.period if metric else max(q.metric.period for q in queries if q.metric)
    condition = info.condition.format(
        threshold=threshold if shown_threshold is None else shown_threshold,
        window=window_text(period * info.evaluation_periods),
        period_text=window_text(period),
        datapoints=info.datapoints_to_alarm,
        evaluations=info.evaluation_periods,
    )
    return AlarmSpec(
        name=alarm_name(ctx.prefix, resource, kind, severity),
        kind=kind,
        severity=severity,
        resource=resource,
        description=describe(subject, condition, severity, ctx.runbook(kind), extra),
        comparison=info.comparison,
        threshold=threshold,
        evaluation_periods=info.evaluation_periods,
        datapoints_to_alarm=info.datapoints_to_alarm,
        treat_missing_data=info.treat_missing_data,
        metric=metric,
        queries=queries,
        routed=severity != "critical",
    )


def _each_severity(ctx: AlarmContext, kind: str) -> list[tuple[str, float]]:
    return list(ctx.thresholds.get(kind, {}).items())


@dataclass(frozen=True)
class FunctionTarget:
    """A Lambda function to watch."""

    key: str
    """Short stable key, part of alarm names (`api`)."""
    function_name: Any
    """Function name (output)."""
    timeout_seconds: int
    """Configured timeout."""
    memory_mb: int
    """Configured memory."""
    reserved_concurrency: int | None
    """Reserved concurrency; the concurrency alarm needs one."""
    log_metrics_namespace: str
    """Namespace of the metrics its log metric filters publish."""


def function_alarms(ctx: AlarmContext, fn: FunctionTarget) -> list[AlarmSpec]:
    """Error rate, throttles, duration, concurrency, cold starts, memory and ERROR logs of one function."""
    dims = {"FunctionName": fn.function_name}
    subject = f"Lambda function '{fn.key}' of {ctx.prefix}"
    specs: list[AlarmSpec] = []
    period = KINDS["lambda-error-rate"].period

    def lambda_metric(name: str, stat: str, period: int = period) -> MetricStat:
        return MetricStat(LAMBDA_NS, name, dims, stat, period)

    for severity, threshold in _each_severity(ctx, "lambda-error-rate"):
        specs.append(_metric_alarm(
            ctx, kind="lambda-error-rate", severity=severity, resource=fn.key, subject=subject,
            threshold=threshold,
            queries=(
                Query("errors", lambda_metric("Errors", "Sum"), label="Errors"),
                Query("invocations", lambda_metric("Invocations", "Sum"), label="Invocations"),
                Query("error_rate", expression=_gated("100 * errors / invocations", "invocations",
                                                      ctx.min_requests),
                      label="Error rate (%)", return_data=True),
            ),
        ))
    for severity, threshold in _each_severity(ctx, "lambda-throttles"):
        specs.append(_metric_alarm(
            ctx, kind="lambda-throttles", severity=severity, resource=fn.key, subject=subject,
            threshold=threshold, metric=lambda_metric("Throttles", "Sum"),
        ))
    timeout_ms = fn.timeout_seconds * 1000
    for severity, share in _each_severity(ctx, "lambda-duration-p99"):
        limit = share / 100 * timeout_ms
        specs.append(_metric_alarm(
            ctx, kind="lambda-duration-p99", severity=severity, resource=fn.key, subject=subject,
            threshold=limit, shown_threshold=share,
            queries=(
                Query("p99", lambda_metric("Duration", "p99"), label="Duration p99 (ms)"),
                Query("invocations", lambda_metric("Invocations", "Sum"), label="Invocations"),
                Query("duration", expression=_gated("p99", "invocations", ctx.min_requests),
                      label="Duration p99 (ms)", return_data=True),
            ),
            extra=f"Threshold {limit:g} ms of the {fn.timeout_seconds} s timeout.",
        ))
    if fn.reserved_concurrency:
        for severity, share in _each_severity(ctx, "lambda-concurrency"):
            limit = share / 100 * fn.reserved_concurrency
            specs.append(_metric_alarm(
                ctx, kind="lambda-concurrency", severity=severity, resource=fn.key, subject=subject,
                threshold=limit, shown_threshold=share,
                metric=lambda_metric("ConcurrentExecutions", "Maximum"),
                extra=f"Threshold {limit:g} of {fn.reserved_concurrency} reserved; beyond it requests throttle.",
            ))
    init = logs_insights.function_log_metric(fn.log_metrics_namespace, "init-duration")
    for severity, threshold in _each_severity(ctx, "lambda-init-duration-p99"):
        specs.append(_metric_alarm(
            ctx, kind="lambda-init-duration-p99", severity=severity, resource=fn.key, subject=subject,
            threshold=threshold,
            metric=MetricStat(init.namespace, init.metric_name, {}, "p99",
                              KINDS["lambda-init-duration-p99"].period),
        ))
    memory = logs_insights.function_log_metric(fn.log_metrics_namespace, "max-memory-used")
    for severity, threshold in _each_severity(ctx, "lambda-memory"):
        specs.append(_metric_alarm(
            ctx, kind="lambda-memory", severity=severity, resource=fn.key, subject=subject,
            threshold=threshold,
            queries=(
                Query("used", MetricStat(memory.namespace, memory.metric_name, {}, "Maximum", period),
                      label="Max memory used (MB)"),
                Query("memory", expression=f"100 * used / {fn.memory_mb}", label="Memory used (%)",
                      return_data=True),
            ),
            extra=f"Configured memory {fn.memory_mb} MB.",
        ))
    error_logs = logs_insights.function_log_metric(fn.log_metrics_namespace, "error-log-lines")
    for severity, threshold in _each_severity(ctx, "lambda-error-logs"):
        specs.append(_metric_alarm(
            ctx, kind="lambda-error-logs", severity=severity, resource=fn.key, subject=subject,
            threshold=threshold,
            metric=MetricStat(error_logs.namespace, error_logs.metric_name, {}, "Sum", period),
        ))
    return specs


@dataclass(frozen=True)
class ApiTarget:
    """An HTTP API stage to watch."""

    key: str
    """Short stable key, part of alarm names (`http`)."""
    api_id: Any
    """API id (output)."""
    stage: Any
    """Stage name (output; `$default`)."""


def api_alarms(ctx: AlarmContext, api: ApiTarget, *, expect_traffic: bool) -> list[AlarmSpec]:
    """5xx and 4xx rate, latency and integration latency p99, and (if traffic is expected) no traffic."""
    dims = {"ApiId": api.api_id, "Stage": api.stage}
    subject = f"HTTP API '{api.key}' of {ctx.prefix}"
    period = KINDS["api-5xx-rate"].period

    def api_metric(name: str, stat: str, period: int = period) -> MetricStat:
        return MetricStat(API_NS, name, dims, stat, period)

    specs: list[AlarmSpec] = []
    for kind, metric_name in (("api-5xx-rate", "5xx"), ("api-4xx-rate", "4xx")):
        for severity, threshold in _each_severity(ctx, kind):
            specs.append(_metric_alarm(
                ctx, kind=kind, severity=severity, resource=api.key, subject=subject, threshold=threshold,
                queries=(
                    Query("errors", api_metric(metric_name, "Sum"), label=f"{metric_name} responses"),
                    Query("requests", api_metric("Count", "Sum"), label="Requests"),
                    Query("error_rate", expression=_gated("100 * errors / requests", "requests", ctx.min_requests),
                          label=f"{metric_name} rate (%)", return_data=True),
                ),
            ))
    for kind, metric_name in (("api-latency-p99", "Latency"), ("api-integration-latency-p99", "IntegrationLatency")):
        for severity, threshold in _each_severity(ctx, kind):
            specs.append(_metric_alarm(
                ctx, kind=kind, severity=severity, resource=api.key, subject=subject, threshold=threshold,
                queries=(
                    Query("p99", api_metric(metric_name, "p99"), label=f"{metric_name} p99 (ms)"),
                    Query("requests", api_metric("Count", "Sum"), label="Requests"),
                    Query("latency", expression=_gated("p99", "requests", ctx.min_requests),
                          label=f"{metric_name} p99 (ms)", return_data=True),
                ),
            ))
    if expect_traffic:
        for severity, threshold in _each_severity(ctx, "api-no-traffic"):
            specs.append(_metric_alarm(
                ctx, kind="api-no-traffic", severity=severity, resource=api.key, subject=subject,
                threshold=threshold, metric=api_metric("Count", "Sum"),
                extra="Set expectTraffic false for a stack without traffic by design.",
            ))
    return specs


@dataclass(frozen=True)
class TableTarget:
    """A DynamoDB table to watch."""

    key: str
    """Short stable key, part of alarm names (`table`)."""
    table_name: Any
    """Table name (output)."""
    index_names: tuple[str, ...] = ()
    """Global secondary indexes: their throttles count too."""
    operations: tuple[str, ...] = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan")
    """Operations whose SystemErrors are summed (the metric only exists per operation)."""


def table_alarms(ctx: AlarmContext, table: TableTarget) -> list[AlarmSpec]:
    """Read and write throttle events (table and its indexes) and system errors of one table."""
    subject = f"DynamoDB table '{table.key}' of {ctx.prefix}"
    period = KINDS["dynamodb-read-throttles"].period
    base = {"TableName": table.table_name}
    specs: list[AlarmSpec] = []
    for kind, metric_name in (("dynamodb-read-throttles", "ReadThrottleEvents"),
                              ("dynamodb-write-throttles", "WriteThrottleEvents")):
        targets = [("table", base)] + [
            (f"gsi{i}", {**base, "GlobalSecondaryIndexName": index}) for i, index in enumerate(table.index_names)
        ]
        for severity, threshold in _each_severity(ctx, kind):
            if len(targets) == 1:
                specs.append(_metric_alarm(
                    ctx, kind=kind, severity=severity, resource=table.key, subject=subject, threshold=threshold,
                    metric=MetricStat(DYNAMODB_NS, metric_name, base, "Sum", period),
                ))
                continue
            queries = tuple(
                Query(qid, MetricStat(DYNAMODB_NS, metric_name, dims, "Sum", period),
                      label=f"{metric_name} ({dims.get('GlobalSecondaryIndexName', 'table')})")
                for qid, dims in targets
            )
            specs.append(_metric_alarm(
                ctx, kind=kind, severity=severity, resource=table.key, subject=subject, threshold=threshold,
                queries=(*queries, Query("throttles", expression="SUM(METRICS())",
                                         label=f"{metric_name} (table and indexes)", return_data=True)),
            ))
    for severity, threshold in _each_severity(ctx, "dynamodb-system-errors"):
        queries = tuple(
            Query(f"op{i}", MetricStat(DYNAMODB_NS, "SystemErrors", {**base, "Operation": op}, "Sum", period),
                  label=f"SystemErrors {op}")
            for i, op in enumerate(table.operations)
        )
        specs.append(_metric_alarm(
            ctx, kind="dynamodb-system-errors", severity=severity, resource=table.key, subject=subject,
            threshold=threshold,
            queries=(*queries, Query("system_errors", expression="SUM(METRICS())", label="SystemErrors",
                                     return_data=True)),
        ))
    return specs


def account_alarms(ctx: AlarmContext) -> list[AlarmSpec]:
    """DynamoDB UserErrors: CloudWatch publishes it per account and region only, so once per stack."""
    specs = []
    for severity, threshold in _each_severity(ctx, "dynamodb-user-errors"):
        specs.append(_metric_alarm(
            ctx, kind="dynamodb-user-errors", severity=severity, resource="", subject=f"Service {ctx.prefix}",
            threshold=threshold, metric=MetricStat(DYNAMODB_NS, "UserErrors", {}, "Sum",
                                                   KINDS["dynamodb-user-errors"].period),
            extra="The metric has no table dimension; other workloads of the account count too.",
        ))
    return specs


def canary_alarms(ctx: AlarmContext, canary_name: Any) -> list[AlarmSpec]:
    """Success rate of the synthetic /health/ready check."""
    info = KINDS["canary-success-rate"]
    return [
        _metric_alarm(
            ctx, kind="canary-success-rate", severity=severity, resource="", subject=f"Service {ctx.prefix}",
            threshold=threshold,
            metric=MetricStat(SYNTHETICS_NS, "SuccessPercent", {"CanaryName": canary_name}, "Average", info.period),
            extra="A canary that stops reporting counts as failing.",
        )
        for severity, threshold in _each_severity(ctx, "canary-success-rate")
    ]


def maintenance_alarm(ctx: AlarmContext, metrics_namespace: str) -> AlarmSpec:
    """The maintenance-window switch: operators set it to ALARM to silence paging during planned work.

    It watches a metric nothing publishes, and treats missing data as `ignore`, so whatever state an
    operator sets (`aws cloudwatch set-alarm-state`) holds until they set it back to OK (or publish the
    metric: 1 opens the window, 0 closes it). It notifies the warning topic when the window opens and closes.
    """
    info = KINDS["maintenance-window"]
    return AlarmSpec(
        name=alarm_name(ctx.prefix, "", "maintenance-window", "warning"),
        kind="maintenance-window",
        severity="warning",
        resource="",
        description=describe(
            f"Service {ctx.prefix}", info.condition, "warning", ctx.runbook("maintenance-window"),
            "Set to OK when the work is done.",
        ),
        comparison=GTE,
        threshold=1,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        treat_missing_data=info.treat_missing_data,
        metric=MetricStat(metrics_namespace, "MaintenanceWindow", {}, "Maximum", 60),
    )


@dataclass(frozen=True)
class SloTarget:
    """One SLO over an API stage's metrics."""

    kind: str
    """slo-availability-burn-rate or slo-latency-burn-rate."""
    target_percent: float
    """Objective, percent of good requests."""
    latency_threshold_ms: int = 0
    """Latency SLO: a good request completes within this."""


def slo_alarms(
    ctx: AlarmContext, api: ApiTarget, slo: SloTarget, window_days: int = slo_math.SLO_WINDOW_DAYS
) -> tuple[list[AlarmSpec], list[CompositeSpec]]:
    """Multi-window, multi-burn-rate alerts (SRE workbook ch. 5) for one SLO of one API stage.

    Each workbook row becomes two metric-math alarms (long and short window, both over the same
    burn-rate threshold) and a composite `long AND short`. The value each window alarm computes is
    the burn rate itself: bad-request ratio over the window divided by the error budget.
    """
    dims = {"ApiId": api.api_id, "Stage": api.stage}
    budget = slo_math.error_budget(slo.target_percent)
    budget_text = f"{budget:.10g}"
    what = "availability" if slo.kind == "slo-availability-burn-rate" else "latency"
    if what == "availability":
        objective = f"{slo.target_percent:g}% of requests without a 5xx"
    else:
        objective = f"{slo.target_percent:g}% of requests within {slo.latency_threshold_ms} ms"
    subject = f"HTTP API '{api.key}' of {ctx.prefix}, {what} SLO {objective} over {window_days} d"

    def queries(window: int) -> tuple[Query, ...]:
        if what == "availability":
            return (
                Query("errors", MetricStat(API_NS, "5xx", dims, "Sum", window), label="5xx responses"),
                Query("requests", MetricStat(API_NS, "Count", dims, "Sum", window), label="Requests"),
                Query("burn_rate", expression=f"(errors / requests) / {budget_text}", label="Burn rate",
                      return_data=True),
            )
        return (
            Query("good", MetricStat(API_NS, "Latency", dims, f"PR(:{slo.latency_threshold_ms})", window),
                  label=f"% of requests within {slo.latency_threshold_ms} ms"),
            Query("burn_rate", expression=f"((100 - good) / 100) / {budget_text}", label="Burn rate",
                  return_data=True),
        )

    alarms: list[AlarmSpec] = []
    composites: list[CompositeSpec] = []
    for row in slo_math.burn_rate_windows(window_days):
        pair = row.name
        composite = alarm_name(ctx.prefix, api.key, slo.kind, row.severity, pair)
        members = []
        for role, window in (("long", row.long_window), ("short", row.short_window)):
            name = alarm_name(ctx.prefix, api.key, slo.kind, row.severity, f"{pair}-{role}")
            members.append(name)
            alarms.append(AlarmSpec(
                name=name,
                kind=slo.kind,
                severity=row.severity,
                resource=api.key,
                description=describe(
                    subject,
                    f"over the last {window_text(window)} the error budget burned at {row.burn_rate:g}x or more "
                    f"({role} window of {composite})",
                    row.severity, ctx.runbook(slo.kind), routing=f"evaluated through {composite}",
                ),
                comparison=GTE,
                threshold=row.burn_rate,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                treat_missing_data="notBreaching",
                queries=queries(window),
                routed=False,
                pair=composite,
            ))
        composites.append(CompositeSpec(
            name=composite,
            kind=slo.kind,
            severity=row.severity,
            resource=api.key,
            description=describe(
                subject,
                f"the error budget burned at {row.burn_rate:g}x over both the last {window_text(row.long_window)} "
                f"and {window_text(row.short_window)}: {row.budget_consumed:.0%} of the {window_days}-day budget "
                f"is gone in {window_text(row.long_window)}",
                row.severity, ctx.runbook(slo.kind),
            ),
            members=tuple(members),
            operator="AND",
            routed=row.severity != "critical",
        ))
    return alarms, composites


def rollup(
    ctx: AlarmContext, alarms: Sequence[AlarmSpec], composites: Sequence[CompositeSpec], suppressor: str | None
) -> CompositeSpec | None:
    """The service's critical roll-up: pages once when any critical alarm (or critical SLO pair) fires."""
    members = [a.name for a in alarms if a.severity == "critical" and not a.pair]
    members += [c.name for c in composites if c.severity == "critical"]
    if not members:
        return None
    kind = "service-critical-rollup"
    return CompositeSpec(
        name=rollup_name(ctx.prefix),
        kind=kind,
        severity="critical",
        resource="",
        description=describe(
            f"Service {ctx.prefix}", KINDS[kind].condition, "critical", ctx.runbook(kind),
            "The notification names the member alarms in ALARM; each links its own runbook. "
            "Silenced while the maintenance-window alarm is in ALARM.",
            routing="pages on-call through the critical topic",
        ),
        members=tuple(members),
        operator="OR",
        routed=True,
        suppressor=suppressor,
    )


def severity_counts(alarms: Iterable[AlarmSpec], composites: Iterable[CompositeSpec] = ()) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for alarm in (*alarms, *composites):
        counts[alarm.severity] += 1
    return counts


# The maintenance-window suppressor: a composite waits this long for the suppressor before acting
# (it is set before planned work starts, so a minute is plenty), and keeps quiet this long after the
# window closes, so that the system can settle before paging resumes.
SUPPRESSOR_WAIT_PERIOD = 60
SUPPRESSOR_EXTENSION_PERIOD = 300


@dataclass(frozen=True)
class AlarmSet:
    """Every alarm of a service, metric alarms first, composites in creation order."""

    alarms: tuple[AlarmSpec, ...]
    """Metric alarms."""
    composites: tuple[CompositeSpec, ...]
    """Composite alarms; members always come before the composites that use them."""

    def __post_init__(self) -> None:
        names = [a.name for a in self.alarms] + [c.name for c in self.composites]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate alarm names {duplicates}")
        known: set[str] = {a.name for a in self.alarms}
        for composite in self.composites:
            missing = set(composite.members) - known
            if missing:
                raise ValueError(f"{composite.name}: members {sorted(missing)} are not defined before it")
            known.add(composite.name)

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.alarms] + [c.name for c in self.composites]

    def severity_counts(self) -> dict[str, int]:
        return severity_counts(self.alarms, self.composites)


def alarm_set(
    ctx: AlarmContext,
    *,
    metrics_namespace: str,
    functions: Sequence[FunctionTarget] = (),
    apis: Sequence[ApiTarget] = (),
    tables: Sequence[TableTarget] = (),
    expect_traffic: bool = True,
    canary_name: Any = None,
    slos: Sequence[SloTarget] = (),
    slo_window_days: int = slo_math.SLO_WINDOW_DAYS,
) -> AlarmSet:
    """The complete alarm set of a service: per-resource alarms, SLO pairs, maintenance switch, roll-up."""
    alarms: list[AlarmSpec] = []
    composites: list[CompositeSpec] = []
    for fn in functions:
        alarms += function_alarms(ctx, fn)
    for api in apis:
        alarms += api_alarms(ctx, api, expect_traffic=expect_traffic)
    for table in tables:
        alarms += table_alarms(ctx, table)
    if tables:
        alarms += account_alarms(ctx)
    if canary_name is not None:
        alarms += canary_alarms(ctx, canary_name)
    for api in apis:
        for slo in slos:
            windows, pairs = slo_alarms(ctx, api, slo, slo_window_days)
            alarms += windows
            composites += pairs
    maintenance = maintenance_alarm(ctx, metrics_namespace)
    alarms.append(maintenance)
    roll = rollup(ctx, alarms, composites, suppressor=maintenance.name)
    if roll is not None:
        composites.append(roll)
    return AlarmSet(tuple(alarms), tuple(composites))


STANDARD_STATISTICS = frozenset({"SampleCount", "Average", "Sum", "Minimum", "Maximum"})
