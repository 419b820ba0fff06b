"""The service dashboard, generated from what is monitored, and a structural check of its body. Pure.

`dashboard_body` takes plain names (the component resolves outputs first) and returns the
CloudWatch dashboard body as a dict: a header, the alarm status, the SLO and error-budget view, then
one band per HTTP API stage, Lambda function and DynamoDB table, the service's business metrics, a
log widget of recent errors and the runbook index. 24 hours by default, 1-minute graph periods
(burn-rate graphs use 1 hour), `periodOverride: inherit` so each graph keeps its own period.

`dashboard_problems` checks a body against the documented structure (widget types and properties,
metric array syntax, expression ids, the 24-column grid, no overlaps) so that a malformed body is
caught by a test instead of by PutDashboard.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.monitoring import slo as slo_math
from components.monitoring.catalog import API_NS, DYNAMODB_NS, KINDS, LAMBDA_NS
from components.monitoring.logs_insights import function_log_metric

GRID_COLUMNS = 24
DEFAULT_START = "-PT24H"
GRAPH_PERIOD = 60
BURN_RATE_PERIOD = 3600
MAX_ALARMS_PER_WIDGET = 100

WIDGET_TYPES = frozenset({"metric", "text", "log", "alarm", "explorer", "custom"})
METRIC_VIEWS = frozenset({"timeSeries", "singleValue", "gauge", "bar", "pie", "table"})
LOG_VIEWS = frozenset({"table", "timeSeries", "bar", "pie"})
METRIC_PROPERTIES = frozenset({
    "accountId", "annotations", "liveData", "legend", "metrics", "period", "region", "stat", "title", "view",
    "stacked", "sparkline", "timezone", "yAxis", "setPeriodToTimeRange", "singleValueFullPrecision", "trend",
    "labels", "table",
})
METRIC_OPTIONS = frozenset({"accountId", "color", "id", "label", "period", "region", "stat", "visible", "yAxis"})
EXPRESSION_OPTIONS = frozenset({"expression", "id", "label", "period", "region", "visible", "yAxis", "color"})
_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
_STAT = re.compile(r"^(SampleCount|Average|Sum|Minimum|Maximum|IQM|p\d{1,2}(\.\d+)?|PR\(\d*:\d*\)|"
                   r"t[msc]\d{1,2}|wm\d{1,2}|(TM|TC|TS|WM|PR)\(.+\))$")
_ALARM_ARN = re.compile(r"^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+$")


@dataclass(frozen=True)
class FunctionView:
    """A function as the dashboard shows it."""

    key: str
    """Short key (`api`)."""
    function_name: str
    """Function name."""
    log_group_name: str
    """Its log group."""
    log_metrics_namespace: str
    """Namespace of its log metric filters."""
    timeout_seconds: int
    """Configured timeout (annotation on the duration graph)."""
    reserved_concurrency: int | None = None
    """Reserved concurrency (annotation on the concurrency graph)."""


@dataclass(frozen=True)
class ApiView:
    """An HTTP API stage as the dashboard shows it."""

    key: str
    """Short key (`http`)."""
    api_id: str
    """API id."""
    stage: str
    """Stage name."""


@dataclass(frozen=True)
class TableView:
    """A DynamoDB table as the dashboard shows it."""

    key: str
    """Short key (`table`)."""
    table_name: str
    """Table name."""
    operations: tuple[str, ...] = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Scan")
    """Operations whose latency is graphed."""


@dataclass(frozen=True)
class SloView:
    """SLO targets, for the SLO widgets."""

    availability_target_percent: float
    """Availability objective."""
    latency_target_percent: float
    """Latency objective."""
    latency_threshold_ms: int
    """Latency objective's threshold."""
    window_days: int = slo_math.SLO_WINDOW_DAYS
    """SLO window."""


