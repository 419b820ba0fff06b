"""The service dashboard, assembled from what is watched. Pure.

`dashboard_body` takes plain names (the component resolves outputs first) and returns the CloudWatch
dashboard body as a dict: a header, the alarm status, the SLO and error-budget view, then one band of
panels per watched resource (each kind draws its own, from the metric definitions its alarms read), the
account-level signals, the service's business metrics, a log widget of recent errors and the runbook
index. Every alarm names the panel that graphs its value; its threshold is drawn there, labelled with its
severity. 24 hours by default, `periodOverride: inherit` so each graph keeps its own period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.monitoring import service_level
from components.monitoring import slo as slo_math
from components.monitoring.catalog import AlarmContext, AlarmKind, AlarmSet, AlarmSpec
from components.monitoring.kinds import Watched, WatchedApi, WatchedFunction, WatchedTable, account
from components.monitoring.panels import GRID_COLUMNS, Band, Grid, panel_widget
from components.monitoring.service_level import SloTarget

DEFAULT_START = "-PT24H"
PANEL_HEIGHT = 6
# CloudWatch dashboard quotas.
MAX_ALARMS_PER_WIDGET = 100
MAX_WIDGETS = 500
MAX_METRICS_PER_WIDGET = 500
MAX_METRICS_PER_DASHBOARD = 2500


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
    context: AlarmContext
    """Thresholds and switches in force (some graphs depend on them, e.g. anomaly bands)."""
    watched: Sequence[Watched] = ()
    """What is watched, with resolved names."""
    alarms: AlarmSet | None = None
    """The alarm set: thresholds to draw, by panel."""
    alarm_arns: Sequence[str] = ()
    """Alarms shown in the status widget (metric and composite)."""
    business_metrics: Sequence[str] = ()
    """EMF metric names the function publishes."""
    slos: Sequence[SloTarget] = ()
    """SLOs of every API stage; empty leaves the SLO bands out."""
    slo_window_days: int = slo_math.SLO_WINDOW_DAYS
    """SLO window."""
    runbooks: Mapping[str, str] = field(default_factory=dict)
    """Alarm kind to runbook URL."""
    kinds: Mapping[str, AlarmKind] = field(default_factory=dict)
    """The catalog, for the runbook index titles."""
    saved_queries: Sequence[str] = ()
    """Names of the stack's saved Logs Insights queries."""


def bands(inputs: DashboardInputs) -> list[Band]:
    """The bands of panels, in display order."""
    result: list[Band] = []
    # Every stage's SLOs have burn-rate alarms, so every stage gets its SLO band.
    for api in (w for w in inputs.watched if isinstance(w, WatchedApi)):
        if inputs.slos:
            result.append(service_level.slo_band(api, inputs.slos, inputs.slo_window_days))
    order = {WatchedApi: 0, WatchedFunction: 1, WatchedTable: 2}
    for resource in sorted(inputs.watched, key=lambda w: order.get(type(w), 3)):
        result.append(resource.band(inputs.context))
    if any(isinstance(w, WatchedTable) for w in inputs.watched):
        result.append(account.dynamodb_band())
    return result


def alarms_by_panel(alarm_set: AlarmSet | None) -> dict[tuple[str, str], list[AlarmSpec]]:
    found: dict[tuple[str, str], list[AlarmSpec]] = defaultdict(list)
    for alarm in alarm_set.alarms if alarm_set else ():
        if alarm.panel:
            found[(alarm.resource, alarm.panel)].append(alarm)
    return found


