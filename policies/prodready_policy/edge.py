"""The API's edge: a custom domain cannot be walked around, and a CloudFront front carries a web ACL that
filters and rate-limits."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Policy, Severity

from prodready_policy.base import Config, PolicySpec, stack_policy, string_list
from prodready_policy.types import APIGATEWAYV2_API as API
from prodready_policy.types import APIGATEWAYV2_API_MAPPING as API_MAPPING
from prodready_policy.types import APIGATEWAYV2_DOMAIN_NAME as DOMAIN_NAME
from prodready_policy.types import CLOUDFRONT_DISTRIBUTION as DISTRIBUTION
from prodready_policy.types import WAFV2_WEB_ACL as WEB_ACL
from prodready_policy.values import ResourceView, as_list, get, is_unknown

# API Gateway's TLS 1.2 policy; the `TLS13_*` enhanced policies (REST APIs and newer domains) allow no less.
ACCEPTED_DOMAIN_POLICIES = ("TLS_1_2",)
# CloudFront's viewer security policies that refuse anything older than TLS 1.2.
ACCEPTED_VIEWER_PROTOCOLS = ("TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.3_2025")
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)

API_EDGE = PolicySpec(
    name="api-edge",
    description=(
        "Requires an HTTP API with a custom domain to refuse its execute-api endpoint (where the stack's config "
        "asks it), every API Gateway domain to negotiate TLS 1.2 or later, and every CloudFront distribution to "
        "serve HTTPS only with TLS 1.2 or later behind a WAF web ACL that runs the AWS managed rule groups "
        "required here and a rate-based rule that blocks."
    ),
    severity=Severity.HIGH,
    remediation_steps=(
        "Set disable_execute_api_endpoint=True on the aws.apigatewayv2.Api a domain maps (in this program, "
        "prodready:api.domain.disableExecuteApiEndpoint, true by default); give each aws.apigatewayv2.DomainName "
        "security_policy TLS_1_2. For a distribution: viewer_protocol_policy https-only, "
        "minimum_protocol_version TLSv1.2_2021, web_acl_id the ARN of a CLOUDFRONT-scope aws.wafv2.WebAcl with the "
        "managed rule groups listed in requiredManagedRuleGroups (override action none) and a rate_based_statement "
        "rule whose action is block."
    ),
    config_properties={
        "requireDisabledExecuteApiEndpoint": {
            "type": "boolean", "default": False,
            "description": "An API mapped to a custom domain must refuse its execute-api endpoint (prod: true), so "
                           "that clients cannot reach it around the domain and what stands in front of it.",
        },
        "requiredManagedRuleGroups": string_list(
            "AWS managed rule groups (vendor AWS) a distribution's web ACL must run, blocking (not counting).",
            list(MANAGED_RULE_GROUPS),
        ),
        "requireRateBasedRule": {
            "type": "boolean", "default": True,
            "description": "A distribution's web ACL must have a rate-based rule that blocks.",
        },
    },
)


def _mapped_api(
    mapping: ResourceView, apis: list[ResourceView], by_urn: dict[str, ResourceView]
) -> ResourceView | None:
    sources = [by_urn[u] for u in mapping.sources("apiId") if u in by_urn and by_urn[u].type == API]
    if sources:
        return sources[0]
    api_id = get(mapping.props, "apiId")
    if not isinstance(api_id, str):
        return None
    for api in apis:
        endpoint = get(api.props, "apiEndpoint")
        if get(api.props, "id") == api_id or (isinstance(endpoint, str) and f"//{api_id}." in endpoint):
            return api
    return None


def _domain_findings(resources: list[ResourceView], config: Config) -> Iterator[tuple[str | None, str]]:
    by_urn = {r.urn: r for r in resources}
    apis = [r for r in resources if r.type == API]
    for domain in (r for r in resources if r.type == DOMAIN_NAME):
        policy = get(domain.props, "domainNameConfiguration", "securityPolicy")
        if not is_unknown(policy) and policy not in ACCEPTED_DOMAIN_POLICIES:
            yield domain.urn, (
                f"domain name '{domain.name}' negotiates {policy!r}: use {ACCEPTED_DOMAIN_POLICIES[0]} (TLS 1.2 or "
                "later)"
            )
    if not config["requireDisabledExecuteApiEndpoint"]:
        return
    seen: set[str] = set()
    for mapping in (r for r in resources if r.type == API_MAPPING):
        api = _mapped_api(mapping, apis, by_urn)
        if api is None or api.urn in seen:
            continue
        seen.add(api.urn)
        disabled = get(api.props, "disableExecuteApiEndpoint", default=False)
        if not is_unknown(disabled) and disabled is not True:
            yield api.urn, (
                f"API '{api.name}' has a custom domain (mapping '{mapping.name}') but still answers on its "
                "execute-api endpoint: clients can reach it around the domain; set disableExecuteApiEndpoint"
            )


def _acl_findings(acl: ResourceView, config: Config) -> list[str]:
    rules = get(acl.props, "rules", default=[])
    if is_unknown(rules):
        return []
    blocking_groups: set[str] = set()
    rate_rule = False
    for rule in as_list(rules):
        statement = get(rule, "statement", default={}) or {}
        group = get(statement, "managedRuleGroupStatement")
        override = get(rule, "overrideAction", default={}) or {}
        # `count: {}` (an empty block) only counts matches: the group blocks nothing.
        if isinstance(group, dict) and get(group, "vendorName") == "AWS" and get(override, "count") is None:
            blocking_groups.add(str(get(group, "name")))
        if isinstance(get(statement, "rateBasedStatement"), dict) and get(rule, "action", "block") is not None:
            rate_rule = True
    findings = []
    missing = [g for g in config["requiredManagedRuleGroups"] if g not in blocking_groups]
    if missing:
        findings.append(f"web ACL '{acl.name}' does not run (blocking) the managed rule groups {missing}")
    if config["requireRateBasedRule"] and not rate_rule:
        findings.append(f"web ACL '{acl.name}' has no rate-based rule that blocks: one client can use the API's whole "
                        "throttle")
    return findings


def _front_findings(resources: list[ResourceView], config: Config) -> Iterator[tuple[str | None, str]]:
    by_urn = {r.urn: r for r in resources}
    acls = [r for r in resources if r.type == WEB_ACL]
    for distribution in (r for r in resources if r.type == DISTRIBUTION):
        name = distribution.name
        behaviors = [get(distribution.props, "defaultCacheBehavior", default={}) or {},
                     *as_list(get(distribution.props, "orderedCacheBehaviors", default=[]))]
        for behavior in behaviors:
            policy = get(behavior, "viewerProtocolPolicy")
            if not is_unknown(policy) and policy != "https-only":
                yield distribution.urn, (
                    f"distribution '{name}' serves path {get(behavior, 'pathPattern', default='*')!r} with viewer "
                    f"protocol policy {policy!r}: an API takes HTTPS only (a redirect would send the token in clear "
                    "first)"
                )
        for origin in as_list(get(distribution.props, "origins", default=[])):
            protocol = get(origin, "customOriginConfig", "originProtocolPolicy")
            if protocol is not None and not is_unknown(protocol) and protocol != "https-only":
                yield distribution.urn, (
                    f"distribution '{name}' reaches origin {get(origin, 'originId')!r} over {protocol}"
                )
        certificate = get(distribution.props, "viewerCertificate", default={}) or {}
        minimum = get(certificate, "minimumProtocolVersion")
        if get(certificate, "cloudfrontDefaultCertificate") is not True and not is_unknown(minimum) \
                and minimum not in ACCEPTED_VIEWER_PROTOCOLS:
            yield distribution.urn, f"distribution '{name}' accepts viewers below TLS 1.2 ({minimum!r})"
        acl_ref = get(distribution.props, "webAclId")
        if is_unknown(acl_ref):
            sources = [by_urn[u] for u in distribution.sources("webAclId") if u in by_urn]
            attached = [s for s in sources if s.type == WEB_ACL]
        elif not acl_ref:
            yield distribution.urn, f"distribution '{name}' has no WAF web ACL (webAclId)"
            continue
        else:
            attached = [a for a in acls if get(a.props, "arn") == acl_ref] or \
                [by_urn[u] for u in distribution.sources("webAclId") if u in by_urn and by_urn[u].type == WEB_ACL]
        for acl in attached:
            for finding in _acl_findings(acl, config):
                yield acl.urn, f"{finding} (in front of distribution '{name}')"


def check_api_edge(resources: list[ResourceView], config: Config) -> Iterator[tuple[str | None, str]]:
    yield from _domain_findings(resources, config)
    yield from _front_findings(resources, config)


def policies() -> list[Policy]:
    return [stack_policy(API_EDGE, check_api_edge)]
