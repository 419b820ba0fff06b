"""Log-derived signals: metric filter patterns and Logs Insights saved queries. Pure data.

Written for what actually arrives in the log groups:

- the function's group holds the app's Powertools JSON lines (`level`, `message`, `timestamp`,
  `service`, `cold_start`, `function_name`, `function_request_id`, `correlation_id`,
  `xray_trace_id`; one `"request completed"` line per request with `http_method`, `route`, `path`,
  `status_code` (int), `duration_ms` (float); one `"business event"` line per event with `event` and
  `item_id`) and Lambda's own JSON platform records, e.g. `{"type": "platform.report", "record":
  {"metrics": {"durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB",
  "initDurationMs" (cold starts only), "restoreDurationMs" (SnapStart restores only)}}}`. With SnapStart
  a new environment restores a snapshot and its report carries `restoreDurationMs` and no
  `initDurationMs` (Lambda developer guide, "Monitoring for Lambda SnapStart"; Telemetry API schema
  reference, `platform.report`), so a SnapStart function's cold starts are read from the former;
- the API access-log group holds one JSON line per request with the keys of
  `components.service.http_api.ACCESS_LOG_FIELDS`, every value a string (`status`, `responseLatency`...).

Platform records carry no function name, so log metrics cannot take a FunctionName dimension; each
function's log metrics get a namespace of their own instead: `<metrics namespace>/<function key>`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricFilterSpec:
    """A metric filter on a log group (a function's, or an API stage's access log)."""

    key: str
    """Stable key (logical-name suffix)."""
    metric_name: str
    """Metric the filter publishes."""
    pattern: str
    """CloudWatch Logs JSON filter pattern."""
    value: str
    """Published value: a `$.` selector or a constant."""
    unit: str
    """CloudWatch unit of the value."""
    default_value: str | None = None
    """Value published for log events that do not match (None publishes nothing)."""
    on_traffic: bool = False
    """Traffic alone makes it publish: every request or invocation writes a matching line, or a default value
    is published for every event. False for filters that publish only when something happens (a cold start)."""


FUNCTION_METRIC_FILTERS: tuple[MetricFilterSpec, ...] = (
    MetricFilterSpec(
        key="init-duration",
        metric_name="InitDuration",
        pattern='{ $.type = "platform.report" && $.record.metrics.initDurationMs > 0 }',
        value="$.record.metrics.initDurationMs",
        unit="Milliseconds",
    ),
    MetricFilterSpec(
        key="max-memory-used",
        metric_name="MaxMemoryUsed",
        pattern='{ $.type = "platform.report" && $.record.metrics.maxMemoryUsedMB > 0 }',
        value="$.record.metrics.maxMemoryUsedMB",
        unit="Megabytes",
        on_traffic=True,  # every invocation's platform.report
    ),
    MetricFilterSpec(
        key="error-log-lines",
        metric_name="ErrorLogLines",
        # Python's logging says CRITICAL for the level above ERROR; both are application errors.
        pattern='{ $.level = "ERROR" || $.level = "CRITICAL" }',
        value="1",
        unit="Count",
        # Zero for every other line: the metric reads 0, not "no data", while the function logs.
        default_value="0",
        on_traffic=True,
    ),
)


# Only on the log group of a function with SnapStart: its cold starts are snapshot restores.
SNAPSTART_METRIC_FILTERS: tuple[MetricFilterSpec, ...] = (
    MetricFilterSpec(
        key="restore-duration",
        metric_name="RestoreDuration",
        pattern='{ $.type = "platform.report" && $.record.metrics.restoreDurationMs > 0 }',
        value="$.record.metrics.restoreDurationMs",
        unit="Milliseconds",
    ),
)


def function_metric_filters(snap_start: bool) -> tuple[MetricFilterSpec, ...]:
    """The metric filters of a function's log group: init duration, memory and ERROR lines, and the
    restore duration where SnapStart is on (the init filter stays: an unqualified invocation still inits)."""
    return FUNCTION_METRIC_FILTERS + (SNAPSTART_METRIC_FILTERS if snap_start else ())


# On the access log, whose values are all strings: requests API Gateway refused before the function
# ran, because the token was missing or invalid (401) or lacked the route's scope (403).
ACCESS_LOG_METRIC_FILTERS: tuple[MetricFilterSpec, ...] = (
    MetricFilterSpec(
        key="auth-refusals",
        metric_name="AuthRefusals",
        pattern='{ $.status = "401" || $.status = "403" }',
        value="1",
        unit="Count",
        default_value="0",
        on_traffic=True,
    ),
)


@dataclass(frozen=True)
class LogMetric:
    """Where a metric filter's values land."""

    namespace: str
    """Metric namespace."""
    metric_name: str
    """Metric name."""


def function_log_metrics_namespace(metrics_namespace: str, function_key: str) -> str:
    """Namespace of one resource's log-derived metrics: `<service metrics namespace>/<resource key>`."""
    return f"{metrics_namespace}/{function_key}"


