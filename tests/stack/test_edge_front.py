"""The CloudFront and WAF front in a planned stack: global resources in us-east-1, the web ACL's rules, its
logs, the distribution's TLS and caching, and the name moved from API Gateway to CloudFront."""

from __future__ import annotations

from typing import Any

import pytest

from components.edge.front import ALL_VIEWER_EXCEPT_HOST_POLICY_ID, CACHING_DISABLED_POLICY_ID, web_acl_rules
from tests.stack.edge_stack import DOMAIN_NAME, with_front
from tools.plan.cost import estimate
from tools.plan.harness import Plan, PlannedResource, committed_config, run_plan

# Plans stacks of its own (or runs the program in another process): left out of `make test-fast`.
pytestmark = pytest.mark.slow

API = "aws:apigatewayv2/api:Api"
DOMAIN = "aws:apigatewayv2/domainName:DomainName"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
RECORD = "aws:route53/record:Record"
KEY = "aws:kms/key:Key"
CANARY = "aws:synthetics/canary:Canary"


@pytest.fixture(scope="module")
def front_plan() -> Plan:
    return run_plan("prod", config_overrides=with_front("prod"))


def _region(plan: Plan, resource: PlannedResource) -> str:
    provider = plan.by_urn()[str(resource.provider_urn)]
    return str(provider.inputs["region"])


def test_the_distribution_its_acl_certificate_and_logs_live_in_us_east_1(front_plan: Plan) -> None:
    acl, distribution = front_plan.one(WEB_ACL), front_plan.one(DISTRIBUTION)
    edge_certificate = next(c for c in front_plan.of_type(CERTIFICATE) if c.inputs["domainName"] == DOMAIN_NAME)
    (waf_logs,) = [g for g in front_plan.of_type(LOG_GROUP) if g.inputs["name"].startswith("aws-waf-logs-")]
    for resource in (acl, distribution, edge_certificate, waf_logs, front_plan.one(LOGGING)):
        assert _region(front_plan, resource) == "us-east-1", resource.name
    assert acl.inputs["scope"] == "CLOUDFRONT" and acl.outputs["arn"].startswith("arn:aws:wafv2:us-east-1:")
    assert distribution.inputs["webAclId"] == acl.outputs["arn"]
    # Everything else of the stack stays in its region.
    assert _region(front_plan, front_plan.one(API)) == "eu-west-1"


