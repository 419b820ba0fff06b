"""RestoreTesting: AWS Backup restores the latest backup of the items table on a schedule, and a small
function validates the restored table before AWS Backup deletes it.

- a restore testing plan (`resilience.restoreTestSchedule`) choosing the latest recovery point of the
  stack's primary vault from the last week, and a selection of the items table by ARN, restored with a
  role that may only create, fill and delete `awsbackup-restore-test-*` tables;
- the validation function (`<prefix>-restore-check`, package `restore_check`): a function like the
  service's own (log group with retention, the stack's logs key in prod, tracing, least-privilege role),
  invoked by an EventBridge rule when a restore job of this plan completes; it reports SUCCESSFUL or
  FAILED with PutRestoreValidationResult. Monitoring watches it like the other functions.

Source: AWS Backup "Restore testing" and "Restore testing validation" (restore-testing.html,
restore-testing-validation.html).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.alerting.documents import partition_of
from components.resilience import documents as docs
from components.service.function import Function, FunctionArgs
from components.service.settings import LambdaConfig
from components.types import RESTORE_TESTING

CHECK_PACKAGE = "restore_check"
CHECK_HANDLER = "restore_check.handler.lambda_handler"
CHECK_TIMEOUT_SECONDS = 120
CHECK_MEMORY_MB = 256
# How long AWS Backup keeps a restored table for validation before deleting it (1-168 hours).
VALIDATION_WINDOW_HOURS = 4
# Recovery points considered: the latest of the last week.
SELECTION_WINDOW_DAYS = 7


def check_function_name(prefix: str) -> str:
    return f"{prefix}-restore-check"


def plan_name(prefix: str) -> str:
    """Restore testing plan names allow letters, digits and underscores only."""
    return f"{prefix.replace('-', '_')}_restore_test"


@dataclass(frozen=True)
class RestoreTestingArgs:
    name_prefix: str
    """Prefix of every physical name, `<service>-<stack>`."""
    service_name: str
    """Powertools service name of the function's logs and traces."""
    region: str
    """The stack's region (the primary vault's)."""
    schedule: str
    """When restore tests run (cron, UTC)."""
    code_dir: Path
    """The Lambda source root (the repository's app/); the function ships its `restore_check` package only."""
    vault_arn: pulumi.Input[str]
    """The primary vault, whose latest recovery point is restored."""
    vault_key_arn: pulumi.Input[str]
    """The vault's key (the restore reads the recovery point through it)."""
    table_arn: pulumi.Input[str]
    """The items table: the protected resource restored, and the source the restored table is compared with."""
    table_name: pulumi.Input[str]
    """The items table's name."""
    hash_key: str
    """Its partition key attribute."""
    index_names: Sequence[str]
    """Its global secondary indexes."""
    function: LambdaConfig
    """The service function's settings (architecture, Powertools layer version, log level)."""
    log_retention_days: int
    """Retention of the function's log group."""
    metrics_namespace: str
    """The service's metrics namespace."""
    table_key_arns: Sequence[pulumi.Input[str]] = field(default_factory=list)
    """The tables' customer-managed keys: the restored table is encrypted like its source."""
    logs_kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed key of the function's log group (prod)."""
    retain_logs: bool = False
    """Keep the function's log group when the stack is destroyed."""
    mask_sensitive_data: bool = False
    """Mask identifiers in its logs like the service's."""


class RestoreTesting(pulumi.ComponentResource):
    """Restore testing plan and selection, the restore role, and the validation function with its trigger."""

    plan_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: RestoreTestingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(RESTORE_TESTING, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        account_id = identity.account_id
        restore_tables = pulumi.Output.all(identity.arn.apply(partition_of), account_id).apply(
            lambda v: docs.restore_test_tables(v[0], args.region, v[1]))

        role = aws.iam.Role(
            f"{name}-role",
            description=f"AWS Backup restores test tables of {args.name_prefix}",
            assume_role_policy=pulumi.Output.json_dumps(account_id.apply(docs.backup_role_trust_policy)),
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(pulumi.Output.all(
                restore_tables, args.vault_arn, args.vault_key_arn, pulumi.Output.all(*args.table_key_arns),
            ).apply(lambda v: docs.restore_role_policy(v[0], v[1], v[2], v[3], region=args.region))),
            opts=child,
        )
        plan = aws.backup.RestoreTestingPlan(
            f"{name}-plan",
            name=plan_name(args.name_prefix),
            schedule_expression=args.schedule,
            start_window_hours=1,
            recovery_point_selection=aws.backup.RestoreTestingPlanRecoveryPointSelectionArgs(
                algorithm="LATEST_WITHIN_WINDOW",
                include_vaults=[args.vault_arn],
                recovery_point_types=["SNAPSHOT"],
                selection_window_days=SELECTION_WINDOW_DAYS,
            ),
            opts=child,
        )
        aws.backup.RestoreTestingSelection(
            f"{name}-selection",
            name=f"{plan_name(args.name_prefix)}_items",
            restore_testing_plan_name=plan.name,
            protected_resource_type="DynamoDB",
            protected_resource_arns=[args.table_arn],
            iam_role_arn=role.arn,
            validation_window_hours=VALIDATION_WINDOW_HOURS,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )

        check = Function(
            f"{name}-function",
            FunctionArgs(
                function_name=check_function_name(args.name_prefix),
                code_dir=args.code_dir,
                handler=CHECK_HANDLER,
                packages=(CHECK_PACKAGE,),
                region=args.region,
                memory_mb=CHECK_MEMORY_MB,
                timeout_seconds=CHECK_TIMEOUT_SECONDS,
                log_retention_days=args.log_retention_days,
                service_name=f"{args.service_name}-restore-check",
                metrics_namespace=args.metrics_namespace,
                architecture=args.function.architecture,
                log_level=args.function.log_level,
                powertools_layer_version=args.function.powertools_layer_version,
                environment={
                    "SOURCE_TABLE": args.table_name,
                    "EXPECTED_HASH_KEY": args.hash_key,
                    "EXPECTED_INDEXES": ",".join(args.index_names),
                },
                extra_statements=pulumi.Output.all(
                    restore_tables, args.table_arn, pulumi.Output.all(*args.table_key_arns),
                ).apply(lambda v: docs.validation_statements(v[0], v[1], v[2], region=args.region)),
                retain_logs=args.retain_logs,
                logs_kms_key_arn=args.logs_kms_key_arn,
                mask_sensitive_data=args.mask_sensitive_data,
            ),
            opts=child,
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-completed",
            name=f"{args.name_prefix}-restore-test-completed",
            description="A restore test of the items table completed: validate the restored table",
            event_pattern=plan.arn.apply(lambda arn: json.dumps(docs.restore_completed_pattern(arn))),
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=check.function_name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-target",
            rule=rule.name,
            arn=check.arn,
            # Validation is worth a retry: the restored table is kept for the validation window.
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(maximum_retry_attempts=2,
                                                                   maximum_event_age_in_seconds=3600),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )

        self.plan_arn = plan.arn
        self.function_name = check.function_name
        self.log_group_name = check.log_group_name
        self.register_outputs({"planArn": self.plan_arn, "functionName": self.function_name,
                               "logGroupName": self.log_group_name})
