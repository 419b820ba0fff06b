"""ServiceMonitoring on its own, in a small program of its own: two functions, two API stages, no table.

It watches what it is handed and nothing else: no DynamoDB alarm appears without a table, each function
and each stage gets its own alarm set and band, a per-resource threshold moves only that resource, and
the canary and SLOs follow the first stage.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.unit.dashboard_checks import dashboard_problems
from tools.plan.harness import PROJECT_DIR, Plan, run_plan

PROGRAM = '''
import pulumi
import pulumi_aws as aws

from components.config import load_stack_config, raw_pulumi_config
from components.monitoring.kinds import WatchedApi, WatchedFunction
from components.monitoring.monitoring import OWN_WATCHED, ServiceMonitoring, ServiceMonitoringArgs

WATCHED = {"orders": "function", "billing": "function", "public": "api", "partner": "api", **OWN_WATCHED}
config = load_stack_config(pulumi.get_stack(), raw_pulumi_config(), watched=WATCHED)
provider = aws.Provider("aws", region=config.region, default_tags=aws.ProviderDefaultTagsArgs(tags=config.tags))
ns = f"prodready/{config.prefix}"
functions = [
    WatchedFunction(key, f"{config.prefix}-{key}", f"/aws/lambda/{config.prefix}-{key}", timeout, 512, ns)
    for key, timeout in (("orders", 10), ("billing", 30))
]
apis = [
    WatchedApi(key, api_id, "$default", f"https://{api_id}.execute-api.eu-west-1.amazonaws.com/",
               f"/aws/apigateway/{config.prefix}-{key}/access-logs", ns, 100)
    for key, api_id in (("public", "pub0000001"), ("partner", "par0000001"))
]
monitoring = ServiceMonitoring(
    "watch",
    ServiceMonitoringArgs(
        service_name=config.service, name_prefix=config.prefix, region=config.region, metrics_namespace=ns,
        config=config.monitoring, watched=[*functions, *apis],
    ),
    opts=pulumi.ResourceOptions(providers=[provider]),
)
pulumi.export("alarmNames", monitoring.alarm_names)
'''

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    root = tmp_path_factory.mktemp("monitoring-alone")
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", root / "Pulumi.yaml")
    document = yaml.safe_load((PROJECT_DIR / "Pulumi.prod.yaml").read_text())
    # A per-resource override: the slower billing function gets its own duration threshold.
    document["config"]["prodready:monitoring"]["thresholds"]["billing/lambda-duration-p99"] = {"warning": 95}
    (root / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))
    (root / "__main__.py").write_text(PROGRAM)
    return run_plan("prod", project_dir=root)


def _alarms(plan: Plan) -> dict[str, dict]:
    return {a.inputs["name"]: a.inputs for a in plan.of_type(ALARM)}


def test_each_function_and_stage_gets_its_own_alarms_and_no_table_alarm_appears(prod: Plan) -> None:
    alarms = _alarms(prod)
    for key in ("orders", "billing"):
        assert f"catalog-prod-{key}-lambda-error-rate-critical" in alarms
        assert alarms[f"catalog-prod-{key}-lambda-throttles-warning"]["dimensions"] == {
            "FunctionName": f"catalog-prod-{key}"}
    for key, api_id in (("public", "pub0000001"), ("partner", "par0000001")):
        error_rate = alarms[f"catalog-prod-{key}-api-5xx-rate-critical"]
        assert {q["metric"]["dimensions"]["ApiId"] for q in error_rate["metricQueries"] if q.get("metric")} == {api_id}
    assert not [name for name in alarms if "dynamodb" in name]
    kinds = {a["tags"]["AlarmKind"] for a in alarms.values()}
    assert {"canary-success-rate", "alert-topic-delivery-failures", "maintenance-window"} <= kinds


def test_a_per_resource_threshold_moves_only_that_resource(prod: Plan) -> None:
    alarms = _alarms(prod)
    # 95% of billing's 30 s timeout; orders keeps the default 80% of its 10 s.
    assert alarms["catalog-prod-billing-lambda-duration-p99-warning"]["threshold"] == 28500
    assert alarms["catalog-prod-orders-lambda-duration-p99-warning"]["threshold"] == 8000


def test_slos_are_kept_for_every_stage_and_the_canary_watches_the_first(prod: Plan) -> None:
    composites = {c.inputs["alarmName"] for c in prod.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")}
    for key in ("public", "partner"):
        assert f"catalog-prod-{key}-slo-availability-burn-rate-1h5m-critical" in composites
    (canary,) = prod.of_type("aws:synthetics/canary:Canary")
    assert canary.inputs["runConfig"]["environmentVariables"]["HEALTH_URL"] == (
        "https://pub0000001.execute-api.eu-west-1.amazonaws.com/health/ready")


def test_the_dashboard_has_a_band_per_resource_and_stays_valid(prod: Plan) -> None:
    (dashboard,) = prod.of_type("aws:cloudwatch/dashboard:Dashboard")
    body = json.loads(dashboard.inputs["dashboardBody"])
    assert dashboard_problems(body) == []
    titles = [w["properties"].get("title", "") for w in body["widgets"]]
    for band in ("Lambda orders:", "Lambda billing:", "API public:", "API partner:", "SLO public:", "SLO partner:",
                 "Canary /health/ready:", "Alerts critical:", "Alerts warning:"):
        assert any(t.startswith(band) for t in titles), band
    assert not any(t.startswith(("DynamoDB", "Account")) for t in titles)
    (duration,) = [w for w in body["widgets"] if w["properties"].get("title") == "Lambda billing: duration (ms)"]
    lines = duration["properties"]["annotations"]["horizontal"]
    assert {"label": "warning 28500", "value": 28500.0, "color": "#ff7f0e"} in lines


def test_log_signals_and_tracing_cover_both_functions(prod: Plan) -> None:
    filters = {f.inputs["name"]: f.inputs["logGroupName"] for f in
               prod.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")}
    assert filters["catalog-prod-billing-error-log-lines"] == "/aws/lambda/catalog-prod-billing"
    assert filters["catalog-prod-partner-auth-refusals"] == "/aws/apigateway/catalog-prod-partner/access-logs"
    (group,) = prod.of_type("aws:xray/group:Group")
    assert 'service("catalog-prod-orders")' in group.inputs["filterExpression"]
    assert 'service("catalog-prod-billing")' in group.inputs["filterExpression"]


def test_an_override_for_a_resource_that_is_not_watched_is_refused(tmp_path: Path) -> None:
    from components.config import ConfigError

    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    document = yaml.safe_load((PROJECT_DIR / "Pulumi.prod.yaml").read_text())
    document["config"]["prodready:monitoring"]["thresholds"]["shipping/lambda-duration-p99"] = {"warning": 50}
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))
    (tmp_path / "__main__.py").write_text(PROGRAM)
    with pytest.raises(ConfigError) as caught:
        run_plan("prod", project_dir=tmp_path)
    assert any(p.startswith("prodready:monitoring.thresholds: shipping/lambda-duration-p99: no watched resource "
                            "'shipping'") for p in caught.value.problems), caught.value.problems