def test_the_acl_runs_the_managed_groups_then_blocks_per_ip_and_per_client_with_429(front_plan: Plan) -> None:
    rules = front_plan.one(WEB_ACL).inputs["rules"]
    assert [r["name"] for r in rules] == ["AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet",
                                          "AWSManagedRulesKnownBadInputsRuleSet", "per-ip", "per-client"]
    assert all(r["overrideAction"] == {"none": {}} for r in rules[:3])
    # The API takes 64 KB bodies: the common group's 8 KB body rule only counts.
    assert rules[1]["statement"]["managedRuleGroupStatement"]["ruleActionOverrides"] == [
        {"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]
    per_ip, per_client = rules[3], rules[4]
    assert per_ip["statement"]["rateBasedStatement"] == {"limit": 1000, "aggregateKeyType": "IP",
                                                         "evaluationWindowSec": 300}
    assert per_client["statement"]["rateBasedStatement"]["aggregateKeyType"] == "CUSTOM_KEYS"
    assert per_client["statement"]["rateBasedStatement"]["customKeys"] == [
        {"header": {"name": "authorization", "textTransformations": [{"priority": 0, "type": "NONE"}]}}]
    for rule in (per_ip, per_client):
        response = rule["action"]["block"]["customResponse"]
        assert response == {"responseCode": 429, "customResponseBodyKey": "rate-limited",
                            "responseHeaders": [{"name": "Retry-After", "value": "300"}]}
    (body,) = front_plan.one(WEB_ACL).inputs["customResponseBodies"]
    assert body["key"] == "rate-limited" and body["contentType"] == "APPLICATION_JSON"


def test_waf_logs_go_to_an_encrypted_retained_group_without_tokens(front_plan: Plan) -> None:
    logging = front_plan.one(LOGGING)
    (waf_logs,) = [g for g in front_plan.of_type(LOG_GROUP) if g.inputs["name"].startswith("aws-waf-logs-")]
    assert logging.inputs["logDestinationConfigs"] == [waf_logs.outputs["arn"]]
    assert logging.inputs["redactedFields"] == [{"singleHeader": {"name": "authorization"}}]
    assert waf_logs.inputs["retentionInDays"] == 90 and waf_logs.retain_on_delete
    key = next(k for k in front_plan.of_type(KEY) if k.name == "catalog-edge-logs-key")
    assert _region(front_plan, key) == "us-east-1"
    assert waf_logs.inputs["kmsKeyId"] == key.outputs["arn"]
    assert "logs.us-east-1.amazonaws.com" in key.inputs["policy"]


def test_the_distribution_is_https_only_tls_1_2_uncached_and_calls_the_origin_name(front_plan: Plan) -> None:
    distribution = front_plan.one(DISTRIBUTION)
    inputs = distribution.inputs
    behavior = inputs["defaultCacheBehavior"]
    assert behavior["viewerProtocolPolicy"] == "https-only"
    assert (behavior["cachePolicyId"], behavior["originRequestPolicyId"]) == (
        CACHING_DISABLED_POLICY_ID, ALL_VIEWER_EXCEPT_HOST_POLICY_ID)
    assert set(behavior["allowedMethods"]) >= {"GET", "POST", "PUT", "DELETE", "OPTIONS"}
    edge_validation = next(v for v in front_plan.of_type(VALIDATION) if _region(front_plan, v) == "us-east-1")
    assert inputs["viewerCertificate"] == {"acmCertificateArn": edge_validation.inputs["certificateArn"],
                                           "sslSupportMethod": "sni-only", "minimumProtocolVersion": "TLSv1.2_2021"}
    assert inputs["aliases"] == [DOMAIN_NAME]
    (origin,) = inputs["origins"]
    assert origin["domainName"] == f"origin.{DOMAIN_NAME}"
    assert origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    assert origin["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]


def test_the_name_moves_to_cloudfront_and_the_api_answers_only_on_its_origin_name(front_plan: Plan) -> None:
    assert front_plan.one(DOMAIN).inputs["domainName"] == f"origin.{DOMAIN_NAME}"
    assert front_plan.one(API).inputs["disableExecuteApiEndpoint"] is True
    aliases = {r.inputs["name"]: r.inputs["aliases"][0] for r in front_plan.of_type(RECORD) if r.inputs["type"] == "A"}
    distribution = front_plan.one(DISTRIBUTION)
    assert aliases[DOMAIN_NAME] == {"name": distribution.outputs["domainName"], "zoneId": "Z2FDTNDATAQYW2",
                                    "evaluateTargetHealth": False}
    assert aliases[f"origin.{DOMAIN_NAME}"]["name"].endswith(".execute-api.eu-west-1.amazonaws.com")
    assert front_plan.outputs["apiUrl"] == f"https://{DOMAIN_NAME}/"
    variables = front_plan.one(CANARY).inputs["runConfig"]["environmentVariables"]
    assert variables["HEALTH_URL"] == f"https://{DOMAIN_NAME}/health/ready"


def test_rules_follow_config() -> None:
    rules = web_acl_rules(500, None, 60, 8)
    assert [r["name"] for r in rules][-1] == "per-ip"
    assert "rule_action_overrides" not in rules[1]["statement"]["managed_rule_group_statement"]
    assert rules[-1]["action"]["block"]["custom_response"]["response_headers"] == [{"name": "Retry-After",
                                                                                    "value": "60"}]


def test_the_front_prices_cloudfront_waf_and_its_logs(front_plan: Plan) -> None:
    traffic = committed_config("prod").traffic
    lines: dict[str, Any] = {line.item: line for line in estimate(front_plan, traffic).lines}
    assert lines["WAF web ACLs"].at_traffic == 5.0
    assert lines["WAF rules and managed rule groups"].at_traffic == 5.0
    assert round(lines["WAF requests inspected"].quantity_at_traffic, 2) == round(
        (traffic.requests_per_month + 8760) / 1e6, 2)
    assert lines["CloudFront HTTPS requests"].unit_price == 0.01
    # Responses leave AWS from CloudFront only.
    assert "Data transfer out (responses)" not in lines and "CloudFront data transfer out" in lines


ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
TOPIC = "aws:sns/topic:Topic"


def test_the_front_is_watched_in_us_east_1_and_every_alarm_notifies_a_topic_there(front_plan: Plan) -> None:
    alarms = [a for a in front_plan.of_type(ALARM) if a.inputs["name"].startswith("catalog-prod-front-")]
    assert sorted(a.inputs["name"].removeprefix("catalog-prod-front-") for a in alarms) == [
        "certificate-days-to-expiry-critical", "certificate-days-to-expiry-warning",
        "edge-5xx-rate-critical", "edge-5xx-rate-warning", "edge-origin-latency-p99-warning",
        "edge-rate-limited-requests-per-client-warning", "edge-rate-limited-requests-per-ip-warning",
        "edge-waf-blocked-requests-warning"]
    topics = {t.outputs["arn"]: t for t in front_plan.of_type(TOPIC)}
    for alarm in alarms:
        assert _region(front_plan, alarm) == "us-east-1", alarm.name
        severity = alarm.inputs["name"].rsplit("-", 1)[1]
        (action,) = alarm.inputs["alarmActions"]
        assert action == f"arn:aws:sns:us-east-1:123456789012:catalog-prod-edge-alerts-{severity}"
        assert _region(front_plan, topics[action]) == "us-east-1"
    metrics = {q["metric"]["metricName"]: q["metric"]["dimensions"] for a in alarms
               for q in a.inputs.get("metricQueries") or [] if q.get("metric")}
    distribution_id = front_plan.one(DISTRIBUTION).id
    assert metrics["5xxErrorRate"] == {"DistributionId": distribution_id, "Region": "Global"}
    assert metrics["OriginLatency"] == {"DistributionId": distribution_id, "Region": "Global"}
    blocked = {a.inputs["dimensions"]["Rule"] for a in alarms if a.inputs.get("metricName") == "BlockedRequests"}
    assert blocked == {"ALL", "per-ip", "per-client"}
    # The distribution's certificate is watched where its DaysToExpiry is published.
    edge_certificate = next(c for c in front_plan.of_type(CERTIFICATE) if c.inputs["domainName"] == DOMAIN_NAME)
    expiry = {a.inputs["dimensions"]["CertificateArn"] for a in alarms
              if a.inputs.get("metricName") == "DaysToExpiry"}
    assert expiry == {edge_certificate.outputs["arn"]}


def test_the_edge_dashboard_draws_every_alarm_on_us_east_1_panels(front_plan: Plan) -> None:
    import json

    (dashboard,) = [d for d in front_plan.of_type(DASHBOARD) if d.inputs["dashboardName"] == "catalog-prod-edge"]
    assert _region(front_plan, dashboard) == "us-east-1"
    widgets = json.loads(dashboard.inputs["dashboardBody"])["widgets"]
    graphs = [w["properties"] for w in widgets if w["type"] == "metric"]
    assert {g["region"] for g in graphs} == {"us-east-1"}
    drawn = {(g["title"], a["label"]) for g in graphs for a in (g.get("annotations") or {}).get("horizontal", [])}
    assert ("Edge front: 5xx rate (%)", "critical 3") in drawn
    assert ("Edge front: rate-limited (429) (count)", "warning 100") in drawn
    (status,) = [w for w in widgets if w["type"] == "alarm"]
    assert len(status["properties"]["alarms"]) == 8
    assert front_plan.outputs["edgeDashboardUrl"].startswith("https://us-east-1.console.aws.amazon.com/")


def test_the_front_adds_what_docs_edge_md_says(front_plan: Plan) -> None:
    from tests.stack.edge_stack import with_domain

    traffic = committed_config("prod").traffic
    domain = estimate(run_plan("prod", config_overrides=with_domain("prod")), traffic)
    front = estimate(front_plan, traffic)
    assert round(front.total("traffic") - domain.total("traffic"), 2) == 42.65
    assert round(front.total("rest") - domain.total("rest"), 2) == 18.52
