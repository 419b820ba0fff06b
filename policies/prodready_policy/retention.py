"""Retention and recoverability: logs kept long enough (never forever), functions and API stages
logging into managed groups, DynamoDB tables recoverable."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from pulumi_policy import Policy, Severity

from prodready_policy.base import Config, PolicySpec, of_types, resource_policy, stack_policy, string_list
from prodready_policy.types import APIGATEWAY_STAGE as REST_STAGE
from prodready_policy.types import APIGATEWAYV2_STAGE as HTTP_STAGE
from prodready_policy.types import CLOUDWATCH_LOG_GROUP as LOG_GROUP
from prodready_policy.types import DYNAMODB_TABLE, LAMBDA_FUNCTION
from prodready_policy.values import UNKNOWN, ResourceView, get, is_unknown, number

# The only values CloudWatch Logs accepts for RetentionInDays (0 / unset means never expire).
CLOUDWATCH_RETENTION_DAYS: frozenset[int] = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)

LOG_GROUP_RETENTION = PolicySpec(
    name="log-group-retention",
    description=(
        "Requires every CloudWatch log group to set a retention within the stack's range (never "
        "'never expire'), and security and access log groups to keep at least their minimum."
    ),
    severity=Severity.HIGH,
    remediation_steps=(
        "Set retention_in_days on the LogGroup to a value CloudWatch accepts within [minDays, maxDays] of "
        "the stack's policy config; log groups matching securityLogGroupPatterns (access, audit, security "
        "logs) need at least securityMinDays. Configure it through logs.retentionDays / "
        "logs.accessLogRetentionDays in Pulumi.<stack>.yaml."
    ),
    config_properties={
        "minDays": {"type": "number", "minimum": 1, "default": 1,
                    "description": "Shortest retention any log group may have, in days."},
        "maxDays": {"type": "number", "minimum": 1, "default": 3653,
                    "description": "Longest retention any log group may have, in days."},
        "securityMinDays": {"type": "number", "minimum": 1, "default": 90,
                            "description": "Shortest retention of security and access log groups, in days."},
        "securityLogGroupPatterns": string_list(
            "Shell-style patterns (fnmatch) of log group names that hold security or access logs.",
            ["/aws/apigateway/*", "*access-log*", "*audit*", "*security*", "/aws/cloudtrail/*",
             "aws-waf-logs-*", "/aws/vpc/flow-logs*"],
        ),
    },
)


def is_security_log_group(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def check_log_group_retention(resource: ResourceView, config: Config) -> Iterator[str]:
    retention = number(get(resource.props, "retentionInDays"))
    name = get(resource.props, "name", default=resource.name)
    label = f"log group '{name if not is_unknown(name) else resource.name}'"
    if is_unknown(retention):
        return
    if retention is None or retention == 0:
        allowed = f"{config['minDays']:g}-{config['maxDays']:g}"
        yield f"{label} never expires: set retentionInDays (the stack allows {allowed} days)."
        return
    if retention not in CLOUDWATCH_RETENTION_DAYS:
        yield f"{label} has retentionInDays={retention:g}, which CloudWatch Logs does not accept."
    minimum, maximum = float(config["minDays"]), float(config["maxDays"])
    security = not is_unknown(name) and is_security_log_group(str(name), list(config["securityLogGroupPatterns"]))
    if security:
        minimum = max(minimum, float(config["securityMinDays"]))
    if retention < minimum:
        kind = "security/access log group" if security else "log group"
        yield f"{kind} '{name}' keeps logs {retention:g} days; the stack requires at least {minimum:g}."
    if retention > maximum:
        yield f"{label} keeps logs {retention:g} days; the stack allows at most {maximum:g}."


LAMBDA_LOG_GROUP = PolicySpec(
    name="lambda-managed-log-group",
    description=(
        "Requires every Lambda function to log into a log group managed by this stack: the one its "
        "logging config names, or `/aws/lambda/<function name>`."
    ),
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Create the function's log group in the program before the function (aws.cloudwatch.LogGroup "
        "named /aws/lambda/<name> with retention_in_days) and point logging_config.log_group at it, so "
        "Lambda never creates a never-expiring group of its own."
    ),
    config_properties={
        "defaultLogGroupPrefix": {"type": "string", "default": "/aws/lambda/",
                                  "description": "Prefix of the log group Lambda writes to when none is configured."},
    },
)


def check_lambda_log_groups(resources: list[ResourceView], config: Config) -> Iterator[tuple[str | None, str]]:
    log_group_names: set[str] = set()
    log_group_urns: set[str] = set()
    for resource in resources:
        if resource.type == LOG_GROUP:
            log_group_urns.add(resource.urn)
            name = get(resource.props, "name")
            if isinstance(name, str):
                log_group_names.add(name)
    prefix = str(config["defaultLogGroupPrefix"])
    for resource in resources:
        if resource.type != LAMBDA_FUNCTION:
            continue
        configured = get(resource.props, "loggingConfig", "logGroup")
        function_name = get(resource.props, "name", default=resource.name)
        if is_unknown(configured):
            # Unknown at preview: good when it is computed from a log group of this stack.
            if log_group_urns.intersection(resource.sources("loggingConfig")):
                continue
            yield resource.urn, (
                f"Lambda function '{resource.name}' logs to a group computed from no log group of this stack."
            )
            continue
        expected = configured if isinstance(configured, str) and configured else (
            UNKNOWN if is_unknown(function_name) else f"{prefix}{function_name}"
        )
        if is_unknown(expected):
            # Autonamed from an unknown: accept a log group it explicitly depends on.
            if log_group_urns.intersection(resource.dependencies):
                continue
            yield resource.urn, f"Lambda function '{resource.name}' depends on no log group of this stack."
            continue
        if expected not in log_group_names:
            yield resource.urn, (
                f"Lambda function '{function_name}' logs to '{expected}', which is not a log group of this "
                "stack: Lambda would create it without retention."
            )


ACCESS_LOGGING = PolicySpec(
    name="api-stage-access-logging",
    description="Requires every API Gateway stage to write access logs to a destination, in a format "
                "that carries the required fields.",
    severity=Severity.HIGH,
    remediation_steps=(
        "Set access_log_settings on the stage with destination_arn = the ARN of a log group of this "
        "stack and a JSON format that includes every variable of requiredFormatVariables."
    ),
    config_properties={
        "requiredFormatVariables": string_list(
            "$context variables the access-log format must include.",
            ["$context.requestId", "$context.status", "$context.identity.sourceIp"],
        ),
    },
)


def check_stage_access_logging(resource: ResourceView, config: Config) -> Iterator[str]:
    settings = get(resource.props, "accessLogSettings")
    if is_unknown(settings):
        return
    stage = get(resource.props, "name", default=resource.name)
    label = f"stage '{stage if not is_unknown(stage) else resource.name}' ({resource.name})"
    destination = get(settings, "destinationArn")
    log_format = get(settings, "format")
    if settings is None or destination is None or (isinstance(destination, str) and not destination):
        yield f"{label} has no access logging (accessLogSettings.destinationArn is not set)."
        return
    if is_unknown(log_format):
        return
    if not isinstance(log_format, str) or not log_format.strip():
        yield f"{label} has an access-log destination but no format."
        return
    missing = [v for v in config["requiredFormatVariables"] if v not in log_format]
    if missing:
        yield f"{label} access-log format lacks {', '.join(missing)}."


DATA_PROTECTION = PolicySpec(
    name="dynamodb-data-protection",
    description="Requires DynamoDB tables to have point-in-time recovery and deletion protection "
                "where the stack's config demands them (prod).",
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Enable point_in_time_recovery and deletion_protection_enabled on the table (dataProtection."
        "pointInTimeRecovery / dataProtection.deletionProtection in Pulumi.<stack>.yaml; prod requires both)."
    ),
    config_properties={
        "requirePointInTimeRecovery": {"type": "boolean", "default": True,
                                       "description": "Tables must have PITR enabled."},
        "requireDeletionProtection": {"type": "boolean", "default": True,
                                      "description": "Tables must have deletion protection enabled."},
    },
)


def check_table_protection(resource: ResourceView, config: Config) -> Iterator[str]:
    name = get(resource.props, "name", default=resource.name)
    label = f"DynamoDB table '{name if not is_unknown(name) else resource.name}'"
    if config["requirePointInTimeRecovery"]:
        pitr = get(resource.props, "pointInTimeRecovery", "enabled", default=False)
        if not is_unknown(pitr) and pitr is not True:
            yield f"{label} has no point-in-time recovery."
    if config["requireDeletionProtection"]:
        protected = get(resource.props, "deletionProtectionEnabled", default=False)
        if not is_unknown(protected) and protected is not True:
            yield f"{label} has no deletion protection."


def policies() -> list[Policy]:
    return [
        resource_policy(LOG_GROUP_RETENTION, of_types(LOG_GROUP), check_log_group_retention),
        stack_policy(LAMBDA_LOG_GROUP, check_lambda_log_groups),
        resource_policy(ACCESS_LOGGING, of_types(HTTP_STAGE, REST_STAGE), check_stage_access_logging),
        resource_policy(DATA_PROTECTION, of_types(DYNAMODB_TABLE), check_table_protection),
    ]
