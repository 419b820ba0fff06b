"""Security baseline: least-privilege IAM, encrypted alert topics, traced functions, throttled routes,
no public Lambda invocation without a source."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from pulumi_policy import Policy, Severity

from prodready_policy.base import (
    CHAT_CONFIGURATIONS,
    Config,
    PolicySpec,
    of_types,
    resource_policy,
    stack_policy,
    string_list,
)
from prodready_policy.types import APIGATEWAYV2_ROUTE as HTTP_ROUTE
from prodready_policy.types import APIGATEWAYV2_STAGE as HTTP_STAGE
from prodready_policy.types import (
    IAM_GROUP_POLICY,
    IAM_GROUP_POLICY_ATTACHMENT,
    IAM_POLICY,
    IAM_POLICY_ATTACHMENT,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    IAM_USER_POLICY,
    IAM_USER_POLICY_ATTACHMENT,
    LAMBDA_FUNCTION,
    SNS_TOPIC,
)
from prodready_policy.types import LAMBDA_PERMISSION as PERMISSION_TYPE
from prodready_policy.values import UNKNOWN, ResourceView, as_list, get, is_unknown, json_value, number

# The allow-list of actions that AWS authorises only on Resource "*". This is its one home: the
# program's tests judge the documents components/iam.py builds with `wildcard_findings` below.
RESOURCELESS_ACTIONS: tuple[str, ...] = (
    # CodeDeploy's service role polls the release alarms with it: AWS's managed policy for Lambda
    # deployments grants it on "*", and composites are returned only to a permission "scoped to *".
    "cloudwatch:DescribeAlarms",
    # A chat channel's role reads an alarm's metric and renders its graph for the notification, and the
    # deploy roles' signals step reads metrics; IAM has no resource type for these reads.
    "cloudwatch:GetMetricData",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:GetMetricWidgetImage",
    "cloudwatch:PutMetricData",
    # Reporting a restore test's validation: IAM has no resource type for a restore job.
    "backup:PutRestoreValidationResult",
    # Required of a Synthetics canary's role by AWS; S3 authorises it on "*" only.
    "s3:ListAllMyBuckets",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
    # The CI roles (bootstrap/, components/bootstrap/permissions.py): reads a refresh makes by listing
    # (aliases, query definitions, cost allocation tags, trails, chat channel configurations and their tags)
    # and creates of resources that have no ARN until they exist (keys, user pools, anomaly monitors and
    # subscriptions, certificates, chat channel configurations), per the
    # Service Authorization Reference of each service, which lists them without a resource type.
    "acm:RequestCertificate",
    "ce:CreateAnomalyMonitor",
    "ce:CreateAnomalySubscription",
    "ce:ListCostAllocationTags",
    "ce:UpdateCostAllocationTagsStatus",
    "chatbot:CreateMicrosoftTeamsChannelConfiguration",
    "chatbot:CreateSlackChannelConfiguration",
    "chatbot:DescribeSlackChannelConfigurations",
    "chatbot:ListMicrosoftTeamsChannelConfigurations",
    "chatbot:ListTagsForResource",
    "cloudtrail:DescribeTrails",
    "cognito-idp:CreateUserPool",
    "kms:CreateKey",
    "kms:ListAliases",
    "logs:DeleteQueryDefinition",
    "logs:DescribeQueryDefinitions",
    "logs:PutQueryDefinition",
    # The custom domain's zone lookup (get_zone_output by name) lists the hosted zones.
    "route53:ListHostedZones",
    # The deploy roles' release step: CodeDeploy's target calls.
    "codedeploy:BatchGetDeploymentTargets",
    "codedeploy:ListDeploymentTargets",
)

# Identity policies and where their documents live. Trust policies (assumeRolePolicy) grant no
# actions on resources and are not checked here.
IAM_DOCUMENT_PROPERTIES: dict[str, tuple[str, ...]] = {
    IAM_POLICY: ("policy",),
    IAM_ROLE_POLICY: ("policy",),
    IAM_USER_POLICY: ("policy",),
    IAM_GROUP_POLICY: ("policy",),
}
IAM_ATTACHMENTS = {
    IAM_ROLE_POLICY_ATTACHMENT: "policyArn",
    IAM_USER_POLICY_ATTACHMENT: "policyArn",
    IAM_GROUP_POLICY_ATTACHMENT: "policyArn",
    IAM_POLICY_ATTACHMENT: "policyArn",
}


def wildcard_findings(document: dict[str, Any], allowed_actions: frozenset[str]) -> list[str]:
    """Every `*` action or resource in a policy document that the allow-list does not excuse.

    A resource ending in `:*` or `/*` under a concrete ARN is a scoped pattern, not a wildcard.
    """
    findings: list[str] = []
    for index, statement in enumerate(as_list(document.get("Statement"))):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in as_list(statement.get("Action"))]
        for action in actions:
            if action == "*" or action.endswith(":*"):
                findings.append(f"Statement[{index}] allows wildcard action {action!r}")
        resources = [str(r) for r in as_list(statement.get("Resource"))]
        if "*" in resources or any(_is_unscoped_arn(r) for r in resources):
            excused = actions and all(a in allowed_actions for a in actions)
            if not excused:
                findings.append(f"Statement[{index}] allows {actions} on wildcard resource {resources}")
        if "NotAction" in statement or "NotResource" in statement:
            findings.append(f"Statement[{index}] uses NotAction/NotResource")
    return findings


def _is_unscoped_arn(resource: str) -> bool:
    # arn:partition:service:region:account:resource; a "*" in any of the first five fields, or a
    # bare "*" resource part, makes the statement apply account- or region-wide.
    parts = resource.split(":", 5)
    if len(parts) < 6 or not resource.startswith("arn:"):
        return resource != "" and "*" in resource and not resource.startswith("arn:")
    return any(p == "*" for p in parts[1:5]) or parts[5] in ("*", "*:*")


def _contains_unknown(value: Any) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, dict):
        return any(_contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unknown(v) for v in value)
    return False


IAM_WILDCARDS = PolicySpec(
    name="iam-no-wildcards",
    description=(
        "Prohibits IAM identity policies that allow `*` actions or `*` resources, except actions AWS "
        "authorises only on `*` (allow-list), and attaching AWS-managed admin policies, including as the "
        "guardrails of a chat channel (Chatbot applies AdministratorAccess when a channel names none)."
    ),
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Name exact actions and exact ARNs (build documents with components/iam.py helpers from resource "
        "outputs). Only actions in allowedWildcardActions (X-Ray upload, metric publishing) may use "
        "Resource '*', with a comment in the program saying why. Give every Slack or Teams channel "
        "configuration guardrailPolicyArns of read-only policies."
    ),
    config_properties={
        "allowedWildcardActions": string_list(
            "Actions AWS authorises only on Resource '*' (no narrower form exists).", list(RESOURCELESS_ACTIONS)
        ),
        "prohibitedManagedPolicyArns": string_list(
            "Managed policies that must never be attached.",
            ["arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/PowerUserAccess",
             "arn:aws:iam::aws:policy/IAMFullAccess"],
        ),
    },
)


def _document_findings(label: str, raw: Any, allowed: frozenset[str]) -> Iterator[str]:
    try:
        document = json_value(raw)
    except ValueError:
        yield f"{label} is not valid JSON."
        return
    if is_unknown(document) or document is None:
        return  # computed from resources not created yet: checked again with real values on update
    if not isinstance(document, dict):
        yield f"{label} is not a policy document object."
        return
    if _contains_unknown(document):
        return
    for finding in wildcard_findings(document, allowed):
        yield f"{label}: {finding}."


def check_iam_wildcards(resource: ResourceView, config: Config) -> Iterator[str]:
    allowed = frozenset(config["allowedWildcardActions"])
    for prop in IAM_DOCUMENT_PROPERTIES.get(resource.type, ()):
        yield from _document_findings(f"{resource.type} '{resource.name}' {prop}",
                                      get(resource.props, prop), allowed)
    if resource.type == IAM_ROLE:
        inline = get(resource.props, "inlinePolicies", default=[])
        for index, policy in enumerate([] if is_unknown(inline) else inline):
            yield from _document_findings(f"role '{resource.name}' inlinePolicies[{index}]",
                                          get(policy, "policy"), allowed)
    if resource.type in IAM_ATTACHMENTS:
        arn = get(resource.props, IAM_ATTACHMENTS[resource.type])
        if isinstance(arn, str) and arn in set(config["prohibitedManagedPolicyArns"]):
            yield f"{resource.type} '{resource.name}' attaches {arn}."
    if resource.type in CHAT_CONFIGURATIONS:
        yield from _guardrail_findings(resource, set(config["prohibitedManagedPolicyArns"]))


def _guardrail_findings(resource: ResourceView, prohibited: set[str]) -> Iterator[str]:
    guardrails = get(resource.props, "guardrailPolicyArns")
    if is_unknown(guardrails):
        return
    arns = [] if guardrails is None else as_list(guardrails)
    if not arns:
        yield (f"{resource.type} '{resource.name}' sets no guardrailPolicyArns: Chatbot then applies "
               "AdministratorAccess to everything the channel runs.")
        return
    for arn in arns:
        if isinstance(arn, str) and arn in prohibited:
            yield f"{resource.type} '{resource.name}' has guardrail {arn}."


SNS_ENCRYPTION = PolicySpec(
    name="sns-topic-encryption",
    description=(
        "Requires every SNS topic to be encrypted with a customer-managed KMS key; prohibits the "
        "AWS-managed alias/aws/sns key, which CloudWatch alarms and budgets cannot publish through."
    ),
    severity=Severity.HIGH,
    remediation_steps=(
        "Create a KMS key whose key policy lets cloudwatch.amazonaws.com (and budgets/costalerts if they "
        "publish) use kms:GenerateDataKey* and kms:Decrypt, and set kms_master_key_id=<key>.arn on the topic."
    ),
    config_properties={
        "prohibitedKeyIds": string_list("KMS key ids or aliases topics must not use.", ["alias/aws/sns"]),
    },
)


def check_sns_encryption(resource: ResourceView, config: Config) -> Iterator[str]:
    key = get(resource.props, "kmsMasterKeyId")
    if is_unknown(key):
        return
    if not isinstance(key, str) or not key.strip():
        yield f"SNS topic '{resource.name}' is not encrypted (kmsMasterKeyId is not set)."
        return
    for prohibited in config["prohibitedKeyIds"]:
        # The alias may be given bare or as an ARN (arn:aws:kms:<region>:<account>:alias/aws/sns).
        if key == prohibited or key.endswith(f":{prohibited}"):
            yield f"SNS topic '{resource.name}' uses {prohibited}, which CloudWatch alarms cannot use to publish."


LAMBDA_TRACING = PolicySpec(
    name="lambda-active-tracing",
    description="Requires every Lambda function to have X-Ray active tracing.",
    severity=Severity.LOW,
    remediation_steps="Set tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode='Active') on the function.",
    config_properties={
        "allowedModes": string_list("Tracing modes a function may use.", ["Active"]),
    },
)


def check_lambda_tracing(resource: ResourceView, config: Config) -> Iterator[str]:
    mode = get(resource.props, "tracingConfig", "mode", default="PassThrough")
    if is_unknown(mode):
        return
    if mode not in config["allowedModes"]:
        allowed = ", ".join(config["allowedModes"])
        yield f"Lambda function '{resource.name}' has tracing mode {mode!r}; allowed: {allowed}."


ROUTE_THROTTLING = PolicySpec(
    name="api-route-throttling",
    description=(
        "Requires every HTTP API route to be throttled on each stage of its API (route settings or the "
        "stage's default route settings), with limits no higher than the stack's ceiling."
    ),
    severity=Severity.HIGH,
    remediation_steps=(
        "Set default_route_settings (throttling_rate_limit and throttling_burst_limit) on the stage, or "
        "route_settings for the route; keep both at or below maxRateLimit/maxBurstLimit (api.throttling* "
        "in Pulumi.<stack>.yaml)."
    ),
    config_properties={
        "maxRateLimit": {"type": "number", "exclusiveMinimum": 0, "default": 5000,
                         "description": "Highest steady-state requests per second a route may allow."},
        "maxBurstLimit": {"type": "number", "exclusiveMinimum": 0, "default": 5000,
                          "description": "Highest burst a route may allow."},
    },
)


def _api_keys(resource: ResourceView) -> set[str]:
    api_id = get(resource.props, "apiId")
    if is_unknown(api_id):
        return {f"urn:{urn}" for urn in resource.sources("apiId")}
    return {f"id:{api_id}"} if isinstance(api_id, str) else set()


def _route_limits(stage: ResourceView, route_key: Any) -> tuple[Any, Any]:
    rate: Any = None
    burst: Any = None
    settings = get(stage.props, "routeSettings", default=[])
    if is_unknown(settings):
        return UNKNOWN, UNKNOWN
    for setting in settings:
        key = get(setting, "routeKey")
        if is_unknown(key) or is_unknown(route_key) or key == route_key:
            rate = number(get(setting, "throttlingRateLimit"))
            burst = number(get(setting, "throttlingBurstLimit"))
            break
    defaults = get(stage.props, "defaultRouteSettings", default={})
    if is_unknown(defaults):
        return (rate if rate is not None else UNKNOWN), (burst if burst is not None else UNKNOWN)
    if rate is None:
        rate = number(get(defaults, "throttlingRateLimit"))
    if burst is None:
        burst = number(get(defaults, "throttlingBurstLimit"))
    return rate, burst


def check_route_throttling(resources: list[ResourceView], config: Config) -> Iterator[tuple[str | None, str]]:
    stages_by_api: dict[str, list[ResourceView]] = defaultdict(list)
    for resource in resources:
        if resource.type == HTTP_STAGE:
            for key in _api_keys(resource):
                stages_by_api[key].append(resource)
    max_rate, max_burst = float(config["maxRateLimit"]), float(config["maxBurstLimit"])
    for route in resources:
        if route.type != HTTP_ROUTE:
            continue
        route_key = get(route.props, "routeKey")
        shown = route_key if isinstance(route_key, str) else route.name
        stages = {stage.urn: stage for key in _api_keys(route) for stage in stages_by_api.get(key, ())}
        if not stages:
            yield route.urn, f"route '{shown}' has no stage in this stack that throttles it."
            continue
        for stage in stages.values():
            rate, burst = _route_limits(stage, route_key)
            if is_unknown(rate) or is_unknown(burst):
                continue
            if rate is None or burst is None:
                yield route.urn, (
                    f"route '{shown}' is not throttled on stage '{stage.name}' "
                    "(no throttling rate and burst limit in route or default route settings)."
                )
            elif rate > max_rate or burst > max_burst:
                yield route.urn, (
                    f"route '{shown}' on stage '{stage.name}' allows {rate:g} rps / burst {burst:g}; "
                    f"the stack allows at most {max_rate:g} / {max_burst:g}."
                )


LAMBDA_PERMISSION = PolicySpec(
    name="lambda-permission-source-arn",
    description=(
        "Prohibits Lambda permissions that let a service or everyone invoke a function without a source "
        "ARN, and function URLs without authentication."
    ),
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Set source_arn on the aws.lambda_.Permission to the exact caller (e.g. <api>.execution_arn + "
        "'/<stage>/*'); grant account principals instead of '*'; use AWS_IAM auth for function URLs."
    ),
    config_properties={
        "exemptPrincipals": string_list("Principals allowed without a source ARN (use sparingly).", []),
    },
)

_ACCOUNT_PRINCIPAL = re.compile(r"^(\d{12}|arn:aws[\w-]*:iam::\d{12}:.+)$")


def check_lambda_permission(resource: ResourceView, config: Config) -> Iterator[str]:
    principal = get(resource.props, "principal")
    if is_unknown(principal) or not isinstance(principal, str):
        return
    if principal in set(config["exemptPrincipals"]) or _ACCOUNT_PRINCIPAL.match(principal):
        return
    if get(resource.props, "functionUrlAuthType") == "NONE":
        yield f"Lambda permission '{resource.name}' makes a function URL public (functionUrlAuthType NONE)."
        return
    source_arn = get(resource.props, "sourceArn")
    if source_arn is None or (isinstance(source_arn, str) and not source_arn.strip()):
        who = "everyone" if principal == "*" else principal
        yield f"Lambda permission '{resource.name}' lets {who} invoke the function without a sourceArn."


def policies() -> list[Policy]:
    return [
        resource_policy(
            IAM_WILDCARDS, of_types(*IAM_DOCUMENT_PROPERTIES, IAM_ROLE, *IAM_ATTACHMENTS, *CHAT_CONFIGURATIONS),
            check_iam_wildcards
        ),
        resource_policy(SNS_ENCRYPTION, of_types(SNS_TOPIC), check_sns_encryption),
        resource_policy(LAMBDA_TRACING, of_types(LAMBDA_FUNCTION), check_lambda_tracing),
        stack_policy(ROUTE_THROTTLING, check_route_throttling),
        resource_policy(LAMBDA_PERMISSION, of_types(PERMISSION_TYPE), check_lambda_permission),
    ]
