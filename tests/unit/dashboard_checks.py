"""A structural check of a CloudWatch dashboard body, for tests: what PutDashboard would refuse.

Checks a body against the documented structure (widget types and properties, metric array syntax,
expression ids, the 24-column grid, no overlaps) so that a malformed body is caught by a test instead of
by PutDashboard.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

GRID_COLUMNS = 24
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
ANNOTATION_OPTIONS = frozenset({"label", "value", "color", "fill", "visible", "yAxis"})
_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
_STAT = re.compile(r"^(SampleCount|Average|Sum|Minimum|Maximum|IQM|p\d{1,2}(\.\d+)?|PR\(\d*:\d*\)|"
                   r"t[msc]\d{1,2}|wm\d{1,2}|(TM|TC|TS|WM|PR)\(.+\))$")
_ALARM_ARN = re.compile(r"^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+$")


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
    annotations = properties.get("annotations")
    if annotations is not None:
        horizontal = annotations.get("horizontal") if isinstance(annotations, Mapping) else None
        if set(annotations) - {"horizontal", "vertical"} or not isinstance(horizontal, list):
            problems.append(f"{where}: annotations must be {{'horizontal': [...]}}")
        else:
            for number, line in enumerate(horizontal):
                if not isinstance(line, Mapping) or set(line) - ANNOTATION_OPTIONS:
                    problems.append(f"{where}.annotations[{number}]: unknown options")
                elif not isinstance(line.get("value"), int | float) or isinstance(line.get("value"), bool):
                    problems.append(f"{where}.annotations[{number}]: value must be a number")
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
