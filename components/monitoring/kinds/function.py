"""Watched kind: a Lambda function. Its metrics once; its alarms and its graphs from them.

Invocations, errors, throttles, duration and concurrency come from AWS/Lambda by FunctionName; for an
alias a deployment shifts traffic on, by FunctionName and Resource `<function>:<alias>`, and for the
version a release is shifting it to, by FunctionName, Resource and ExecutedVersion (Lambda publishes
these for invocations through an alias: "Types of metrics for Lambda functions", dimensions). At a 10%
canary the alias as a whole shows a failing version at a tenth of its error rate; the version's own
metrics show it whole. Cold-start init (or, with SnapStart, restore) duration, memory use and ERROR log
lines come from metric filters on the function's log group: Lambda's platform records carry no function
name, so each function's log metrics get a namespace of their own, `<metrics namespace>/<function key>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.monitoring import logs_insights
from components.monitoring.catalog import GT, LT, AlarmContext, AlarmKind, AlarmSpec, metric_alarm
from components.monitoring.kinds.base import LogFilter
from components.monitoring.metrics import LAMBDA_NS, Metric, Query, gated, ingestion_queries, log_events
from components.monitoring.panels import Band, Line, Panel, expression, hidden, shown

ERROR_RATE = AlarmKind(
    "lambda-error-rate", "Lambda error rate", "function", "%", GT,
    "more than {threshold:g}% of invocations failed over {window}", {"critical": 5, "warning": 1})
THROTTLES = AlarmKind(
    "lambda-throttles", "Lambda throttles", "function", "count", GT,
    "more than {threshold:g} invocations were throttled over {window}", {"warning": 10})
DURATION = AlarmKind(
    "lambda-duration-p99", "Lambda duration p99", "function", "%", GT,
    "p99 duration above {threshold:g}% of the timeout in {datapoints} of {evaluations} {period_text} periods",
    {"warning": 80}, evaluation_periods=3, datapoints_to_alarm=2)
CONCURRENCY = AlarmKind(
    "lambda-concurrency", "Lambda concurrency", "function", "%", GT,
    "concurrent executions above {threshold:g}% of the reserved concurrency over {window}", {"warning": 80})
INIT_DURATION = AlarmKind(
    "lambda-init-duration-p99", "Lambda cold-start init duration p99", "function", "ms", GT,
    "p99 cold-start init duration above {threshold:g} ms in {datapoints} of {evaluations} {period_text} periods",
    {"warning": 2000}, period=900, evaluation_periods=3, datapoints_to_alarm=2)
# With SnapStart a new environment restores a snapshot: its report has Restore Duration, no Init Duration.
RESTORE_DURATION = AlarmKind(
    "lambda-restore-duration-p99", "Lambda cold-start restore duration p99 (SnapStart)", "function", "ms", GT,
    "p99 SnapStart restore duration of new environments above {threshold:g} ms in {datapoints} of {evaluations} "
    "{period_text} periods", {"warning": 1000}, period=900, evaluation_periods=3, datapoints_to_alarm=2)
MEMORY = AlarmKind(
    "lambda-memory", "Lambda memory use", "function", "%", GT,
    "an invocation used more than {threshold:g}% of the configured memory over {window}", {"warning": 80})
ERROR_LOGS = AlarmKind(
    "lambda-error-logs", "Lambda ERROR log lines", "function", "count", GT,
    "more than {threshold:g} ERROR-level application log lines over {window}", {"warning": 5})
# Lambda writes START/END/REPORT records for every invocation, so a log group that receives nothing while
# the function runs has lost its logs (a deleted group, a changed LoggingConfig, a broken subscription):
# every log-derived alarm above is silent from then on and looks healthy.
LOG_INGESTION = AlarmKind(
    "lambda-log-ingestion", "Lambda log group receives no events", "function", "count", LT,
    "fewer than {threshold:g} log events per {period_text} reached the function's log group while it was invoked, "
    "in {datapoints} of {evaluations} periods: its log-derived alarms are blind", {"warning": 1},
    evaluation_periods=3, datapoints_to_alarm=3)
# On the alias a release shifts traffic to: short periods, so a bad canary is caught within minutes.
ALIAS_ERROR_RATE = AlarmKind(
    "lambda-alias-error-rate", "Lambda alias error rate (release)", "function", "%", GT,
    "more than {threshold:g}% of the invocations through the alias failed in {datapoints} of {evaluations} "
    "{period_text} periods", {"warning": 1}, period=60, evaluation_periods=3, datapoints_to_alarm=2)
ALIAS_DURATION = AlarmKind(
    "lambda-alias-duration-p99", "Lambda alias duration p99 (release)", "function", "%", GT,
    "p99 duration through the alias above {threshold:g}% of the timeout in {datapoints} of {evaluations} "
    "{period_text} periods", {"warning": 80}, period=60, evaluation_periods=3, datapoints_to_alarm=2)

# On the version a release is shifting the alias to, alone: the canary judged on what it sends there.
VERSION_ERROR_RATE = AlarmKind(
    "lambda-version-error-rate", "Lambda error rate of the version under release", "function", "%", GT,
    "more than {threshold:g}% of the invocations the alias sent to the version under release failed in "
    "{datapoints} of {evaluations} {period_text} periods", {"warning": 1}, period=60, evaluation_periods=3,
    datapoints_to_alarm=2)
VERSION_DURATION = AlarmKind(
    "lambda-version-duration-p99", "Lambda duration p99 of the version under release", "function", "%", GT,
    "p99 duration of the version under release above {threshold:g}% of the timeout in {datapoints} of "
    "{evaluations} {period_text} periods", {"warning": 80}, period=60, evaluation_periods=3, datapoints_to_alarm=2)

ALARM_KINDS: tuple[AlarmKind, ...] = (
    ERROR_RATE, THROTTLES, DURATION, CONCURRENCY, INIT_DURATION, RESTORE_DURATION, MEMORY, ERROR_LOGS,
    LOG_INGESTION, ALIAS_ERROR_RATE, ALIAS_DURATION, VERSION_ERROR_RATE, VERSION_DURATION,
)


@dataclass(frozen=True)
class WatchedFunction:
    """A Lambda function to watch."""

    key: str
    """Short stable key used in alarm and resource names (`api`)."""
    function_name: Any
    """Function name (output)."""
    log_group_name: Any
    """The function's log group (JSON application and platform records)."""
    timeout_seconds: int
    """Configured timeout (the duration alarm is a share of it)."""
    memory_mb: int
    """Configured memory (the memory alarm is a share of it)."""
    metrics_namespace: str
    """The service's metrics namespace; the function's log metrics go under `<it>/<key>`."""
    reserved_concurrency: int | None = None
    """Reserved concurrency; the concurrency alarm needs one."""
    alias: str | None = None
    """Alias a deployment shifts traffic on; its error rate and latency judge a release."""
    release_version: Any = None
    """The version a release shifts the alias to (the function's latest published version, output);
    with an alias, the error rate and latency of what the alias sends it judge the release."""
    snap_start: bool = False
    """SnapStart on its published versions: cold starts are snapshot restores, whose reports carry the
    restore duration and no init duration."""
    min_invocations: int | None = None
    """Invocations in a period below which the error-rate and duration alarms stay quiet; None for the
    stack's `monitoring.minRequests`. A function called a few times per release needs 1."""
    pages: bool = True
    """Whether its alarms may be critical. False for a function whose failure something else already
    reports (a deployment hook: the release fails and rolls back in front of whoever released)."""

    @property
    def log_metrics_namespace(self) -> str:
        return logs_insights.function_log_metrics_namespace(self.metrics_namespace, self.key)

    # -- the metrics, once ----------------------------------------------------------------------

    def _lambda(self, name: str, stat: str, label: str, scope: str = "function") -> Metric:
        """`scope`: the whole function, the `alias`, or the `version` under release through the alias."""
        dims: dict[str, Any] = {"FunctionName": self.function_name}
        if scope in ("alias", "version"):
            dims["Resource"] = self.alias_resource
        if scope == "version":
            dims["ExecutedVersion"] = self.release_version
        return Metric(LAMBDA_NS, name, dims, stat, label)

    @property
    def alias_resource(self) -> Any:
        """The `Resource` dimension Lambda publishes alias metrics under: `<function>:<alias>`."""
        name = self.function_name
        if hasattr(name, "apply"):
            return name.apply(lambda n: f"{n}:{self.alias}")
        return f"{name}:{self.alias}"

    def invocations(self, scope: str = "function") -> Metric:
        return self._lambda("Invocations", "Sum", "Invocations", scope)

    def errors(self, scope: str = "function") -> Metric:
        return self._lambda("Errors", "Sum", "Errors", scope)

    def throttles(self) -> Metric:
        return self._lambda("Throttles", "Sum", "Throttles")

    def duration(self, stat: str = "p99", scope: str = "function") -> Metric:
        return self._lambda("Duration", stat, f"Duration {stat}", scope)

    def concurrency(self) -> Metric:
        return self._lambda("ConcurrentExecutions", "Maximum", "Concurrent executions")

    def _log_metric(self, filter_key: str, stat: str, label: str) -> Metric:
        metric = logs_insights.function_log_metric(self.log_metrics_namespace, filter_key)
        return Metric(metric.namespace, metric.metric_name, {}, stat, label)

    def init_duration(self, stat: str = "p99") -> Metric:
        return self._log_metric("init-duration", stat, f"Init duration {stat}")

    def restore_duration(self, stat: str = "p99") -> Metric:
        return self._log_metric("restore-duration", stat, f"Restore duration {stat}")

    @property
    def judges_versions(self) -> bool:
        """Whether the version under release is watched on its own (an alias and the version to release)."""
        return bool(self.alias) and self.release_version is not None

    def max_memory(self) -> Metric:
        return self._log_metric("max-memory-used", "Maximum", "Max memory used (MB)")

    def error_lines(self) -> Metric:
        return self._log_metric("error-log-lines", "Sum", "ERROR lines")

    def log_events(self) -> Metric:
        return log_events(self.log_group_name)

    @property
    def timeout_ms(self) -> int:
        return self.timeout_seconds * 1000

    # -- alarms ---------------------------------------------------------------------------------

    def alarms(self, ctx: AlarmContext) -> list[AlarmSpec]:
        subject = f"Lambda function '{self.key}' of {ctx.prefix}"
        specs: list[AlarmSpec] = []
        p = ERROR_RATE.period

        def alarm(info: AlarmKind, severity: str, threshold: float, panel: str, **kwargs: Any) -> AlarmSpec:
            return metric_alarm(ctx, info, severity=severity, resource=self.key, subject=subject,
                                threshold=threshold, panel=panel, **kwargs)

        for severity, threshold in ctx.each_severity(ERROR_RATE.kind, self.key):
            specs.append(alarm(ERROR_RATE, severity, threshold, "error-rate", queries=self._error_rate(ctx, p)))
        for severity, threshold in ctx.each_severity(THROTTLES.kind, self.key):
            specs.append(alarm(THROTTLES, severity, threshold, "throttles", metric=self.throttles().at(p)))
        for severity, share in ctx.each_severity(DURATION.kind, self.key):
            limit = share / 100 * self.timeout_ms
            specs.append(alarm(DURATION, severity, limit, "duration", shown_threshold=share,
                               queries=self._duration(ctx, p), extra=self._timeout_text(limit)))
        if self.reserved_concurrency:
            for severity, share in ctx.each_severity(CONCURRENCY.kind, self.key):
                limit = share / 100 * self.reserved_concurrency
                specs.append(alarm(
                    CONCURRENCY, severity, limit, "concurrency", shown_threshold=share,
                    metric=self.concurrency().at(p),
                    extra=f"Threshold {limit:g} of {self.reserved_concurrency} reserved; beyond it requests throttle.",
                ))
        for severity, threshold in ctx.each_severity(INIT_DURATION.kind, self.key):
            specs.append(alarm(INIT_DURATION, severity, threshold, "cold-starts",
                               metric=self.init_duration().at(INIT_DURATION.period)))
        if self.snap_start:
            for severity, threshold in ctx.each_severity(RESTORE_DURATION.kind, self.key):
                specs.append(alarm(RESTORE_DURATION, severity, threshold, "cold-starts",
                                   metric=self.restore_duration().at(RESTORE_DURATION.period),
                                   extra="SnapStart is on: new environments restore a snapshot, they do not init."))
        for severity, threshold in ctx.each_severity(MEMORY.kind, self.key):
            specs.append(alarm(
                MEMORY, severity, threshold, "memory",
                queries=(
                    Query("used", self.max_memory().at(p), label="Max memory used (MB)"),
                    Query("memory", expression=f"100 * used / {self.memory_mb}", label="Memory used (%)",
                          return_data=True),
                ),
                extra=f"Configured memory {self.memory_mb} MB.",
            ))
        for severity, threshold in ctx.each_severity(ERROR_LOGS.kind, self.key):
            specs.append(alarm(ERROR_LOGS, severity, threshold, "error-logs", metric=self.error_lines().at(p)))
        for severity, threshold in ctx.each_severity(LOG_INGESTION.kind, self.key):
            # The function's own invocations are the traffic its group must see (hooks are not behind the API).
            specs.append(alarm(LOG_INGESTION, severity, threshold, "log-ingestion", queries=ingestion_queries(
                self.invocations().at(LOG_INGESTION.period), self.log_events().at(LOG_INGESTION.period),
                self._gate(ctx))))
        if self.alias:
            a = ALIAS_ERROR_RATE.period
            for severity, threshold in ctx.each_severity(ALIAS_ERROR_RATE.kind, self.key):
                specs.append(alarm(ALIAS_ERROR_RATE, severity, threshold, "alias-error-rate",
                                   queries=self._error_rate(ctx, a, "alias"),
                                   extra=f"Alias '{self.alias}'; CodeDeploy rolls a release back when it fires."))
            for severity, share in ctx.each_severity(ALIAS_DURATION.kind, self.key):
                limit = share / 100 * self.timeout_ms
                specs.append(alarm(ALIAS_DURATION, severity, limit, "alias-duration", shown_threshold=share,
                                   queries=self._duration(ctx, a, "alias"),
                                   extra=f"Alias '{self.alias}'. {self._timeout_text(limit)}"))
        if self.judges_versions:
            v = VERSION_ERROR_RATE.period
            released = (f"Invocations through alias '{self.alias}' that ran the version under release (the "
                        "function's latest published version); CodeDeploy rolls the release back when it fires.")
            for severity, threshold in ctx.each_severity(VERSION_ERROR_RATE.kind, self.key):
                specs.append(alarm(VERSION_ERROR_RATE, severity, threshold, "version-error-rate",
                                   queries=self._error_rate(ctx, v, "version"), extra=released))
            for severity, share in ctx.each_severity(VERSION_DURATION.kind, self.key):
                limit = share / 100 * self.timeout_ms
                specs.append(alarm(VERSION_DURATION, severity, limit, "version-duration", shown_threshold=share,
                                   queries=self._duration(ctx, v, "version"),
                                   extra=f"{released} {self._timeout_text(limit)}"))
        return specs if self.pages else [spec for spec in specs if spec.severity != "critical"]

    def _gate(self, ctx: AlarmContext) -> int:
        return self.min_invocations if self.min_invocations is not None else ctx.min_requests

    def _error_rate(self, ctx: AlarmContext, period: int, scope: str = "function") -> tuple[Query, ...]:
        return (
            Query("errors", self.errors(scope).at(period), label="Errors"),
            Query("invocations", self.invocations(scope).at(period), label="Invocations"),
            Query("error_rate", expression=gated("100 * errors / invocations", "invocations", self._gate(ctx)),
                  label="Error rate (%)", return_data=True),
        )

    def _duration(self, ctx: AlarmContext, period: int, scope: str = "function") -> tuple[Query, ...]:
        return (
            Query("p99", self.duration("p99", scope).at(period), label="Duration p99 (ms)"),
            Query("invocations", self.invocations(scope).at(period), label="Invocations"),
            Query("duration", expression=gated("p99", "invocations", self._gate(ctx)),
                  label="Duration p99 (ms)", return_data=True),
        )

    def _timeout_text(self, limit: float) -> str:
        return f"Threshold {limit:g} ms of the {self.timeout_seconds} s timeout."

    # -- graphs ---------------------------------------------------------------------------------

    def band(self, ctx: AlarmContext) -> Band:
        p = ERROR_RATE.period
        timeout = (Line("timeout", self.timeout_ms),)

        def error_rate(scope: str) -> tuple:
            return (
                expression("IF(invocations > 0, 100 * errors / invocations, 0)", "rate", "Error rate"),
                hidden(self.errors(scope), "errors"),
                hidden(self.invocations(scope), "invocations"),
            )

        panels = [
            Panel("traffic", "invocations and errors", (shown(self.invocations()), shown(self.errors())),
                  "count", p),
            Panel("error-rate", "error rate", error_rate("function"), "%", p),
            Panel("throttles", "throttles", (shown(self.throttles()),), "count", p),
            Panel("duration", "duration", tuple(shown(self.duration(s)) for s in ("p50", "p90", "p99")), "ms", p,
                  lines=timeout),
            self._cold_starts(),
            Panel("memory", "memory used",
                  (expression(f"100 * used / {self.memory_mb}", "memory", "Memory used"),
                   hidden(self.max_memory(), "used")), "% of configured", p),
            Panel("error-logs", "ERROR log lines", (shown(self.error_lines()),), "count", p),
            Panel("log-ingestion", "log events and invocations",
                  (shown(self.log_events()), shown(self.invocations())), "count", LOG_INGESTION.period),
        ]
        if self.reserved_concurrency:
            panels.append(Panel("concurrency", "concurrent executions", (shown(self.concurrency()),), "count", p,
                                lines=(Line("reserved", self.reserved_concurrency),)))
        if self.alias:
            a = ALIAS_ERROR_RATE.period
            panels += [
                Panel("alias-error-rate", f"alias {self.alias} error rate", error_rate("alias"), "%", a),
                Panel("alias-duration", f"alias {self.alias} duration",
                      tuple(shown(self.duration(s, "alias")) for s in ("p50", "p99")), "ms", a, lines=timeout),
            ]
        if self.judges_versions:
            v = VERSION_ERROR_RATE.period
            released = f"version {self.release_version} via {self.alias}"
            panels += [
                Panel("version-error-rate", f"{released} error rate (release)", error_rate("version"), "%", v),
                Panel("version-duration", f"{released} duration (release)",
                      tuple(shown(self.duration(s, "version")) for s in ("p50", "p99")), "ms", v, lines=timeout),
            ]
        return Band(self.key, f"Lambda {self.key}", tuple(panels))

    def _cold_starts(self) -> Panel:
        init = (shown(self.init_duration()), shown(self.init_duration("SampleCount"), "Cold starts", y_axis="right"))
        if not self.snap_start:
            return Panel("cold-starts", "cold-start init duration", init, "ms", INIT_DURATION.period)
        # Restores are the cold starts of the published versions; an unqualified invocation still inits.
        restore = (shown(self.restore_duration()),
                   shown(self.restore_duration("SampleCount"), "Restores", y_axis="right"))
        return Panel("cold-starts", "cold starts: SnapStart restore and init duration", restore + init, "ms",
                     RESTORE_DURATION.period)

    def log_filters(self) -> list[LogFilter]:
        return [
            LogFilter(f"{self.key}-{spec.key}", self.log_group_name, spec, self.log_metrics_namespace)
            for spec in logs_insights.function_metric_filters(self.snap_start)
        ]
