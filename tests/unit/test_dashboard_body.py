"""The generated dashboard body is valid CloudWatch dashboard JSON, and the check catches broken bodies."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from components.monitoring import dashboard as dash
from components.monitoring.catalog import KINDS, runbook_url

BASE = "https://github.com/example-org/prodready/blob/main/docs/runbooks"
ALARM_ARN = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:svc-prod-api-lambda-error-rate-critical"


def _inputs(**changes: Any) -> dash.DashboardInputs:
    values: dict[str, Any] = {
        "title": "svc-prod",
        "region": "eu-west-1",
        "service_name": "svc",
        "metrics_namespace": "prodready/svc-prod",
        "functions": [dash.FunctionView("api", "svc-prod-api", "/aws/lambda/svc-prod-api", "prodready/svc-prod/api",
                                        10, 100)],
        "apis": [dash.ApiView("http", "a1b2c3d4e5", "$default")],
        "tables": [dash.TableView("table", "svc-prod-items")],
        "alarm_arns": [ALARM_ARN],
        "business_metrics": ["ItemsCreated", "ItemsUpdated", "ItemsDeleted"],
        "slo": dash.SloView(99.9, 99.0, 500),
        "runbooks": {kind: runbook_url(BASE, kind) for kind in KINDS},
        "saved_queries": ["svc-prod/API performance by 5 min"],
    }
    values.update(changes)
    return dash.DashboardInputs(**values)


def _metrics_in(body: dict[str, Any]) -> list[list[Any]]:
    return [row for w in body["widgets"] if w["type"] == "metric" for row in w["properties"]["metrics"]]


def test_generated_body_is_valid_and_serialisable() -> None:
    body = dash.dashboard_body(_inputs())
    assert dash.dashboard_problems(body) == []
    assert json.loads(json.dumps(body)) == body
    assert body["start"] == "-PT24H" and body["periodOverride"] == "inherit"


def test_the_grid_is_filled_row_by_row_within_24_columns() -> None:
    body = dash.dashboard_body(_inputs())
    rows: dict[int, int] = {}
    for widget in body["widgets"]:
        assert widget["x"] + widget["width"] <= 24
        rows[widget["y"]] = rows.get(widget["y"], 0) + widget["width"]
    assert set(rows.values()) == {24}, rows


def test_body_shows_what_is_monitored() -> None:
    body = dash.dashboard_body(_inputs())
    rows = _metrics_in(body)
    names = {(r[0], r[1]) for r in rows if isinstance(r[0], str)}
    for expected in [("AWS/ApiGateway", "Count"), ("AWS/ApiGateway", "4xx"), ("AWS/ApiGateway", "5xx"),
                     ("AWS/ApiGateway", "Latency"), ("AWS/Lambda", "Invocations"), ("AWS/Lambda", "Errors"),
                     ("AWS/Lambda", "Throttles"), ("AWS/Lambda", "Duration"), ("AWS/Lambda", "ConcurrentExecutions"),
                     ("prodready/svc-prod/api", "InitDuration"), ("AWS/DynamoDB", "ConsumedReadCapacityUnits"),
                     ("AWS/DynamoDB", "ReadThrottleEvents"), ("AWS/DynamoDB", "SuccessfulRequestLatency"),
                     ("prodready/svc-prod", "ItemsCreated")]:
        assert expected in names, expected
    stats = {r[-1].get("stat") for r in rows if isinstance(r[0], str) and isinstance(r[-1], dict)}
    assert {"p50", "p95", "p99", "PR(:500)"} <= stats
    types = [w["type"] for w in body["widgets"]]
    assert types.count("alarm") == 1 and types.count("text") == 2 and types.count("log") == 1
    periods = {w["properties"].get("period") for w in body["widgets"] if w["type"] == "metric"}
    assert periods == {60, 3600}  # 1-minute graphs, 1-hour burn-rate graphs
    runbook_text = body["widgets"][-1]["properties"]["markdown"]
    assert all(runbook_url(BASE, kind) in runbook_text for kind in KINDS)


def test_business_metrics_carry_the_service_dimension() -> None:
    rows = [r for r in _metrics_in(dash.dashboard_body(_inputs())) if r[0] == "prodready/svc-prod"]
    assert [r[1] for r in rows] == ["ItemsCreated", "ItemsUpdated", "ItemsDeleted"]
    assert all(r[2:4] == ["service", "svc"] for r in rows)


def test_slo_annotations_are_the_burn_rate_thresholds() -> None:
    body = dash.dashboard_body(_inputs())
    burn = next(w for w in body["widgets"] if w["properties"].get("title") == "Availability burn rate (1 h)")
    values = [a["value"] for a in burn["properties"]["annotations"]["horizontal"]]
    assert values == [14.4, 6.0, 1.0]


def test_optional_bands_disappear_without_their_inputs() -> None:
    body = dash.dashboard_body(_inputs(slo=None, alarm_arns=[], business_metrics=[], tables=[], runbooks={}))
    assert dash.dashboard_problems(body) == []
    titles = " ".join(str(w["properties"].get("title", "")) for w in body["widgets"])
    assert "burn rate" not in titles and "DynamoDB" not in titles and "Business" not in titles
    assert all(w["type"] != "alarm" for w in body["widgets"])


def test_dashboard_url() -> None:
    assert dash.dashboard_url("eu-west-1", "svc-prod") == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/svc-prod")


def _broken(mutate: Any) -> list[str]:
    body = copy.deepcopy(dash.dashboard_body(_inputs()))
    mutate(body)
    return dash.dashboard_problems(body)


def _first(body: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(w for w in body["widgets"] if w["type"] == kind)


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
    (lambda b: _first(b, "alarm")["properties"].update(alarms=["not-an-arn"]), "is not an alarm ARN"),
    (lambda b: _first(b, "log")["properties"].update(query="fields @message"), "must start with SOURCE"),
    (lambda b: _first(b, "text")["properties"].update(markdown=""), "needs markdown"),
    (lambda b: b.update(periodOverride="sometimes"), "periodOverride"),
    (lambda b: b.update(widgets=[]), "non-empty list"),
])
def test_the_check_catches_malformed_bodies(mutate: Any, message: str) -> None:
    problems = _broken(mutate)
    assert any(message in p for p in problems), problems
