"""CloudWatch's limits hold for every config validation accepts, and each alarm is built once per run.

Config bounds (service and stack names, the runbook URL's length, the number of indexes and certificates,
thresholds for known kinds only) keep the alarm set and dashboard within CloudWatch's limits. This plans
the largest stack those bounds allow and checks what it registers; a bound loosened past what the
catalog fits fails here. The config keeps its bounds as it keeps every rule: refused naming the key, before
any resource is registered.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from components.config import ConfigError
from components.monitoring import catalog
from components.monitoring.catalog import (
    MAX_ALARM_DESCRIPTION_LENGTH,
    MAX_ALARM_METRICS,
    MAX_ALARM_NAME_LENGTH,
    MAX_ALARM_RULE_LENGTH,
    MAX_RUNBOOK_BASE_URL_LENGTH,
)
from components.monitoring.dashboard import limit_problems
from components.monitoring.registry import KINDS
from tests.stack.edge_stack import with_front
from tools.plan.harness import Plan, stack_config

# Plans stacks of its own (or runs the program in another process): left out of `make test-fast`.
pytestmark = pytest.mark.slow

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
# The longest service and stack names config accepts (`service`, `environment`: 24 characters each).
LONGEST_NAME = 24
SERVICE = "s" * LONGEST_NAME
STACK = "prod"
# Every physical name carries `<service>-<stack>`: planned as prod, a 24-character stack name adds this much.
STACK_SLACK = LONGEST_NAME - len(STACK)


def _name(alarm: Any) -> str:
    return alarm.inputs.get("name") or alarm.inputs["alarmName"]


def _metrics(alarm: Any) -> list[Any]:
    return [q for q in alarm.inputs.get("metricQueries") or [] if q.get("metric")]


def _largest_config() -> dict[str, Any]:
    """Raw overrides of prod: everything the bounds allow at their largest."""
    raw, _ = stack_config(STACK)
    monitoring = json.loads(raw["prodready:monitoring"])
    url = "https://wiki.example.com/"
    monitoring["runbookBaseUrl"] = url + "r" * (MAX_RUNBOOK_BASE_URL_LENGTH - len(url))
    # Both severities of every kind config may set: the most alarms, with long thresholds in their text.
    monitoring["thresholds"] = {kind: {"critical": 99.9999, "warning": 99.9999}
                                for kind, info in KINDS.items() if info.overridable}
    monitoring["certificateArns"] = [f"arn:aws:acm:eu-west-1:123456789012:certificate/{i:08d}-0000-4000-8000-"
                                     f"000000000000" for i in range(20)]
    monitoring["anomalyDetection"] = True
    monitoring["canary"] = {**monitoring.get("canary", {}), "enabled": True}
    table = json.loads(raw["prodready:table"])
    table["globalSecondaryIndexes"] = [{"name": f"by-{i}", "hashKey": f"k{i}", "projectionType": "ALL"}
                                       for i in range(MAX_ALARM_METRICS - 1)]
    return {**with_front(STACK), "prodready:service": SERVICE, "prodready:monitoring": monitoring,
            "prodready:table": table}


@pytest.fixture(scope="module")
def largest(plan_module: Callable[..., Plan]) -> Plan:
    return plan_module(STACK, _largest_config())


@pytest.fixture(scope="module")
def plan_module() -> Callable[..., Plan]:
    from tools.plan.harness import run_plan

    def _run(stack: str, overrides: dict[str, Any]) -> Plan:
        return run_plan(stack, config_overrides=overrides)

    return _run


def test_the_largest_stack_is_what_the_bounds_allow(largest: Plan) -> None:
    names = [_name(a) for a in largest.of_type(METRIC_ALARM)]
    assert all(name.startswith(f"{SERVICE}-{STACK}-") for name in names)
    descriptions = [a.inputs["alarmDescription"] for a in largest.of_type(METRIC_ALARM)]
    assert all(f"/{'r' * 20}" in d for d in descriptions if " Runbook: " in d)
    # Certificates, indexes, the front and the canary all have alarms of their own.
    for part in ("certificate", "edge", "canary", "table-dynamodb-read-throttles"):
        assert any(part in name for name in names), part
    # The table's throttle alarms read the table and each index: the limit, reached.
    assert max(len(_metrics(a)) for a in largest.of_type(METRIC_ALARM)) == MAX_ALARM_METRICS


def test_every_metric_alarm_is_within_limits(largest: Plan) -> None:
    for alarm in largest.of_type(METRIC_ALARM):
        name = _name(alarm)
        assert len(name) + STACK_SLACK <= MAX_ALARM_NAME_LENGTH, name
        assert len(alarm.inputs["alarmDescription"]) <= MAX_ALARM_DESCRIPTION_LENGTH, name
        assert len(_metrics(alarm)) <= MAX_ALARM_METRICS, name


def test_every_composite_rule_is_within_limits(largest: Plan) -> None:
    composites = largest.of_type(COMPOSITE)
    rollups = [c for c in composites if c.inputs["tags"]["AlarmKind"] == "service-critical-rollup"]
    assert rollups
    for composite in composites:
        rule = composite.inputs["alarmRule"]
        members = len(re.findall(r'ALARM\("', rule))
        # Each member's name grows with a longer stack name.
        assert len(rule) + STACK_SLACK * members <= MAX_ALARM_RULE_LENGTH, composite.name
        assert len(composite.inputs["alarmName"]) + STACK_SLACK <= MAX_ALARM_NAME_LENGTH
        assert len(composite.inputs["alarmDescription"]) <= MAX_ALARM_DESCRIPTION_LENGTH


def test_every_dashboard_is_within_limits(largest: Plan) -> None:
    dashboards = largest.of_type(DASHBOARD)
    assert dashboards
    for dashboard in dashboards:
        assert limit_problems(json.loads(dashboard.inputs["dashboardBody"])) == [], dashboard.name


def _problems(overrides: dict[str, Any], plan_module: Callable[..., Plan]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        plan_module(STACK, overrides)
    return caught.value.problems


def test_a_longer_runbook_url_is_refused_naming_the_key(plan_module: Callable[..., Plan]) -> None:
    raw, _ = stack_config(STACK)
    monitoring = json.loads(raw["prodready:monitoring"])
    monitoring["runbookBaseUrl"] = "https://wiki.example.com/" + "r" * MAX_RUNBOOK_BASE_URL_LENGTH
    problems = _problems({"prodready:monitoring": monitoring}, plan_module)
    assert len(problems) == 1 and problems[0].startswith("prodready:monitoring.runbookBaseUrl:"), problems
    assert f"at most {MAX_RUNBOOK_BASE_URL_LENGTH} characters" in problems[0]


def test_an_index_past_the_alarm_metrics_is_refused_naming_the_key(plan_module: Callable[..., Plan]) -> None:
    raw, _ = stack_config(STACK)
    table = json.loads(raw["prodready:table"])
    table["globalSecondaryIndexes"] = [{"name": f"by-{i}", "hashKey": f"k{i}", "projectionType": "ALL"}
                                       for i in range(MAX_ALARM_METRICS)]
    problems = _problems({"prodready:table": table}, plan_module)
    assert problems == [
        f"prodready:table.globalSecondaryIndexes: {MAX_ALARM_METRICS} indexes; the throttle alarms read the "
        f"table's metric and each index's, and a CloudWatch metric-math alarm reads at most {MAX_ALARM_METRICS}: "
        f"at most {MAX_ALARM_METRICS - 1} indexes"]


@pytest.fixture()
def built_specs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The name of every alarm spec built while the fixture lasts, in order."""
    built: list[str] = []
    for spec_type in (catalog.AlarmSpec, catalog.CompositeSpec):
        original = spec_type.__init__

        def counting(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> None:
            __original(self, *args, **kwargs)
            built.append(self.name)

        monkeypatch.setattr(spec_type, "__init__", counting)
    yield built


def test_each_alarm_is_built_once_per_run(built_specs: list[str], plan_module: Callable[..., Plan]) -> None:
    plan = plan_module(STACK, with_front(STACK))
    registered = [_name(a) for a in (*plan.of_type(METRIC_ALARM), *plan.of_type(COMPOSITE))]
    # Validation builds none: every alarm registered was built once (a hook's critical ones are built and
    # left out: it does not page).
    assert set(registered) & set(built_specs) and set(built_specs) >= {n for n in registered if "-prod-" in n}
    assert Counter(built_specs).most_common(1)[0][1] == 1, Counter(built_specs).most_common(3)
