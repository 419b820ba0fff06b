"""A CloudFront front for the API: the API's name on a distribution that filters every request through a WAF
web ACL (AWS managed rule groups, rate limits per IP and per client) before it reaches the API's regional
origin name. CloudFront certificates and CLOUDFRONT-scope web ACLs live in us-east-1, whatever the stack's
region: the component brings a provider for it.

Why the API cannot be reached around the front: its execute-api endpoint is closed (`api.domain`), so it
answers only on its custom domain, and that name (`origin.<name>`) is what CloudFront calls. A client that
calls the origin name directly still reaches the API with the WAF bypassed, but API Gateway's own throttling
and the JWT authorizer still apply. The stronger control, mutual TLS between CloudFront and the origin domain,
is a follow-up (docs/edge.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.service import keys
from components.service.domain import domain_url, validated_certificate
from components.types import EDGE_FRONT

EDGE_REGION = "us-east-1"
# AWS-managed policies (CloudFront developer guide, "Use managed cache policies" / "managed origin request
# policies"): nothing cached, and every viewer header but Host sent on, Authorization included (CloudFront
# forwards it under an origin request policy only when caching is disabled).
CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_POLICY_ID = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
ORIGIN_ID = "api"
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
# The common rule set blocks bodies over 8 KB (SizeRestrictions_BODY); the function enforces its own limit.
COMMON_BODY_LIMIT_KB = 8
RATE_LIMITED_BODY_KEY = "rate-limited"
RATE_LIMITED_BODY = '{"error":{"code":"rate_limited","message":"Too many requests: retry after the Retry-After delay"}}'
# Managed rule groups, in evaluation order: known-bad sources first, they are the cheapest verdict.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)
PER_IP_RULE, PER_CLIENT_RULE = "per-ip", "per-client"


def origin_domain_name(domain_name: str) -> str:
    """The regional name the API keeps behind the front."""
    return f"origin.{domain_name}"


def _visibility(metric_name: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric_name, "sampled_requests_enabled": True}


def _rate_rule(name: str, priority: int, limit: int, window: int, *, per_client: bool) -> dict[str, Any]:
    statement: dict[str, Any] = {"limit": limit, "evaluation_window_sec": window}
    if per_client:
        # One bucket per Authorization header value, i.e. per token; requests without it are not counted here.
        statement.update(aggregate_key_type="CUSTOM_KEYS", custom_keys=[{
            "header": {"name": "authorization", "text_transformations": [{"priority": 0, "type": "NONE"}]},
        }])
    else:
        statement["aggregate_key_type"] = "IP"
    return {
        "name": name,
        "priority": priority,
        "action": {"block": {"custom_response": {
            "response_code": 429,
            "custom_response_body_key": RATE_LIMITED_BODY_KEY,
            # WAF counts over a sliding window it re-evaluates every few seconds: a client that waits a whole
            # window starts afresh.
            "response_headers": [{"name": "Retry-After", "value": str(window)}],
        }}},
        "statement": {"rate_based_statement": statement},
        "visibility_config": _visibility(name),
    }


def web_acl_rules(rate_limit_per_ip: int, rate_limit_per_client: int | None, window_seconds: int,
                  max_body_kb: int) -> list[dict[str, Any]]:
    """The web ACL's rules, in priority order. Pure."""
    rules: list[dict[str, Any]] = []
    for priority, group in enumerate(MANAGED_RULE_GROUPS):
        statement: dict[str, Any] = {"name": group, "vendor_name": "AWS"}
        if group == "AWSManagedRulesCommonRuleSet" and max_body_kb > COMMON_BODY_LIMIT_KB:
            # Bodies the API accepts would be refused at the edge: counted instead, the rest of the group blocks.
            statement["rule_action_overrides"] = [{"name": "SizeRestrictions_BODY", "action_to_use": {"count": {}}}]
        rules.append({"name": group, "priority": priority, "override_action": {"none": {}},
                      "statement": {"managed_rule_group_statement": statement},
                      "visibility_config": _visibility(group)})
    rules.append(_rate_rule(PER_IP_RULE, 10, rate_limit_per_ip, window_seconds, per_client=False))
    if rate_limit_per_client is not None:
        rules.append(_rate_rule(PER_CLIENT_RULE, 11, rate_limit_per_client, window_seconds, per_client=True))
    return rules


