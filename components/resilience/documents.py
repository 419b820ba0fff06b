"""AWS Backup documents of a stack, as data: names, the vault keys' policy, the backup role's policies,
the vault events that notify. Pure functions.

- Each vault has its own customer-managed key with an explicit policy: the account administers it through
  IAM, and the key is used only through AWS Backup (and DynamoDB, which restores an advanced DynamoDB
  backup into a new table) of the key's region, on behalf of this account (`kms:ViaService`,
  `kms:CallerAccount`).
- The backup role may back up only the tables it is handed, write only into this stack's two vaults, and
  use only their keys and the tables' keys, each through the service that needs it. Its actions are those of
  AWS's `AWSBackupServiceRolePolicyForBackup` for DynamoDB (advanced DynamoDB backups:
  `dynamodb:StartAwsBackupJob`) and for copies (`backup:CopyIntoBackupVault`), narrowed to these resources.

Sources: AWS Backup "Advanced DynamoDB backup" (advanced-ddb-backup), "Creating backup copies across AWS
Regions" (cross-region-backup: the copy is re-encrypted with the destination vault's key), "Managed policies
for AWS Backup" (security-iam-awsmanpol), PutBackupVaultNotifications (BackupVaultEvents).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.iam import tls_only_bucket_policy
from components.service.keys import account_root, key_policy, used_only_through

PolicyDocument = dict[str, Any]

BACKUP_SERVICE = "backup.amazonaws.com"

# Only the events AWS Backup still sends: BACKUP_JOB_FAILED and RESTORE_JOB_FAILED are deprecated and
# never fire; a failed backup or restore arrives as *_COMPLETED with its state in the message.
NOTIFIED_EVENTS: tuple[str, ...] = ("BACKUP_JOB_COMPLETED", "COPY_JOB_FAILED", "RESTORE_JOB_COMPLETED")

# What AWS Backup (and DynamoDB restoring from it) does with a vault's key.
VAULT_KEY_ACTIONS: tuple[str, ...] = (
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)

# AWSBackupServiceRolePolicyForBackup, DynamoDB part: describe and back up the table (advanced backups
# through StartAwsBackupJob, which carries its tags), and manage the table-level backups it creates.
TABLE_BACKUP_ACTIONS: tuple[str, ...] = (
    "dynamodb:CreateBackup",
    "dynamodb:DescribeTable",
    "dynamodb:ListTagsOfResource",
    "dynamodb:StartAwsBackupJob",
)
TABLE_BACKUP_RECORD_ACTIONS: tuple[str, ...] = ("dynamodb:DeleteBackup", "dynamodb:DescribeBackup")
TABLE_KEY_ACTIONS: tuple[str, ...] = ("kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*")


def vault_name(prefix: str, role: str) -> str:
    """`catalog-prod-backup` (the stack's region) or `catalog-prod-backup-copy` (the second region)."""
    return f"{prefix}-backup" if role == "primary" else f"{prefix}-backup-{role}"


def vault_arn(partition: str, region: str, account_id: str, name: str) -> str:
    return f"arn:{partition}:backup:{region}:{account_id}:backup-vault:{name}"


def vault_key_policy(account_id: str, region: str, partition: str = "aws") -> PolicyDocument:
    """A vault key: administered by the account, used only through AWS Backup or DynamoDB of its region."""
    return key_policy(account_id, used_only_through(
        "UseOnlyThroughBackup", account_id, VAULT_KEY_ACTIONS,
        [f"backup.{region}.amazonaws.com", f"dynamodb.{region}.amazonaws.com"], partition,
    ), partition=partition)


def backup_role_trust_policy(account_id: str) -> PolicyDocument:
    """AWS Backup assumes the role, for this account only (confused deputy)."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": BACKUP_SERVICE},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }],
    }


def backup_role_policy(
    table_arns: Sequence[str],
    vault_arns: Sequence[str],
    vault_key_arns: Sequence[str],
    table_key_arns: Sequence[str] = (),
    *,
    region: str,
) -> PolicyDocument:
    """What AWS Backup may do with the role: back up these tables into these vaults and copy between them."""
    if not table_arns or not vault_arns:
        raise ValueError("a backup role needs the tables it backs up and the vaults it writes to")
    statements: list[dict[str, Any]] = [
        {"Sid": "BackUpTheTables", "Effect": "Allow", "Action": list(TABLE_BACKUP_ACTIONS),
         "Resource": list(table_arns)},
        {"Sid": "ManageTheirBackups", "Effect": "Allow", "Action": list(TABLE_BACKUP_RECORD_ACTIONS),
         "Resource": [f"{arn}/backup/*" for arn in table_arns]},
        {"Sid": "WriteAndCopyIntoTheVaults", "Effect": "Allow",
         "Action": ["backup:CopyIntoBackupVault", "backup:DescribeBackupVault"], "Resource": list(vault_arns)},
        {"Sid": "UseTheVaultKeys", "Effect": "Allow", "Action": list(VAULT_KEY_ACTIONS),
         "Resource": list(vault_key_arns)},
    ]
    if table_key_arns:
        statements.append({
            "Sid": "ReadTheTablesThroughDynamoDB", "Effect": "Allow", "Action": list(TABLE_KEY_ACTIONS),
            "Resource": list(table_key_arns),
            "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
        })
    return {"Version": "2012-10-17", "Statement": statements}


# --- the log archive ------------------------------------------------------------------------------
# CloudWatch Logs subscription filters -> Firehose -> an S3 bucket encrypted with the archive key.
# Sources: CloudWatch Logs "Subscription filters with Amazon Data Firehose" (SubscriptionFilters.html:
# the role CloudWatch Logs assumes, trusted by logs.<region> with an aws:SourceArn condition), Firehose
# "Grant Firehose access to an Amazon S3 destination" (controlling-access.html: the S3 actions, kms with
# kms:ViaService s3 and the object ARN as encryption context, sts:ExternalId = the account id).

ARCHIVE_S3_ACTIONS: tuple[str, ...] = (
    "s3:AbortMultipartUpload",
    "s3:GetBucketLocation",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:PutObject",
)
ARCHIVE_KEY_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey")


def archive_key_policy(account_id: str, region: str, partition: str = "aws") -> PolicyDocument:
    """The archive bucket's key: administered by the account, used only through S3 of its region."""
    return key_policy(account_id, used_only_through(
        "UseOnlyThroughS3", account_id,
        ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
        f"s3.{region}.amazonaws.com", partition,
    ), partition=partition)


def firehose_trust_policy(account_id: str) -> PolicyDocument:
    """Firehose assumes the delivery role for this account's streams only (its external id is the account)."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "firehose.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": account_id}},
        }],
    }


def firehose_delivery_policy(bucket_arn: str, key_arn: str, region: str) -> PolicyDocument:
    """Write into the archive bucket, encrypting with its key through S3 for objects of this bucket only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "WriteTheArchive", "Effect": "Allow", "Action": list(ARCHIVE_S3_ACTIONS),
             "Resource": [bucket_arn, f"{bucket_arn}/*"]},
            {"Sid": "EncryptThroughS3", "Effect": "Allow", "Action": list(ARCHIVE_KEY_ACTIONS), "Resource": [key_arn],
             "Condition": {
                 "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
                 "StringLike": {"kms:EncryptionContext:aws:s3:arn": f"{bucket_arn}/*"},
             }},
        ],
    }


