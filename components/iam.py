"""IAM policy documents as data. Pure functions, so tests check them without Pulumi."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


# Exactly the calls Powertools' Idempotency utility makes on its DynamoDB persistence table
# (aws_lambda_powertools/utilities/idempotency/persistence/dynamodb.py): read a record, create it
# conditionally, complete it, and delete it when the request failed.
IDEMPOTENCY_ACTIONS: tuple[str, ...] = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
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


@dataclass(frozen=True)
class TableGrant:
    """DynamoDB access of a function to one table, with the ARNs resolved."""

    sid: str
    """Statement id (distinct per table)."""
    table_arn: str
    """The table."""
    actions: Sequence[str]
    """DynamoDB actions on the table and its indexes."""
    index_names: Sequence[str] = ()
    """Indexes the actions extend to."""
    kms_key_arn: str | None = None
    """The table's customer-managed key, used only through DynamoDB."""
    key_sid: str = ""
    """Statement id of the key's statement (default `<sid>Key`)."""


def function_policy(
    *,
    log_group_arn: str,
    tables: Sequence[TableGrant] = (),
    region: str | None = None,
    extra: Sequence[Mapping[str, Any]] = (),
) -> PolicyDocument:
    """Least-privilege inline policy of a Lambda function.

    - logs: create streams and put events in its own log group only (`<group arn>:*` names the
      group's streams, which Lambda names at run time; the group itself is ours, not created by Lambda);
    - X-Ray: segment and telemetry upload, which AWS offers only on Resource "*";
    - DynamoDB: per table, exactly its actions on exactly the table and its named indexes;
    - KMS: use of each table's customer-managed key, and only through DynamoDB;
    - `extra`: what else the function calls, already scoped (a deployment hook's CodeDeploy calls).
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
    for table in tables:
        if not table.actions:
            continue
        statements.append(
            {
                "Sid": table.sid,
                "Effect": "Allow",
                "Action": sorted(table.actions),
                "Resource": [table.table_arn, *(f"{table.table_arn}/index/{index}" for index in table.index_names)],
            }
        )
        if table.kms_key_arn:
            key_statement: dict[str, Any] = {
                "Sid": table.key_sid or f"{table.sid}Key",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                "Resource": [table.kms_key_arn],
            }
            if region:
                key_statement["Condition"] = {"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}}
            statements.append(key_statement)
    statements += [dict(statement) for statement in extra]
    return {"Version": "2012-10-17", "Statement": statements}


def tls_only_bucket_policy(bucket_arn: str) -> PolicyDocument:
    """Refuse any request to the bucket or its objects that does not come over TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    }