@dataclass(frozen=True)
class DashboardInputs:
    """Everything the dashboard shows, as plain values."""

    title: str
    """Heading (the stack prefix)."""
    region: str
    """Region of every metric."""
    service_name: str
    """The `service` dimension of the business metrics."""
    metrics_namespace: str
    """Namespace of the business metrics."""
    functions: Sequence[FunctionView] = ()
    """Functions."""
    apis: Sequence[ApiView] = ()
    """API stages."""
    tables: Sequence[TableView] = ()
    """Tables."""
    alarm_arns: Sequence[str] = ()
    """Alarms shown in the status widget (metric and composite)."""
    business_metrics: Sequence[str] = ()
    """EMF metric names the function publishes."""
    slo: SloView | None = None
    """SLO targets; None leaves the SLO band out."""
    runbooks: Mapping[str, str] = field(default_factory=dict)
    """Alarm kind to runbook URL."""
    saved_queries: Sequence[str] = ()
    """Names of the stack's saved Logs Insights queries."""


class _Grid:
    """Places widgets left to right in rows of 24 columns."""

    def __init__(self) -> None:
        self.widgets: list[dict[str, Any]] = []
        self.y = 0

    def row(self, height: int, *widgets: tuple[int, dict[str, Any]]) -> None:
        x = 0
        for width, widget in widgets:
            if x + width > GRID_COLUMNS:
                raise ValueError(f"row wider than {GRID_COLUMNS} columns")
            self.widgets.append({**widget, "x": x, "y": self.y, "width": width, "height": height})
            x += width
        self.y += height


def _metric(namespace: str, name: str, dimensions: Mapping[str, str], **options: Any) -> list[Any]:
    row: list[Any] = [namespace, name]
    for key, value in dimensions.items():
        row += [key, value]
    if options:
        row.append(options)
    return row


def _expression(expression: str, id_: str, label: str, **options: Any) -> list[Any]:
    return [{"expression": expression, "id": id_, "label": label, **options}]


