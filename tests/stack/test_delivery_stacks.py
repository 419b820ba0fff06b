"""Safe delivery on the committed stacks: what judges a release, how traffic shifts, and the config switches."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml

from tests.conftest import service_function
from tools.plan.harness import PROJECT_DIR, Plan
from tools.plan.report import render_release

GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
CONFIG = "aws:codedeploy/deploymentConfig:DeploymentConfig"
RELEASE = "pulumi-python:dynamic/prodready:Release"
FUNCTION = "aws:lambda/function:Function"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _stack_file(stack: str, key: str) -> Any:
    document = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())
    return document["config"].get(f"prodready:{key}")


def _role_policy(plan: Plan) -> Any:
    return next(p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "catalog-delivery-policy")


def test_prod_releases_are_judged_by_metric_alarms_of_the_alias_and_the_critical_request_health(prod_plan: Plan):
    group = prod_plan.one(GROUP)
    alarms = group.inputs["alarmConfiguration"]
    metric_alarms = {a.inputs["name"]: a for a in prod_plan.of_type(METRIC_ALARM)}
    assert alarms["enabled"] is True and alarms["ignorePollAlarmFailure"] is False
    assert sorted(alarms["alarms"]) == [
        "catalog-prod-api-lambda-alias-duration-p99-warning", "catalog-prod-api-lambda-alias-error-rate-warning",
        "catalog-prod-api-lambda-error-rate-critical", "catalog-prod-api-lambda-version-duration-p99-warning",
        "catalog-prod-api-lambda-version-error-rate-warning", "catalog-prod-http-api-5xx-rate-critical",
    ]
    # Every one exists as a metric alarm of the stack, and the alias ones watch the live alias.
    for name in alarms["alarms"]:
        assert name in metric_alarms, name
    alias_alarm = metric_alarms["catalog-prod-api-lambda-alias-error-rate-warning"]
    dimensions = [q["metric"]["dimensions"] for q in alias_alarm.inputs["metricQueries"] if q.get("metric")]
    assert all(d == {"FunctionName": "catalog-prod-api", "Resource": "catalog-prod-api:live"} for d in dimensions)
    assert {q["metric"]["period"] for q in alias_alarm.inputs["metricQueries"] if q.get("metric")} == {60.0}


def test_the_canary_is_judged_on_the_version_under_release(prod_plan: Plan):
    # Lambda's per-version metrics of invocations through the alias: FunctionName, Resource and
    # ExecutedVersion, the version the Release resource releases (the function's latest published one).
    metric_alarms = {a.inputs["name"]: a for a in prod_plan.of_type(METRIC_ALARM)}
    version = service_function(prod_plan).outputs["version"]
    assert prod_plan.one(RELEASE).inputs["targetVersion"] == version
    expected = {"FunctionName": "catalog-prod-api", "Resource": "catalog-prod-api:live", "ExecutedVersion": version}
    for name, metrics in (("catalog-prod-api-lambda-version-error-rate-warning", {"Errors", "Invocations"}),
                          ("catalog-prod-api-lambda-version-duration-p99-warning", {"Duration", "Invocations"})):
        queries = metric_alarms[name].inputs["metricQueries"]
        read = [q["metric"] for q in queries if q.get("metric")]
        assert {m["metricName"] for m in read} == metrics, name
        assert all(m["dimensions"] == expected and m["namespace"] == "AWS/Lambda" and m["period"] == 60
                   for m in read), name
        (returned,) = [q for q in queries if q.get("returnData")]
        assert returned["expression"].startswith("IF(invocations >= 10, "), name
    duration = metric_alarms["catalog-prod-api-lambda-version-duration-p99-warning"]
    assert {m["metric"]["stat"] for m in duration.inputs["metricQueries"] if m.get("metric")} == {"p99", "Sum"}
    assert duration.inputs["threshold"] == 8000  # 80 % of the 10 s timeout
    # Drawn on the dashboard next to the alias's graphs.
    dashboard = next(d for d in prod_plan.of_type("aws:cloudwatch/dashboard:Dashboard")
                     if d.inputs["dashboardName"] == "catalog-prod")
    body = json.loads(dashboard.inputs["dashboardBody"])
    titles = [w["properties"].get("title", "") for w in body["widgets"]]
    assert any(f"version {version} via live error rate (release)" in t for t in titles), titles
    assert any(f"version {version} via live duration (release)" in t for t in titles), titles
    rows = [row for w in body["widgets"] for row in w["properties"].get("metrics", [])]
    assert any("ExecutedVersion" in row and version in row for row in rows)


def test_prod_shifts_a_ten_percent_canary_for_five_minutes_and_rolls_back_on_anything(prod_plan: Plan):
    (config,) = prod_plan.of_type(CONFIG)
    assert config.inputs["deploymentConfigName"] == "catalog-prod-canary-10pct-5min"
    assert config.inputs["computePlatform"] == "Lambda"
    assert config.inputs["trafficRoutingConfig"] == {
        "type": "TimeBasedCanary", "timeBasedCanary": {"percentage": 10.0, "interval": 5.0}}
    group = prod_plan.one(GROUP)
    assert group.inputs["deploymentConfigName"] == "catalog-prod-canary-10pct-5min"
    assert group.inputs["deploymentStyle"] == {"deploymentOption": "WITH_TRAFFIC_CONTROL",
                                               "deploymentType": "BLUE_GREEN"}
    assert group.inputs["autoRollbackConfiguration"] == {
        "enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"]}
    (trigger,) = group.inputs["triggerConfigurations"]
    topics = prod_plan.of_type("aws:sns/topic:Topic")
    (warning,) = [t for t in topics if t.inputs["name"] == "catalog-prod-alerts-warning"]
    assert trigger["triggerTargetArn"] == warning.outputs["arn"]
    assert "DeploymentRollback" in trigger["triggerEvents"] and "DeploymentFailure" in trigger["triggerEvents"]


def test_the_release_resource_releases_the_published_version_through_the_hook(prod_plan: Plan):
    release = prod_plan.one(RELEASE)
    function = service_function(prod_plan)
    group = prod_plan.one(GROUP)
    assert release.inputs["targetVersion"] == function.outputs["version"]
    assert release.inputs["functionName"] == function.outputs["name"] and release.inputs["alias"] == "live"
    assert release.inputs["deploymentGroup"] == group.inputs["deploymentGroupName"] == "catalog-prod-live"
    assert release.inputs["hookFunction"] == "catalog-prod-pre-traffic"
    # 5 minutes of canary plus 15 of CodeDeploy's start, the hook and the final shift.
    assert release.inputs["timeoutSeconds"] == 20 * 60
    assert release.inputs["retryFailed"] is False
    # Ordered after the group (whose alarms exist first) and fed by the alias itself.
    assert group.urn in release.dependencies
    assert any(u.endswith("::catalog-function-live") for u in release.property_dependencies["alias"])
    # The plan is a first deployment: the alias starts at the version, nothing is shifted.
    assert release.outputs["status"] == "Unchanged" and release.outputs["liveVersion"] == "1"
    outputs = prod_plan.outputs
    assert outputs["liveVersion"] == "1" and outputs["releaseDeploymentGroup"] == "catalog-prod-live"


def test_the_hook_reads_as_an_authorized_caller_with_the_scope_tokens_carry(prod_plan: Plan):
    (hook,) = [f for f in prod_plan.of_type(FUNCTION) if f.name == "catalog-pre-traffic-function-lambda"]
    assert hook.inputs["handler"] == "pre_traffic.handler.lambda_handler"
    assert hook.inputs["environment"]["variables"]["READ_SCOPE"] == "catalog/items.read"
    # Its own package and the lifecycle both hooks share; never the service's code.
    assert {path.split("/")[0] for path in hook.inputs["code"]["__archive"]["assets"]} == {"pre_traffic",
                                                                                         "traffic_hooks"}
    assert hook.inputs["timeout"] == 60 and hook.inputs["tracingConfig"] == {"mode": "Active"}
    assert "publish" not in hook.inputs or hook.inputs["publish"] is False  # CodeDeploy invokes $LATEST
    policy = next(p for p in prod_plan.of_type("aws:iam/rolePolicy:RolePolicy")
                  if p.name == "catalog-pre-traffic-function-policy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    group_arn = "arn:aws:codedeploy:eu-west-1:123456789012:deploymentgroup:catalog-prod/catalog-prod-live"
    assert statements["ReadAndReportItsDeployments"]["Resource"] == group_arn == prod_plan.one(GROUP).outputs["arn"]
    assert statements["InvokeTheVersionUnderTest"]["Resource"] == f"{service_function(prod_plan).outputs['arn']}:*"


def test_the_post_traffic_hook_checks_the_alias_after_the_shift_with_the_same_standards(prod_plan: Plan):
    release = prod_plan.one(RELEASE)
    assert release.inputs["afterHookFunction"] == "catalog-prod-post-traffic"
    (hook,) = [f for f in prod_plan.of_type(FUNCTION) if f.name == "catalog-post-traffic-function-lambda"]
    assert hook.inputs["name"] == "catalog-prod-post-traffic"
    assert hook.inputs["handler"] == "post_traffic.handler.lambda_handler"
    assert {path.split("/")[0] for path in hook.inputs["code"]["__archive"]["assets"]} == {"post_traffic",
                                                                                         "traffic_hooks"}
    assert hook.inputs["environment"]["variables"]["READ_SCOPE"] == "catalog/items.read"
    assert hook.inputs["timeout"] == 60 and hook.inputs["tracingConfig"] == {"mode": "Active"}
    # Its own log group, encrypted with the stack's logs key and kept like the service's.
    (group,) = [g for g in prod_plan.of_type("aws:cloudwatch/logGroup:LogGroup")
                if g.inputs["name"] == "/aws/lambda/catalog-prod-post-traffic"]
    assert group.inputs["retentionInDays"] == 90 and group.inputs.get("kmsKeyId")
    assert hook.inputs["loggingConfig"]["logGroup"] == "/aws/lambda/catalog-prod-post-traffic"
    policy = next(p for p in prod_plan.of_type("aws:iam/rolePolicy:RolePolicy")
                  if p.name == "catalog-post-traffic-function-policy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    alias_arn = f"{service_function(prod_plan).outputs['arn']}:live"
    assert statements["InvokeTheReleasedAlias"]["Resource"] == alias_arn
    assert "InvokeTheVersionUnderTest" not in statements
    group_arn = prod_plan.one(GROUP).outputs["arn"]
    assert statements["ReadAndReportItsDeployments"]["Resource"] == group_arn
    # CodeDeploy's service role may invoke it; monitoring watches it like the pre-traffic hook, warnings only.
    role_policy = _role_policy(prod_plan)
    invoke = {s["Sid"]: s["Resource"] for s in json.loads(role_policy.inputs["policy"])["Statement"]}
    assert invoke["InvokePostTrafficHook"] == hook.outputs["arn"]
    alarms = sorted(a.inputs["name"] for a in prod_plan.of_type(METRIC_ALARM) if "post-traffic" in a.inputs["name"])
    pre = sorted(a.inputs["name"] for a in prod_plan.of_type(METRIC_ALARM) if "pre-traffic" in a.inputs["name"])
    assert alarms == [name.replace("pre-traffic", "post-traffic") for name in pre]
    assert alarms and all(name.endswith("-warning") for name in alarms)


def test_without_the_post_traffic_check_only_its_hook_goes(prod_plan: Plan, plan_with: Callable[..., Plan]):
    variant = plan_with("prod", {"prodready:delivery": {"postTrafficCheck": False}})
    assert variant.one(RELEASE).inputs["afterHookFunction"] == ""
    role_policy = _role_policy(variant)
    assert "InvokePostTrafficHook" not in role_policy.inputs["policy"]
    removed = {r.urn for r in prod_plan.resources} - {r.urn for r in variant.resources}
    assert removed and all("post-traffic" in urn for urn in removed), sorted(removed)


def test_dev_releases_all_at_once_after_the_same_check(dev_plan: Plan):
    assert dev_plan.of_type(CONFIG) == []
    assert dev_plan.one(GROUP).inputs["deploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce"
    assert dev_plan.one(RELEASE).inputs["hookFunction"] == "catalog-dev-pre-traffic"
    assert dev_plan.one(RELEASE).inputs["afterHookFunction"] == "catalog-dev-post-traffic"
    assert dev_plan.one(RELEASE).inputs["timeoutSeconds"] == 15 * 60
    assert service_function(dev_plan).inputs.get("snapStart") is None


def test_a_linear_shift_without_the_check_changes_exactly_the_delivery(prod_plan: Plan, plan_with: Callable[..., Plan]):
    variant = plan_with("prod", {"prodready:delivery": {"strategy": "linear", "percentage": 25, "intervalMinutes": 2,
                                                        "preTrafficCheck": False}})
    (config,) = variant.of_type(CONFIG)
    assert config.inputs["trafficRoutingConfig"] == {
        "type": "TimeBasedLinear", "timeBasedLinear": {"percentage": 25.0, "interval": 2.0}}
    release = variant.one(RELEASE)
    assert release.inputs["hookFunction"] == "" and release.inputs["timeoutSeconds"] == (3 * 2 + 15) * 60
    # No hook: no hook function, nothing for the service role to invoke, no alarms for it.
    assert not [f for f in variant.of_type(FUNCTION) if "pre-traffic" in f.name]
    assert not [a for a in variant.of_type(METRIC_ALARM) if "pre-traffic" in a.inputs["name"]]
    role_policy = next(p for p in variant.of_type("aws:iam/rolePolicy:RolePolicy")
                       if p.name == "catalog-delivery-policy")
    assert "InvokePreTrafficHook" not in role_policy.inputs["policy"]
    removed = {r.urn for r in prod_plan.resources} - {r.urn for r in variant.resources}
    assert all("pre-traffic" in urn or "canary-10pct" in urn or urn.endswith("::catalog-delivery-config")
               for urn in removed), sorted(removed)


def test_provisioned_concurrency_goes_on_the_alias_instead_of_snapstart(plan_with: Callable[..., Plan]):
    lambda_config = {**(_stack_file("prod", "lambda") or {}), "snapStart": False, "provisionedConcurrency": 5}
    variant = plan_with("prod", {"prodready:lambda": lambda_config})
    (provisioned,) = variant.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    inputs = provisioned.inputs
    assert (inputs["functionName"], inputs["qualifier"], inputs["provisionedConcurrentExecutions"]) == (
        "catalog-prod-api", "live", 5.0)
    assert service_function(variant).inputs.get("snapStart") is None


def test_the_plan_shows_the_release_alarm_set_the_hooks_and_the_cold_start_signals(prod_plan: Plan, dev_plan: Plan):
    shown = render_release(prod_plan).splitlines()
    assert shown[0] == "release catalog-prod-live: catalog-prod-canary-10pct-5min, 6 of 10 alarms"
    assert "  alarm  catalog-prod-api-lambda-version-error-rate-warning" in shown
    assert "  alarm  catalog-prod-api-lambda-version-duration-p99-warning" in shown
    assert "  hook   BeforeAllowTraffic: catalog-prod-pre-traffic" in shown
    assert "  hook   AfterAllowTraffic: catalog-prod-post-traffic" in shown
    # prod's service function restores from SnapStart snapshots; dev's inits.
    assert "  /aws/lambda/catalog-prod-api: RestoreDuration" in shown
    dev = render_release(dev_plan)
    assert "/aws/lambda/catalog-dev-api: InitDuration" in dev and "RestoreDuration" not in dev
