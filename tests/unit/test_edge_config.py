"""Edge config: the custom domain and watched certificates, every mistake named by key and stack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config import ConfigError, load_stack_config
from components.monitoring.kinds.certificate import imported_key
from tools.plan.harness import stack_config

CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/5e1f0c2a-7b3d-4e8f-9a10-b2c3d4e5f607"


def _raw(stack: str, *, domain: dict[str, Any] | None = None, certificates: list[str] | None = None) -> dict[str, Any]:
    raw, _ = stack_config(stack)
    if domain is not None:
        api = json.loads(raw["prodready:api"])
        raw["prodready:api"] = json.dumps({**api, "domain": domain})
    if certificates is not None:
        monitoring = json.loads(raw["prodready:monitoring"])
        raw["prodready:monitoring"] = json.dumps({**monitoring, "certificateArns": certificates})
    return raw


def _problems(stack: str, raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(stack, raw)
    assert f"stack '{stack}'" in str(caught.value)
    return caught.value.problems


def test_a_domain_by_zone_name_closes_the_execute_api_endpoint_by_default() -> None:
    config = load_stack_config("dev", _raw("dev", domain={"name": "api.example.com", "hostedZoneName": "example.com"}))
    assert config.api.domain is not None and config.api.domain.disable_execute_api_endpoint is True
    assert load_stack_config("dev", _raw("dev")).api.domain is None


def test_prod_refuses_to_keep_the_execute_api_endpoint_beside_a_domain() -> None:
    domain = {"name": "api.example.com", "hostedZoneId": "Z0123456789ABC", "disableExecuteApiEndpoint": False}
    assert _problems("prod", _raw("prod", domain=domain)) == [
        "prodready:api.domain.disableExecuteApiEndpoint: must be true in a prod stack with a domain: the "
        "execute-api URL would let clients around the domain (and anything in front of it)"]
    assert load_stack_config("dev", _raw("dev", domain=domain)).api.domain.disable_execute_api_endpoint is False


@pytest.mark.parametrize(("domain", "problem"), [
    ({"name": "api.example.com"}, "prodready:api.domain: give exactly one of hostedZoneId and hostedZoneName"),
    ({"name": "api.example.com", "hostedZoneId": "Z1", "hostedZoneName": "example.com"},
     "prodready:api.domain: give exactly one of hostedZoneId and hostedZoneName"),
    ({"name": "api.example.org", "hostedZoneName": "example.com"},
     "prodready:api.domain: name 'api.example.org' is not in hosted zone 'example.com'"),
    ({"name": "API.example.com", "hostedZoneId": "Z1"}, "prodready:api.domain.name: String should match pattern"),
    ({"name": "api.example.com", "hostedZoneId": "zone-1"}, "prodready:api.domain.hostedZoneId: String should match"),
    ({"name": "api.example.com", "hostedZoneId": "Z1", "certificateArn": "arn:aws:acm:eu-west-1:1:certificate/x"},
     "prodready:api.domain.certificateArn: String should match pattern"),
    ({"name": "api.example.com", "hostedZoneId": "Z1", "ttl": 60}, "prodready:api.domain.ttl: unknown config key"),
])
def test_domain_mistakes_are_named(domain: dict[str, Any], problem: str) -> None:
    (found,) = _problems("dev", _raw("dev", domain=domain))
    assert found.startswith(problem), found


def test_certificates_must_be_in_the_stack_region() -> None:
    elsewhere = CERT.replace("eu-west-1", "us-east-1")
    problems = _problems("dev", _raw("dev", domain={"name": "api.example.com", "hostedZoneId": "Z1",
                                                   "certificateArn": elsewhere}, certificates=[CERT, elsewhere]))
    assert sorted(problems) == [
        f"prodready:api.domain.certificateArn: certificate {elsewhere} is in us-east-1, not in the stack's region "
        "eu-west-1",
        f"prodready:monitoring.certificateArns[1]: certificate {elsewhere} is in us-east-1, not in the stack's "
        "region eu-west-1",
    ]


def test_watched_certificates_are_acm_arns_listed_once() -> None:
    (problem,) = _problems("dev", _raw("dev", certificates=[CERT, CERT]))
    assert problem.startswith("prodready:monitoring.certificateArns: duplicate certificates")
    (problem,) = _problems("dev", _raw("dev", certificates=["arn:aws:iam::123456789012:server-certificate/x"]))
    assert "is not an ACM certificate ARN" in problem


def test_a_listed_certificate_is_keyed_by_the_first_block_of_its_id() -> None:
    assert imported_key(CERT) == "cert-5e1f0c2a"


def test_a_front_needs_a_domain_and_takes_only_accepted_windows_and_retentions() -> None:
    raw = _raw("dev")
    raw["prodready:edge"] = json.dumps({"cloudFront": {}})
    assert _problems("dev", raw) == [
        "prodready:edge.cloudFront: needs api.domain: CloudFront enforces TLS 1.2 only with a certificate for a name "
        "of your own, and the API's execute-api endpoint is closed behind a domain"]
    raw = _raw("dev", domain={"name": "api.example.com", "hostedZoneId": "Z1"})
    raw["prodready:edge"] = json.dumps({"cloudFront": {"evaluationWindowSeconds": 30, "wafLogRetentionDays": 10}})
    problems = _problems("dev", raw)
    assert [p.split(":")[1] for p in problems] == ["edge.cloudFront.evaluationWindowSeconds",
                                                   "edge.cloudFront.wafLogRetentionDays"]
    raw["prodready:edge"] = json.dumps({"cloudFront": {}})
    front = load_stack_config("dev", raw).edge.cloud_front
    assert front is not None and (front.rate_limit_per_ip, front.rate_limit_per_client) == (2000, None)
