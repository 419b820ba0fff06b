"""The API's custom domain in a planned stack: certificate, validation, domain, mapping, alias record, the
execute-api endpoint closed, everything that calls the API pointed at the name, and the certificate watched.
Without the option the committed stacks register no edge resource at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.stack.edge_stack import DOMAIN_NAME, IMPORTED_CERTIFICATE, ZONE_ID, with_domain
from tools.plan.cost import estimate
from tools.plan.harness import Plan, committed_config

# Plans stacks of its own (or runs the program in another process): left out of `make test-fast`.
pytestmark = pytest.mark.slow

API = "aws:apigatewayv2/api:Api"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
DOMAIN = "aws:apigatewayv2/domainName:DomainName"
MAPPING = "aws:apigatewayv2/apiMapping:ApiMapping"
RECORD = "aws:route53/record:Record"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
CANARY = "aws:synthetics/canary:Canary"
EDGE_TYPES = (CERTIFICATE, VALIDATION, DOMAIN, MAPPING, RECORD)


@pytest.fixture(scope="module")
def domain_plan() -> Plan:
    from tools.plan.harness import run_plan

    return run_plan("prod", config_overrides=with_domain("prod"))


def _expiry_alarms(plan: Plan) -> dict[str, dict[str, Any]]:
    return {a.inputs["name"]: a.inputs for a in plan.of_type(ALARM)
            if a.inputs.get("namespace") == "AWS/CertificateManager"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_committed_stacks_have_no_edge_and_keep_their_api_as_it_was(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    assert [r.urn for t in EDGE_TYPES for r in plan.of_type(t)] == []
    assert "disableExecuteApiEndpoint" not in plan.one(API).inputs
    assert _expiry_alarms(plan) == {}
    assert plan.outputs["apiUrl"].startswith("https://") and ".execute-api." in plan.outputs["apiUrl"]


def test_the_certificate_is_validated_by_the_record_acm_asks_for(domain_plan: Plan) -> None:
    certificate = domain_plan.one(CERTIFICATE)
    assert certificate.inputs == {"domainName": DOMAIN_NAME, "validationMethod": "DNS"}
    option = certificate.outputs["domainValidationOptions"][0]
    (validation_record,) = [r for r in domain_plan.of_type(RECORD) if r.inputs["type"] == "CNAME"]
    assert validation_record.inputs["name"] == option["resourceRecordName"]
    assert validation_record.inputs["records"] == [option["resourceRecordValue"]]
    validation = domain_plan.one(VALIDATION)
    assert validation.inputs["certificateArn"] == certificate.outputs["arn"]
    assert validation.inputs["validationRecordFqdns"] == [validation_record.outputs["fqdn"]]
    # The domain waits for the issued certificate, not for the request.
    domain = domain_plan.one(DOMAIN)
    assert validation.urn in domain.property_dependencies["domainNameConfiguration"]


def test_the_domain_is_regional_tls_1_2_mapped_to_the_stage_and_aliased(domain_plan: Plan) -> None:
    domain = domain_plan.one(DOMAIN)
    configuration = domain.inputs["domainNameConfiguration"]
    assert (configuration["endpointType"], configuration["securityPolicy"]) == ("REGIONAL", "TLS_1_2")
    api = domain_plan.one(API)
    mapping = domain_plan.one(MAPPING)
    assert mapping.inputs == {"apiId": api.id, "domainName": DOMAIN_NAME, "stage": "$default"}
    assert api.urn in mapping.property_dependencies["apiId"]
    (alias,) = [r for r in domain_plan.of_type(RECORD) if r.inputs["type"] == "A"]
    target = domain.outputs["domainNameConfiguration"]
    assert alias.inputs["name"] == DOMAIN_NAME
    assert alias.inputs["aliases"] == [{"name": target["targetDomainName"], "zoneId": target["hostedZoneId"],
                                        "evaluateTargetHealth": False}]
    # The zone was looked up by name; both records live in it.
    assert {r.inputs["zoneId"] for r in domain_plan.of_type(RECORD)} == {alias.inputs["zoneId"]}


def test_prod_closes_the_execute_api_endpoint_and_everything_calls_the_name(domain_plan: Plan) -> None:
    assert domain_plan.one(API).inputs["disableExecuteApiEndpoint"] is True
    assert domain_plan.outputs["apiUrl"] == f"https://{DOMAIN_NAME}/"
    assert domain_plan.outputs["apiDomainTarget"].endswith(".execute-api.eu-west-1.amazonaws.com")
    variables = domain_plan.one(CANARY).inputs["runConfig"]["environmentVariables"]
    assert variables["HEALTH_URL"] == f"https://{DOMAIN_NAME}/health/ready"


def test_the_certificate_is_watched_warning_at_45_days_and_paging_at_14(domain_plan: Plan) -> None:
    alarms = _expiry_alarms(domain_plan)
    arn = domain_plan.one(CERTIFICATE).outputs["arn"]
    assert {name: (a["threshold"], a["comparisonOperator"], a["dimensions"]["CertificateArn"])
            for name, a in alarms.items()} == {
        "catalog-prod-domain-certificate-days-to-expiry-warning": (45, "LessThanThreshold", arn),
        "catalog-prod-domain-certificate-days-to-expiry-critical": (14, "LessThanThreshold", arn),
    }
    assert all(a["period"] == 86400 and a["statistic"] == "Minimum" for a in alarms.values())
    assert all("certificate-days-to-expiry.md" in a["alarmDescription"] for a in alarms.values())


def test_an_existing_certificate_is_used_and_watched_and_none_is_requested(plan_with: Callable[..., Plan]) -> None:
    plan = plan_with("prod", with_domain("prod", hostedZoneId=ZONE_ID, certificateArn=IMPORTED_CERTIFICATE))
    assert plan.of_type(CERTIFICATE) == plan.of_type(VALIDATION) == []
    assert plan.one(DOMAIN).inputs["domainNameConfiguration"]["certificateArn"] == IMPORTED_CERTIFICATE
    assert [r.inputs["zoneId"] for r in plan.of_type(RECORD)] == [ZONE_ID]
    assert {a["dimensions"]["CertificateArn"] for a in _expiry_alarms(plan).values()} == {IMPORTED_CERTIFICATE}


def test_certificates_named_in_monitoring_are_watched_without_a_domain(plans: dict[str, Plan],
                                                                       plan_with: Callable[..., Plan]) -> None:
    import json

    from tools.plan.harness import stack_config

    monitoring = json.loads(stack_config("dev")[0]["prodready:monitoring"])
    monitoring["certificateArns"] = [IMPORTED_CERTIFICATE]
    plan = plan_with("dev", {"prodready:monitoring": monitoring})
    assert sorted(_expiry_alarms(plan)) == ["catalog-dev-cert-5e1f0c2a-certificate-days-to-expiry-critical",
                                            "catalog-dev-cert-5e1f0c2a-certificate-days-to-expiry-warning"]
    assert plan.of_type(DOMAIN) == []


def test_the_domain_costs_its_two_expiry_alarms_and_nothing_else(prod_plan: Plan, domain_plan: Plan) -> None:
    traffic = committed_config("prod").traffic
    before, after = estimate(prod_plan, traffic), estimate(domain_plan, traffic)
    assert round(after.total("traffic") - before.total("traffic"), 2) == 0.20
    added = {line.item for line in after.lines} - {line.item for line in before.lines}
    assert added == {"ACM public certificates", "Route 53 alias queries (API Gateway, CloudFront targets)"}
