"""Key policies of the service's customer-managed KMS keys, as data. Pure functions.

Every key gets an explicit policy, never KMS's default (which grants the account `kms:*`, i.e. lets any
IAM principal whose identity policy allows it decrypt directly). Here the account administers each key
through IAM, but cryptographic use is allowed only through the one service that needs it:

- the table key: DynamoDB (`kms:ViaService dynamodb.<region>.amazonaws.com`) on behalf of this account's
  principals (`kms:CallerAccount`), with the actions AWS documents DynamoDB needs on a customer-managed key;
- the logs key: CloudWatch Logs of the key's region (`logs.<region>.amazonaws.com`), only for this
  stack's log groups (`kms:EncryptionContext:aws:logs:arn`, the encryption context CloudWatch Logs sends).

Sources: DynamoDB "Using and managing customer managed keys" (encryption.usagenotes), CloudWatch Logs
"Encrypt log data in CloudWatch Logs using AWS KMS" (encrypt-log-data-kms).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PolicyDocument = dict[str, Any]

# What administering a key means (AWS's default "key administrators" statement): everything but using
# it to encrypt or decrypt. PutKeyPolicy is among them, so the account can always change the policy
# again (KMS refuses a policy that would lock its author out).
KEY_ADMIN_ACTIONS: tuple[str, ...] = (
    "kms:CancelKeyDeletion",
    "kms:Create*",
    "kms:Delete*",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:Revoke*",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
)

# At a minimum, DynamoDB requires these on a customer-managed key (CreateGrant for its own background
# use, DescribeKey to check the key when the table is created or restored).
DYNAMODB_KEY_ACTIONS: tuple[str, ...] = (
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)

# What CloudWatch Logs needs to encrypt and read back a log group's data.
LOGS_KEY_ACTIONS: tuple[str, ...] = (
    "kms:Decrypt*",
    "kms:Describe*",
    "kms:Encrypt*",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)


def account_root(account_id: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:root"


def administers(account_id: str, partition: str = "aws") -> dict[str, Any]:
    """The statement every customer-managed key of the stack starts with: the account administers it
    through IAM (only its own policies grant use)."""
    return {
        "Sid": "AccountAdministersKeyThroughIam",
        "Effect": "Allow",
        "Principal": {"AWS": account_root(account_id, partition)},
        "Action": list(KEY_ADMIN_ACTIONS),
        # In a key policy "*" means this key.
        "Resource": "*",
    }


def key_policy(account_id: str, *uses: dict[str, Any], partition: str = "aws") -> PolicyDocument:
    """A key policy of the stack: the account administers the key (`administers`), then who may use it."""
    return {"Version": "2012-10-17", "Statement": [administers(account_id, partition), *uses]}


def used_only_through(
    sid: str, account_id: str, actions: Sequence[str], via: str | list[str], partition: str = "aws"
) -> dict[str, Any]:
    """The account's principals may use the key, and only through `via` (AWS services' endpoints)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": account_root(account_id, partition)},
        "Action": list(actions),
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": account_id, "kms:ViaService": via}},
    }


def table_key_policy(account_id: str, region: str, partition: str = "aws") -> PolicyDocument:
    """A DynamoDB table key: administered by the account, used only by DynamoDB for the account."""
    return key_policy(account_id, used_only_through(
        "UseOnlyThroughDynamoDB", account_id, DYNAMODB_KEY_ACTIONS, f"dynamodb.{region}.amazonaws.com", partition,
    ), partition=partition)


def log_group_arn_patterns(account_id: str, region: str, names: Sequence[str], partition: str = "aws") -> list[str]:
    """ARN patterns (ArnLike) of log groups by name pattern, e.g. `/aws/lambda/catalog-prod-*`."""
    return [f"arn:{partition}:logs:{region}:{account_id}:log-group:{name}" for name in names]


def logs_key_policy(
    account_id: str, region: str, log_group_patterns: Sequence[str], partition: str = "aws"
) -> PolicyDocument:
    """A log-group key: administered by the account, used only by CloudWatch Logs for these log groups."""
    if not log_group_patterns:
        raise ValueError("a logs key needs the log groups it may encrypt")
    return key_policy(
        account_id,
        {
            "Sid": "CloudWatchLogsEncryptsThisStacksGroups",
            "Effect": "Allow",
            # CloudWatch Logs' principal is regional and must be the key's own region.
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": list(LOGS_KEY_ACTIONS),
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": log_group_arn_patterns(
                        account_id, region, log_group_patterns, partition
                    )
                }
            },
        },
        partition=partition,
    )
