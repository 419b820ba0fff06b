"""The monthly cost estimate (tools/plan/cost.py) over small hand-built plans, priced by hand."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from components.cost.settings import TrafficConfig
from tools.plan import cost
from tools.plan.cost import Estimate, Prices, estimate, render_estimate
from tools.plan.harness import Plan, PlannedResource

STACK = "urn:pulumi:t::p::pulumi:pulumi:Stack::p-t"
PROVIDER = "urn:pulumi:t::p::pulumi:providers:aws::aws"
EAST = "urn:pulumi:t::p::pulumi:providers:aws::east"
SERVICE = "urn:pulumi:t::p::prodready:service:ServerlessService::svc"
MONITORING = "urn:pulumi:t::p::prodready:monitoring:ServiceMonitoring::mon"
# The integration invokes the function's live alias, as the service does.
INVOKE_ARN = (
    "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:eu-west-1:123456789012:function:fn:live/invocations"
)
ACCESS_ARN = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/apigateway/api/access-logs"

# Round numbers, so that every figure below can be checked by hand.
PRICES = {
    "lambda.requestsPerMillion": 0.2,
    "lambda.gbSecond.arm64": 0.00001,
    "lambda.gbSecond.x86_64": 0.00002,
    "apigateway.httpRequestsPerMillion": 1.0,
    "dynamodb.writeRequestUnitsPerMillion": 1.0,
    "dynamodb.readRequestUnitsPerMillion": 0.2,
    "dynamodb.storageGbMonth": 0.25,
    "dynamodb.pitrGbMonth": 0.2,
    "dynamodb.wcuHour": 0.001,
    "dynamodb.rcuHour": 0.0002,
    "cloudwatch.alarmStandardMetricMonth": 0.1,
    "cloudwatch.alarmHighResolutionMetricMonth": 0.3,
    "cloudwatch.compositeAlarmMonth": 0.5,
    "cloudwatch.dashboardMonth": 3.0,
    "cloudwatch.customMetricMonth": 0.3,
    "cloudwatch.logsIngestionGb": 0.5,
    "cloudwatch.logsStorageGbMonth": 0.03,
    "synthetics.canaryRun": 0.001,
    "xray.tracesRecordedPerMillion": 5.0,
    "kms.keyMonth": 1.0,
    "kms.requestsPer10k": 0.03,
    "sns.publishesPerMillion": 0.5,
    "sns.emailPer100k": 2.0,
    "dataTransfer.outToInternetGb": 0.09,
    "budgets.budgetMonth": 0.0,
    "chatbot.channelMonth": 0.0,
    "cognito.m2mAppClientMonth": 6.0,
    "cognito.m2mTokenRequestsPer1k": 2.0,
    "cloudwatch.logsDataProtectionGb": 0.1,
    "lambda.snapStartCacheGbSecond": 0.000001,
    "lambda.snapStartRestoreGb": 0.0001,
    "lambda.provisionedGbSecond.arm64": 0.000003,
    "lambda.provisionedGbSecond.x86_64": 0.000004,
    "codedeploy.lambdaDeployment": 0.0,
    "acm.publicCertificateMonth": 0.0,
    "route53.aliasQueriesPerMillion": 0.0,
    "route53.standardQueriesPerMillion": 0.4,
    "cloudfront.httpsRequestsPer10k": 0.01,
    "cloudfront.dataTransferOutGb": 0.085,
    "waf.webAclMonth": 5.0,
    "waf.ruleMonth": 1.0,
    "waf.requestsPerMillion": 0.6,
    "backup.dynamodbWarmGbMonth": 0.1,
    "backup.dynamodbColdGbMonth": 0.03,
    "backup.crossRegionTransferGb": 0.02,
    "firehose.ingestionGb": 0.03,
    "s3.standardGbMonth": 0.02,
    "s3.standardIaGbMonth": 0.01,
    "s3.oneZoneIaGbMonth": 0.01,
    "s3.glacierIrGbMonth": 0.004,
    "s3.glacierGbMonth": 0.004,
    "s3.deepArchiveGbMonth": 0.001,
    "cloudtrail.dataEventsPer100k": 0.1,
    "backup.dynamodbRestoreGb": 0.15,
}
TEST_PRICES = Prices(
    as_of="test",
    basis="test",
    hours_per_month=730.0,
    regions={"eu-west-1": PRICES, "us-east-1": {**PRICES, "cloudwatch.alarmStandardMetricMonth": 0.2}},
    assumptions={
        "kmsRequestsPerTableKeyPerMonth": 8640,
        "apiGatewayMeteringKb": 512,
        "httpApiDetailedMetricsPerRoute": 6,
        "lambdaDefaultSampling": {"reservoirPerSecond": 1, "fixedRate": 0.05},
        "snapStartCachedVersions": 2,
        "openTelemetryLayerInitMs": 450,
        "cloudTrailDataEventsPerRequest": 1,
    },
)
TRAFFIC = TrafficConfig(
    requests_per_month=1_000_000,
    average_duration_ms=100,
    average_payload_kb=1,
    function_log_bytes_per_request=1024,
    access_log_bytes_per_request=512,
    read_units_per_request=2,
    write_units_per_request=0.5,
    stored_gb=2,
    canary_requests_per_run=1,
    alerts_per_month=100,
)
BUSINESS_METRICS = ("ItemsCreated", "ItemsDeleted")


def _res(type_: str, name: str, parent: str = STACK, provider: str | None = PROVIDER, *,
         inputs: dict[str, Any] | None = None, outputs: dict[str, Any] | None = None) -> PlannedResource:
    custom = not type_.startswith("prodready:")
    return PlannedResource(
        urn=f"urn:pulumi:t::p::{type_}::{name}",
        type=type_,
        name=name,
        custom=custom,
        id=name if custom else None,
        parent=parent,
        provider=f"{provider}::id" if custom and provider else None,
        inputs=inputs or {},
        outputs={**(inputs or {}), **(outputs or {})},
    )


def small_plan() -> Plan:
    """One function behind one HTTP API, one table, and a small operations layer."""
    resources = [
        _res("pulumi:providers:aws", "aws", provider=None, inputs={"region": "eu-west-1"}),
        _res("pulumi:providers:aws", "east", provider=None, inputs={"region": "us-east-1"}),
        _res("prodready:service:ServerlessService", "svc"),
        _res("aws:lambda/function:Function", "fn", SERVICE, inputs={
            "name": "fn", "memorySize": 1024.0, "architectures": ["arm64"], "tracingConfig": {"mode": "Active"},
            "loggingConfig": {"logGroup": "/aws/lambda/fn"},
            "environment": {"variables": {"POWERTOOLS_METRICS_NAMESPACE": "prodready/t"}},
        }, outputs={"invokeArn": INVOKE_ARN, "arn": "arn:aws:lambda:eu-west-1:123456789012:function:fn"}),
        _res("aws:apigatewayv2/api:Api", "api", SERVICE, inputs={"protocolType": "HTTP"}),
        _res("aws:apigatewayv2/integration:Integration", "integration", SERVICE,
             inputs={"integrationUri": INVOKE_ARN}),
        _res("aws:apigatewayv2/stage:Stage", "stage", SERVICE, inputs={
            "apiId": "api", "accessLogSettings": {"destinationArn": ACCESS_ARN},
            "defaultRouteSettings": {"detailedMetricsEnabled": False},
        }),
        _res("aws:cloudwatch/logGroup:LogGroup", "fn-logs", SERVICE, inputs={
            "name": "/aws/lambda/fn", "retentionInDays": 30.0}),
        _res("aws:cloudwatch/logGroup:LogGroup", "access-logs", SERVICE, inputs={
            "name": "/aws/apigateway/api/access-logs", "retentionInDays": 60.0}, outputs={"arn": ACCESS_ARN}),
        _res("aws:dynamodb/table:Table", "table", SERVICE, inputs={
            "billingMode": "PAY_PER_REQUEST", "pointInTimeRecovery": {"enabled": True},
            "globalSecondaryIndexes": [{"name": "by-name", "projectionType": "ALL"}],
            "serverSideEncryption": {"enabled": True},
        }),
        _res("prodready:monitoring:ServiceMonitoring", "mon"),
        _res("aws:cloudwatch/metricAlarm:MetricAlarm", "errors", MONITORING, inputs={"period": 60.0}),
        _res("aws:cloudwatch/metricAlarm:MetricAlarm", "fast", MONITORING, inputs={"period": 10.0}),
        _res("aws:cloudwatch/metricAlarm:MetricAlarm", "error-rate", MONITORING, inputs={"metricQueries": [
            {"id": "e", "metric": {"metricName": "Errors", "period": 300.0}},
            {"id": "i", "metric": {"metricName": "Invocations", "period": 300.0}},
            {"id": "rate", "expression": "e / i", "returnData": True},
        ]}),
        _res("aws:cloudwatch/compositeAlarm:CompositeAlarm", "health", MONITORING),
        _res("aws:cloudwatch/dashboard:Dashboard", "dashboard", MONITORING),
        _res("aws:cloudwatch/logMetricFilter:LogMetricFilter", "cold-starts", MONITORING),
        _res("aws:synthetics/canary:Canary", "canary", MONITORING, inputs={"schedule": {"expression":
                                                                                       "rate(10 minutes)"}}),
        _res("aws:xray/samplingRule:SamplingRule", "sampling", MONITORING, inputs={
            "priority": 100.0, "reservoirSize": 0.0, "fixedRate": 0.1, "serviceName": "*", "serviceType": "*"}),
        _res("aws:kms/key:Key", "alerts-key", MONITORING, outputs={"arn": "arn:aws:kms:eu-west-1:1:key/k"}),
        _res("aws:sns/topic:Topic", "warning", MONITORING),
        _res("aws:sns/topicSubscription:TopicSubscription", "a", MONITORING, inputs={"protocol": "email"}),
        _res("aws:sns/topicSubscription:TopicSubscription", "b", MONITORING, inputs={"protocol": "email"}),
    ]
    return Plan("p", "t", {"aws:region": "eu-west-1"}, resources, {})


def _estimate(plan: Plan | None = None, traffic: TrafficConfig = TRAFFIC, **kwargs: Any) -> Estimate:
    return estimate(plan or small_plan(), traffic, TEST_PRICES, business_metrics=BUSINESS_METRICS, **kwargs)


def _without(plan: Plan, *names: str) -> Plan:
    return dataclasses.replace(plan, resources=[r for r in plan.resources if r.name not in names])


def _line(est: Estimate, item: str) -> cost.CostLine:
    (line,) = [x for x in est.lines if x.item == item]
    return line


# Canary: rate(10 minutes) over a 730-hour month, one request per run, at rest and at traffic.
RUNS = 730 * 60 / 10  # 4380
GB = 2**30
DAYS_PER_MONTH = 730 / 24


def hand_computed(client_requests: int) -> dict[str, float]:
    """The small plan priced by hand, per layer: every line of the estimate, written out."""
    n = client_requests + RUNS  # requests through API, function and table
    service = (
        n / 1e6 * 0.2                    # Lambda requests
        + n * 0.100 * 1.0 * 0.00001      # Lambda arm64: 100 ms x 1 GB per request
        + n / 1e6 * 1.0                  # HTTP API requests (1 KB < one 512 KB increment)
        + n * 1 / 1024**2 * 0.09         # 1 KB responses out to the internet
        + n * 0.5 * 2 / 1e6 * 1.0        # 0.5 WRU per request, written to the table and its index
        + n * 2 / 1e6 * 0.2              # 2 RRU per request
        + 2 * 2 * 0.25                   # 2 GB in the table plus its ALL-projected index
        + 2 * 0.2                        # PITR over the table's 2 GB
    )
    operations = (
        1.0                                                       # the alert topic's KMS key
        + (n * 1024 + n * 512) / GB * 0.5                         # function + access log ingestion
        + (n * 1024 / GB * 30 + n * 512 / GB * 60) / DAYS_PER_MONTH * 0.03  # stored for 30 / 60 days
        + (1 + 2) * 0.1                                           # standard alarms: 1 metric + 2 metrics
        + 1 * 0.3                                                 # the 10-second alarm: high resolution
        + 0.5 + 3.0                                               # composite alarm, dashboard
        + (2 + 1 + 1) * 0.3                                       # 2 EMF metrics + ColdStart + 1 filter
        + RUNS * 0.001                                            # canary runs
        + n / 1e6 * 5.0                                           # X-Ray: < 1 request/s, all traced
        + 100 / 1e6 * 0.5 + 100 * 2 / 1e5 * 2.0                   # 100 alerts, 2 email subscribers
    )
    return {"service": service, "operations": operations}


def test_small_plan_costs_what_the_hand_computation_says() -> None:
    est = _estimate()
    at_traffic = hand_computed(1_000_000)
    at_rest = hand_computed(0)
    assert est.total("traffic", "service") == pytest.approx(at_traffic["service"], rel=1e-9)
    assert est.total("traffic", "operations") == pytest.approx(at_traffic["operations"], rel=1e-9)
    assert est.total("rest", "service") == pytest.approx(at_rest["service"], rel=1e-9)
    assert est.total("rest", "operations") == pytest.approx(at_rest["operations"], rel=1e-9)
    # The same figures, evaluated once by hand and written down. At traffic (n = 1,004,380):
    # service    0.2009 + 1.0044 + 1.0044 + 0.0862 + 1.0044 + 0.4018 + 1.0 + 0.4        = 5.1020
    # operations 1.0 + 0.7184 + 0.0567 + 0.6 + 3.5 + 1.2 + 4.38 + 5.0219 + 0.0041       = 16.4810
    # At rest (n = 4,380, the canary alone): 1.4161 + 10.7093.
    assert est.total("traffic") == pytest.approx(21.583, abs=0.001)  # 5.102 service + 16.481 operations
    assert est.total("rest") == pytest.approx(12.125, abs=0.001)  # 1.416 service + 10.709 operations


def test_lines_read_the_plan_inputs() -> None:
    est = _estimate()
    compute = _line(est, "Lambda compute (arm64, 1024 MB)")
    assert compute.layer == "service" and compute.unit == "GB-s"
    assert compute.quantity_at_traffic == pytest.approx((1_000_000 + RUNS) * 0.1)
    assert _line(est, "CloudWatch alarms, standard").quantity_at_traffic == 3
    assert _line(est, "CloudWatch alarms, high resolution").quantity_at_traffic == 1
    assert _line(est, "CloudWatch custom metrics").quantity_at_traffic == 4
    assert _line(est, "Synthetics canary runs").quantity_at_rest == RUNS
    assert _line(est, "KMS customer-managed keys").layer == "operations"


def test_more_traffic_adds_exactly_the_marginal_cost_per_request() -> None:
    # With a zero reservoir every item is linear in requests, so each extra million costs the same.
    base = _estimate(traffic=TRAFFIC.model_copy(update={"requests_per_month": 0}))
    one = _estimate()
    two = _estimate(traffic=TRAFFIC.model_copy(update={"requests_per_month": 2_000_000}))
    marginal = one.total("traffic") - base.total("traffic")
    assert marginal > 0
    assert two.total("traffic") - one.total("traffic") == pytest.approx(marginal)
    # Traffic never changes what the stack costs at rest.
    assert two.total("rest") == pytest.approx(one.total("rest"))


def test_longer_invocations_cost_only_compute() -> None:
    slow = _estimate(traffic=TRAFFIC.model_copy(update={"average_duration_ms": 200}))
    fast = _estimate()
    compute = "Lambda compute (arm64, 1024 MB)"
    assert slow.total("traffic") - fast.total("traffic") == pytest.approx(
        _line(fast, compute).at_traffic
    )


def test_removing_alarms_removes_exactly_their_price() -> None:
    full = _estimate()
    for names, saving in ((("fast",), 0.3), (("error-rate",), 0.2), (("errors", "error-rate"), 0.3),
                          (("health",), 0.5), (("dashboard",), 3.0)):
        smaller = _estimate(_without(small_plan(), *names))
        assert full.total("traffic") - smaller.total("traffic") == pytest.approx(saving), names
        assert full.total("rest") - smaller.total("rest") == pytest.approx(saving), names


def test_without_a_canary_the_stack_at_rest_pays_only_for_what_exists() -> None:
    est = _estimate(_without(small_plan(), "canary"))
    # Storage, backups, a key, alarms, a dashboard and the SNS alerts; no requests, no metrics.
    expected = 2 * 2 * 0.25 + 2 * 0.2 + 1.0 + 3 * 0.1 + 0.3 + 0.5 + 3.0 + 100 / 1e6 * 0.5 + 100 * 2 / 1e5 * 2.0
    assert est.total("rest") == pytest.approx(expected)
    assert _line(est, "CloudWatch custom metrics").at_rest == 0


def test_table_key_adds_kms_requests_in_the_service_layer() -> None:
    plan = small_plan()
    key = _res("aws:kms/key:Key", "table-key", SERVICE, outputs={"arn": "arn:aws:kms:eu-west-1:1:key/t"})
    table = next(r for r in plan.resources if r.name == "table")
    table.inputs["serverSideEncryption"] = {"enabled": True, "kmsKeyArn": "arn:aws:kms:eu-west-1:1:key/t"}
    est = _estimate(dataclasses.replace(plan, resources=[*plan.resources, key]))
    service_keys = [x for x in est.lines if x.item == "KMS customer-managed keys" and x.layer == "service"]
    assert [x.quantity_at_traffic for x in service_keys] == [1]
    assert _line(est, "KMS requests").at_traffic == pytest.approx(8640 / 10_000 * 0.03)


def test_provisioned_table_pays_capacity_at_rest() -> None:
    plan = small_plan()
    table = next(r for r in plan.resources if r.name == "table")
    table.inputs.update(billingMode="PROVISIONED", readCapacity=5.0, writeCapacity=2.0,
                        globalSecondaryIndexes=[{"name": "by-name", "projectionType": "ALL",
                                                 "readCapacity": 5.0, "writeCapacity": 2.0}])
    est = _estimate(plan)
    assert _line(est, "DynamoDB provisioned writes").at_rest == pytest.approx(4 * 730 * 0.001)
    assert _line(est, "DynamoDB provisioned reads").at_rest == pytest.approx(10 * 730 * 0.0002)
    assert not [x for x in est.lines if "request units" in x.item]


def test_each_resource_is_priced_in_its_own_region() -> None:
    plan = small_plan()
    billing = _res("aws:cloudwatch/metricAlarm:MetricAlarm", "billing", STACK, EAST, inputs={"period": 21600.0})
    est = _estimate(dataclasses.replace(plan, resources=[*plan.resources, billing]))
    east = [x for x in est.lines if x.region == "us-east-1"]
    assert [(x.item, x.unit_price, x.quantity_at_traffic) for x in east] == [
        ("CloudWatch alarms, standard", 0.2, 1)
    ]


def test_unknown_region_falls_back_to_us_east_1_and_says_so() -> None:
    plan = small_plan()
    provider = next(r for r in plan.resources if r.name == "aws")
    provider.inputs["region"] = "ap-south-1"
    est = _estimate(dataclasses.replace(plan, config={"aws:region": "ap-south-1"}))
    assert any("no prices for ap-south-1" in note for note in est.notes)


def test_warning_when_the_estimate_passes_the_share_of_the_budget() -> None:
    total = _estimate().total("traffic")
    assert _estimate(budget_usd=total / 0.79, warn_share=0.8).warning is None
    over = _estimate(budget_usd=total / 0.81, warn_share=0.8)
    assert over.warning and "81% of the" in over.warning
    rendered = render_estimate(over)
    assert "WARNING: estimated" in rendered and "headroom" in rendered
    assert "WARNING" not in render_estimate(_estimate(budget_usd=1000.0))


def test_rendered_table_has_both_layers_and_totals() -> None:
    rendered = render_estimate(_estimate(budget_usd=100.0))
    for text in ("service subtotal", "operations subtotal", "total", "free tier excluded",
                 "budget: $100.00/month", f"headroom ${100 - _estimate().total('traffic'):,.2f}"):
        assert text in rendered, text
    document = _estimate(budget_usd=100.0).to_json()
    assert document["freeTier"] == "excluded"
    assert document["totals"]["traffic"]["total"] == pytest.approx(21.58, abs=0.01)
    json.dumps(document)  # serialisable as it is


def test_lambda_samples_at_its_fixed_rate_whatever_the_rules_say() -> None:
    est = _estimate()
    (note,) = [n for n in est.notes if n.startswith("X-Ray sampling")]
    assert "1/s then 5%" in note and "sampling rule sampling (0/s then 10%)" in note
    without_rule = _estimate(_without(small_plan(), "sampling"))
    assert _line(without_rule, "X-Ray traces recorded").at_traffic == _line(est, "X-Ray traces recorded").at_traffic
    # Past the reservoir, 5% of the rest: 10M requests a month is 3.8/s, so 1/s + 5% of 2.8/s.
    busy = _estimate(traffic=TRAFFIC.model_copy(update={"requests_per_month": 10_000_000}))
    per_second = (10_000_000 + RUNS) / (730 * 3600)
    assert _line(busy, "X-Ray traces recorded").quantity_at_traffic == pytest.approx(
        (1 + (per_second - 1) * 0.05) * 730 * 3600 / 1e6)


def test_pass_through_tracing_records_no_traces() -> None:
    plan = small_plan()
    function = next(r for r in plan.resources if r.name == "fn")
    function.inputs["tracingConfig"] = {"mode": "PassThrough"}
    assert not [x for x in _estimate(plan).lines if x.item.startswith("X-Ray")]


@pytest.mark.parametrize(("expression", "runs"), [
    ("rate(5 minutes)", 730 * 12), ("rate(1 minute)", 730 * 60), ("rate(1 hour)", 730),
    ("rate(0 minute)", 0), ("cron(0/15 * * * ? *)", 730 * 4), ("cron(0 8,20 * * ? *)", 730 / 24 * 2),
])
def test_canary_schedules(expression: str, runs: float) -> None:
    assert cost.canary_runs_per_month(expression) == pytest.approx(runs)


def test_sampling_keeps_the_reservoir_then_the_rate() -> None:
    seconds = 1000.0
    assert cost.sampled_traces(500, 1, 0.05, seconds) == pytest.approx(500)  # under 1/s: all kept
    assert cost.sampled_traces(11_000, 1, 0.05, seconds) == pytest.approx(1000 + 10_000 * 0.05)
    assert cost.sampled_traces(0, 1, 0.05, seconds) == 0


def test_alarm_metric_counting() -> None:
    def alarm(**inputs: Any) -> PlannedResource:
        return _res("aws:cloudwatch/metricAlarm:MetricAlarm", "a", inputs=inputs)

    assert cost.alarm_metrics(alarm(period=300.0)) == (1, False)
    assert cost.alarm_metrics(alarm(period=30.0)) == (1, True)
    band = [{"id": "m", "metric": {"period": 60.0}}, {"id": "b", "expression": "ANOMALY_DETECTION_BAND(m, 2)"}]
    assert cost.alarm_metrics(alarm(metricQueries=band)) == (3, False)
    fast_math = [{"id": "m", "metric": {"period": 10.0}}, {"id": "x", "metric": {"period": 10.0}},
                 {"id": "e", "expression": "m+x"}]
    assert cost.alarm_metrics(alarm(metricQueries=fast_math)) == (2, True)


def test_price_file_has_sources_a_date_and_every_price_in_both_regions() -> None:
    prices = cost.load_prices()
    raw = json.loads(cost.PRICES_PATH.read_text())
    assert raw["asOf"] and "free tier excluded" in raw["basis"]
    assert all(url.startswith("https://aws.amazon.com/") for url in raw["sources"].values())
    for region in ("eu-west-1", "us-east-1"):
        assert set(prices.regions[region]) == set(PRICES), region
    # Region-aware where AWS prices differ.
    ingestion = "cloudwatch.logsIngestionGb"
    assert prices.price("eu-west-1", ingestion) > prices.price("us-east-1", ingestion)


def _with(plan: Plan, *resources: PlannedResource) -> Plan:
    return dataclasses.replace(plan, resources=[*plan.resources, *resources])


def _line(estimate: cost.Estimate, item: str) -> cost.CostLine:
    (line,) = [line for line in estimate.lines if line.item == item]
    return line


def test_a_machine_client_costs_its_monthly_fee_and_each_token_request() -> None:
    base = small_plan()
    client = _res("aws:cognito/userPoolClient:UserPoolClient", "client", SERVICE,
                  inputs={"allowedOauthFlows": ["client_credentials"]})
    browser_client = _res("aws:cognito/userPoolClient:UserPoolClient", "web", SERVICE,
                          inputs={"allowedOauthFlows": ["code"]})
    traffic = TRAFFIC.model_copy(update={"token_requests_per_month": 3000})
    estimate = cost.estimate(_with(base, client, browser_client), traffic, TEST_PRICES,
                             business_metrics=BUSINESS_METRICS)
    clients = _line(estimate, "Cognito M2M app clients")
    assert (clients.quantity_at_rest, clients.at_rest) == (1, 6.0)
    tokens = _line(estimate, "Cognito M2M token requests")
    # No caller at rest; 3,000 requests at 2 USD per 1,000 at traffic.
    assert (tokens.at_rest, tokens.at_traffic) == (0.0, 6.0)
    assert "Cognito M2M app clients" not in {line.item for line in cost.estimate(base, TRAFFIC, TEST_PRICES).lines}


def test_data_protection_scans_what_the_function_writes_to_a_protected_group() -> None:
    policy = _res("aws:cloudwatch/logDataProtectionPolicy:LogDataProtectionPolicy", "mask", SERVICE,
                  inputs={"logGroupName": "/aws/lambda/fn"})
    estimate = cost.estimate(_with(small_plan(), policy), TRAFFIC, TEST_PRICES, business_metrics=BUSINESS_METRICS)
    scanning = _line(estimate, "CloudWatch Logs data protection scanning")
    runs = cost.canary_runs_per_month("rate(10 minutes)")
    assert scanning.quantity_at_traffic == pytest.approx((1_000_000 + runs) * 1024 / cost.GB)
    assert scanning.unit_price == 0.1


def test_the_idempotency_table_is_priced_by_the_creates_that_carry_a_key() -> None:
    base = small_plan()
    fn = next(r for r in base.resources if r.type == "aws:lambda/function:Function")
    variables = {"POWERTOOLS_METRICS_NAMESPACE": "prodready/t", "IDEMPOTENCY_TABLE_NAME": "records",
                 "IDEMPOTENCY_TTL_SECONDS": "7200"}
    for props in (fn.inputs, fn.outputs):
        props["environment"] = {"variables": variables}
    records = _res("aws:dynamodb/table:Table", "records", SERVICE, inputs={
        "name": "records", "billingMode": "PAY_PER_REQUEST", "pointInTimeRecovery": {"enabled": False}})
    traffic = TRAFFIC.model_copy(update={"idempotent_requests_share": 0.1})
    with_records = cost.estimate(_with(base, records), traffic, TEST_PRICES, business_metrics=BUSINESS_METRICS)
    without = cost.estimate(base, traffic, TEST_PRICES, business_metrics=BUSINESS_METRICS)
    runs = cost.canary_runs_per_month("rate(10 minutes)")
    creates = (1_000_000 + runs) * 0.1
    added_wru = (_line(with_records, "DynamoDB write request units").quantity_at_traffic
                 - _line(without, "DynamoDB write request units").quantity_at_traffic)
    assert added_wru == pytest.approx(creates * 2 / 1e6)
    # Reads and the traffic's stored data belong to the items table alone.
    assert (_line(with_records, "DynamoDB read request units").quantity_at_traffic
            == _line(without, "DynamoDB read request units").quantity_at_traffic)
    held = (_line(with_records, "DynamoDB storage").quantity_at_traffic
            - _line(without, "DynamoDB storage").quantity_at_traffic)
    assert held == pytest.approx(creates / (730 * 3600) * 7200 * 1024 / cost.GB)
    assert held < 0.001


SECONDS_PER_MONTH = 730 * 3600


def _function_with(plan: Plan, **inputs: Any) -> Plan:
    return dataclasses.replace(plan, resources=[
        dataclasses.replace(r, inputs={**r.inputs, **inputs}, outputs={**r.outputs, **inputs})
        if r.name == "fn" else r for r in plan.resources
    ])


def test_snapstart_costs_its_cache_always_and_a_restore_per_cold_start() -> None:
    plan = _function_with(small_plan(), snapStart={"applyOn": "PublishedVersions"})
    traffic = TRAFFIC.model_copy(update={"cold_start_share": 0.01})
    est = _estimate(plan, traffic)
    cache = _line(est, "Lambda SnapStart cache")
    # 1 GB x every second of the month x 2 cached versions (the live one and the one a rollback needs).
    assert (cache.at_rest, cache.at_traffic) == (pytest.approx(SECONDS_PER_MONTH * 2 * 0.000001),) * 2
    restores = _line(est, "Lambda SnapStart restores")
    n = 1_000_000 + RUNS
    assert restores.at_traffic == pytest.approx(n * 0.01 * 1.0 * 0.0001)
    assert restores.at_rest == pytest.approx(RUNS * 0.01 * 1.0 * 0.0001)
    # With the release keeping 3 versions (deleting older ones), 3 snapshots are cached.
    release = _res("pulumi-python:dynamic/prodready:Release", "release", inputs={"functionName": "fn",
                                                                              "keepVersions": 3.0})
    kept = _line(_estimate(_with(plan, release), traffic), "Lambda SnapStart cache")
    assert kept.at_rest == pytest.approx(SECONDS_PER_MONTH * 3 * 0.000001)
    # Without SnapStart, neither line exists.
    assert not [x for x in _estimate().lines if "SnapStart" in x.item]


def test_provisioned_concurrency_is_billed_whether_used_or_not() -> None:
    config = _res("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig", "fn-provisioned", SERVICE,
                  inputs={"functionName": "fn", "qualifier": "live", "provisionedConcurrentExecutions": 5.0})
    est = _estimate(_with(small_plan(), config))
    line = _line(est, "Lambda provisioned concurrency (arm64)")
    assert (line.at_rest, line.at_traffic) == (pytest.approx(5 * 1.0 * SECONDS_PER_MONTH * 0.000003),) * 2
    assert line.layer == "service"


def test_releases_run_the_hook_and_codedeploy_is_free() -> None:
    hook_component = _res("prodready:delivery:PreTrafficHook", "hook")
    hook = _res("aws:lambda/function:Function", "hook-fn", hook_component.urn, inputs={
        "name": "hook", "memorySize": 256.0, "architectures": ["arm64"]})
    group = _res("aws:codedeploy/deploymentGroup:DeploymentGroup", "group", MONITORING)
    plan = _with(small_plan(), hook_component, hook, group)
    traffic = TRAFFIC.model_copy(update={"releases_per_month": 30})
    est = _estimate(plan, traffic)
    checks = _line(est, "Lambda pre-traffic checks (hook and version under test)")
    # Each release: the hook and the two requests it makes to the version under test.
    assert (checks.quantity_at_rest, checks.quantity_at_traffic) == (0, pytest.approx(30 * 3 / 1e6))
    compute = _line(est, "Lambda pre-traffic hook compute (arm64)")
    assert compute.quantity_at_traffic == pytest.approx(0.25 * 1.0 * 30)
    deployments = _line(est, "CodeDeploy deployments to Lambda")
    assert (deployments.quantity_at_traffic, deployments.at_traffic) == (30, 0.0)
    # The hook serves no client request: the client-request lines are unchanged.
    assert _line(est, "Lambda requests").at_traffic == _line(_estimate(), "Lambda requests").at_traffic


def test_releases_run_the_post_traffic_hook_too() -> None:
    component = _res("prodready:delivery:PostTrafficHook", "post-hook")
    hook = _res("aws:lambda/function:Function", "post-hook-fn", component.urn, inputs={
        "name": "post-hook", "memorySize": 256.0, "architectures": ["arm64"]})
    traffic = TRAFFIC.model_copy(update={"releases_per_month": 30})
    est = _estimate(_with(small_plan(), component, hook), traffic)
    checks = _line(est, "Lambda post-traffic checks (hook and alias)")
    # Each release: the hook and the smoke test's three reads through the alias.
    assert (checks.quantity_at_rest, checks.quantity_at_traffic) == (0, pytest.approx(30 * 4 / 1e6))
    assert _line(est, "Lambda post-traffic hook compute (arm64)").quantity_at_traffic == pytest.approx(0.25 * 30)
    assert not [line for line in est.lines if "pre-traffic" in line.item]
def _backed_up(rule: dict[str, Any]) -> Plan:
    """The small plan with its table (2 GB) selected by a backup plan of one rule."""
    plan = small_plan()
    table = next(r for r in plan.resources if r.name == "table")
    table.outputs["arn"] = "arn:aws:dynamodb:eu-west-1:123456789012:table/items"
    backup_plan = _res("aws:backup/plan:Plan", "backup-plan", STACK, inputs={"rules": [rule]})
    selection = _res("aws:backup/selection:Selection", "selection", STACK,
                     inputs={"resources": [table.outputs["arn"]], "planId": "plan-id"})
    selection.dependencies = [backup_plan.urn]
    return _with(plan, backup_plan, selection)


COPY_VAULT = "arn:aws:backup:us-east-1:123456789012:backup-vault:copy"


def test_daily_backups_kept_30_days_with_a_copy_cost_storage_in_both_regions_and_the_transfer() -> None:
    est = _estimate(_backed_up({"schedule": "cron(0 3 * * ? *)", "lifecycle": {"deleteAfter": 30.0},
                                "copyActions": [{"destinationVaultArn": COPY_VAULT,
                                                 "lifecycle": {"deleteAfter": 30.0}}]}))
    # 30 full backups of the 2 GB table in each region; 730/24 backups a month cross the region boundary.
    warm = _line(est, "AWS Backup warm storage")
    assert (warm.region, warm.at_rest) == ("eu-west-1", pytest.approx(30 * 2 * 0.1))
    copy = _line(est, "AWS Backup warm storage (copy)")
    assert (copy.region, copy.at_traffic) == ("us-east-1", pytest.approx(30 * 2 * 0.1))
    assert _line(est, "AWS Backup cross-region copy transfer").at_traffic == pytest.approx(730 / 24 * 2 * 0.02)
    assert not [x for x in est.lines if "cold" in x.item]


def test_cold_storage_splits_the_retained_backups_and_no_copy_means_no_transfer() -> None:
    est = _estimate(_backed_up({"schedule": "cron(0 */12 * * ? *)",
                                "lifecycle": {"deleteAfter": 120.0, "coldStorageAfter": 30.0}}))
    assert _line(est, "AWS Backup warm storage").at_rest == pytest.approx(30 * 2 * 2 * 0.1)
    assert _line(est, "AWS Backup cold storage").at_rest == pytest.approx(90 * 2 * 2 * 0.03)
    assert not [x for x in est.lines if "copy" in x.item]


def test_retained_points() -> None:
    assert cost.retained_points(1440, 30, None) == (30, 0)
    assert cost.retained_points(60, 2, 1) == (24, 24)


def test_the_log_archive_costs_ingestion_and_storage_in_standard_then_the_archive_class() -> None:
    stream_arn = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/archive"
    bucket = _res("aws:s3/bucket:Bucket", "bucket", STACK, outputs={"bucket": "b", "arn": "arn:aws:s3:::b"})
    stream = _res("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", "stream", STACK,
                  inputs={"extendedS3Configuration": {"bucketArn": "arn:aws:s3:::b"}}, outputs={"arn": stream_arn})
    lifecycle = _res("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "lifecycle", STACK,
                     inputs={"bucket": "b", "rules": [{"transitions": [{"days": 30, "storageClass": "GLACIER_IR"}],
                                                       "expiration": {"days": 365}}]})
    # Only the function's group is subscribed: 1024 bytes per request.
    subscription = _res("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter", "fn-archive", STACK,
                        inputs={"logGroup": "/aws/lambda/fn", "destinationArn": stream_arn})
    est = _estimate(_with(small_plan(), bucket, stream, lifecycle, subscription))
    n = TRAFFIC.requests_per_month + RUNS
    gb = n * 1024 / GB
    assert _line(est, "Firehose ingestion (log archive)").at_traffic == pytest.approx(gb * 0.03)
    assert _line(est, "S3 Standard storage (log archive)").at_traffic == pytest.approx(gb * 30 / DAYS_PER_MONTH * 0.02)
    assert _line(est, "S3 GLACIER_IR storage (log archive)").at_traffic == pytest.approx(
        gb * 335 / DAYS_PER_MONTH * 0.004)


def test_a_trail_with_the_tables_data_events_costs_one_event_per_request() -> None:
    data = {"name": "tables", "fieldSelectors": [{"field": "eventCategory", "equals": ["Data"]},
                                                 {"field": "resources.type", "equals": ["AWS::DynamoDB::Table"]}]}
    management = {"name": "m", "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}]}
    trail = _res("aws:cloudtrail/trail:Trail", "trail", STACK, inputs={"advancedEventSelectors": [management, data]})
    est = _estimate(_with(small_plan(), trail))
    assert _line(est, "CloudTrail data events (tables)").at_traffic == pytest.approx(
        (TRAFFIC.requests_per_month + RUNS) / 1e5 * 0.1)
    only_management = _res("aws:cloudtrail/trail:Trail", "trail", STACK,
                           inputs={"advancedEventSelectors": [management]})
    assert not [x for x in _estimate(_with(small_plan(), only_management)).lines if "CloudTrail" in x.item]


@pytest.mark.parametrize(("expression", "runs"), [
    ("cron(0 6 ? * MON *)", 730 / 24 / 7), ("cron(0 6 ? * MON-FRI *)", 730 / 24 / 7 * 5),
    ("cron(0 6 ? * MON,THU *)", 730 / 24 / 7 * 2), ("cron(0 6 * * ? *)", 730 / 24),
    ("cron(0 6 1 * ? *)", 0), ("rate(7 days)", 0),
])
def test_restore_test_schedules(expression: str, runs: float) -> None:
    assert cost.weekly_cron_runs_per_month(expression) == pytest.approx(runs)


def test_a_weekly_restore_test_restores_the_selected_table_each_week() -> None:
    plan = _backed_up({"schedule": "cron(0 3 * * ? *)", "lifecycle": {"deleteAfter": 7.0}})
    testing = _res("aws:backup/restoreTestingPlan:RestoreTestingPlan", "restore-plan", STACK,
                   inputs={"name": "svc_restore_test", "scheduleExpression": "cron(0 6 ? * MON *)"})
    selection = _res("aws:backup/restoreTestingSelection:RestoreTestingSelection", "restore-selection", STACK,
                     inputs={"restoreTestingPlanName": "svc_restore_test",
                             "protectedResourceArns": ["arn:aws:dynamodb:eu-west-1:123456789012:table/items"]})
    est = _estimate(_with(plan, testing, selection))
    assert _line(est, "AWS Backup restore tests").at_rest == pytest.approx(730 / 24 / 7 * 2 * 0.15)


def test_the_opentelemetry_layer_costs_its_init_per_cold_start_or_per_release_with_snapstart() -> None:
    wrapped = {"variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/otel-instrument"}}
    plan = _function_with(small_plan(), environment=wrapped)
    traffic = TRAFFIC.model_copy(update={"cold_start_share": 0.01, "releases_per_month": 20})
    init = _line(_estimate(plan, traffic), "Lambda OpenTelemetry layer init (arm64)")
    per_init = 1.0 * 0.450  # 1 GB x the assumed 450 ms
    assert init.at_traffic == pytest.approx((1_000_000 + RUNS) * 0.01 * per_init * 0.00001)
    assert init.at_rest == pytest.approx(RUNS * 0.01 * per_init * 0.00001)
    # With SnapStart init runs when a version is published: once per release, never at rest.
    snap = _line(_estimate(_function_with(plan, snapStart={"applyOn": "PublishedVersions"}), traffic),
                 "Lambda OpenTelemetry layer init (arm64)")
    assert (snap.at_rest, snap.at_traffic) == (0, pytest.approx(20 * per_init * 0.00001))
    # The X-Ray SDK path (no wrapper) has no such line.
    assert not [x for x in _estimate(small_plan(), traffic).lines if "OpenTelemetry" in x.item]


def test_chat_channels_are_listed_at_no_cost_only_when_there_are_some() -> None:
    assert not [line for line in _estimate().lines if line.item.startswith("Chat channels")]
    slack = _res("aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration", "slack",
                 inputs={"region": "us-east-2"})
    teams = _res("aws:chatbot/teamsChannelConfiguration:TeamsChannelConfiguration", "teams",
                 inputs={"region": "us-east-2"})
    with_channels = _estimate(_with(small_plan(), slack, teams))
    line = _line(with_channels, "Chat channels (Amazon Q Developer in chat applications)")
    # Counted in the stack's region (whose prices exist), not the Chatbot API's.
    assert (line.quantity_at_rest, line.quantity_at_traffic, line.unit_price, line.region) == (2, 2, 0.0, "eu-west-1")
    assert with_channels.total("traffic") == _estimate().total("traffic")
    assert not [note for note in with_channels.notes if "us-east-2" in note]