def _graph(title: str, region: str, metrics: list[list[Any]], *, period: int = GRAPH_PERIOD,
           view: str = "timeSeries", stat: str | None = None, **extra: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {"title": title, "region": region, "view": view, "period": period,
                                  "metrics": metrics}
    if stat:
        properties["stat"] = stat
    properties.update(extra)
    return {"type": "metric", "properties": properties}


def _hline(label: str, value: float) -> dict[str, Any]:
    return {"label": label, "value": value}


def dashboard_body(inputs: DashboardInputs) -> dict[str, Any]:
    """The dashboard body (serialise with json.dumps)."""
    grid = _Grid()
    region = inputs.region
    grid.row(2, (GRID_COLUMNS, {"type": "text", "properties": {"markdown": _header(inputs)}}))
    if inputs.alarm_arns:
        grid.row(5, (GRID_COLUMNS, {"type": "alarm", "properties": {
            "title": "Alarms", "alarms": list(inputs.alarm_arns)[:MAX_ALARMS_PER_WIDGET],
            "sortBy": "stateUpdatedTimestamp"}}))
    if inputs.slo and inputs.apis:
        _slo_band(grid, region, inputs.apis[0], inputs.slo)
    for api in inputs.apis:
        _api_band(grid, region, api)
    for fn in inputs.functions:
        _function_band(grid, region, fn)
    for table in inputs.tables:
        _table_band(grid, region, table)
    _business_band(grid, inputs)
    if inputs.runbooks:
        grid.row(8, (GRID_COLUMNS, {"type": "text", "properties": {"markdown": _runbook_index(inputs)}}))
    return {"start": DEFAULT_START, "periodOverride": "inherit", "widgets": grid.widgets}


def _header(inputs: DashboardInputs) -> str:
    parts = [f"# {inputs.title}", f"Service **{inputs.service_name}** in {inputs.region}."]
    if inputs.slo:
        slo = inputs.slo
        parts.append(
            f"SLOs over {slo.window_days} days: availability {slo.availability_target_percent:g}% (no 5xx), "
            f"latency {slo.latency_target_percent:g}% of requests within {slo.latency_threshold_ms} ms."
        )
    return " ".join(parts[:1]) + "\n\n" + " ".join(parts[1:])


def _slo_band(grid: _Grid, region: str, api: ApiView, slo: SloView) -> None:
    dims = {"ApiId": api.api_id, "Stage": api.stage}
    availability_budget = slo_math.error_budget(slo.availability_target_percent)
    latency_budget = slo_math.error_budget(slo.latency_target_percent)
    good_stat = f"PR(:{slo.latency_threshold_ms})"

    def counts(period: int | None = None) -> list[list[Any]]:
        extra = {"period": period} if period else {}
        return [
            _metric(API_NS, "5xx", dims, id="errors", stat="Sum", visible=False, **extra),
            _metric(API_NS, "Count", dims, id="requests", stat="Sum", visible=False, **extra),
        ]

    def latency_good(period: int | None = None) -> list[list[Any]]:
        extra = {"period": period} if period else {}
        return [_metric(API_NS, "Latency", dims, id="good", stat=good_stat, visible=False, **extra)]

    single = {"view": "singleValue", "setPeriodToTimeRange": True}
    grid.row(
        4,
        (6, _graph(f"Availability over the range (SLO {slo.availability_target_percent:g}%)", region,
                   [_expression("100 * (1 - errors / requests)", "availability", "Availability (%)"), *counts()],
                   **single)),
        (6, _graph("Availability budget: average burn rate over the range", region,
                   [_expression(f"(errors / requests) / {availability_budget:.10g}", "burn",
                                "Burn rate (1 = on budget)"), *counts()], **single)),
        (6, _graph(f"Requests within {slo.latency_threshold_ms} ms (SLO {slo.latency_target_percent:g}%)", region,
                   [_expression("good", "within", "Within threshold (%)"), *latency_good()], **single)),
        (6, _graph("Latency budget: average burn rate over the range", region,
                   [_expression(f"((100 - good) / 100) / {latency_budget:.10g}", "burn", "Burn rate (1 = on budget)"),
                    *latency_good()], **single)),
    )
    annotations = {"horizontal": [
        _hline(f"{'page' if row.severity == 'critical' else 'ticket'} {row.name} ({row.burn_rate:g}x)", row.burn_rate)
        for row in slo_math.burn_rate_windows(slo.window_days)
    ]}
    grid.row(
        6,
        (12, _graph("Availability burn rate (1 h)", region,
                    [_expression(f"(errors / requests) / {availability_budget:.10g}", "burn", "Burn rate"), *counts()],
                    period=BURN_RATE_PERIOD, annotations=annotations)),
        (12, _graph("Latency burn rate (1 h)", region,
                    [_expression(f"((100 - good) / 100) / {latency_budget:.10g}", "burn", "Burn rate"),
                     *latency_good()],
                    period=BURN_RATE_PERIOD, annotations=annotations)),
    )


def _api_band(grid: _Grid, region: str, api: ApiView) -> None:
    dims = {"ApiId": api.api_id, "Stage": api.stage}
    grid.row(
        6,
        (8, _graph(f"API {api.key}: requests", region, [_metric(API_NS, "Count", dims, label="Requests")],
                   stat="Sum")),
        (8, _graph(f"API {api.key}: 4xx and 5xx", region, [
            _metric(API_NS, "4xx", dims, label="4xx"),
            _metric(API_NS, "5xx", dims, label="5xx"),
        ], stat="Sum")),
        (8, _graph(f"API {api.key}: latency (ms)", region, [
            _metric(API_NS, "Latency", dims, stat="p50", label="p50"),
            _metric(API_NS, "Latency", dims, stat="p95", label="p95"),
            _metric(API_NS, "Latency", dims, stat="p99", label="p99"),
            _metric(API_NS, "IntegrationLatency", dims, stat="p99", label="integration p99"),
        ])),
    )


def _function_band(grid: _Grid, region: str, fn: FunctionView) -> None:
    dims = {"FunctionName": fn.function_name}
    title = f"Lambda {fn.key}"
    init = function_log_metric(fn.log_metrics_namespace, "init-duration")
    memory = function_log_metric(fn.log_metrics_namespace, "max-memory-used")
    error_lines = function_log_metric(fn.log_metrics_namespace, "error-log-lines")
    grid.row(
        6,
        (8, _graph(f"{title}: invocations, errors, throttles", region, [
            _metric(LAMBDA_NS, "Invocations", dims, label="Invocations"),
            _metric(LAMBDA_NS, "Errors", dims, label="Errors"),
            _metric(LAMBDA_NS, "Throttles", dims, label="Throttles"),
        ], stat="Sum")),
        (8, _graph(f"{title}: error rate (%)", region, [
            _expression("IF(invocations > 0, 100 * errors / invocations, 0)", "rate", "Error rate (%)"),
            _metric(LAMBDA_NS, "Errors", dims, id="errors", stat="Sum", visible=False),
            _metric(LAMBDA_NS, "Invocations", dims, id="invocations", stat="Sum", visible=False),
        ])),
        (8, _graph(f"{title}: duration (ms)", region, [
            _metric(LAMBDA_NS, "Duration", dims, stat="p50", label="p50"),
            _metric(LAMBDA_NS, "Duration", dims, stat="p95", label="p95"),
            _metric(LAMBDA_NS, "Duration", dims, stat="p99", label="p99"),
        ], annotations={"horizontal": [_hline("timeout", fn.timeout_seconds * 1000)]})),
    )
    concurrency_annotations = (
        {"annotations": {"horizontal": [_hline("reserved", fn.reserved_concurrency)]}}
        if fn.reserved_concurrency else {}
    )
    grid.row(
        6,
        (8, _graph(f"{title}: concurrent executions", region, [
            _metric(LAMBDA_NS, "ConcurrentExecutions", dims, label="Concurrent executions"),
        ], stat="Maximum", **concurrency_annotations)),
        (8, _graph(f"{title}: cold starts and init duration", region, [
            _metric(init.namespace, init.metric_name, {}, stat="SampleCount", label="Cold starts"),
            _metric(init.namespace, init.metric_name, {}, stat="p99", label="Init duration p99 (ms)",
                    yAxis="right"),
        ])),
        (8, _graph(f"{title}: max memory used (MB) and ERROR log lines", region, [
            _metric(memory.namespace, memory.metric_name, {}, stat="Maximum", label="Max memory used (MB)"),
            _metric(error_lines.namespace, error_lines.metric_name, {}, stat="Sum", label="ERROR lines",
                    yAxis="right"),
        ])),
    )


def _table_band(grid: _Grid, region: str, table: TableView) -> None:
    dims = {"TableName": table.table_name}
    grid.row(
        6,
        (8, _graph(f"DynamoDB {table.key}: consumed capacity", region, [
            _metric(DYNAMODB_NS, "ConsumedReadCapacityUnits", dims, label="Read units"),
            _metric(DYNAMODB_NS, "ConsumedWriteCapacityUnits", dims, label="Write units"),
        ], stat="Sum")),
        (8, _graph(f"DynamoDB {table.key}: throttle events", region, [
            _metric(DYNAMODB_NS, "ReadThrottleEvents", dims, label="Read throttles"),
            _metric(DYNAMODB_NS, "WriteThrottleEvents", dims, label="Write throttles"),
        ], stat="Sum")),
        (8, _graph(f"DynamoDB {table.key}: request latency (ms)", region, [
            _metric(DYNAMODB_NS, "SuccessfulRequestLatency", {**dims, "Operation": op}, label=op)
            for op in table.operations
        ], stat="Average")),
    )


def _business_band(grid: _Grid, inputs: DashboardInputs) -> None:
    widgets: list[tuple[int, dict[str, Any]]] = []
    if inputs.business_metrics:
        widgets.append((12, _graph("Business metrics", inputs.region, [
            _metric(inputs.metrics_namespace, name, {"service": inputs.service_name}, label=name)
            for name in inputs.business_metrics
        ], stat="Sum")))
    if inputs.functions:
        sources = " | ".join(f"SOURCE '{fn.log_group_name}'" for fn in inputs.functions)
        widgets.append((12 if widgets else 24, {"type": "log", "properties": {
            "title": "Recent ERROR lines",
            "region": inputs.region,
            "view": "table",
            "query": f"{sources} | filter level = \"ERROR\" or level = \"CRITICAL\" "
                     "| fields @timestamp, message, route, correlation_id, xray_trace_id "
                     "| sort @timestamp desc | limit 50",
        }}))
    if widgets:
        grid.row(6, *widgets)


def _runbook_index(inputs: DashboardInputs) -> str:
    lines = ["## Runbooks", ""]
    for kind, url in inputs.runbooks.items():
        title = KINDS[kind].title if kind in KINDS else kind
        lines.append(f"* [{title}]({url})")
    if inputs.saved_queries:
        lines += ["", "## Saved Logs Insights queries", ""]
        lines += [f"* {name}" for name in inputs.saved_queries]
    return "\n".join(lines)


def dashboard_url(region: str, name: str) -> str:
    """Console URL of a dashboard."""
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{name}"


# ---------------------------------------------------------------------------------------------
# Structural validation


def dashboard_problems(body: Mapping[str, Any]) -> list[str]:
    """Every way the body departs from CloudWatch's dashboard body structure (empty when valid)."""
    problems: list[str] = []
    unknown = set(body) - {"start", "end", "periodOverride", "widgets"}
    if unknown:
        problems.append(f"unknown top-level keys {sorted(unknown)}")
    if body.get("periodOverride", "auto") not in ("auto", "inherit"):
        problems.append("periodOverride must be auto or inherit")
    widgets = body.get("widgets")
    if not isinstance(widgets, list) or not widgets:
        return [*problems, "widgets must be a non-empty list"]
    if len(widgets) > 500:
        problems.append("more than 500 widgets")
    cells: dict[tuple[int, int], int] = {}
    for index, widget in enumerate(widgets):
        where = f"widgets[{index}]"
        kind = widget.get("type")
        if kind not in WIDGET_TYPES:
            problems.append(f"{where}: unknown type {kind!r}")
            continue
        problems += _position_problems(where, widget, index, cells)
        properties = widget.get("properties")
        if not isinstance(properties, Mapping):
            problems.append(f"{where}: properties must be an object")
            continue
        if kind == "metric":
            problems += _metric_widget_problems(where, properties)
        elif kind == "text":
            if not isinstance(properties.get("markdown"), str) or not properties["markdown"]:
                problems.append(f"{where}: text widget needs markdown")
        elif kind == "log":
            query = properties.get("query")
            if not isinstance(query, str) or not query.startswith("SOURCE '"):
                problems.append(f"{where}: log widget query must start with SOURCE '<log group>'")
            if not properties.get("region"):
                problems.append(f"{where}: log widget needs a region")
            if properties.get("view", "table") not in LOG_VIEWS:
                problems.append(f"{where}: log widget view {properties.get('view')!r}")
        elif kind == "alarm":
            alarms = properties.get("alarms")
            if not isinstance(alarms, list) or not alarms or len(alarms) > MAX_ALARMS_PER_WIDGET:
                problems.append(f"{where}: alarm widget needs 1..{MAX_ALARMS_PER_WIDGET} alarm ARNs")
            else:
                problems += [f"{where}: {arn!r} is not an alarm ARN" for arn in alarms if not _ALARM_ARN.match(arn)]
    return problems


def _position_problems(
    where: str, widget: Mapping[str, Any], index: int, cells: dict[tuple[int, int], int]
) -> list[str]:
    problems = []
    values = {k: widget.get(k) for k in ("x", "y", "width", "height")}
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values.values()):
        return [f"{where}: x, y, width and height must be integers"]
    x, y, width, height = values["x"], values["y"], values["width"], values["height"]
    if x < 0 or y < 0 or not 1 <= width <= GRID_COLUMNS or not 1 <= height <= 1000:
        problems.append(f"{where}: position out of range")
    if x + width > GRID_COLUMNS:
        problems.append(f"{where}: x + width = {x + width} exceeds the {GRID_COLUMNS}-column grid")
    for column in range(x, min(x + width, GRID_COLUMNS)):
        for row in range(y, y + height):
            other = cells.setdefault((column, row), index)
            if other != index:
                problems.append(f"{where}: overlaps widgets[{other}]")
                return problems
    return problems


