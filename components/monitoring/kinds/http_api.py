"""Watched kind: an HTTP API stage. Its metrics once; its alarms and its graphs from them.

Requests, 4xx, 5xx, latency and integration latency come from AWS/ApiGateway by ApiId and Stage.
Requests API Gateway refused for their token (401) or scope (403) come from a metric filter on the
stage's access log, since the function never sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.monitoring import logs_insights
from components.monitoring.catalog import (
    ABOVE_BAND,
    GT,
    LT,
    OUTSIDE_BAND,
    AlarmContext,
    AlarmKind,
    AlarmSpec,
    metric_alarm,
)
from components.monitoring.kinds.base import LogFilter
from components.monitoring.metrics import API_NS, Metric, Query, gated, ingestion_queries, log_events
from components.monitoring.panels import Band, Line, Panel, expression, hidden, shown

RATE_5XX = AlarmKind(
    "api-5xx-rate", "API 5xx rate", "api", "%", GT,
    "more than {threshold:g}% of requests answered 5xx over {window}", {"critical": 3, "warning": 1})
RATE_4XX = AlarmKind(
    "api-4xx-rate", "API 4xx rate", "api", "%", GT,
    "more than {threshold:g}% of requests answered 4xx over {window}", {"warning": 10})
LATENCY = AlarmKind(
    "api-latency-p99", "API latency p99", "api", "ms", GT,
    "p99 latency above {threshold:g} ms in {datapoints} of {evaluations} {period_text} periods",
    {"warning": 3000}, evaluation_periods=3, datapoints_to_alarm=2)
INTEGRATION_LATENCY = AlarmKind(
    "api-integration-latency-p99", "API integration latency p99", "api", "ms", GT,
    "p99 integration (function) latency above {threshold:g} ms in {datapoints} of {evaluations} {period_text} "
    "periods", {"warning": 2500}, evaluation_periods=3, datapoints_to_alarm=2)
NO_TRAFFIC = AlarmKind(
    "api-no-traffic", "API receives no traffic", "api", "requests", LT,
    "fewer than {threshold:g} requests per {period_text} for {window}: the service looks down or unreachable",
    {"critical": 1}, evaluation_periods=3, datapoints_to_alarm=3, treat_missing_data="breaching")
NEAR_THROTTLE = AlarmKind(
    "api-near-throttle-limit", "API traffic near the stage's throttle limit", "api", "%", GT,
    "requests per second above {threshold:g}% of the stage's default route rate limit in {datapoints} of "
    "{evaluations} {period_text} periods: clients will soon get 429s", {"warning": 80}, period=60,
    evaluation_periods=5, datapoints_to_alarm=3)
AUTH_REFUSALS = AlarmKind(
    "api-auth-refusals", "API refused requests (401/403)", "api", "requests", GT,
    "API Gateway refused more than {threshold:g} requests for a missing, invalid or under-scoped token over "
    "{window}", {"warning": 100})
TRAFFIC_ANOMALY = AlarmKind(
    "api-traffic-anomaly", "API traffic outside its usual band", "api", "stddev", OUTSIDE_BAND,
    "request count left its anomaly-detection band ({threshold:g} standard deviations) in {datapoints} of "
    "{evaluations} {period_text} periods", {"warning": 3}, evaluation_periods=3, datapoints_to_alarm=3,
    treat_missing_data="ignore")
LATENCY_ANOMALY = AlarmKind(
    "api-latency-anomaly", "API latency above its usual band", "api", "stddev", ABOVE_BAND,
    "p99 latency rose above its anomaly-detection band ({threshold:g} standard deviations) in {datapoints} of "
    "{evaluations} {period_text} periods", {"warning": 3}, evaluation_periods=3, datapoints_to_alarm=3,
    treat_missing_data="ignore")

# API Gateway writes one access-log line per request: a stage with requests and an empty access log has
# lost its logs (a deleted group, a changed access-log setting), and the refusals alarm is blind.
ACCESS_LOG_INGESTION = AlarmKind(
    "api-access-log-ingestion", "API access log receives no events", "api", "count", LT,
    "fewer than {threshold:g} access-log events per {period_text} while the stage served requests, in "
    "{datapoints} of {evaluations} periods: the access log and its metrics are blind", {"warning": 1},
    evaluation_periods=3, datapoints_to_alarm=3)

ALARM_KINDS: tuple[AlarmKind, ...] = (
    RATE_5XX, RATE_4XX, LATENCY, INTEGRATION_LATENCY, NO_TRAFFIC, NEAR_THROTTLE, AUTH_REFUSALS, TRAFFIC_ANOMALY,
    LATENCY_ANOMALY, ACCESS_LOG_INGESTION,
)


@dataclass(frozen=True)
class WatchedApi:
    """An HTTP API stage to watch."""

    key: str
    """Short stable key used in alarm and resource names (`http`)."""
    api_id: Any
    """HTTP API id (output)."""
    stage_name: Any
    """Stage name (output)."""
    url: Any
    """Invoke URL of the stage (the canary's target)."""
    access_log_group_name: Any
    """The stage's access-log group."""
    metrics_namespace: str
    """The service's metrics namespace; the stage's log metrics go under `<it>/<key>`."""
    throttling_rate_limit: float | None = None
    """The stage's default route rate limit (requests per second); None: no near-throttle alarm."""

    @property
    def log_metrics_namespace(self) -> str:
        return logs_insights.function_log_metrics_namespace(self.metrics_namespace, self.key)

    # -- the metrics, once ----------------------------------------------------------------------

    @property
    def dimensions(self) -> dict[str, Any]:
        return {"ApiId": self.api_id, "Stage": self.stage_name}

    def requests(self) -> Metric:
        return Metric(API_NS, "Count", self.dimensions, "Sum", "Requests")

    def errors_5xx(self) -> Metric:
        return Metric(API_NS, "5xx", self.dimensions, "Sum", "5xx")

    def errors_4xx(self) -> Metric:
        return Metric(API_NS, "4xx", self.dimensions, "Sum", "4xx")

    def latency(self, stat: str = "p99") -> Metric:
        return Metric(API_NS, "Latency", self.dimensions, stat, f"Latency {stat}")

    def integration_latency(self, stat: str = "p99") -> Metric:
        return Metric(API_NS, "IntegrationLatency", self.dimensions, stat, f"Integration latency {stat}")

    def auth_refusals(self) -> Metric:
        spec = logs_insights.filter_spec("auth-refusals", logs_insights.ACCESS_LOG_METRIC_FILTERS)
        return Metric(self.log_metrics_namespace, spec.metric_name, {}, "Sum", "Refused (401/403)")

    def access_log_events(self) -> Metric:
        return log_events(self.access_log_group_name)

    # -- alarms ---------------------------------------------------------------------------------

    def alarms(self, ctx: AlarmContext) -> list[AlarmSpec]:
        subject = f"HTTP API '{self.key}' of {ctx.prefix}"
        p = RATE_5XX.period
        specs: list[AlarmSpec] = []

        def alarm(info: AlarmKind, severity: str, threshold: float, panel: str, **kwargs: Any) -> AlarmSpec:
            return metric_alarm(ctx, info, severity=severity, resource=self.key, subject=subject,
                                threshold=threshold, panel=panel, **kwargs)

        for info, errors, panel in ((RATE_5XX, self.errors_5xx(), "5xx-rate"),
                                    (RATE_4XX, self.errors_4xx(), "4xx-rate")):
            for severity, threshold in ctx.each_severity(info.kind, self.key):
                specs.append(alarm(info, severity, threshold, panel, queries=(
                    Query("errors", errors.at(p), label=f"{errors.name} responses"),
                    Query("requests", self.requests().at(p), label="Requests"),
                    Query("error_rate", expression=gated("100 * errors / requests", "requests", ctx.min_requests),
                          label=f"{errors.name} rate (%)", return_data=True),
                )))
        for info, latency, panel in ((LATENCY, self.latency(), "latency"),
                                     (INTEGRATION_LATENCY, self.integration_latency(), "integration-latency")):
            for severity, threshold in ctx.each_severity(info.kind, self.key):
                specs.append(alarm(info, severity, threshold, panel, queries=(
                    Query("p99", latency.at(p), label=f"{latency.name} p99 (ms)"),
                    Query("requests", self.requests().at(p), label="Requests"),
                    Query("latency", expression=gated("p99", "requests", ctx.min_requests),
                          label=f"{latency.name} p99 (ms)", return_data=True),
                )))
        if ctx.expect_traffic:
            for severity, threshold in ctx.each_severity(NO_TRAFFIC.kind, self.key):
                specs.append(alarm(NO_TRAFFIC, severity, threshold, "requests", metric=self.requests().at(p),
                                   extra="Set expectTraffic false for a stack without traffic by design."))
        if self.throttling_rate_limit:
            r = NEAR_THROTTLE.period
            for severity, share in ctx.each_severity(NEAR_THROTTLE.kind, self.key):
                limit = share / 100 * self.throttling_rate_limit
                specs.append(alarm(
                    NEAR_THROTTLE, severity, limit, "request-rate", shown_threshold=share,
                    queries=(
                        Query("requests", self.requests().at(r), label="Requests"),
                        Query("rate", expression=f"requests / {r}", label="Requests per second", return_data=True),
                    ),
                    extra=f"Threshold {limit:g} of the {self.throttling_rate_limit:g} requests per second the stage "
                          "allows each route by default.",
                ))
        for severity, threshold in ctx.each_severity(AUTH_REFUSALS.kind, self.key):
            specs.append(alarm(AUTH_REFUSALS, severity, threshold, "auth-refusals",
                               metric=self.auth_refusals().at(AUTH_REFUSALS.period),
                               extra="A broken client, an expired secret, or someone probing the API."))
        for severity, threshold in ctx.each_severity(ACCESS_LOG_INGESTION.kind, self.key):
            specs.append(alarm(ACCESS_LOG_INGESTION, severity, threshold, "access-log-ingestion",
                               queries=ingestion_queries(self.requests().at(ACCESS_LOG_INGESTION.period),
                                                         self.access_log_events().at(ACCESS_LOG_INGESTION.period),
                                                         ctx.min_requests)))
        if ctx.anomaly_detection and ctx.expect_traffic:
            for info, metric, panel in ((TRAFFIC_ANOMALY, self.requests(), "requests"),
                                        (LATENCY_ANOMALY, self.latency(), "latency")):
                for severity, width in ctx.each_severity(info.kind, self.key):
                    specs.append(alarm(
                        info, severity, width, panel, threshold_metric_id="band",
                        queries=(
                            Query("m1", metric.at(info.period), label=metric.label, return_data=True),
                            Query("band", expression=f"ANOMALY_DETECTION_BAND(m1, {width:g})",
                                  label="Expected band", return_data=True),
                        ),
                        extra="The model needs about two weeks of data before its band is meaningful.",
                    ))
        return specs

    # -- graphs ---------------------------------------------------------------------------------

    def band(self, ctx: AlarmContext) -> Band:
        p = RATE_5XX.period

        def rate(errors: Metric, id_: str) -> tuple:
            return (expression("IF(requests > 0, 100 * errors / requests, 0)", id_, f"{errors.name} rate"),
                    hidden(errors, "errors"), hidden(self.requests(), "requests"))

        requests: tuple = (shown(self.requests()),)
        latency: tuple = tuple(shown(self.latency(s)) for s in ("p50", "p90", "p99"))
        if ctx.anomaly_detection and ctx.expect_traffic:
            # The band each anomaly alarm judges, drawn around the metric it watches.
            def banded(metric: Metric, kind: AlarmKind) -> tuple:
                widths = [w for _, w in ctx.each_severity(kind.kind, self.key)]
                bands = (expression(f"ANOMALY_DETECTION_BAND(m1, {w:g})", f"band{i}", f"Expected band ({w:g} sd)")
                         for i, w in enumerate(widths))
                return (shown(metric, id="m1"), *bands)

            requests = banded(self.requests(), TRAFFIC_ANOMALY)
            latency = (*(shown(self.latency(s)) for s in ("p50", "p90")), *banded(self.latency(), LATENCY_ANOMALY))
        panels = [
            Panel("requests", "requests", requests, "count", p),
            Panel("5xx-rate", "5xx rate", rate(self.errors_5xx(), "rate"), "%", p),
            Panel("4xx-rate", "4xx rate", rate(self.errors_4xx(), "rate"), "%", p),
            Panel("latency", "latency", latency, "ms", p),
            Panel("integration-latency", "integration latency",
                  tuple(shown(self.integration_latency(s)) for s in ("p50", "p99")), "ms", p),
            Panel("auth-refusals", "refused requests (401/403)", (shown(self.auth_refusals()),), "count",
                  AUTH_REFUSALS.period),
            Panel("access-log-ingestion", "access-log events and requests",
                  (shown(self.access_log_events()), shown(self.requests())), "count", ACCESS_LOG_INGESTION.period),
        ]
        if self.throttling_rate_limit:
            r = NEAR_THROTTLE.period
            panels.append(Panel(
                "request-rate", "requests per second",
                (expression(f"requests / {r}", "rate", "Requests per second"), hidden(self.requests(), "requests")),
                "rps", r, lines=(Line("stage rate limit", self.throttling_rate_limit),),
            ))
        return Band(self.key, f"API {self.key}", tuple(panels))

    def log_filters(self) -> list[LogFilter]:
        return [
            LogFilter(f"{self.key}-{spec.key}", self.access_log_group_name, spec, self.log_metrics_namespace)
            for spec in logs_insights.ACCESS_LOG_METRIC_FILTERS
        ]
