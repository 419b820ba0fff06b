"""Monitoring of each committed stack: full alarm coverage, routing, config-driven thresholds and switches."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError
from tests.conftest import COMMITTED_STACKS
from tools.plan.harness import PROJECT_DIR, Plan, PlannedResource, run_plan
from tools.plan.report import render_alarm_summary

MONITORING = "prodready:monitoring:ServiceMonitoring"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
RUNBOOKS = PROJECT_DIR / "docs" / "runbooks"

C, W = "critical", "warning"
SLO_WINDOWS = {(kind, severity) for kind in ("slo-availability-burn-rate", "slo-latency-burn-rate")
               for severity in (C, W)}
# What each watched resource must have, per committed stack: (alarm kind, severity).
FUNCTION = {("lambda-error-rate", C), ("lambda-error-rate", W), ("lambda-throttles", W), ("lambda-duration-p99", W),
            ("lambda-init-duration-p99", W), ("lambda-memory", W), ("lambda-error-logs", W),
            ("lambda-log-ingestion", W)}
# The live alias a release shifts, and the version under release alone: what judges a canary.
ALIAS = {("lambda-alias-error-rate", W), ("lambda-alias-duration-p99", W), ("lambda-version-error-rate", W),
         ("lambda-version-duration-p99", W)}
# The traffic hooks: functions like any other, except that they never page (a failure fails the release).
HOOK = {kind for kind in FUNCTION if kind[1] == W}
API = {("api-5xx-rate", C), ("api-5xx-rate", W), ("api-4xx-rate", W), ("api-latency-p99", W),
       ("api-integration-latency-p99", W), ("api-near-throttle-limit", W), ("api-auth-refusals", W),
       ("api-access-log-ingestion", W)} | SLO_WINDOWS
TABLE = {("dynamodb-read-throttles", C), ("dynamodb-write-throttles", C), ("dynamodb-system-errors", W),
         ("dynamodb-latency-p99", W)}
# Each topic's failures are reported through the other: the critical topic's as a warning, and back.
TOPIC = {("alert-topic-delivery-failures", W), ("alert-topic-delivery-failures", C)}
EXPECTED: dict[str, dict[str, set[tuple[str, str]]]] = {
    "dev": {
        "function": FUNCTION | ALIAS,
        "hook": HOOK,
        "post-hook": HOOK,
        "api": API,
        "table": TABLE,
        "topic": TOPIC,
        "service": {("dynamodb-user-errors", W), ("maintenance-window", W)},
    },
    "prod": {
        # prod reserves concurrency, restores cold starts from SnapStart snapshots, tightens latency with a
        # critical p99, expects traffic (no-traffic alarm, anomaly bands) and runs the canary.
        "function": FUNCTION | ALIAS | {("lambda-concurrency", W), ("lambda-restore-duration-p99", W)},
        "hook": HOOK,
        "post-hook": HOOK,
        "api": API | {("api-latency-p99", C), ("api-no-traffic", C), ("api-traffic-anomaly", W),
                      ("api-latency-anomaly", W)},
        "table": TABLE,
        "topic": TOPIC,
        "service": {("dynamodb-user-errors", W), ("maintenance-window", W), ("canary-success-rate", C),
                    ("canary-duration", W)},
        # The resilience layer: the restore-test validation is watched like the hook (never pages), the backup
        # vault's failed backups and copies and the log archive's failed deliveries warn.
        "restore-check": HOOK,
        "vault": {("backup-jobs-failed", W), ("backup-copy-jobs-failed", W)},
        "archive": {("log-archive-delivery-failures", W)},
    },
}
# staging has prod's profile, and its alarms: the same set, under its own names.
EXPECTED["staging"] = EXPECTED["prod"]




def _mine(plan: Plan, type_: str | None = None) -> list[PlannedResource]:
    (component,) = plan.of_type(MONITORING)
    return [r for r in plan.descendants(component.urn) if type_ is None or r.type == type_]


def _metrics(alarm: PlannedResource) -> list[tuple[str, dict[str, str]]]:
    inputs = alarm.inputs
    if inputs.get("metricQueries"):
        return [(q["metric"]["namespace"], q["metric"].get("dimensions") or {})
                for q in inputs["metricQueries"] if q.get("metric")]
    return [(inputs["namespace"], inputs.get("dimensions") or {})]


def _watched(plan: Plan, stack: str, alarm: PlannedResource) -> str:
    """Which resource an alarm watches, from its metrics' dimensions (as the policy pack matches them)."""
    function, hook = f"catalog-{stack}-api", f"catalog-{stack}-pre-traffic"
    post_hook, check = f"catalog-{stack}-post-traffic", f"catalog-{stack}-restore-check"
    api = plan.one("aws:apigatewayv2/api:Api").id
    tables = {t.outputs["name"] for t in plan.of_type("aws:dynamodb/table:Table")}
    # A log group's IncomingLogEvents belongs to what writes to it.
    groups = {f"/aws/lambda/{name}": name for name in (function, hook, post_hook, check)}
    access_logs = {g.outputs["name"] for g in plan.of_type("aws:cloudwatch/logGroup:LogGroup")
                   if "/aws/apigateway/" in g.outputs["name"]}
    found = set()
    for namespace, dims in _metrics(alarm):
        if "LogGroupName" in dims:
            if dims["LogGroupName"] in access_logs:
                dims = {"ApiId": api, "Stage": "$default"}
            else:
                dims = {"FunctionName": groups.get(dims["LogGroupName"], dims["LogGroupName"])}
        if dims.get("FunctionName") == function or namespace == f"prodready/catalog-{stack}/api":
            found.add("function")
        elif dims.get("FunctionName") == hook or namespace == f"prodready/catalog-{stack}/pre-traffic":
            found.add("hook")
        elif dims.get("FunctionName") == post_hook or namespace == f"prodready/catalog-{stack}/post-traffic":
            found.add("post-hook")
        elif dims.get("FunctionName") == check or namespace == f"prodready/catalog-{stack}/restore-check":
            found.add("restore-check")
        elif "BackupVaultName" in dims:
            found.add("vault")
        elif "DeliveryStreamName" in dims:
            found.add("archive")
        elif (dims.get("ApiId") == api and dims.get("Stage") == "$default") or \
                namespace == f"prodready/catalog-{stack}/http":
            found.add("api")
        elif "TopicName" in dims:
            found.add("topic")
        elif dims.get("TableName") in tables:
            found.add("table")
        else:
            found.add("service")
    assert len(found) == 1, f"{alarm.urn} watches {found}"
    return found.pop()


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_every_function_stage_and_table_has_its_full_alarm_set(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    found: dict[str, set[tuple[str, str]]] = {key: set() for key in EXPECTED[stack]}
    for alarm in _mine(plan, METRIC_ALARM):
        tags = alarm.inputs["tags"]
        found[_watched(plan, stack, alarm)].add((tags["AlarmKind"], tags["Severity"]))
    assert found == EXPECTED[stack]


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_alarm_names_say_resource_kind_and_severity(plans: dict[str, Plan], stack: str) -> None:
    for alarm in _mine(plans[stack], METRIC_ALARM) + _mine(plans[stack], COMPOSITE):
        name = alarm.inputs.get("name") or alarm.inputs["alarmName"]
        tags = alarm.inputs["tags"]
        assert name.startswith(f"catalog-{stack}-") and name.endswith(f"-{tags['Severity']}"), name
        assert f"-{tags['AlarmKind']}" in name, name
        assert alarm.name == f"catalog-monitoring-{name.removeprefix(f'catalog-{stack}-')}", alarm.urn


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_every_runbook_link_resolves_to_a_runbook(plans: dict[str, Plan], stack: str) -> None:
    base = "https://github.com/example-org/prodready/blob/main/docs/runbooks/"
    for alarm in _mine(plans[stack], METRIC_ALARM) + _mine(plans[stack], COMPOSITE):
        link = alarm.inputs["alarmDescription"].rsplit(" Runbook: ", 1)[1]
        assert link.startswith(base) and " " not in link, alarm.urn
        page = RUNBOOKS / link.rsplit("/", 1)[1]
        assert page.is_file(), f"{alarm.urn}: {link} has no page in docs/runbooks"
        assert page.stem == alarm.inputs["tags"]["AlarmKind"], alarm.urn


def test_alarm_summary_counts_by_severity(prod_plan: Plan) -> None:
    summary = render_alarm_summary(prod_plan)
    mine = _mine(prod_plan, METRIC_ALARM)
    critical = sum(a.inputs["tags"]["Severity"] == C for a in mine)
    metric_row = next(line for line in summary.splitlines() if line.strip().startswith("metric alarms")).split()
    # Other layers' alarms (the cost guard's billing alarm) are counted too, by their own Severity tag.
    assert int(metric_row[2]) >= critical and int(metric_row[-1]) >= len(mine)
    # Three per function (the service's, both hooks' and the restore-test validation's), the service's
    # SnapStart restores, the access log's.
    assert "dashboards" in summary and "saved queries 9" in summary and "metric filters 14" in summary


# ---------------------------------------------------------------------------------------------
# Config drives thresholds and switches


def _stack_monitoring(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())
    return copy.deepcopy(document["config"]["prodready:monitoring"])


def _by_kind(plan: Plan) -> dict[tuple[str, str], PlannedResource]:
    # The service's alarms (not the traffic hooks', which have the same function kinds).
    return {(a.inputs["tags"]["AlarmKind"], a.inputs["tags"]["Severity"]): a for a in _mine(plan, METRIC_ALARM)
            if "slo" not in a.inputs["tags"]["AlarmKind"] and "-pre-traffic-" not in a.inputs["name"]
            and "-post-traffic-" not in a.inputs["name"] and "-restore-check-" not in a.inputs["name"]}


def test_thresholds_follow_config_overrides(dev_plan: Plan, plan_with: Callable[..., Plan]) -> None:
    monitoring = _stack_monitoring("dev")
    monitoring["thresholds"] = {
        "lambda-error-rate": {"critical": 2},
        "api-latency-p99": {"warning": 800, "critical": 2000},
        "lambda-memory": {"warning": None},
        "lambda-duration-p99": {"warning": 50},
    }
    changed = _by_kind(plan_with("dev", {"prodready:monitoring": monitoring}))
    base = _by_kind(dev_plan)
    assert base[("lambda-error-rate", C)].inputs["threshold"] == 5
    assert changed[("lambda-error-rate", C)].inputs["threshold"] == 2
    assert changed[("api-latency-p99", W)].inputs["threshold"] == 800
    assert changed[("api-latency-p99", C)].inputs["threshold"] == 2000 and ("api-latency-p99", C) not in base
    assert ("lambda-memory", W) in base and ("lambda-memory", W) not in changed
    assert changed[("lambda-duration-p99", W)].inputs["threshold"] == 5000  # 50 % of the 10 s timeout
    untouched = set(base) & set(changed) - {("lambda-error-rate", C), ("api-latency-p99", W),
                                            ("lambda-duration-p99", W)}
    for key in untouched:
        assert changed[key].inputs["threshold"] == base[key].inputs["threshold"], key


def test_prod_latency_is_tightened_in_its_stack_file(prod_plan: Plan, dev_plan: Plan) -> None:
    assert _by_kind(prod_plan)[("api-latency-p99", W)].inputs["threshold"] == 500
    assert _by_kind(dev_plan)[("api-latency-p99", W)].inputs["threshold"] == 3000
    latency_windows = [a for a in _mine(prod_plan, METRIC_ALARM)
                       if a.inputs["tags"]["AlarmKind"] == "slo-latency-burn-rate"]
    stats = {q["metric"]["stat"] for a in latency_windows for q in a.inputs["metricQueries"] if q.get("metric")}
    assert stats == {"PR(:500)"}


def _urns(plan: Plan) -> set[str]:
    return {r.urn for r in plan.resources}


def _difference(base: Plan, variant: Plan) -> tuple[set[str], set[str]]:
    return _urns(base) - _urns(variant), _urns(variant) - _urns(base)


def _names(urns: set[str]) -> set[str]:
    return {urn.rsplit("::", 1)[1] for urn in urns}


def test_switching_the_canary_off_removes_exactly_the_canary(prod_plan: Plan, plan_with: Callable[..., Plan]) -> None:
    monitoring = _stack_monitoring("prod")
    monitoring.setdefault("canary", {})["enabled"] = False
    removed, added = _difference(prod_plan, plan_with("prod", {"prodready:monitoring": monitoring}))
    assert added == set()
    (component,) = prod_plan.of_type("prodready:canary:HealthCanary")
    expected = {component.urn} | {r.urn for r in prod_plan.descendants(component.urn)}
    expected |= {a.urn for a in _mine(prod_plan, METRIC_ALARM)
                 if a.inputs["tags"]["AlarmKind"] in ("canary-success-rate", "canary-duration")}
    assert removed == expected
    assert len(removed) == 13  # component, bucket + 5 settings, code object, role, policy, canary, 2 alarms


def test_switching_the_dashboard_off_removes_only_the_dashboard(
    prod_plan: Plan, plan_with: Callable[..., Plan]
) -> None:
    monitoring = _stack_monitoring("prod")
    monitoring["dashboard"] = False
    variant = plan_with("prod", {"prodready:monitoring": monitoring})
    removed, added = _difference(prod_plan, variant)
    assert (_names(removed), added) == ({"catalog-monitoring-dashboard"}, set())
    assert variant.outputs["dashboardName"] is None and variant.outputs["dashboardUrl"] is None


def test_a_stack_idle_by_design_has_no_no_traffic_alarm(prod_plan: Plan, plan_with: Callable[..., Plan]) -> None:
    monitoring = _stack_monitoring("prod")
    monitoring["expectTraffic"] = False
    # A band learnt from an idle stack means nothing: config refuses anomaly detection without traffic.
    with pytest.raises(ConfigError, match="anomalyDetection needs expectTraffic"):
        plan_with("prod", {"prodready:monitoring": monitoring})
    monitoring["anomalyDetection"] = False
    variant = plan_with("prod", {"prodready:monitoring": monitoring})
    removed, added = _difference(prod_plan, variant)
    assert (_names(removed), added) == ({"catalog-monitoring-http-api-no-traffic-critical",
                                         "catalog-monitoring-http-api-traffic-anomaly-warning",
                                         "catalog-monitoring-http-api-latency-anomaly-warning"}, set())
    rollup = next(c for c in _mine(variant, COMPOSITE) if c.inputs["tags"]["AlarmKind"] == "service-critical-rollup")
    assert "no-traffic" not in rollup.inputs["alarmRule"]


def test_switching_burn_rate_alerts_off_removes_exactly_the_slo_alarms(
    dev_plan: Plan, plan_with: Callable[..., Plan]
) -> None:
    monitoring = _stack_monitoring("dev")
    monitoring.setdefault("slo", {})["burnRateAlerts"] = False
    removed, added = _difference(dev_plan, plan_with("dev", {"prodready:monitoring": monitoring}))
    assert added == set()
    slo = {a.urn for a in _mine(dev_plan, METRIC_ALARM) + _mine(dev_plan, COMPOSITE)
           if a.inputs["tags"]["AlarmKind"].startswith("slo-")}
    assert removed == slo and len(slo) == 18  # 2 SLOs x 3 pairs x (2 windows + composite)


def test_a_webhook_adds_exactly_one_https_subscription(prod_plan: Plan, plan_with: Callable[..., Plan]) -> None:
    monitoring = _stack_monitoring("prod")
    monitoring["webhookSecrets"] = {"critical": "alerting:criticalWebhookUrl"}
    variant = plan_with("prod", {"prodready:monitoring": monitoring,
                                 "alerting:criticalWebhookUrl": "https://events.example.com/integration/abc"})
    removed, added = _difference(prod_plan, variant)
    assert removed == set() and _names(added) == {"catalog-monitoring-routing-critical-webhook"}
    (subscription,) = [variant.by_urn()[urn] for urn in added]
    critical = next(t for t in _mine(variant, "aws:sns/topic:Topic") if t.inputs["name"].endswith("-critical"))
    assert subscription.inputs["protocol"] == "https" and subscription.inputs["topic"] == critical.outputs["arn"]
    assert subscription.inputs["endpointAutoConfirms"] is True


def test_a_configured_webhook_whose_secret_is_missing_fails_the_plan(plan_with: Callable[..., Plan]) -> None:
    monitoring = _stack_monitoring("prod")
    monitoring["webhookSecrets"] = {"critical": "alerting:criticalWebhookUrl"}
    with pytest.raises(Exception, match="criticalWebhookUrl"):
        plan_with("prod", {"prodready:monitoring": monitoring})


def test_the_webhook_endpoint_comes_from_a_secure_value_and_stays_secret(tmp_path: Path) -> None:
    # Given a stack file whose webhook endpoint is a `secure:` value, as `pulumi config set --secret` writes it,
    document = yaml.safe_load((PROJECT_DIR / "Pulumi.prod.yaml").read_text())
    document["config"]["alerting:criticalWebhookUrl"] = {"secure": "v1:AAAABBBBCCCCDDDD:ZZZZ"}
    document["config"]["prodready:monitoring"]["webhookSecrets"] = {"critical": "alerting:criticalWebhookUrl"}
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "__main__.py").symlink_to(PROJECT_DIR / "__main__.py")
    # When the program runs, Then the https subscription gets the (placeholder) secret, never a clear value.
    plan = run_plan("prod", project_dir=tmp_path)
    subscriptions = plan.of_type("aws:sns/topicSubscription:TopicSubscription")
    (webhook,) = [s for s in subscriptions if s.name.endswith("-webhook")]
    assert webhook.inputs["protocol"] == "https"
    # The engine receives it as a secret (Pulumi's secret envelope), so state and previews mask it;
    # the plan records that it is one, never its value.
    assert webhook.inputs["endpoint"] == {"__secret": "[secret]"}
    assert plan.config["alerting:criticalWebhookUrl"] == "[secret]"
    assert "v1:AAAABBBBCCCCDDDD" not in json.dumps(plan.to_json())


def test_committed_stack_files_hold_no_webhook_in_clear() -> None:
    for stack in COMMITTED_STACKS:
        config = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
        for key, value in config.items():
            if "webhook" in key.lower():
                assert isinstance(value, dict) and set(value) == {"secure"}, f"{stack}: {key} is not a secret"
