"""IAM policy documents as data. Pure functions, so tests check them without Pulumi."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PolicyDocument = dict[str, Any]

# Actions that AWS does not scope to any resource type: "*" is the only Resource they accept.
# Listed once here; the policy pack's security rule uses the same allow-list.
RESOURCELESS_ACTIONS: frozenset[str] = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "cloudwatch:PutMetricData",
        # Listed by AWS among the permissions a Synthetics canary's role must have; S3 offers it on "*" only.
        "s3:ListAllMyBuckets",
    }
)

# The data-plane actions the catalog service performs; nothing that changes the table itself.
ITEM_ACTIONS: tuple[str, ...] = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
)


def assume_role_policy(service: str, source_account: str | None = None) -> PolicyDocument:
    """Trust policy letting one AWS service assume the role, optionally only for our account."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def function_policy(
    *,
    log_group_arn: str,
    table_arn: str | None = None,
    index_names: Sequence[str] = (),
    table_actions: Sequence[str] = (),
    kms_key_arn: str | None = None,
    region: str | None = None,
) -> PolicyDocument:
    """Least-privilege inline policy of a Lambda function.

    - logs: create streams and put events in its own log group only (`<group arn>:*` names the
      group's streams, which Lambda names at run time; the group itself is ours, not created by Lambda);
    - X-Ray: segment and telemetry upload, which AWS offers only on Resource "*";
    - DynamoDB: exactly the given actions on exactly the table and its named indexes;
    - KMS: use of the table's customer-managed key, and only through DynamoDB.
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteOwnLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:*"],
        },
        {
            "Sid": "XRayWrite",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            # X-Ray has no resource-level permissions for these actions; "*" is the only form.
            "Resource": "*",
        },
    ]
    if table_arn and table_actions:
        statements.append(
            {
                "Sid": "TableItems",
                "Effect": "Allow",
                "Action": sorted(table_actions),
                "Resource": [table_arn, *(f"{table_arn}/index/{index}" for index in index_names)],
            }
        )
    if kms_key_arn:
        key_statement: dict[str, Any] = {
            "Sid": "TableKeyViaDynamoDB",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            "Resource": [kms_key_arn],
        }
        if region:
            key_statement["Condition"] = {"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}}
        statements.append(key_statement)
    return {"Version": "2012-10-17", "Statement": statements}


def wildcard_findings(document: PolicyDocument, allowed_actions: frozenset[str] = RESOURCELESS_ACTIONS) -> list[str]:
    """Every `*` action or resource in a policy document that the allow-list does not excuse.

    A resource ending in `:*` or `/*` under a concrete ARN is a scoped pattern, not a wildcard.
    """
    findings: list[str] = []
    for index, statement in enumerate(_as_list(document.get("Statement"))):
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        for action in actions:
            if action == "*" or action.endswith(":*"):
                findings.append(f"Statement[{index}] allows wildcard action {action!r}")
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
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


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
