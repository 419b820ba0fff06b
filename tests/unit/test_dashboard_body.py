"""The generated dashboard body: valid CloudWatch dashboard JSON, every alarm's threshold drawn on the graph
of its value, within CloudWatch's limits; and the structural check catches broken bodies."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

from components.monitoring import dashboard as dash
from components.monitoring.alarm_set import alarm_set
from components.monitoring.catalog import AlarmContext, Thresholds, runbook_url
from components.monitoring.kinds import WatchedApi, WatchedCanary, WatchedFunction, WatchedTable, WatchedTopic
from components.monitoring.registry import KINDS
from components.monitoring.service_level import SloTarget
from tests.unit.dashboard_checks import dashboard_problems

BASE = "https://github.com/example-org/prodready/blob/main/docs/runbooks"
NS = "prodready/svc-prod"
ARN = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{}"
WATCHED = [
    WatchedFunction("api", "svc-prod-api", "/aws/lambda/svc-prod-api", 10, 512, NS, reserved_concurrency=100,
                    alias="live"),
    WatchedApi("http", "a1b2c3d4e5", "$default", "https://x", "/aws/apigateway/svc-prod/access-logs", NS, 500),
    WatchedTable("table", "svc-prod-items", ("by-name",), ("GetItem", "PutItem")),
    WatchedCanary("health", "svc-prod-health", "/health/ready", 60),
    WatchedTopic("critical", "svc-prod-alerts-critical", "warning"),
    WatchedTopic("warning", "svc-prod-alerts-warning", "critical"),
]
SLOS = (SloTarget("slo-availability-burn-rate", 99.9), SloTarget("slo-latency-burn-rate", 99.0, 500))


def _ctx(anomaly: bool = True) -> AlarmContext:
    return AlarmContext("svc-prod", BASE, Thresholds(KINDS, {"api-latency-p99": {"warning": 500, "critical": 1500}}),
                        anomaly_detection=anomaly)


def _inputs(**changes: Any) -> dash.DashboardInputs:
    ctx = changes.pop("context", None) or _ctx()
    watched = changes.pop("watched", WATCHED)
    alarms = alarm_set(ctx, watched, metrics_namespace=NS, slos=changes.get("slos", SLOS))
    values: dict[str, Any] = {
        "title": "svc-prod",
        "region": "eu-west-1",
        "service_name": "svc",
        "metrics_namespace": NS,
        "context": ctx,
        "watched": watched,
        "alarms": alarms,
        "alarm_arns": [ARN.format(name) for name in alarms.names],
        "business_metrics": ["ItemsCreated", "ItemsUpdated", "ItemsDeleted"],
        "slos": SLOS,
        "runbooks": {kind: runbook_url(BASE, kind) for kind in KINDS},
        "kinds": KINDS,
        "saved_queries": ["svc-prod/API performance by 5 min"],
    }
    values.update(changes)
    return dash.DashboardInputs(**values)


def _graphs(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {w["properties"]["title"]: w["properties"] for w in body["widgets"] if w["type"] == "metric"}


def _lines(properties: dict[str, Any]) -> list[tuple[str, float]]:
    return [(a["label"], a["value"]) for a in (properties.get("annotations") or {}).get("horizontal", [])]


def test_generated_body_is_valid_serialisable_and_within_limits() -> None:
    body = dash.dashboard_body(_inputs())
    assert dashboard_problems(body) == []
    assert dash.limit_problems(body) == []
    assert json.loads(json.dumps(body)) == body
    assert body["start"] == "-PT24H" and body["periodOverride"] == "inherit"


def test_every_alarm_threshold_is_drawn_on_the_graph_of_its_value_labelled_with_its_severity() -> None:
    inputs = _inputs()
    body = dash.dashboard_body(inputs)
    graphs = _graphs(body)
    by_panel = dash.alarms_by_panel(inputs.alarms)
    bands = {(band.key, panel.key): f"{band.title}: {panel.title}"
             for band in dash.bands(inputs) for panel in band.panels}
    checked = 0
    for (resource, panel), alarms in by_panel.items():
        title = next(t for t in graphs if t.startswith(bands[(resource, panel)]))
        lines = _lines(graphs[title])
        for alarm in alarms:
            if alarm.threshold_metric_id:
                # A band alarm's threshold is its band, drawn as an expression on the same graph.
                expressions = [m[0]["expression"] for m in graphs[title]["metrics"] if isinstance(m[0], dict)]
                assert f"ANOMALY_DETECTION_BAND(m1, {alarm.threshold:g})" in expressions, alarm.name
            else:
                assert (f"{alarm.severity} {alarm.threshold:g}", alarm.threshold) in lines, (alarm.name, title)
            checked += 1
    assert checked == len([a for a in inputs.alarms.alarms if a.panel])
    # Spot checks in the graphs' own units: 80% of a 10 s timeout is drawn at 8000 ms, beside the timeout.
    duration = _lines(graphs["Lambda api: duration (ms)"])
    assert ("warning 8000", 8000) in duration and ("timeout", 10000) in duration
    latency = _lines(graphs["API http: latency (ms)"])
    assert ("critical 1500", 1500) in latency and ("warning 500", 500) in latency
    assert ("warning 400", 400) in _lines(graphs["API http: requests per second (rps)"])


def test_a_graph_carrying_an_alarm_uses_the_alarms_period() -> None:
    inputs = _inputs()
    body = dash.dashboard_body(inputs)
    graphs = _graphs(body)
    assert graphs["Lambda api: throttles (count)"]["period"] == 300  # a Sum over the alarm's 5 minutes
    assert graphs["Lambda api: alias live error rate (%)"]["period"] == 60
    assert graphs["Lambda api: cold-start init duration (ms)"]["period"] == 900


def test_body_shows_every_watched_resource_and_the_service_signals() -> None:
    body = dash.dashboard_body(_inputs())
    text = json.dumps(body)
    for name in ("svc-prod-api", "a1b2c3d4e5", "svc-prod-items", "svc-prod-health", "svc-prod-alerts-critical",
                 "NumberOfNotificationsFailed", "SuccessfulRequestLatency", "UserErrors", "PR(:500)",
                 "ANOMALY_DETECTION_BAND", "AuthRefusals", "ItemsCreated"):
        assert name in text, name
    types = [w["type"] for w in body["widgets"]]
    assert types.count("alarm") == 1 and types.count("text") == 2 and types.count("log") == 1
    runbook_text = body["widgets"][-1]["properties"]["markdown"]
    assert all(runbook_url(BASE, kind) in runbook_text for kind in KINDS)


def test_the_grid_is_filled_row_by_row_within_24_columns_without_overlaps() -> None:
    body = dash.dashboard_body(_inputs())
    cells: set[tuple[int, int]] = set()
    for widget in body["widgets"]:
        assert widget["x"] + widget["width"] <= 24
        for x in range(widget["x"], widget["x"] + widget["width"]):
            for y in range(widget["y"], widget["y"] + widget["height"]):
                assert (x, y) not in cells
                cells.add((x, y))


def test_slo_burn_graphs_carry_the_workbook_thresholds() -> None:
    graphs = _graphs(dash.dashboard_body(_inputs()))
    availability = _lines(graphs["SLO http: availability burn rate (1 h) (x)"])
    assert [value for _, value in availability] == [14.4, 6.0, 1.0, 1.0]
    assert ("critical 14.4", 14.4) in availability and ("warning 1", 1.0) in availability


def test_optional_bands_disappear_without_their_inputs() -> None:
    body = dash.dashboard_body(_inputs(slos=(), alarm_arns=[], business_metrics=[], runbooks={},
                                       watched=WATCHED[:2], context=_ctx(anomaly=False)))
    assert dashboard_problems(body) == []
    titles = " ".join(_graphs(body))
    assert "burn rate" not in titles and "DynamoDB" not in titles and "Canary" not in titles
    assert "ANOMALY" not in json.dumps(body)
    assert all(w["type"] != "alarm" for w in body["widgets"])


def test_an_alarm_naming_a_panel_no_band_draws_is_refused() -> None:
    inputs = _inputs()
    (spec,) = [a for a in inputs.alarms.alarms if a.name == "svc-prod-api-lambda-throttles-warning"]
    moved = dataclasses.replace(spec, name="svc-prod-x-warning", panel="no-such-panel")
    broken = dataclasses.replace(inputs.alarms, alarms=(*inputs.alarms.alarms, moved))
    with pytest.raises(ValueError, match="no-such-panel"):
        dash.dashboard_body(dataclasses.replace(inputs, alarms=broken))


def test_limits_are_counted() -> None:
    widget = {"type": "metric", "properties": {"metrics": [["N", "M"]] * 501}}
    assert dash.limit_problems({"widgets": [widget]}) == ["widgets[0] has 501 metrics; a widget holds at most 500"]
    assert dash.limit_problems({"widgets": [{"type": "text", "properties": {}}] * 501}) == [
        "501 widgets; a dashboard holds at most 500"]


def test_dashboard_url() -> None:
    assert dash.dashboard_url("eu-west-1", "svc-prod") == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/svc-prod")


def _broken(mutate: Any) -> list[str]:
    body = copy.deepcopy(dash.dashboard_body(_inputs()))
    mutate(body)
    return dashboard_problems(body)


def _first(body: dict[str, Any], kind: str) -> dict[str, Any]:
    """The first widget of a type; for metric widgets, one with an expression, ids and thresholds."""
    return next(w for w in body["widgets"] if w["type"] == kind and (
        kind != "metric" or w["properties"]["title"] == "Lambda api: error rate (%)"))


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda b: b["widgets"][0].update(type="chart"), "unknown type 'chart'"),
    (lambda b: b["widgets"][0].update(width=25), "x + width = 25 exceeds the 24-column grid"),
    (lambda b: b["widgets"][1].update(y=0), "overlaps widgets[0]"),
    (lambda b: b["widgets"][0].pop("height"), "must be integers"),
    (lambda b: _first(b, "metric")["properties"].pop("region"), "needs a region"),
    (lambda b: _first(b, "metric")["properties"].update(view="line"), "view 'line'"),
    (lambda b: _first(b, "metric")["properties"].update(colour="red"), "unknown metric widget properties"),
    (lambda b: _first(b, "metric")["properties"]["metrics"].append(["AWS/Lambda"]), "expected [namespace"),
    (lambda b: _first(b, "metric")["properties"]["metrics"].append(["AWS/Lambda", "Errors", "FunctionName"]),
     "expected [namespace"),
    (lambda b: _first(b, "metric")["properties"]["metrics"][0][0].update(expression="errors / nothing"),
     "undefined ids ['nothing']"),
    (lambda b: _first(b, "metric")["properties"]["metrics"][1][-1].update(id="Errors"), "lower-case letter"),
    (lambda b: _first(b, "metric")["properties"]["metrics"][1][-1].update(stat="Median"), "statistic 'Median'"),
    (lambda b: _first(b, "metric")["properties"].update(period=90), "period 90"),
    (lambda b: _first(b, "metric")["properties"]["annotations"]["horizontal"][0].update(value="5"),
     "value must be a number"),
    (lambda b: _first(b, "alarm")["properties"].update(alarms=["not-an-arn"]), "is not an alarm ARN"),
    (lambda b: _first(b, "log")["properties"].update(query="fields @message"), "must start with SOURCE"),
    (lambda b: _first(b, "text")["properties"].update(markdown=""), "needs markdown"),
    (lambda b: b.update(periodOverride="sometimes"), "periodOverride"),
    (lambda b: b.update(widgets=[]), "non-empty list"),
])
def test_the_check_catches_malformed_bodies(mutate: Any, message: str) -> None:
    problems = _broken(mutate)
    assert any(message in p for p in problems), problems
