"""The edge resources' mock shapes: ids and ARNs as the AWS provider returns them, and every output a real
output property of the SDK type (camelCase of its Python name), so a plan never invents a field."""

from __future__ import annotations

import importlib
import inspect
import re

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks

from tools.plan.mocks import ACCOUNT_ID, EngineMocks, _resource_classes

EDGE_TYPES = {
    "aws:acm/certificate:Certificate": {"domainName": "api.example.com", "validationMethod": "DNS"},
    "aws:acm/certificateValidation:CertificateValidation": {"certificateArn": "arn:aws:acm:eu-west-1:1:certificate/x"},
    "aws:apigatewayv2/domainName:DomainName": {
        "domainName": "api.example.com",
        "domainNameConfiguration": {"certificateArn": "arn", "endpointType": "REGIONAL", "securityPolicy": "TLS_1_2"}},
    "aws:apigatewayv2/apiMapping:ApiMapping": {"apiId": "a1b2c3d4e5", "domainName": "api.example.com",
                                               "stage": "$default"},
    "aws:route53/record:Record": {"zoneId": "Z1", "name": "API.example.com.", "type": "A"},
    "aws:cloudfront/distribution:Distribution": {"enabled": True},
    "aws:cloudfront/monitoringSubscription:MonitoringSubscription": {"distributionId": "E1"},
    "aws:wafv2/webAcl:WebAcl": {"name": "svc-edge", "scope": "CLOUDFRONT"},
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": {"resourceArn": "arn:acl"},
}


def _create(mocks: EngineMocks, typ: str, inputs: dict) -> tuple[str | None, dict]:
    return mocks.new_resource(pulumi.runtime.MockResourceArgs(typ, "r", inputs, provider=None, custom=True))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _output_properties(typ: str) -> set[str]:
    module_name, class_name = _resource_classes()[typ]
    cls = getattr(importlib.import_module(module_name), class_name)
    names = {name for name, value in inspect.getmembers(cls) if isinstance(value, property)}
    return {_camel(name) for name in names} | {"id"}


@pytest.fixture()
def mocks() -> EngineMocks:
    return EngineMocks(default_region="us-east-1", stack="prod", project="prodready")


@pytest.mark.parametrize("typ", sorted(EDGE_TYPES))
def test_every_output_is_a_property_of_the_type(mocks: EngineMocks, typ: str) -> None:
    _, outputs = _create(mocks, typ, EDGE_TYPES[typ])
    unknown = sorted(set(outputs) - _output_properties(typ) - {"tagsAll"})
    assert unknown == [], typ


def test_ids_and_arns_have_each_service_shape(mocks: EngineMocks) -> None:
    cert_id, cert = _create(mocks, "aws:acm/certificate:Certificate", EDGE_TYPES["aws:acm/certificate:Certificate"])
    assert re.fullmatch(rf"arn:aws:acm:us-east-1:{ACCOUNT_ID}:certificate/[0-9a-f-]{{36}}", cert_id)
    (option,) = cert["domainValidationOptions"]
    assert option["resourceRecordType"] == "CNAME" and option["resourceRecordName"].endswith(".api.example.com.")
    dist_id, dist = _create(mocks, "aws:cloudfront/distribution:Distribution", {"enabled": True})
    assert re.fullmatch(r"E[0-9A-F]{13}", dist_id)
    assert dist["arn"] == f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{dist_id}"
    assert dist["hostedZoneId"] == "Z2FDTNDATAQYW2" and dist["domainName"].endswith(".cloudfront.net")
    acl_id, acl = _create(mocks, "aws:wafv2/webAcl:WebAcl", EDGE_TYPES["aws:wafv2/webAcl:WebAcl"])
    assert acl["arn"] == f"arn:aws:wafv2:us-east-1:{ACCOUNT_ID}:global/webacl/svc-edge/{acl_id}"
    record_id, record = _create(mocks, "aws:route53/record:Record", EDGE_TYPES["aws:route53/record:Record"])
    assert record_id == "Z1_API.example.com._A" and record["fqdn"] == "api.example.com"
    _, domain = _create(mocks, "aws:apigatewayv2/domainName:DomainName",
                        EDGE_TYPES["aws:apigatewayv2/domainName:DomainName"])
    target = domain["domainNameConfiguration"]
    assert re.fullmatch(r"d-[0-9a-z]{10}\.execute-api\.us-east-1\.amazonaws\.com", target["targetDomainName"])
    assert target["hostedZoneId"] == "Z1UJRXOUMOOFQ8"


def test_a_hosted_zone_is_found_by_name(mocks: EngineMocks) -> None:
    result, _ = mocks.call(pulumi_mocks.MockCallArgs("aws:route53/getZone:getZone",
                                                     {"name": "example.com.", "privateZone": False}, None))
    assert result["name"] == "example.com" and re.fullmatch(r"Z[0-9A-F]{13}", result["zoneId"])
    assert result["id"] == result["zoneId"] and result["privateZone"] is False