@dataclass(frozen=True)
class EdgeFrontArgs:
    name_prefix: str
    """Prefix of every physical name, `<service>-<stack>`."""
    domain_name: str
    """The name clients call; the distribution serves it."""
    hosted_zone_id: pulumi.Input[str]
    """The public zone holding the name."""
    origin_domain_name: pulumi.Input[str]
    """The API's regional custom domain CloudFront calls (`origin.<name>`)."""
    tags: Mapping[str, str]
    """Default tags of the us-east-1 provider (the stack's tags)."""
    rate_limit_per_ip: int
    """Requests per window and client IP."""
    rate_limit_per_client: int | None
    """Requests per window and Authorization header value; None: no such rule."""
    window_seconds: int
    """Evaluation window of the rate rules."""
    waf_log_retention_days: int
    """Retention of the WAF log group."""
    price_class: str
    """CloudFront price class."""
    max_body_kb: int
    """Largest request body the API accepts (the common rule set's body limit is relaxed above 8 KB)."""
    encrypt_logs: bool = False
    """Encrypt the WAF log group with a customer-managed key of its own region (the stack's logs key is in
    the stack's region, and a key serves its own region only)."""
    protect: bool = False
    """Keep the WAF logs and their key when the stack is destroyed (`retainOnDelete`, `protect` on the key)."""
    provider_settings: Mapping[str, Any] = field(default_factory=dict)
    """The stack's AWS provider settings (allowed accounts, profile, assumed roles) for the us-east-1
    provider too, so that it deploys where the stack's own provider does."""