def _metric_widget_problems(where: str, properties: Mapping[str, Any]) -> list[str]:
    problems = []
    unknown = set(properties) - METRIC_PROPERTIES
    if unknown:
        problems.append(f"{where}: unknown metric widget properties {sorted(unknown)}")
    if not isinstance(properties.get("region"), str):
        problems.append(f"{where}: metric widget needs a region")
    if properties.get("view", "timeSeries") not in METRIC_VIEWS:
        problems.append(f"{where}: view {properties.get('view')!r}")
    if "stat" in properties and not _STAT.match(str(properties["stat"])):
        problems.append(f"{where}: statistic {properties['stat']!r}")
    period = properties.get("period")
    if period is not None and (not isinstance(period, int) or (period % 60 and period not in (1, 5, 10, 30))):
        problems.append(f"{where}: period {period!r}")
    metrics = properties.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        return [*problems, f"{where}: metric widget needs a non-empty metrics array"]
    ids: set[str] = set()
    expressions: list[tuple[int, str]] = []
    for number, row in enumerate(metrics):
        at = f"{where}.metrics[{number}]"
        if not isinstance(row, list) or not row:
            problems.append(f"{at}: must be a non-empty array")
            continue
        options = row[-1] if isinstance(row[-1], Mapping) else {}
        if isinstance(row[0], Mapping):
            if len(row) != 1 or "expression" not in row[0]:
                problems.append(f"{at}: an expression row is a single object with an expression")
            if set(options) - EXPRESSION_OPTIONS:
                problems.append(f"{at}: unknown expression options {sorted(set(options) - EXPRESSION_OPTIONS)}")
            expressions.append((number, str(row[0].get("expression", ""))))
        else:
            names = row[:-1] if options else row
            if not all(isinstance(part, str) and part for part in names):
                problems.append(f"{at}: namespace, metric name and dimensions must be non-empty strings")
            elif len(names) < 2 or len(names) % 2:
                problems.append(f"{at}: expected [namespace, metric name, (dimension name, value)...]")
            if set(options) - METRIC_OPTIONS:
                problems.append(f"{at}: unknown metric options {sorted(set(options) - METRIC_OPTIONS)}")
            if "stat" in options and not _STAT.match(str(options["stat"])):
                problems.append(f"{at}: statistic {options['stat']!r}")
            if "stat" not in options and "stat" not in properties:
                problems.append(f"{at}: no statistic on the metric or the widget")
        if "id" in options:
            if not _ID.match(str(options["id"])):
                problems.append(f"{at}: id {options['id']!r} must start with a lower-case letter")
            if options["id"] in ids:
                problems.append(f"{at}: duplicate id {options['id']!r}")
            ids.add(str(options["id"]))
    for number, expression in expressions:
        referenced = set(re.findall(r"\b[a-z][a-zA-Z0-9_]*\b", expression))
        missing = referenced - ids
        if missing:
            problems.append(f"{where}.metrics[{number}]: expression uses undefined ids {sorted(missing)}")
    return problems