def logs_to_firehose_trust_policy(account_id: str, region: str, partition: str = "aws") -> PolicyDocument:
    """CloudWatch Logs of this region assumes the role, for this account's log groups only."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringLike": {"aws:SourceArn": f"arn:{partition}:logs:{region}:{account_id}:*"}},
        }],
    }


def logs_to_firehose_policy(stream_arn: str) -> PolicyDocument:
    """Put records into the archive stream, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "PutIntoTheArchiveStream", "Effect": "Allow",
                       "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"], "Resource": [stream_arn]}],
    }


# --- the audit trail ------------------------------------------------------------------------------
# Sources: CloudTrail "Configure AWS KMS key policies for CloudTrail" (create-kms-key-policy-for-cloudtrail:
# encrypt with the trail's ARN as encryption context and aws:SourceArn, describe, decrypt for the account)
# and "Amazon S3 bucket policy for CloudTrail" (create-s3-bucket-policy-for-cloudtrail: GetBucketAcl and
# PutObject under AWSLogs/<account>/ with bucket-owner-full-control, both conditioned on aws:SourceArn).

def trail_arn(partition: str, region: str, account_id: str, name: str) -> str:
    return f"arn:{partition}:cloudtrail:{region}:{account_id}:trail/{name}"


def trail_key_policy(account_id: str, trail: str, partition: str = "aws") -> PolicyDocument:
    """The trail's key: CloudTrail encrypts with it for this trail only; the account reads what it wrote."""
    trails = f"arn:{partition}:cloudtrail:*:{account_id}:trail/*"
    return key_policy(
        account_id,
        {
            "Sid": "CloudTrailEncryptsThisTrail",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceArn": trail},
                          "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": trails}},
        },
        {
            "Sid": "CloudTrailDescribesKey",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceArn": trail}},
        },
        {
            "Sid": "AccountReadsTrailLogs",
            "Effect": "Allow",
            "Principal": {"AWS": account_root(account_id, partition)},
            "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": account_id},
                          "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": trails}},
        },
        partition=partition,
    )


