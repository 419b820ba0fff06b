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

from components.service.keys import KEY_ADMIN_ACTIONS, account_root

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
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersKeyThroughIam",
                "Effect": "Allow",
                "Principal": {"AWS": account_root(account_id, partition)},
                "Action": list(KEY_ADMIN_ACTIONS),
                # In a key policy "*" means this key.
                "Resource": "*",
            },
            {
                "Sid": "UseOnlyThroughBackup",
                "Effect": "Allow",
                "Principal": {"AWS": account_root(account_id, partition)},
                "Action": list(VAULT_KEY_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": account_id,
                        "kms:ViaService": [f"backup.{region}.amazonaws.com", f"dynamodb.{region}.amazonaws.com"],
                    }
                },
            },
        ],
    }


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
