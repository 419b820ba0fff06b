"""ServiceMonitoring under Pulumi's mocks, on the committed stacks: what it registers and how it is wired."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.alerting import documents as routing
from tests.conftest import COMMITTED_STACKS
from tests.grants import wildcard_findings
from tests.unit.dashboard_checks import dashboard_problems
from tools.plan.harness import Plan, PlannedResource, committed_config
from tools.plan.mocks import ACCOUNT_ID

MONITORING = "prodready:monitoring:ServiceMonitoring"
ROUTING = "prodready:alert_routing:AlertRouting"
CANARY_COMPONENT = "prodready:canary:HealthCanary"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
TOPIC = "aws:sns/topic:Topic"
STACKS = COMMITTED_STACKS


def _items_table(plan: Plan) -> PlannedResource:
    (table,) = [t for t in plan.of_type("aws:dynamodb/table:Table") if t.name == "catalog-table-dynamodb"]
    return table




def _mine(plan: Plan, type_: str) -> list[PlannedResource]:
    """Resources of a type that ServiceMonitoring registered (other layers have alarms and topics too)."""
    (component,) = plan.of_type(MONITORING)
    inside = {r.urn for r in plan.descendants(component.urn)}
    return [r for r in plan.of_type(type_) if r.urn in inside]


def _alarms(plan: Plan) -> list[PlannedResource]:
    return _mine(plan, METRIC_ALARM) + _mine(plan, COMPOSITE)


def _topics(plan: Plan) -> dict[str, PlannedResource]:
    return {t.inputs["name"].rsplit("-", 1)[1]: t for t in _mine(plan, TOPIC)}


@pytest.mark.parametrize("stack", STACKS)
def test_every_monitoring_resource_lives_under_the_component(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    (component,) = plan.of_type(MONITORING)
    assert component.name == "catalog-monitoring"
    inside = plan.descendants(component.urn)
    assert all(r.name.startswith("catalog-monitoring-") for r in inside)
    for resource in inside:
        if resource.custom:
            assert resource.provider and "pulumi:providers:aws::aws::" in resource.provider, resource.urn
    for type_ in ("aws:cloudwatch/logMetricFilter:LogMetricFilter", "aws:cloudwatch/queryDefinition:QueryDefinition",
                  "aws:xray/samplingRule:SamplingRule", "aws:xray/group:Group", "aws:synthetics/canary:Canary"):
        assert {r.urn for r in plan.of_type(type_)} <= {r.urn for r in inside}, type_
    assert len(_mine(plan, TOPIC)) == 2 and len(_mine(plan, "aws:cloudwatch/dashboard:Dashboard")) == 1


def _publishers(plan: Plan) -> tuple[str, ...]:
    """The default publishers, and AWS Backup where a vault notifies the topics (prod)."""
    backups = plan.of_type("aws:backup/vaultNotifications:VaultNotifications")
    return (*routing.PUBLISHERS, *([routing.BACKUP_PUBLISHER] if backups else []))


@pytest.mark.parametrize("stack", STACKS)
def test_topics_use_the_customer_managed_key_never_the_aws_managed_one(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    (routing_component,) = _mine(plan, ROUTING)
    (key,) = [r for r in plan.children(routing_component.urn) if r.type == "aws:kms/key:Key"]
    topics = _topics(plan)
    assert set(topics) == {"critical", "warning"}
    for severity, topic in topics.items():
        assert topic.inputs["name"] == f"catalog-{stack}-alerts-{severity}"
        assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"], topic.urn
        assert topic.inputs["kmsMasterKeyId"] != routing.AWS_MANAGED_SNS_KEY
        assert key.urn in topic.dependencies
    assert key.inputs["enableKeyRotation"] is True
    assert json.loads(key.inputs["policy"]) == routing.alert_key_policy(ACCOUNT_ID, publishers=_publishers(plan))
    (alias,) = [r for r in plan.children(routing_component.urn) if r.type == "aws:kms/alias:Alias"]
    assert alias.inputs["name"] == f"alias/catalog-{stack}-alerts"


@pytest.mark.parametrize("stack", STACKS)
def test_each_topic_has_its_policy_and_subscribers(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    config = committed_config(stack).monitoring
    topics = _topics(plan)
    policies = {p.inputs["arn"]: json.loads(p.inputs["policy"]) for p in _mine(plan, "aws:sns/topicPolicy:TopicPolicy")}
    subscriptions = _mine(plan, "aws:sns/topicSubscription:TopicSubscription")
    for severity, topic in topics.items():
        arn = topic.outputs["arn"]
        assert policies[arn] == routing.alert_topic_policy(arn, ACCOUNT_ID, _publishers(plan))
        emails = sorted(s.inputs["endpoint"] for s in subscriptions
                        if s.inputs["topic"] == arn and s.inputs["protocol"] == "email")
        assert emails == sorted(config.alert_emails[severity]), severity
        assert emails, f"{severity} topic has no subscriber"


def _alarm_routes(plan: Plan) -> dict[str, set[str]]:
    """Topics each alarm reaches: its own actions, or those of the routed composites that cover it."""
    direct: dict[str, set[str]] = {}
    members: dict[str, list[str]] = {}
    for alarm in _alarms(plan):
        name = alarm.inputs.get("name") or alarm.inputs.get("alarmName")
        direct[name] = set(alarm.inputs.get("alarmActions") or [])
        if alarm.type == COMPOSITE:
            members[name] = [part.split('"')[1] for part in alarm.inputs["alarmRule"].split("ALARM(")[1:]]
    covering: dict[str, set[str]] = {}
    for composite, children in members.items():
        for child in children:
            covering.setdefault(child, set()).add(composite)

    def reach(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        topics = set(direct[name])
        for parent in covering.get(name, ()):
            if parent not in seen:
                topics |= reach(parent, seen | {name})
        return topics

    return {name: reach(name) for name in direct}


@pytest.mark.parametrize("stack", STACKS)
def test_every_alarm_reaches_the_topic_of_its_severity(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    topics = {severity: t.outputs["arn"] for severity, t in _topics(plan).items()}
    routes = _alarm_routes(plan)
    for alarm in _alarms(plan):
        name = alarm.inputs.get("name") or alarm.inputs.get("alarmName")
        severity = alarm.inputs["tags"]["Severity"]
        assert name.endswith(f"-{severity}"), name
        assert topics[severity] in routes[name], f"{name} does not reach the {severity} topic"
        if severity == "warning":
            assert topics["critical"] not in routes[name], f"{name} would page"
        own = alarm.inputs.get("alarmActions") or []
        assert own in ([], [topics[severity]]), name
        assert (alarm.inputs.get("okActions") or []) == own, f"{name}: OK actions differ from alarm actions"
        assert alarm.inputs["actionsEnabled"] is True


@pytest.mark.parametrize("stack", STACKS)
def test_critical_alarms_page_once_through_the_suppressible_rollup(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    critical_topic = _topics(plan)["critical"].outputs["arn"]
    paging = [a for a in _alarms(plan)
              if critical_topic in (a.inputs.get("alarmActions") or [])]
    assert [a.inputs.get("alarmName") for a in paging] == [f"catalog-{stack}-service-critical-rollup-critical"]
    (rollup,) = paging
    suppressor = rollup.inputs["actionsSuppressor"]
    assert suppressor["alarm"] == f"catalog-{stack}-maintenance-window-warning"
    assert suppressor["waitPeriod"] == 60 and suppressor["extensionPeriod"] == 300
    names = {a.inputs["name"] for a in _mine(plan, METRIC_ALARM)} | {
        c.inputs["alarmName"] for c in _mine(plan, COMPOSITE)}
    for composite in _mine(plan, COMPOSITE):
        referenced = [part.split('"')[1] for part in composite.inputs["alarmRule"].split("ALARM(")[1:]]
        assert referenced and set(referenced) <= names, composite.urn
        member_urns = {a.urn for a in _alarms(plan)
                       if (a.inputs.get("name") or a.inputs.get("alarmName")) in referenced}
        assert member_urns <= set(composite.dependencies), f"{composite.urn} may be created before its members"


@pytest.mark.parametrize("stack", STACKS)
def test_alarms_are_well_formed_for_cloudwatch(plans: dict[str, Plan], stack: str) -> None:
    for alarm in _mine(plans[stack], METRIC_ALARM):
        inputs = alarm.inputs
        assert inputs["tags"]["AlarmKind"] and inputs["tags"]["Severity"] in ("critical", "warning"), alarm.urn
        assert alarm.outputs["tagsAll"]["Project"] == "prodready", alarm.urn  # provider default tags stay
        assert inputs["alarmDescription"].split(" Runbook: ")[-1].startswith("https://"), alarm.urn
        queries = inputs.get("metricQueries")
        if queries and inputs.get("thresholdMetricId"):
            # An anomaly-detection alarm returns its metric and its band, and has no Threshold.
            assert sum(bool(q.get("returnData")) for q in queries) == 2 and "threshold" not in inputs, alarm.urn
        elif queries:
            assert sum(bool(q.get("returnData")) for q in queries) == 1, alarm.urn
            assert not {"metricName", "namespace", "period", "statistic"} & set(inputs), alarm.urn
        else:
            assert inputs["metricName"] and inputs["namespace"] and inputs["period"], alarm.urn
            assert ("statistic" in inputs) != ("extendedStatistic" in inputs), alarm.urn
        assert 1 <= inputs["datapointsToAlarm"] <= inputs["evaluationPeriods"], alarm.urn


@pytest.mark.parametrize("stack", STACKS)
def test_dashboard_body_is_valid_and_shows_existing_alarms(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    (dashboard,) = _mine(plan, "aws:cloudwatch/dashboard:Dashboard")
    assert dashboard.inputs["dashboardName"] == f"catalog-{stack}"
    body = json.loads(dashboard.inputs["dashboardBody"])
    assert dashboard_problems(body) == []
    arns = {a.outputs["arn"] for a in _alarms(plan)}
    (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert set(alarm_widget["properties"]["alarms"]) <= arns
    text = json.dumps(body)
    # Every function it watches (the service's, the pre-traffic hook's), and the alias a release shifts.
    for function in plan.of_type("aws:lambda/function:Function"):
        assert function.outputs["name"] in text, function.urn
    assert f"catalog-{stack}-api:live" in text
    assert _items_table(plan).outputs["name"] in text
    assert plan.one("aws:apigatewayv2/api:Api").id in text


@pytest.mark.parametrize("stack", STACKS)
def test_log_signals_read_the_service_log_groups(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    groups = {g.inputs["name"] for g in plan.of_type("aws:cloudwatch/logGroup:LogGroup")}
    # Each watched function's log group (the service's, the traffic hooks' and, with the prod profile, the
    # restore-test validation's), and the access logs.
    functions = ("api", "pre-traffic", "post-traffic",
                 *(("restore-check",) if committed_config(stack).profile == "prod" else ()))
    log_groups = {**{fn: f"/aws/lambda/catalog-{stack}-{fn}" for fn in functions},
                  "http": f"/aws/apigateway/catalog-{stack}/access-logs"}
    filters = {f.inputs["name"]: f for f in plan.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")}
    # With SnapStart (prod) the service's cold starts are restores: their duration has a filter of its own.
    restores = [f"catalog-{stack}-api-restore-duration"] if committed_config(stack).lambda_.snap_start else []
    assert sorted(filters) == sorted(
        [f"catalog-{stack}-{fn}-{key}" for fn in functions
         for key in ("init-duration", "max-memory-used", "error-log-lines")]
        + [f"catalog-{stack}-http-auth-refusals"] + restores)
    assert (committed_config(stack).profile == "prod") == bool(restores)
    for name, metric_filter in filters.items():
        resource = next(key for key in log_groups if name.startswith(f"catalog-{stack}-{key}-"))
        assert metric_filter.inputs["logGroupName"] == log_groups[resource]
        assert metric_filter.inputs["metricTransformation"]["namespace"] == f"prodready/catalog-{stack}/{resource}"
    queries = plan.of_type("aws:cloudwatch/queryDefinition:QueryDefinition")
    assert len(queries) == 9
    for query in queries:
        assert query.inputs["name"].startswith(f"catalog-{stack}/")
        assert set(query.inputs["logGroupNames"]) <= groups, query.urn


@pytest.mark.parametrize("stack", STACKS)
def test_tracing_follows_the_stack_config(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    tracing_config = committed_config(stack).monitoring.tracing
    rule = plan.one("aws:xray/samplingRule:SamplingRule")
    assert rule.inputs["fixedRate"] == tracing_config.sampling_rate
    assert rule.inputs["reservoirSize"] == tracing_config.reservoir_per_second
    assert rule.inputs["serviceName"] == f"catalog-{stack}-*" and rule.inputs["priority"] < 10000
    group = plan.one("aws:xray/group:Group")
    functions = ("api", "pre-traffic", "post-traffic",
                 *(("restore-check",) if committed_config(stack).profile == "prod" else ()))
    assert group.inputs["filterExpression"] == " OR ".join(
        f'service("catalog-{stack}-{fn}") {{ fault = true OR error = true }}' for fn in functions)
    assert group.inputs["insightsConfiguration"] == {"insightsEnabled": True, "notificationsEnabled": True}
    assert (rule.inputs["fixedRate"], committed_config(stack).profile) in ((1.0, "dev"), (0.05, "prod"))


def _canary_parts(plan: Plan) -> dict[str, PlannedResource]:
    (component,) = plan.of_type(CANARY_COMPONENT)
    return {r.type.split(":")[-1]: r for r in plan.children(component.urn)}


def test_prod_canary_checks_readiness_every_five_minutes(prod_plan: Plan) -> None:
    parts = _canary_parts(prod_plan)
    canary, bucket, code = parts["Canary"], parts["Bucket"], parts["BucketObjectv2"]
    config = committed_config("prod").monitoring.canary
    api_url = prod_plan.one("aws:apigatewayv2/stage:Stage").outputs["invokeUrl"]
    assert canary.inputs["schedule"]["expression"] == "rate(5 minutes)" == config.schedule
    assert canary.inputs["runConfig"]["environmentVariables"] == {"HEALTH_URL": api_url.rstrip("/") + "/health/ready"}
    assert canary.inputs["startCanary"] is True and canary.inputs["deleteLambda"] is True
    assert canary.inputs["artifactS3Location"] == f"s3://{bucket.outputs['bucket']}/runs/"
    assert (canary.inputs["s3Bucket"], canary.inputs["s3Key"]) == (bucket.outputs["bucket"], code.inputs["key"])
    assert canary.inputs["artifactConfig"] == {"s3Encryption": {"encryptionMode": "SSE_S3"}}
    assert canary.inputs["successRetentionPeriod"] == canary.inputs["failureRetentionPeriod"] == 30
    assert parts["RolePolicy"].urn in canary.dependencies
    assert wildcard_findings(json.loads(parts["RolePolicy"].inputs["policy"])) == []
    (alarm,) = [a for a in _mine(prod_plan, METRIC_ALARM) if a.inputs["tags"]["AlarmKind"] == "canary-success-rate"]
    assert alarm.inputs["dimensions"] == {"CanaryName": canary.outputs["name"]}


def test_prod_canary_artifacts_are_private_encrypted_and_expire(prod_plan: Plan) -> None:
    parts = _canary_parts(prod_plan)
    bucket = parts["Bucket"].outputs["bucket"]
    block = parts["BucketPublicAccessBlock"].inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))
    sse = parts["BucketServerSideEncryptionConfiguration"].inputs["rules"][0]
    assert sse["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    rules = {r["id"]: r for r in parts["BucketLifecycleConfiguration"].inputs["rules"]}
    assert rules["expire-run-artifacts"]["expiration"] == {"days": 30}
    assert rules["expire-run-artifacts"]["filter"] == {"prefix": "runs/"}
    policy = json.loads(parts["BucketPolicy"].inputs["policy"])
    assert policy["Statement"][0]["Effect"] == "Deny"
    assert all(p.inputs["bucket"] == bucket for k, p in parts.items() if k.startswith("Bucket") and k != "Bucket")


def test_dev_has_no_canary(dev_plan: Plan) -> None:
    assert dev_plan.of_type(CANARY_COMPONENT) == []
    assert dev_plan.of_type("aws:synthetics/canary:Canary") == []
    assert not [a for a in _mine(dev_plan, METRIC_ALARM) if a.inputs["tags"]["AlarmKind"] == "canary-success-rate"]


@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs_for_the_alarm_tool_and_people(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    outputs: dict[str, Any] = plan.outputs
    names = [a.inputs["name"] for a in _mine(plan, METRIC_ALARM)]
    names += [c.inputs["alarmName"] for c in _mine(plan, COMPOSITE)]
    assert sorted(outputs["alarmNames"]) == sorted(names)
    assert outputs["alertTopicArns"] == {s: t.outputs["arn"] for s, t in _topics(plan).items()}
    assert outputs["dashboardName"] == f"catalog-{stack}"
    assert outputs["dashboardUrl"] == (
        f"https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/catalog-{stack}")


def test_declared_maintenance_windows_mute_every_alarm_that_notifies_and_nothing_else(prod_plan: Plan) -> None:
    from tools.plan.harness import run_plan, stack_config

    raw, _ = stack_config("prod")
    monitoring = json.loads(raw["prodready:monitoring"])
    monitoring["maintenanceWindows"] = [{"days": ["Sun"], "startHour": 2, "durationHours": 2},
                                        {"days": ["Sat", "Sun"], "startHour": 22, "durationHours": 30}]
    plan = run_plan("prod", config_overrides={"prodready:monitoring": monitoring})
    rules = _mine(plan, "aws:cloudwatch/alarmMuteRule:AlarmMuteRule")
    by_name = {r.inputs["name"]: r for r in rules}
    assert sorted(by_name) == ["catalog-prod-maintenance-1", "catalog-prod-maintenance-2"]
    sunday = by_name["catalog-prod-maintenance-1"].inputs["rule"]["schedule"]
    assert sunday == {"expression": "cron(0 2 * * SUN)", "duration": "PT2H", "timezone": "UTC"}
    weekend = by_name["catalog-prod-maintenance-2"].inputs["rule"]["schedule"]
    assert (weekend["expression"], weekend["duration"]) == ("cron(0 22 * * SAT,SUN)", "P1DT6H")

    muted = set(by_name["catalog-prod-maintenance-1"].inputs["muteTargets"]["alarmNames"])
    notifying = {a.inputs.get("name") or a.inputs["alarmName"] for a in _alarms(plan) if a.inputs.get("alarmActions")}
    assert muted == notifying - {"catalog-prod-maintenance-window-warning"}
    assert "catalog-prod-service-critical-rollup-critical" in muted
    assert "catalog-prod-api-lambda-error-rate-critical" not in muted  # pages only through the roll-up
    # Without declared windows, no rule.
    assert _mine(prod_plan, "aws:cloudwatch/alarmMuteRule:AlarmMuteRule") == []
