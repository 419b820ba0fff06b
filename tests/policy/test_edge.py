"""api-edge: a custom domain cannot be walked around; a CloudFront front is HTTPS-only behind a web ACL with
the managed rule groups and a blocking rate rule. Each case must fire on the broken stack and stay quiet on
the correct one."""

from __future__ import annotations

import copy
from typing import Any

from prodready_policy.edge import API_EDGE, check_api_edge

from tests.policy.builders import ACCOUNT, REGION, UNKNOWN, StackBuilder, stack_views

API_ID = "a1b2c3d4e5"
ACL_ARN = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/catalog-prod-edge/0d1e2f30-aaaa-bbbb-cccc-000000000000"


def _domain_stack(*, disabled: Any = True, mapped: bool = True, security_policy: str = "TLS_1_2") -> StackBuilder:
    stack = StackBuilder("prod")
    inputs: dict[str, Any] = {"name": "catalog-prod", "protocolType": "HTTP"}
    if disabled is not None:
        inputs["disableExecuteApiEndpoint"] = disabled
    api = stack.add("aws:apigatewayv2/api:Api", "catalog-http-gateway", inputs,
                    {"apiEndpoint": f"https://{API_ID}.execute-api.{REGION}.amazonaws.com"})
    domain = stack.add("aws:apigatewayv2/domainName:DomainName", "catalog-domain-name", {
        "domainName": "api.example.com",
        "domainNameConfiguration": {"certificateArn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/x",
                                    "endpointType": "REGIONAL", "securityPolicy": security_policy},
    })
    if mapped:
        stack.add("aws:apigatewayv2/apiMapping:ApiMapping", "catalog-domain-mapping",
                  {"apiId": API_ID, "domainName": "api.example.com", "stage": "$default"},
                  deps={"apiId": [api], "domainName": [domain]})
    return stack


def _managed(name: str, priority: int, *, count: bool = False) -> dict[str, Any]:
    return {"name": name, "priority": priority, "overrideAction": {"count": {}} if count else {"none": {}},
            "statement": {"managedRuleGroupStatement": {"name": name, "vendorName": "AWS"}},
            "visibilityConfig": {"cloudwatchMetricsEnabled": True, "metricName": name, "sampledRequestsEnabled": True}}


RATE_RULE: dict[str, Any] = {
    "name": "per-ip", "priority": 10,
    "action": {"block": {"customResponse": {"responseCode": 429, "customResponseBodyKey": "rate-limited"}}},
    "statement": {"rateBasedStatement": {"limit": 2000, "aggregateKeyType": "IP", "evaluationWindowSec": 300}},
    "visibilityConfig": {"cloudwatchMetricsEnabled": True, "metricName": "per-ip", "sampledRequestsEnabled": True},
}
GOOD_RULES = [_managed("AWSManagedRulesAmazonIpReputationList", 0), _managed("AWSManagedRulesCommonRuleSet", 1),
              _managed("AWSManagedRulesKnownBadInputsRuleSet", 2), RATE_RULE]
GOOD_DISTRIBUTION: dict[str, Any] = {
    "enabled": True,
    "origins": [{"originId": "api", "domainName": "api.example.com",
                 "customOriginConfig": {"originProtocolPolicy": "https-only", "httpsPort": 443, "httpPort": 80,
                                        "originSslProtocols": ["TLSv1.2"]}}],
    "defaultCacheBehavior": {"targetOriginId": "api", "viewerProtocolPolicy": "https-only"},
    "viewerCertificate": {"acmCertificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/y",
                          "sslSupportMethod": "sni-only", "minimumProtocolVersion": "TLSv1.2_2021"},
    "webAclId": ACL_ARN,
}


def _front_stack(*, rules: list[dict[str, Any]] | None = None, distribution: dict[str, Any] | None = None,
                 acl_in_stack: bool = True) -> StackBuilder:
    stack = StackBuilder("prod")
    if acl_in_stack:
        stack.add("aws:wafv2/webAcl:WebAcl", "catalog-edge-acl",
                  {"scope": "CLOUDFRONT", "defaultAction": {"allow": {}},
                   "rules": GOOD_RULES if rules is None else rules},
                  {"arn": ACL_ARN})
    stack.add("aws:cloudfront/distribution:Distribution", "catalog-edge-distribution",
              copy.deepcopy(GOOD_DISTRIBUTION if distribution is None else distribution))
    return stack