def filter_spec(
    filter_key: str, specs: tuple[MetricFilterSpec, ...] = FUNCTION_METRIC_FILTERS + SNAPSTART_METRIC_FILTERS
) -> MetricFilterSpec:
    for spec in specs:
        if spec.key == filter_key:
            return spec
    raise KeyError(f"no metric filter {filter_key!r}")


def function_log_metric(log_metrics_namespace: str, filter_key: str) -> LogMetric:
    """The metric a function's metric filter `filter_key` publishes."""
    return LogMetric(log_metrics_namespace, filter_spec(filter_key).metric_name)


@dataclass(frozen=True)
class SavedQuery:
    """A Logs Insights query definition."""

    key: str
    """Stable key (logical-name suffix)."""
    title: str
    """Shown in the console under the stack's folder."""
    log_groups: tuple[str, ...]
    """Which groups it reads: `function` and/or `access`."""
    query: str
    """Logs Insights QL."""


def _q(*lines: str) -> str:
    return "\n| ".join(lines)


CORRELATION_ID_PLACEHOLDER = "REPLACE-WITH-CORRELATION-ID"

SAVED_QUERIES: tuple[SavedQuery, ...] = (
    SavedQuery(
        "api-performance", "API performance by 5 min", ("function",),
        _q('filter message = "request completed"',
           "stats count(*) as requests, avg(duration_ms) as avg_ms, pct(duration_ms, 50) as p50_ms, "
           "pct(duration_ms, 95) as p95_ms, pct(duration_ms, 99) as p99_ms, max(duration_ms) as max_ms by bin(5m)"),
    ),
    SavedQuery(
        "errors-by-status-and-path", "Errors by status and path", ("function",),
        _q('filter message = "request completed" and status_code >= 400',
           "stats count(*) as responses by status_code, route, path",
           "sort responses desc",
           "limit 100"),
    ),
    SavedQuery(
        "gateway-errors", "Gateway errors (never reached the function or failed in it)", ("access",),
        _q('filter status like /^[45]/ or integrationError != "-"',
           "stats count(*) as responses by status, routeKey, integrationStatus, errorMessage",
           "sort responses desc",
           "limit 100"),
    ),
    SavedQuery(
        "refused-requests", "Refused requests (401/403) by source IP", ("access",),
        # API Gateway's authorizer refuses these before the function runs: only the access log has them.
        _q('filter status = "401" or status = "403"',
           "stats count(*) as refused by ip, status, routeKey, authorizerError",
           "sort refused desc",
           "limit 100"),
    ),
    SavedQuery(
        # Both shapes of a cold start: an init, or a SnapStart restore (which reports no init duration).
        "cold-starts", "Cold starts: init and SnapStart restore durations", ("function",),
        _q('filter type = "platform.report" and '
           "(ispresent(record.metrics.initDurationMs) or ispresent(record.metrics.restoreDurationMs))",
           "stats count(*) as cold_starts, count(record.metrics.initDurationMs) as inits, "
           "pct(record.metrics.initDurationMs, 99) as p99_init_ms, max(record.metrics.initDurationMs) as max_init_ms, "
           "count(record.metrics.restoreDurationMs) as restores, "
           "pct(record.metrics.restoreDurationMs, 99) as p99_restore_ms, "
           "max(record.metrics.restoreDurationMs) as max_restore_ms by bin(1h)"),
    ),
    SavedQuery(
        "slowest-requests", "Slowest requests", ("function",),
        _q('filter message = "request completed"',
           "fields @timestamp, duration_ms, http_method, route, path, status_code, cold_start, correlation_id, "
           "xray_trace_id",
           "sort duration_ms desc",
           "limit 50"),
    ),
    SavedQuery(
        "correlation-id", "Correlation id lookup", ("function", "access"),
        # Without an x-correlation-id header the app uses the API request id, the access log's requestId.
        _q(f'filter correlation_id = "{CORRELATION_ID_PLACEHOLDER}" or requestId = "{CORRELATION_ID_PLACEHOLDER}"',
           "fields @timestamp, @log, level, message, route, status, status_code, duration_ms, "
           "function_request_id, xray_trace_id",
           "sort @timestamp asc",
           "limit 200"),
    ),
    SavedQuery(
        "business-events", "Business events", ("function",),
        _q('filter message = "business event"',
           "stats count(*) as events by event, bin(1h)"),
    ),
    SavedQuery(
        "recent-errors", "Recent ERROR lines", ("function",),
        _q('filter level = "ERROR" or level = "CRITICAL"',
           "fields @timestamp, message, route, correlation_id, xray_trace_id, function_request_id",
           "sort @timestamp desc",
           "limit 100"),
    ),
)


def query_name(prefix: str, query: SavedQuery) -> str:
    """Saved query name; the `/` files it in a folder per stack in the console."""
    return f"{prefix}/{query.title}"