def dashboard_body(inputs: DashboardInputs) -> dict[str, Any]:
    """The dashboard body (serialise with json.dumps). Raises if an alarm names a panel no band draws."""
    grid = Grid()
    grid.row(2, (GRID_COLUMNS, {"type": "text", "properties": {"markdown": _header(inputs)}}))
    if inputs.alarm_arns:
        grid.row(5, (GRID_COLUMNS, {"type": "alarm", "properties": {
            "title": "Alarms", "alarms": list(inputs.alarm_arns)[:MAX_ALARMS_PER_WIDGET],
            "sortBy": "stateUpdatedTimestamp"}}))
    by_panel = alarms_by_panel(inputs.alarms)
    drawn: set[tuple[str, str]] = set()
    for band in bands(inputs):
        widgets = []
        for panel in band.panels:
            key = (band.key, panel.key)
            if key in drawn:
                raise ValueError(f"two panels {panel.key!r} for resource {band.key!r}")
            drawn.add(key)
            widgets.append((panel.width, panel_widget(band, panel, inputs.region, by_panel.get(key, []))))
        height = 4 if all(p.view == "singleValue" for p in band.panels) else PANEL_HEIGHT
        grid.flow(height, widgets)
    orphans = sorted(f"{a.name} ({panel})" for (resource, panel), alarms in by_panel.items()
                     if (resource, panel) not in drawn for a in alarms)
    if orphans:
        raise ValueError(f"alarms name panels no band draws: {orphans}")
    _business_band(grid, inputs)
    if inputs.runbooks:
        grid.row(8, (GRID_COLUMNS, {"type": "text", "properties": {"markdown": _runbook_index(inputs)}}))
    return {"start": DEFAULT_START, "periodOverride": "inherit", "widgets": grid.widgets}


def limit_problems(body: Mapping[str, Any]) -> list[str]:
    """Where a body exceeds CloudWatch's dashboard quotas (empty when it does not)."""
    widgets = list(body.get("widgets") or [])
    problems = []
    if len(widgets) > MAX_WIDGETS:
        problems.append(f"{len(widgets)} widgets; a dashboard holds at most {MAX_WIDGETS}")
    total = 0
    for index, widget in enumerate(widgets):
        count = len((widget.get("properties") or {}).get("metrics") or [])
        total += count
        if count > MAX_METRICS_PER_WIDGET:
            problems.append(f"widgets[{index}] has {count} metrics; a widget holds at most {MAX_METRICS_PER_WIDGET}")
        alarms = (widget.get("properties") or {}).get("alarms") or []
        if len(alarms) > MAX_ALARMS_PER_WIDGET:
            problems.append(f"widgets[{index}] lists {len(alarms)} alarms; at most {MAX_ALARMS_PER_WIDGET}")
    if total > MAX_METRICS_PER_DASHBOARD:
        problems.append(f"{total} metrics; a dashboard holds at most {MAX_METRICS_PER_DASHBOARD}")
    return problems


def _header(inputs: DashboardInputs) -> str:
    parts = [f"# {inputs.title}", f"Service **{inputs.service_name}** in {inputs.region}."]
    for slo in inputs.slos:
        if slo.kind == service_level.AVAILABILITY.kind:
            parts.append(f"SLOs over {inputs.slo_window_days} days: availability {slo.target_percent:g}% (no 5xx),")
        else:
            parts.append(f"latency {slo.target_percent:g}% of requests within {slo.latency_threshold_ms} ms.")
    parts.append("Thresholds are drawn on each graph: red pages, orange notifies.")
    return " ".join(parts[:1]) + "\n\n" + " ".join(parts[1:])


def _business_band(grid: Grid, inputs: DashboardInputs) -> None:
    widgets: list[tuple[int, dict[str, Any]]] = []
    if inputs.business_metrics:
        widgets.append((12, {"type": "metric", "properties": {
            "title": "Business metrics", "region": inputs.region, "view": "timeSeries", "period": 300, "stat": "Sum",
            "metrics": [[inputs.metrics_namespace, name, "service", inputs.service_name, {"label": name}]
                        for name in inputs.business_metrics],
        }}))
    functions = [w for w in inputs.watched if isinstance(w, WatchedFunction)]
    if functions:
        sources = " | ".join(f"SOURCE '{fn.log_group_name}'" for fn in functions)
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
        info = inputs.kinds.get(kind)
        lines.append(f"* [{info.title if info else kind}]({url})")
    if inputs.saved_queries:
        lines += ["", "## Saved Logs Insights queries", ""]
        lines += [f"* {name}" for name in inputs.saved_queries]
    return "\n".join(lines)


def dashboard_url(region: str, name: str) -> str:
    """Console URL of a dashboard."""
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{name}"
