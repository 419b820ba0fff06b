"""ServiceBackup: AWS Backup for a stack's tables, with a copy of every backup in a second region.

- a vault in the stack's region and one in the copy region, each under its own customer-managed key with
  an explicit policy (components/resilience/documents.py); a copy is re-encrypted with the destination
  vault's key;
- a plan: one rule on `resilience.backupSchedule`, kept `retentionDays` (cold after
  `coldStorageAfterDays`), with a copy action to the second vault kept `copyRetentionDays`;
- a selection of the tables by ARN, backed up by a role that may touch only them, the two vaults and
  their keys;
- the primary vault's notifications to the warning topic: completed backups and restores (a failed one
  arrives as completed with its state) and failed copies;
- with `vaultLock`, a lock in governance mode on both vaults.

DynamoDB backups are copied across regions only as *advanced* DynamoDB backups. A backup plan opts the
account's region in by itself (AWS Backup "Advanced DynamoDB backup", Considerations: "Backups created by
a plan or on-demand will automatically opt-in"), so the stack leaves the account-wide Region settings
alone; the backup runbook says how to check them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.alerting.documents import partition_of
from components.resilience import documents as docs
from components.resilience.settings import ResilienceConfig
from components.types import SERVICE_BACKUP


@dataclass(frozen=True)
class ServiceBackupArgs:
    name_prefix: str
    """Prefix of every physical name, `<service>-<stack>`."""
    region: str
    """The stack's region (the primary vault's)."""
    config: ResilienceConfig
    """The stack's resilience config (enabled, with a copy region)."""
    table_arns: Sequence[pulumi.Input[str]]
    """The tables to back up, by ARN."""
    copy_provider: aws.Provider
    """Explicit provider of the copy region (same default tags as the stack's)."""
    notification_topic_arn: pulumi.Input[str]
    """Alert topic that receives the primary vault's job notifications (its policy lets AWS Backup publish)."""
    table_key_arns: Sequence[pulumi.Input[str]] = field(default_factory=list)
    """The tables' customer-managed keys, if any: the backup role reads through them via DynamoDB."""
    retain: bool = False
    """Pulumi `protect` and `retainOnDelete` on the vaults and their keys (losing a key loses its backups)."""


class ServiceBackup(pulumi.ComponentResource):
    """Two vaults (this region and the copy region), a plan with a copy action, the selection of the tables,
    notifications, and in prod a governance-mode vault lock."""

    vault_name: pulumi.Output[str]
    vault_arn: pulumi.Output[str]
    vault_key_arn: pulumi.Output[str]
    copy_vault_arn: pulumi.Output[str]
    plan_id: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceBackupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(SERVICE_BACKUP, name, None, opts)
        config = args.config
        if not config.enabled or config.copy_region is None:
            raise ValueError("ServiceBackup needs resilience.enabled and resilience.copyRegion")
        child = pulumi.ResourceOptions(parent=self)
        in_copy_region = pulumi.ResourceOptions(parent=self, provider=args.copy_provider)

        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        account_id = identity.account_id

        vault, vault_key = self._vault(name, args, "primary", args.region, child)
        copy_vault, copy_key = self._vault(f"{name}-copy", args, "copy", config.copy_region, in_copy_region)

        role = aws.iam.Role(
            f"{name}-role",
            description=f"AWS Backup backs up and copies the tables of {args.name_prefix}",
            assume_role_policy=pulumi.Output.json_dumps(account_id.apply(docs.backup_role_trust_policy)),
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                pulumi.Output.all(
                    pulumi.Output.all(*args.table_arns),
                    pulumi.Output.all(vault.arn, copy_vault.arn),
                    pulumi.Output.all(vault_key.arn, copy_key.arn),
                    pulumi.Output.all(*args.table_key_arns),
                ).apply(lambda v: docs.backup_role_policy(v[0], v[1], v[2], v[3], region=args.region))
            ),
            opts=child,
        )

        plan = aws.backup.Plan(
            f"{name}-plan",
            name=f"{args.name_prefix}-backup",
            rules=[aws.backup.PlanRuleArgs(
                rule_name="scheduled",
                target_vault_name=vault.name,
                schedule=config.backup_schedule,
                # A backup that has not started within the hour is skipped, and the next one is the
                # recovery point; one that runs longer than a day is cancelled (the next one is due).
                start_window=60,
                completion_window=1440,
                lifecycle=aws.backup.PlanRuleLifecycleArgs(
                    delete_after=config.retention_days, cold_storage_after=config.cold_storage_after_days,
                ),
                copy_actions=[aws.backup.PlanRuleCopyActionArgs(
                    destination_vault_arn=copy_vault.arn,
                    lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(
                        delete_after=config.copy_days, cold_storage_after=config.cold_storage_after_days,
                    ),
                )],
            )],
            opts=child,
        )
        aws.backup.Selection(
            f"{name}-selection",
            name=f"{args.name_prefix}-tables",
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=list(args.table_arns),
            # The role's permissions first: a job started before them would fail AccessDenied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        aws.backup.VaultNotifications(
            f"{name}-notifications",
            backup_vault_name=vault.name,
            sns_topic_arn=args.notification_topic_arn,
            backup_vault_events=list(docs.NOTIFIED_EVENTS),
            opts=child,
        )
        if config.vault_lock:
            # Governance mode (no changeable_for_days): a principal allowed
            # backup:DeleteBackupVaultLockConfiguration can still lift it, which compliance mode would
            # forbid forever after its grace time, even to AWS (see the README).
            aws.backup.VaultLockConfiguration(
                f"{name}-vault-lock", backup_vault_name=vault.name, min_retention_days=config.retention_days,
                opts=child,
            )
            aws.backup.VaultLockConfiguration(
                f"{name}-copy-vault-lock", backup_vault_name=copy_vault.name, min_retention_days=config.copy_days,
                opts=in_copy_region,
            )

        self.vault_name = vault.name
        self.vault_arn = vault.arn
        self.vault_key_arn = vault_key.arn
        self.copy_vault_arn = copy_vault.arn
        self.plan_id = plan.id
        self.role_arn = role.arn
        self.register_outputs({
            "vaultName": self.vault_name,
            "vaultArn": self.vault_arn,
            "copyVaultArn": self.copy_vault_arn,
            "planId": self.plan_id,
            "roleArn": self.role_arn,
        })

    def _vault(
        self, name: str, args: ServiceBackupArgs, role: str, region: str, opts: pulumi.ResourceOptions
    ) -> tuple[aws.backup.Vault, aws.kms.Key]:
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        retained = pulumi.ResourceOptions(protect=args.retain, retain_on_delete=args.retain)
        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts the {role} backup vault of {args.name_prefix}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(
                pulumi.Output.all(identity.account_id, identity.arn).apply(
                    lambda v: docs.vault_key_policy(v[0], region, partition_of(v[1]))
                )
            ),
            opts=pulumi.ResourceOptions.merge(opts, retained),
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/{docs.vault_name(args.name_prefix, role)}",
            target_key_id=key.key_id,
            opts=opts,
        )
        vault = aws.backup.Vault(
            f"{name}-vault",
            name=docs.vault_name(args.name_prefix, role),
            kms_key_arn=key.arn,
            opts=pulumi.ResourceOptions.merge(opts, retained),
        )
        return vault, key