def _findings(stack: StackBuilder, **config: object) -> list[tuple[str, str]]:
    found = check_api_edge(stack_views(stack.plan()), API_EDGE.effective_config(config))
    return [((urn or "").rsplit("::", 1)[-1], message) for urn, message in found]


PROD = {"requireDisabledExecuteApiEndpoint": True}


# -- the domain -------------------------------------------------------------------------------------


def test_a_domain_in_front_of_a_closed_execute_api_endpoint_passes():
    assert _findings(_domain_stack(), **PROD) == []


def test_a_domain_whose_api_still_answers_on_execute_api_fires_in_prod():
    (finding,) = _findings(_domain_stack(disabled=False), **PROD)
    assert finding[0] == "catalog-http-gateway"
    assert "execute-api endpoint" in finding[1] and "catalog-domain-mapping" in finding[1]
    assert _findings(_domain_stack(disabled=None), **PROD)


def test_dev_may_keep_the_execute_api_endpoint():
    assert _findings(_domain_stack(disabled=False)) == []


def test_an_api_without_a_domain_keeps_its_endpoint_even_in_prod():
    assert _findings(_domain_stack(disabled=None, mapped=False), **PROD) == []


def test_an_unknown_switch_during_a_preview_is_not_judged():
    assert _findings(_domain_stack(disabled=UNKNOWN), **PROD) == []


def test_a_domain_below_tls_1_2_fires_everywhere():
    (finding,) = _findings(_domain_stack(security_policy="TLS_1_0"))
    assert finding[0] == "catalog-domain-name" and "TLS_1_0" in finding[1]


# -- the front --------------------------------------------------------------------------------------


def test_an_https_only_distribution_behind_a_full_web_acl_passes():
    assert _findings(_front_stack(), **PROD) == []


def test_a_distribution_without_a_web_acl_fires():
    distribution = {k: v for k, v in GOOD_DISTRIBUTION.items() if k != "webAclId"}
    (finding,) = _findings(_front_stack(distribution=distribution, acl_in_stack=False))
    assert finding == ("catalog-edge-distribution", "distribution 'catalog-edge-distribution' has no WAF web ACL "
                                                    "(webAclId)")


def test_a_web_acl_missing_a_managed_group_or_only_counting_it_fires():
    without_reputation = [r for r in GOOD_RULES if r["name"] != "AWSManagedRulesAmazonIpReputationList"]
    (finding,) = _findings(_front_stack(rules=without_reputation))
    assert finding[0] == "catalog-edge-acl" and "AWSManagedRulesAmazonIpReputationList" in finding[1]
    counting = [_managed("AWSManagedRulesCommonRuleSet", 1, count=True) if r["name"] == "AWSManagedRulesCommonRuleSet"
                else r for r in GOOD_RULES]
    (finding,) = _findings(_front_stack(rules=counting))
    assert "AWSManagedRulesCommonRuleSet" in finding[1]


def test_a_web_acl_without_a_blocking_rate_rule_fires():
    (finding,) = _findings(_front_stack(rules=GOOD_RULES[:3]))
    assert "no rate-based rule" in finding[1]
    counting = {**RATE_RULE, "action": {"count": {}}}
    assert _findings(_front_stack(rules=[*GOOD_RULES[:3], counting]))
    assert _findings(_front_stack(rules=GOOD_RULES[:3]), requireRateBasedRule=False) == []


def test_plain_http_viewers_redirects_and_old_tls_fire():
    for policy in ("allow-all", "redirect-to-https"):
        distribution = copy.deepcopy(GOOD_DISTRIBUTION)
        distribution["defaultCacheBehavior"]["viewerProtocolPolicy"] = policy
        (finding,) = _findings(_front_stack(distribution=distribution))
        assert policy in finding[1]
    distribution = copy.deepcopy(GOOD_DISTRIBUTION)
    distribution["viewerCertificate"]["minimumProtocolVersion"] = "TLSv1"
    (finding,) = _findings(_front_stack(distribution=distribution))
    assert "below TLS 1.2" in finding[1]
    distribution = copy.deepcopy(GOOD_DISTRIBUTION)
    distribution["origins"][0]["customOriginConfig"]["originProtocolPolicy"] = "http-only"
    (finding,) = _findings(_front_stack(distribution=distribution))
    assert "http-only" in finding[1]
