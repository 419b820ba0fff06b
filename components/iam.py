"""IAM policy documents as data. Pure functions, so tests check them without Pulumi."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PolicyDocument = dict[str, Any]

# Exactly the data-plane calls app/service/repository.py makes (conditional writes are plain
# Put/Update/Delete with a condition); nothing that changes or describes the table itself.
ITEM_ACTIONS: tuple[str, ...] = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Scan",
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