def trail_bucket_policy(bucket_arn: str, account_id: str, trail: str) -> PolicyDocument:
    """CloudTrail may check the bucket's ACL and write this trail's log files; nothing comes in over plain HTTP."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": bucket_arn,
                "Condition": {"StringEquals": {"aws:SourceArn": trail}},
            },
            {
                "Sid": "CloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/AWSLogs/{account_id}/*",
                "Condition": {"StringEquals": {"aws:SourceArn": trail, "s3:x-amz-acl": "bucket-owner-full-control"}},
            },
            *tls_only_bucket_policy(bucket_arn)["Statement"],
        ],
    }


def trail_event_selectors(table_arns: Sequence[object], management: bool, data: bool) -> list[dict[str, Any]]:
    """Advanced event selectors: the region's management events, and the data events of these tables only.

    The ARNs as text or as the tables' outputs: the selectors are inputs of the trail, which resolves them."""
    selectors: list[dict[str, Any]] = []
    if management:
        selectors.append({"name": "Management events",
                          "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}]})
    if data and table_arns:
        selectors.append({"name": "Data events of the stack's tables", "fieldSelectors": [
            {"field": "eventCategory", "equals": ["Data"]},
            {"field": "resources.type", "equals": ["AWS::DynamoDB::Table"]},
            {"field": "resources.ARN", "equals": list(table_arns)},
        ]})
    return selectors


# --- restore testing ------------------------------------------------------------------------------
# AWS Backup names a restore test's table `awsbackup-restore-test-<random>` (AWS Backup "Restore testing
# inferred metadata", DynamoDB targetTableName); the restore role and the validation function may touch
# those tables only. The restore role's DynamoDB actions are those of AWS's
# AWSBackupServiceRolePolicyForRestores for DynamoDB (advanced backups restore through
# RestoreTableFromAwsBackup); restore testing deletes the table again with the same role.

RESTORE_TEST_TABLE_PREFIX = "awsbackup-restore-test-"
RESTORE_TABLE_ACTIONS: tuple[str, ...] = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteTable",
    "dynamodb:DescribeTable",
    "dynamodb:PutItem",
    "dynamodb:RestoreTableFromAwsBackup",
    "dynamodb:UpdateContinuousBackups",
    "dynamodb:UpdateTimeToLive",
)
VALIDATION_ACTIONS: tuple[str, ...] = ("dynamodb:DescribeTable", "dynamodb:Scan")


def restore_test_tables(partition: str, region: str, account_id: str) -> str:
    return f"arn:{partition}:dynamodb:{region}:{account_id}:table/{RESTORE_TEST_TABLE_PREFIX}*"


def restore_role_policy(
    restore_tables: str, vault_arn: str, vault_key_arn: str, table_key_arns: Sequence[str] = (), *, region: str
) -> PolicyDocument:
    """Restore a backup of the vault into a restore-test table (and delete it after validation)."""
    statements: list[dict[str, Any]] = [
        {"Sid": "RestoreIntoTestTables", "Effect": "Allow", "Action": list(RESTORE_TABLE_ACTIONS),
         "Resource": [restore_tables, f"{restore_tables.removesuffix('*')}*/index/*"]},
        {"Sid": "ReadTheVault", "Effect": "Allow", "Action": ["backup:DescribeBackupVault"], "Resource": [vault_arn]},
        {"Sid": "UseTheVaultKey", "Effect": "Allow", "Action": list(VAULT_KEY_ACTIONS), "Resource": [vault_key_arn]},
    ]
    if table_key_arns:
        # The restored table is encrypted like its source (restore testing infers kmsMasterKeyArn).
        statements.append({
            "Sid": "EncryptTheRestoredTable", "Effect": "Allow", "Action": [*TABLE_KEY_ACTIONS, "kms:Encrypt"],
            "Resource": list(table_key_arns),
            "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
        })
    return {"Version": "2012-10-17", "Statement": statements}


def validation_statements(
    restore_tables: str, source_table_arn: str, table_key_arns: Sequence[str] = (), *, region: str
) -> list[dict[str, Any]]:
    """The validation function's own grants: read restore-test tables, describe the source, report results."""
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadRestoreTestTables", "Effect": "Allow", "Action": list(VALIDATION_ACTIONS),
         "Resource": [restore_tables]},
        {"Sid": "DescribeTheSourceTable", "Effect": "Allow", "Action": ["dynamodb:DescribeTable"],
         "Resource": [source_table_arn]},
        # PutRestoreValidationResult has no resource type in IAM (a restore job is not one): "*" only.
        {"Sid": "ReportValidationResults", "Effect": "Allow", "Action": ["backup:PutRestoreValidationResult"],
         "Resource": "*"},
    ]
    if table_key_arns:
        statements.append({
            "Sid": "DecryptThroughDynamoDB", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": list(table_key_arns),
            "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
        })
    return statements


def restore_completed_pattern(restore_testing_plan_arn: str) -> dict[str, Any]:
    """EventBridge pattern: a restore job of this restore testing plan completed."""
    return {
        "source": ["aws.backup"],
        "detail-type": ["Restore Job State Change"],
        "detail": {"status": ["COMPLETED"], "restoreTestingPlanArn": [restore_testing_plan_arn]},
    }
