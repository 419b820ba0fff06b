"""Dashboard graphs as data: the series a panel shows, the thresholds drawn on it, and the grid. Pure.

A watched kind describes each of its graphs as a `Panel` built from the same `Metric` definitions its
alarms read; an alarm names its panel, and the dashboard draws every such alarm's threshold on it as a
horizontal annotation labelled with the severity. Panels that carry an alarm use the alarm's period, so
a Sum on the graph is the same Sum the alarm compares with its threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.monitoring.catalog import AlarmSpec
from components.monitoring.metrics import Metric

GRID_COLUMNS = 24
GRAPH_PERIOD = 300
SEVERITY_COLORS = {"critical": "#d62728", "warning": "#ff7f0e"}
CONTEXT_COLOR = "#7f7f7f"


@dataclass(frozen=True)
class Series:
    """One entry of a graph: a metric or an expression, shown or hidden (an expression's input)."""

    metric: Metric | None = None
    """The metric, read with its own statistic unless `stat` says otherwise."""
    expression: str | None = None
    """A metric-math expression over the other entries' ids."""
    id: str | None = None
    """Id, for entries an expression refers to."""
    label: str | None = None
    """Legend label (default: the metric's)."""
    visible: bool = True
    """False for inputs of an expression."""
    y_axis: str | None = None
    """`right` to draw on the right axis."""

    def __post_init__(self) -> None:
        if (self.metric is None) == (self.expression is None):
            raise ValueError("a series is a metric or an expression")
        if self.expression is not None and not self.id:
            raise ValueError("an expression series needs an id")

    def row(self) -> list[Any]:
        options: dict[str, Any] = {"id": self.id, "label": self.label,
                                   "visible": None if self.visible else False, "yAxis": self.y_axis}
        if self.expression is not None:
            return [{"expression": self.expression, **{k: v for k, v in options.items() if v is not None}}]
        assert self.metric is not None
        return self.metric.row(**options)


def shown(metric: Metric, label: str | None = None, **options: Any) -> Series:
    return Series(metric=metric, label=label, **options)


def hidden(metric: Metric, id_: str) -> Series:
    return Series(metric=metric, id=id_, visible=False)


def expression(expr: str, id_: str, label: str, **options: Any) -> Series:
    return Series(expression=expr, id=id_, label=label, **options)


@dataclass(frozen=True)
class Line:
    """A horizontal line that is not an alarm threshold (a timeout, a reservation, a limit)."""

    label: str
    value: float


@dataclass(frozen=True)
class Panel:
    """One graph of a watched resource's band."""

    key: str
    """Stable key within the band; alarms name it."""
    title: str
    """Graph title (the band prefixes the resource)."""
    series: tuple[Series, ...]
    """What it draws."""
    unit: str = ""
    """Unit of the left axis (shown in the title)."""
    period: int = GRAPH_PERIOD
    """Seconds per point; the alarm's period when it carries one."""
    width: int = 8
    """Columns of the 24-column grid."""
    lines: tuple[Line, ...] = ()
    """Reference lines besides the alarm thresholds."""
    view: str = "timeSeries"
    """timeSeries, singleValue..."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Further metric-widget properties (e.g. setPeriodToTimeRange)."""


@dataclass(frozen=True)
class Band:
    """The panels of one watched resource (or of the SLOs, or the account), in display order."""

    key: str
    """Resource key the alarms of this band carry (`AlarmSpec.resource`)."""
    title: str
    """Prefix of every panel title, e.g. `Lambda api`."""
    panels: tuple[Panel, ...]


def threshold_annotations(alarms: Iterable[AlarmSpec]) -> list[dict[str, Any]]:
    """One horizontal annotation per distinct (severity, threshold) of these alarms, severity-labelled."""
    seen: dict[tuple[str, float], dict[str, Any]] = {}
    for alarm in alarms:
        if alarm.threshold_metric_id:
            continue  # a band alarm's threshold is the band itself, drawn as a series
        key = (alarm.severity, alarm.threshold)
        if key not in seen:
            seen[key] = {"label": f"{alarm.severity} {alarm.threshold:g}", "value": alarm.threshold,
                         "color": SEVERITY_COLORS[alarm.severity]}
    # Critical first, the highest line first within a severity (the order a reader scans a graph).
    return sorted(seen.values(), key=lambda a: (a["label"].split()[0] != "critical", -a["value"]))


def panel_widget(band: Band, panel: Panel, region: str, alarms: Sequence[AlarmSpec]) -> dict[str, Any]:
    """The metric widget of a panel with the thresholds of the alarms that name it."""
    title = f"{band.title}: {panel.title}" + (f" ({panel.unit})" if panel.unit else "")
    properties: dict[str, Any] = {
        "title": title, "region": region, "view": panel.view, "period": panel.period,
        "metrics": [series.row() for series in panel.series],
        **panel.extra,
    }
    horizontal = threshold_annotations(alarms) + [
        {"label": line.label, "value": line.value, "color": CONTEXT_COLOR} for line in panel.lines
    ]
    if horizontal:
        properties["annotations"] = {"horizontal": horizontal}
    return {"type": "metric", "properties": properties}


class Grid:
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

    def flow(self, height: int, widgets: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Rows filled left to right, a new row whenever the next widget does not fit."""
        current: list[tuple[int, dict[str, Any]]] = []
        used = 0
        for width, widget in widgets:
            if used + width > GRID_COLUMNS:
                self.row(height, *current)
                current, used = [], 0
            current.append((width, widget))
            used += width
        if current:
            self.row(height, *current)
