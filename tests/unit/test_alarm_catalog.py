"""The alarm catalog: naming, thresholds, fire / no-fire behaviour of every kind, routing and roll-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cloudwatch_semantics import evaluate_metric_math

from components.monitoring import catalog
from components.monitoring.catalog import AlarmSpec

RUNBOOKS = Path(__file__).resolve().parents[2] / "docs" / "runbooks"
BASE = "https://github.com/example-org/prodready/blob/main/docs/runbooks"


def _ctx(overrides: dict[str, Any] | None = None, min_requests: int = 10) -> catalog.AlarmContext:
    return catalog.AlarmContext("svc-test", BASE, catalog.resolve_thresholds(overrides), min_requests)


FUNCTION = catalog.FunctionTarget("api", "svc-test-api", timeout_seconds=10, memory_mb=512,
                                  reserved_concurrency=100, log_metrics_namespace="prodready/svc-test/api")
API = catalog.ApiTarget("http", "a1b2c3d4e5", "$default")
TABLE = catalog.TableTarget("table", "svc-test-items", index_names=("by-name",))
SLOS = (catalog.SloTarget("slo-availability-burn-rate", 99.9),
        catalog.SloTarget("slo-latency-burn-rate", 99.0, 500))


def _full_set(ctx: catalog.AlarmContext | None = None, **kwargs: Any) -> catalog.AlarmSet:
    arguments: dict[str, Any] = {"functions": [FUNCTION], "apis": [API], "tables": [TABLE], "canary_name": "svc-health",
                                 "slos": SLOS, "expect_traffic": True}
    arguments.update(kwargs)
    return catalog.alarm_set(ctx or _ctx(), metrics_namespace="prodready/svc-test", **arguments)


# ---------------------------------------------------------------------------------------------
# Naming, descriptions, runbooks


def test_one_naming_function_builds_every_name() -> None:
    assert catalog.alarm_name("svc-prod", "api", "lambda-error-rate", "critical") == \
        "svc-prod-api-lambda-error-rate-critical"
    assert catalog.alarm_name("svc-prod", "", "maintenance-window", "warning") == "svc-prod-maintenance-window-warning"
    assert catalog.alarm_name("svc-prod", "http", "slo-latency-burn-rate", "warning", "3d6h") == \
        "svc-prod-http-slo-latency-burn-rate-3d6h-warning"
    with pytest.raises(ValueError):
        catalog.alarm_name("svc", "api", "lambda-eror-rate", "critical")
    with pytest.raises(ValueError):
        catalog.alarm_name("svc", "api", "lambda-error-rate", "page")


def test_every_name_follows_the_pattern_and_ends_with_its_severity() -> None:
    full = _full_set()
    for spec in (*full.alarms, *full.composites):
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


def test_every_kind_of_the_catalog_has_a_runbook() -> None:
    missing = [kind for kind in catalog.KINDS if not (RUNBOOKS / f"{kind}.md").is_file()]
    assert missing == []


# ---------------------------------------------------------------------------------------------
# Thresholds


def test_defaults_are_the_production_readiness_defaults() -> None:
    thresholds = catalog.resolve_thresholds()
    assert thresholds["lambda-error-rate"] == {"critical": 5, "warning": 1}
    assert thresholds["lambda-throttles"] == {"warning": 10}
    assert thresholds["api-5xx-rate"]["critical"] == 3
    assert thresholds["api-latency-p99"] == {"warning": 3000}
    assert thresholds["dynamodb-read-throttles"] == {"critical": 0}
    assert thresholds["dynamodb-write-throttles"] == {"critical": 0}
    assert thresholds["lambda-init-duration-p99"] == {"warning": 2000}
    assert thresholds["lambda-memory"] == {"warning": 80}


def test_overrides_replace_add_and_remove_severities() -> None:
    thresholds = catalog.resolve_thresholds({
        "api-latency-p99": {"warning": 500, "critical": 1500},
        "lambda-error-rate": {"warning": None},
    })
    assert thresholds["api-latency-p99"] == {"critical": 1500, "warning": 500}
    assert thresholds["lambda-error-rate"] == {"critical": 5}
    with pytest.raises(ValueError, match="unknown alarm kind 'slo-latency-burn-rate'"):
        catalog.resolve_thresholds({"slo-latency-burn-rate": {"critical": 1}})


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
# Fire / no fire: each alarm's value computed from sample datapoints, compared as CloudWatch would.

FIRE, QUIET = True, False


def _samples(spec: AlarmSpec, fire: bool) -> dict[str, float | None]:
    """Datapoints that should (or should not) trip this alarm, per kind."""
    kind, t = spec.kind, spec.threshold
    if kind in ("lambda-error-rate", "api-5xx-rate", "api-4xx-rate"):
        total = 1000.0
        bad = total * (t + 1) / 100 if fire else total * max(t - 0.5, 0) / 100
        return {"errors": bad, "invocations": total, "requests": total}
    if kind in ("lambda-duration-p99", "api-latency-p99", "api-integration-latency-p99"):
        return {"p99": t * 1.2 if fire else t * 0.5, "invocations": 500.0, "requests": 500.0}
    if kind == "lambda-memory":
        used = (t + 5) / 100 * FUNCTION.memory_mb if fire else (t - 20) / 100 * FUNCTION.memory_mb
        return {"used": used}
    if kind in ("dynamodb-read-throttles", "dynamodb-write-throttles", "dynamodb-system-errors"):
        ids = [q.id for q in spec.queries if q.metric is not None]
        return {qid: (t + 3 if fire and i == len(ids) - 1 else 0.0) for i, qid in enumerate(ids)}
    if kind == "slo-availability-burn-rate":
        # Bad ratio = burn rate x budget (0.1 %): 1.2x the threshold rate fires, half does not.
        ratio = spec.threshold * 0.001 * (1.2 if fire else 0.5)
        return {"errors": 100000 * ratio, "requests": 100000.0}
    if kind == "slo-latency-burn-rate":
        bad_percent = spec.threshold * 1.0 * (1.2 if fire else 0.5)  # budget 1 % -> burn x 1 % of requests
        return {"good": max(100 - bad_percent, 0.0)}
    raise AssertionError(f"no scenario for {kind}")


def _single_value(spec: AlarmSpec, fire: bool) -> float:
    t = spec.threshold
    above, below = t + max(1.0, abs(t) * 0.2), t - max(1.0, abs(t) * 0.2)
    if spec.comparison in (catalog.GT, catalog.GTE):
        return above if fire else below
    return below if fire else above


def _value(spec: AlarmSpec, samples: dict[str, float | None]) -> float | None:
    returned = next(q for q in spec.queries if q.return_data)
    return evaluate_metric_math(returned.expression or returned.id, samples)


@pytest.mark.parametrize("fire", [FIRE, QUIET], ids=["fires", "stays-quiet"])
def test_every_alarm_fires_above_its_threshold_and_not_below(fire: bool) -> None:
    full = _full_set(_ctx({"api-latency-p99": {"critical": 1500, "warning": 500}}))
    covered: set[str] = set()
    for spec in full.alarms:
        if spec.queries:
            value = _value(spec, _samples(spec, fire))
            assert value is not None, spec.name
        else:
            value = _single_value(spec, fire)
        assert spec.breaches(value) is fire, f"{spec.name}: value {value} vs {spec.comparison} {spec.threshold}"
        covered.add(spec.kind)
    assert covered == {k for k, info in catalog.KINDS.items() if info.scope != "service" or k in (
        "dynamodb-user-errors", "maintenance-window")}


@pytest.mark.parametrize("kind", ["lambda-error-rate", "api-5xx-rate", "api-4xx-rate", "lambda-duration-p99",
                                  "api-latency-p99", "api-integration-latency-p99"])
def test_rate_and_percentile_alarms_ignore_periods_with_too_few_requests(kind: str) -> None:
    # Given one bad request out of three, When the alarm evaluates, Then the period is judged healthy.
    for spec in (s for s in _full_set().alarms if s.kind == kind):
        samples = {"errors": 2.0, "invocations": 3.0, "requests": 3.0, "p99": spec.threshold * 10}
        value = _value(spec, samples)
        assert value == 0 and not spec.breaches(value), spec.name
        assert _value(spec, {**samples, "invocations": 10.0, "requests": 10.0}) > 0, spec.name


def test_no_datapoints_means_no_value_and_missing_data_is_treated_deliberately() -> None:
    full = _full_set()
    for spec in full.alarms:
        if spec.queries:
            empty = {q.id: None for q in spec.queries if q.metric is not None}
            assert _value(spec, empty) is None, spec.name
        expected = {"api-no-traffic": "breaching", "canary-success-rate": "breaching",
                    "maintenance-window": "ignore"}.get(spec.kind, "notBreaching")
        assert spec.treat_missing_data == expected, spec.name


def test_no_traffic_alarm_only_when_traffic_is_expected() -> None:
    kinds = {s.kind for s in _full_set(expect_traffic=False).alarms}
    assert "api-no-traffic" not in kinds
    (alarm,) = [s for s in _full_set().alarms if s.kind == "api-no-traffic"]
    assert alarm.comparison == catalog.LT and alarm.threshold == 1
    assert alarm.evaluation_periods == alarm.datapoints_to_alarm == 3  # 15 quiet minutes


def test_concurrency_alarm_needs_a_reservation() -> None:
    unreserved = catalog.FunctionTarget("api", "f", 10, 256, None, "ns/api")
    kinds = {s.kind for s in catalog.function_alarms(_ctx(), unreserved)}
    assert "lambda-concurrency" not in kinds and "lambda-error-rate" in kinds


def test_table_alarms_sum_the_indexes_and_every_operation() -> None:
    specs = {s.kind: s for s in catalog.table_alarms(_ctx(), TABLE)}
    reads = specs["dynamodb-read-throttles"]
    dims = [q.metric.dimensions for q in reads.queries if q.metric]
    assert dims == [{"TableName": "svc-test-items"},
                    {"TableName": "svc-test-items", "GlobalSecondaryIndexName": "by-name"}]
    errors = specs["dynamodb-system-errors"]
    assert [q.metric.dimensions["Operation"] for q in errors.queries if q.metric] == list(TABLE.operations)
    plain = {s.kind: s for s in catalog.table_alarms(_ctx(), catalog.TableTarget("t", "x"))}
    assert plain["dynamodb-write-throttles"].metric is not None  # no index: a plain metric alarm


def test_every_spec_is_an_alarm_cloudwatch_accepts() -> None:
    for spec in _full_set().alarms:
        if spec.queries:
            assert sum(q.return_data for q in spec.queries) == 1, spec.name
            ids = [q.id for q in spec.queries]
            assert len(ids) == len(set(ids)) and all(i[0].islower() for i in ids), spec.name
            assert all((q.metric is None) != (q.expression is None) for q in spec.queries), spec.name
        # period and evaluation range: AlarmSpec refuses what CloudWatch refuses (checked on creation)
        assert spec.period in (10, 20, 30) or spec.period % 60 == 0, spec.name


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
    full = catalog.alarm_set(ctx, metrics_namespace="ns", functions=[FUNCTION], apis=[API], tables=[TABLE])
    assert [c.kind for c in full.composites] == []
    assert full.severity_counts()["critical"] == 0


def test_alarm_set_refuses_duplicates_and_undefined_members() -> None:
    full = _full_set()
    with pytest.raises(ValueError, match="duplicate"):
        catalog.AlarmSet(full.alarms + full.alarms[:1], ())
    with pytest.raises(ValueError, match="not defined before"):
        catalog.AlarmSet(full.alarms[:2], full.composites[-1:])


def test_severity_counts_of_a_full_set() -> None:
    full = _full_set(_ctx({"api-latency-p99": {"critical": 1500, "warning": 500}}))
    counts = full.severity_counts()
    assert counts == {
        "critical": sum(1 for s in (*full.alarms, *full.composites) if s.severity == "critical"),
        "warning": sum(1 for s in (*full.alarms, *full.composites) if s.severity == "warning"),
    }
    assert len(full.composites) == 7  # 2 SLOs x 3 pairs + the roll-up