class EdgeFront(pulumi.ComponentResource):
    """CloudFront distribution, WAF web ACL and its logs, certificate and DNS name of the API's front."""

    url: pulumi.Output[str]
    distribution_id: pulumi.Output[str]
    web_acl_name: pulumi.Output[str]
    web_acl_arn: pulumi.Output[str]
    rate_rules: tuple[str, ...]
    provider: aws.Provider
    certificate_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeFrontArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(EDGE_FRONT, name, None, opts)
        east = aws.Provider(
            f"{name}-us-east-1",
            region=EDGE_REGION,
            default_tags=aws.ProviderDefaultTagsArgs(tags=dict(args.tags)),
            **args.provider_settings,
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_east = pulumi.ResourceOptions(parent=self, provider=east)

        certificate_arn = validated_certificate(name, args.domain_name, args.hosted_zone_id, self, east)
        # The pure helpers build these inputs as plain dicts, which the SDK's TypedDict input types do not admit.
        acl = aws.wafv2.WebAcl(  # type: ignore[call-overload]
            f"{name}-acl",
            name=f"{args.name_prefix}-edge",
            description=f"Filters and rate-limits every request to {args.domain_name}",
            scope="CLOUDFRONT",
            default_action={"allow": {}},
            rules=web_acl_rules(args.rate_limit_per_ip, args.rate_limit_per_client, args.window_seconds,
                                args.max_body_kb),
            custom_response_bodies=[{"key": RATE_LIMITED_BODY_KEY, "content": RATE_LIMITED_BODY,
                                     "content_type": "APPLICATION_JSON"}],
            visibility_config=_visibility(f"{args.name_prefix}-edge"),
            opts=in_east,
        )
        # WAF delivers to a log group only if its name starts with `aws-waf-logs-`, and adds the group's resource
        # policy for its log delivery itself.
        log_group_name = f"aws-waf-logs-{args.name_prefix}"
        logs = aws.cloudwatch.LogGroup(
            f"{name}-waf-logs",
            name=log_group_name,
            retention_in_days=args.waf_log_retention_days,
            kms_key_id=self._logs_key(name, args, log_group_name, east) if args.encrypt_logs else None,
            opts=pulumi.ResourceOptions(parent=self, provider=east, retain_on_delete=args.protect),
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-waf-logging",
            resource_arn=acl.arn,
            log_destination_configs=[logs.arn],
            # Tokens never reach the logs.
            redacted_fields=[{"single_header": {"name": "authorization"}}],
            opts=in_east,
        )
        distribution = aws.cloudfront.Distribution(
            f"{name}-distribution",
            comment=f"Front of {args.domain_name} ({args.name_prefix})",
            enabled=True,
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=args.price_class,
            aliases=[args.domain_name],
            origins=[{
                "origin_id": ORIGIN_ID,
                "domain_name": args.origin_domain_name,
                "custom_origin_config": {
                    "http_port": 80,
                    "https_port": 443,
                    "origin_protocol_policy": "https-only",
                    "origin_ssl_protocols": ["TLSv1.2"],
                },
            }],
            default_cache_behavior={
                "target_origin_id": ORIGIN_ID,
                "viewer_protocol_policy": "https-only",
                "allowed_methods": ALL_METHODS,
                "cached_methods": ["GET", "HEAD"],
                "cache_policy_id": CACHING_DISABLED_POLICY_ID,
                "origin_request_policy_id": ALL_VIEWER_EXCEPT_HOST_POLICY_ID,
                "compress": True,
            },
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={
                "acm_certificate_arn": certificate_arn,
                "ssl_support_method": "sni-only",
                "minimum_protocol_version": "TLSv1.2_2021",
            },
            web_acl_id=acl.arn,
            opts=in_east,
        )
        # OriginLatency is one of the additional metrics (billed like custom metrics); the origin-latency alarm
        # reads it.
        aws.cloudfront.MonitoringSubscription(
            f"{name}-metrics",
            distribution_id=distribution.id,
            monitoring_subscription={"realtime_metrics_subscription_config": {
                "realtime_metrics_subscription_status": "Enabled"}},
            opts=in_east,
        )
        record = aws.route53.Record(
            f"{name}-alias",
            zone_id=args.hosted_zone_id,
            name=args.domain_name,
            type="A",
            aliases=[aws.route53.RecordAliasArgs(
                name=distribution.domain_name,
                zone_id=distribution.hosted_zone_id,
                evaluate_target_health=False,
            )],
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.url = record.fqdn.apply(lambda _: domain_url(args.domain_name))
        self.distribution_id = distribution.id
        self.web_acl_name = acl.name
        self.web_acl_arn = acl.arn
        self.rate_rules = (PER_IP_RULE, *((PER_CLIENT_RULE,) if args.rate_limit_per_client is not None else ()))
        self.provider = east
        self.certificate_arn = certificate_arn
        self.register_outputs({
            "url": self.url,
            "distributionId": self.distribution_id,
            "webAclName": self.web_acl_name,
            "webAclArn": self.web_acl_arn,
        })

    def _logs_key(self, name: str, args: EdgeFrontArgs, log_group_name: str,
                  east: aws.Provider) -> pulumi.Output[str]:
        """A us-east-1 key usable by CloudWatch Logs for the WAF log group only."""
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self, provider=east))
        key = aws.kms.Key(
            f"{name}-logs-key",
            description=f"Encrypts the WAF logs of {args.name_prefix}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(
                pulumi.Output.all(identity.account_id, identity.arn).apply(
                    lambda v: keys.logs_key_policy(v[0], EDGE_REGION, [log_group_name], v[1].split(":")[1])
                )
            ),
            # Losing the key makes every log it encrypted unreadable: protected like the logs themselves.
            opts=pulumi.ResourceOptions(parent=self, provider=east, protect=args.protect,
                                        retain_on_delete=args.protect),
        )
        aws.kms.Alias(
            f"{name}-logs-key-alias",
            name=f"alias/{args.name_prefix}-edge-logs",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self, provider=east),
        )
        return key.arn
