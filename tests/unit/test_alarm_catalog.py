"""The alarm catalog: naming, descriptions, thresholds (per kind and per resource), specs CloudWatch
accepts, routing and the roll-up. Fire / no-fire behaviour of each kind is in test_alarm_scenarios.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cloudwatch_semantics import evaluate_metric_math

from components.monitoring import catalog
from components.monitoring.alarm_set import alarm_set
from components.monitoring.catalog import AlarmSpec, Thresholds
from components.monitoring.kinds import WatchedApi, WatchedCanary, WatchedFunction, WatchedTable, WatchedTopic
from components.monitoring.registry import KINDS
from components.monitoring.service_level import SloTarget

RUNBOOKS = Path(__file__).resolve().parents[2] / "docs" / "runbooks"
BASE = "https://github.com/example-org/prodready/blob/main/docs/runbooks"
NS = "prodready/svc-test"

FUNCTION = WatchedFunction("api", "svc-test-api", "/aws/lambda/svc-test-api", timeout_seconds=10, memory_mb=512,
                           metrics_namespace=NS, reserved_concurrency=100)
API = WatchedApi("http", "a1b2c3d4e5", "$default", "https://x", "/aws/apigateway/svc-test/access-logs", NS,
                 throttling_rate_limit=100)
TABLE = WatchedTable("table", "svc-test-items", index_names=("by-name",))
CANARY = WatchedCanary("health", "svc-test-health", "/health/ready", 60)
TOPICS = (WatchedTopic("critical", "t-critical", "warning"), WatchedTopic("warning", "t-warning", "critical"))
SLOS = (SloTarget("slo-availability-burn-rate", 99.9), SloTarget("slo-latency-burn-rate", 99.0, 500))


def _ctx(overrides: dict[str, Any] | None = None, **changes: Any) -> catalog.AlarmContext:
    return catalog.AlarmContext("svc-test", BASE, Thresholds(KINDS, overrides or {}), **changes)


def _full_set(ctx: catalog.AlarmContext | None = None, watched: Any = None) -> catalog.AlarmSet:
    return alarm_set(ctx or _ctx(anomaly_detection=True), watched or [FUNCTION, API, TABLE, CANARY, *TOPICS],
                     metrics_namespace=NS, slos=SLOS)


# ---------------------------------------------------------------------------------------------
# Naming, descriptions, runbooks


def test_one_naming_function_builds_every_name() -> None:
    assert catalog.alarm_name("svc-prod", "api", "lambda-error-rate", "critical") == \
        "svc-prod-api-lambda-error-rate-critical"
    assert catalog.alarm_name("svc-prod", "", "maintenance-window", "warning") == "svc-prod-maintenance-window-warning"
    assert catalog.alarm_name("svc-prod", "http", "slo-latency-burn-rate", "warning", "3d6h") == \
        "svc-prod-http-slo-latency-burn-rate-3d6h-warning"
    with pytest.raises(ValueError):
        catalog.alarm_name("svc", "api", "Lambda Error Rate", "critical")
    with pytest.raises(ValueError):
        catalog.alarm_name("svc", "api", "lambda-error-rate", "page")


def test_every_name_follows_the_pattern_and_ends_with_its_severity() -> None:
    full = _full_set()
    for spec in (*full.alarms, *full.composites):
        assert spec.kind in KINDS, spec.name
        assert spec.name.startswith("svc-test-") and spec.name.endswith(f"-{spec.severity}"), spec.name
        assert f"-{spec.kind}" in spec.name, spec.name
        assert len(spec.name) <= 255 and all(c.isalnum() or c == "-" for c in spec.name), spec.name


def test_every_description_ends_with_its_runbook_link_and_the_runbook_exists() -> None:
    full = _full_set()
    for spec in (*full.alarms, *full.composites):
        link = f"{BASE}/{spec.kind}.md"
        assert spec.description.endswith(f" Runbook: {link}"), spec.name
        assert len(spec.description) <= 1024, spec.name
        assert (RUNBOOKS / f"{spec.kind}.md").is_file(), f"{spec.name}: no runbook docs/runbooks/{spec.kind}.md"


def test_every_kind_of_the_catalog_has_a_runbook_that_names_it() -> None:
    for kind, info in KINDS.items():
        path = RUNBOOKS / f"{kind}.md"
        assert path.is_file(), kind
        assert info.title.split(" (")[0].lower() in path.read_text().lower(), f"{kind}: runbook does not name it"


def test_descriptions_say_what_is_wrong_with_the_numbers_in_force() -> None:
    specs = {s.name: s for s in _full_set().alarms}
    duration = specs["svc-test-api-lambda-duration-p99-warning"].description
    assert "above 80% of the timeout in 2 of 3 5 min periods" in duration and "Threshold 8000 ms" in duration
    near = specs["svc-test-http-api-near-throttle-limit-warning"].description
    assert "above 80% of the stage's default route rate limit" in near and "Threshold 80 of the 100" in near
    latency = specs["svc-test-table-dynamodb-latency-p99-getitem-warning"].description
    assert "successful GetItem requests above 100 ms" in latency


# ---------------------------------------------------------------------------------------------
# Thresholds


def test_defaults_are_the_production_readiness_defaults() -> None:
    thresholds = Thresholds(KINDS)
    assert thresholds.for_resource("lambda-error-rate") == {"critical": 5, "warning": 1}
    assert thresholds.for_resource("lambda-throttles") == {"warning": 10}
    assert thresholds.for_resource("api-5xx-rate")["critical"] == 3
    assert thresholds.for_resource("api-latency-p99") == {"warning": 3000}
    assert thresholds.for_resource("dynamodb-read-throttles") == {"critical": 0}
    assert thresholds.for_resource("lambda-init-duration-p99") == {"warning": 2000}
    assert thresholds.for_resource("lambda-memory") == {"warning": 80}
    assert thresholds.for_resource("dynamodb-latency-p99") == {"warning": 100}
    assert thresholds.for_resource("api-near-throttle-limit") == {"warning": 80}


def test_overrides_replace_add_and_remove_severities_per_kind_and_per_resource() -> None:
    thresholds = Thresholds(KINDS, {
        "api-latency-p99": {"warning": 500, "critical": 1500},
        "lambda-error-rate": {"warning": None},
        "hook/lambda-error-rate": {"critical": 10},
    })
    assert thresholds.for_resource("api-latency-p99", "http") == {"critical": 1500, "warning": 500}
    assert thresholds.for_resource("lambda-error-rate", "api") == {"critical": 5}
    assert thresholds.for_resource("lambda-error-rate", "hook") == {"critical": 10}
    with pytest.raises(ValueError, match="unknown alarm kind 'slo-latency-burn-rate'"):
        Thresholds(KINDS, {"slo-latency-burn-rate": {"critical": 1}})


def test_threshold_problems_name_the_key() -> None:
    watched = {"api": "function", "http": "api"}
    assert catalog.threshold_problems({"http/lambda-memory": {"warning": 50}}, KINDS, watched) == [
        "http/lambda-memory: lambda-memory applies to function resources, 'http' is a api"]
    assert catalog.threshold_problems({"nope/lambda-memory": {"warning": 50}}, KINDS, watched) == [
        "nope/lambda-memory: no watched resource 'nope'; resources are api, http"]
    assert catalog.threshold_problems({"lambda-memory": {"warning": 150}}, KINDS, watched) == [
        "lambda-memory.warning: threshold must be between 0 and 100 (percent), got 150"]
    assert catalog.threshold_problems({"api/lambda-memory": {"warning": 50}}, KINDS, watched) == []


def test_thresholds_follow_overrides_into_the_specs() -> None:
    ctx = _ctx({"api-latency-p99": {"warning": 500, "critical": 1500}, "lambda-error-rate": {"warning": None},
                "lambda-duration-p99": {"warning": 50}})
    specs = {s.name: s for s in _full_set(ctx).alarms}
    assert specs["svc-test-http-api-latency-p99-warning"].threshold == 500
    assert specs["svc-test-http-api-latency-p99-critical"].threshold == 1500
    assert "svc-test-api-lambda-error-rate-warning" not in specs
    # Duration is a share of the timeout: 50 % of 10 s.
    assert specs["svc-test-api-lambda-duration-p99-warning"].threshold == 5000
    # Concurrency likewise, of the reservation: 80 % of 100.
    assert specs["svc-test-api-lambda-concurrency-warning"].threshold == 80


# ---------------------------------------------------------------------------------------------
# Specs CloudWatch accepts


def _value(spec: AlarmSpec, samples: dict[str, float | None]) -> float | None:
    returned = next(q for q in spec.queries if q.return_data)
    return evaluate_metric_math(returned.expression or returned.id, samples)


@pytest.mark.parametrize("kind", ["lambda-error-rate", "api-5xx-rate", "api-4xx-rate", "lambda-duration-p99",
                                  "api-latency-p99", "api-integration-latency-p99", "dynamodb-latency-p99"])
def test_rate_and_percentile_alarms_ignore_periods_with_too_few_requests(kind: str) -> None:
    # Given two bad requests out of three, When the alarm evaluates, Then the period is judged healthy.
    for spec in (s for s in _full_set().alarms if s.kind == kind):
        samples = {"errors": 2.0, "invocations": 3.0, "requests": 3.0, "p99": 100_000.0}
        assert _value(spec, samples) == 0, spec.name
        assert _value(spec, {**samples, "invocations": 10.0, "requests": 10.0}) > 0, spec.name


def test_no_datapoints_means_no_value_and_missing_data_is_treated_deliberately() -> None:
    for spec in _full_set().alarms:
        if spec.queries and not spec.threshold_metric_id:
            empty = {q.id: None for q in spec.queries if q.metric is not None}
            assert _value(spec, empty) is None, spec.name
        expected = {"api-no-traffic": "breaching", "canary-success-rate": "breaching", "maintenance-window": "ignore",
                    "api-traffic-anomaly": "ignore", "api-latency-anomaly": "ignore"}.get(spec.kind, "notBreaching")
        assert spec.treat_missing_data == expected, spec.name


def test_no_traffic_and_anomaly_alarms_only_when_traffic_is_expected() -> None:
    kinds = {s.kind for s in _full_set(_ctx(expect_traffic=False, anomaly_detection=True)).alarms}
    assert not {"api-no-traffic", "api-traffic-anomaly", "api-latency-anomaly"} & kinds
    kinds = {s.kind for s in _full_set(_ctx(anomaly_detection=False)).alarms}
    assert "api-no-traffic" in kinds and not {"api-traffic-anomaly", "api-latency-anomaly"} & kinds


def test_anomaly_alarms_compare_with_their_band_and_return_both_series() -> None:
    (band,) = [s for s in _full_set().alarms if s.kind == "api-traffic-anomaly"]
    assert band.threshold_metric_id == "band" and band.comparison == catalog.OUTSIDE_BAND
    returned = {q.id: q for q in band.queries if q.return_data}
    assert set(returned) == {"m1", "band"} and returned["band"].expression == "ANOMALY_DETECTION_BAND(m1, 3)"
    (latency,) = [s for s in _full_set().alarms if s.kind == "api-latency-anomaly"]
    assert latency.comparison == catalog.ABOVE_BAND


def test_concurrency_and_alias_alarms_need_a_reservation_and_an_alias() -> None:
    unreserved = WatchedFunction("api", "f", "/aws/lambda/f", 10, 256, NS)
    kinds = {s.kind for s in unreserved.alarms(_ctx())}
    assert "lambda-concurrency" not in kinds and "lambda-error-rate" in kinds
    assert not {k for k in kinds if k.startswith("lambda-alias-")}
    aliased = WatchedFunction("api", "f", "/aws/lambda/f", 10, 256, NS, alias="live")
    alias_specs = [s for s in aliased.alarms(_ctx()) if s.kind.startswith("lambda-alias-")]
    assert {s.kind for s in alias_specs} == {"lambda-alias-error-rate", "lambda-alias-duration-p99"}
    for spec in alias_specs:
        assert all(m.dimensions == {"FunctionName": "f", "Resource": "f:live"} for m in spec.metrics), spec.name
        assert spec.period == 60, spec.name


def test_table_alarms_sum_the_indexes_and_every_operation() -> None:
    specs = {s.kind: s for s in TABLE.alarms(_ctx()) if s.kind != "dynamodb-latency-p99"}
    reads = specs["dynamodb-read-throttles"]
    assert [q.metric.dimensions for q in reads.queries if q.metric] == [
        {"TableName": "svc-test-items"}, {"TableName": "svc-test-items", "GlobalSecondaryIndexName": "by-name"}]
    errors = specs["dynamodb-system-errors"]
    assert [q.metric.dimensions["Operation"] for q in errors.queries if q.metric] == list(TABLE.operations)
    plain = {s.kind: s for s in WatchedTable("t", "x").alarms(_ctx())}
    assert plain["dynamodb-write-throttles"].metric is not None  # no index: a plain metric alarm
    latency = [s for s in TABLE.alarms(_ctx()) if s.kind == "dynamodb-latency-p99"]
    assert [s.name.split("-")[-2] for s in latency] == [op.lower() for op in TABLE.operations]


def test_a_table_with_too_many_indexes_is_refused_before_any_alarm() -> None:
    with pytest.raises(ValueError, match="11 metrics"):
        WatchedTable("t", "x", index_names=tuple(f"i{n}" for n in range(10)))
    WatchedTable("t", "x", index_names=tuple(f"i{n}" for n in range(9)))


def test_every_spec_is_an_alarm_cloudwatch_accepts() -> None:
    for spec in _full_set().alarms:
        if spec.queries:
            returned = sum(q.return_data for q in spec.queries)
            assert returned == (2 if spec.threshold_metric_id else 1), spec.name
            ids = [q.id for q in spec.queries]
            assert len(ids) == len(set(ids)) and all(i[0].islower() for i in ids), spec.name
            assert all((q.metric is None) != (q.expression is None) for q in spec.queries), spec.name
        assert len(spec.metrics) <= catalog.MAX_ALARM_METRICS, spec.name
        assert spec.period in (10, 20, 30) or spec.period % 60 == 0, spec.name


def test_every_alarm_but_the_switch_names_a_panel() -> None:
    unpanelled = [s.name for s in _full_set().alarms if not s.panel]
    assert unpanelled == ["svc-test-maintenance-window-warning"]


# ---------------------------------------------------------------------------------------------
# Routing, SLO pairs and the roll-up


def test_warning_alarms_route_themselves_and_critical_ones_go_through_the_rollup() -> None:
    full = _full_set()
    (roll,) = [c for c in full.composites if c.kind == "service-critical-rollup"]
    for spec in full.alarms:
        if spec.pair:
            assert not spec.routed, spec.name  # a window alarm alone means nothing
        elif spec.severity == "critical":
            assert not spec.routed and spec.name in roll.members, spec.name
        else:
            assert spec.routed, spec.name
    for composite in full.composites:
        if composite is roll:
            assert composite.routed and composite.severity == "critical"
        elif composite.severity == "critical":
            assert not composite.routed and composite.name in roll.members
        else:
            assert composite.routed and composite.name not in roll.members


def test_a_broken_alert_channel_is_reported_through_the_other() -> None:
    specs = {s.name: s for s in _full_set().alarms if s.kind == "alert-topic-delivery-failures"}
    assert set(specs) == {"svc-test-critical-alert-topic-delivery-failures-warning",
                          "svc-test-warning-alert-topic-delivery-failures-critical"}
    critical_topic = specs["svc-test-critical-alert-topic-delivery-failures-warning"]
    assert critical_topic.routed and critical_topic.metric.dimensions == {"TopicName": "t-critical"}
    (roll,) = [c for c in _full_set().composites if c.kind == "service-critical-rollup"]
    assert "svc-test-warning-alert-topic-delivery-failures-critical" in roll.members
    # A single channel has nobody else to tell.
    assert WatchedTopic("warning", "t", "warning").alarms(_ctx()) == []


def test_rollup_is_silenced_by_the_maintenance_window() -> None:
    full = _full_set()
    (roll,) = [c for c in full.composites if c.kind == "service-critical-rollup"]
    (maintenance,) = [a for a in full.alarms if a.kind == "maintenance-window"]
    assert roll.suppressor == maintenance.name
    assert roll.operator == "OR"
    assert roll.rule().startswith('ALARM("svc-test-') and " OR " in roll.rule()
    assert maintenance.treat_missing_data == "ignore" and maintenance.routed


def test_slo_pairs_follow_the_workbook() -> None:
    full = _full_set()
    pairs = [c for c in full.composites if c.kind == "slo-availability-burn-rate"]
    assert [(c.name.split("-")[-2], c.severity) for c in pairs] == [
        ("1h5m", "critical"), ("6h30m", "critical"), ("3d6h", "warning")]
    windows = {a.name: a for a in full.alarms if a.kind == "slo-availability-burn-rate"}
    expected = {"1h5m": (3600, 300, 14.4), "6h30m": (21600, 1800, 6.0), "3d6h": (259200, 21600, 1.0)}
    for pair in pairs:
        long, short = (windows[m] for m in pair.members)
        assert pair.operator == "AND" and pair.rule() == f'ALARM("{long.name}") AND ALARM("{short.name}")'
        long_period, short_period, rate = expected[pair.name.split("-")[-2]]
        assert (long.period, short.period) == (long_period, short_period)
        assert long.threshold == short.threshold == rate
        assert long.evaluation_periods == short.evaluation_periods == 1
        assert long.pair == short.pair == pair.name


def test_burn_rate_expressions_divide_the_bad_ratio_by_the_budget() -> None:
    full = _full_set()
    availability = next(a for a in full.alarms if a.kind == "slo-availability-burn-rate")
    latency = next(a for a in full.alarms if a.kind == "slo-latency-burn-rate")
    assert next(q for q in availability.queries if q.return_data).expression == "(errors / requests) / 0.001"
    # 2 % of requests failing is a 20x burn of a 99.9 % SLO.
    assert _value(availability, {"errors": 20.0, "requests": 1000.0}) == pytest.approx(20)
    good = next(q for q in latency.queries if q.metric)
    assert good.metric.stat == "PR(:500)" and good.metric.metric_name == "Latency"
    # 96 % of requests within 500 ms against a 99 % objective: 4x.
    assert _value(latency, {"good": 96.0}) == pytest.approx(4)


def test_without_critical_alarms_there_is_no_rollup() -> None:
    ctx = _ctx({"lambda-error-rate": {"critical": None}, "api-5xx-rate": {"critical": None},
                "dynamodb-read-throttles": {"critical": None}, "dynamodb-write-throttles": {"critical": None},
                "api-no-traffic": {"critical": None}})
    full = alarm_set(ctx, [FUNCTION, API, TABLE], metrics_namespace=NS)
    assert [c.kind for c in full.composites] == []
    assert full.severity_counts()["critical"] == 0


def test_alarm_set_refuses_duplicates_and_undefined_members() -> None:
    full = _full_set()
    with pytest.raises(ValueError, match="duplicate"):
        catalog.AlarmSet(full.alarms + full.alarms[:1], ())
    with pytest.raises(ValueError, match="not defined before"):
        catalog.AlarmSet(full.alarms[:2], full.composites[-1:])


def test_severity_counts_of_a_full_set() -> None:
    full = _full_set(_ctx({"api-latency-p99": {"critical": 1500, "warning": 500}}, anomaly_detection=True))
    counts = full.severity_counts()
    assert counts == {
        "critical": sum(1 for s in (*full.alarms, *full.composites) if s.severity == "critical"),
        "warning": sum(1 for s in (*full.alarms, *full.composites) if s.severity == "warning"),
    }
    assert len(full.composites) == 7  # 2 SLOs x 3 pairs + the roll-up
