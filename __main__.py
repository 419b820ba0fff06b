"""prodready: one serverless service and its operations layer, per stack.

Reads and validates the stack config once, then composes the components. Nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws

from app.service.metrics_catalog import BUSINESS_METRICS
from app.service.routes import PUBLIC_ROUTE_KEYS, READ_SCOPE, ROUTE_KEYS, ROUTE_SCOPES, SCOPES
from app.service.schema import TABLE_HASH_KEY
from components.alerting.documents import BACKUP_PUBLISHER, PUBLISHERS
from components.config import load_stack_config, raw_pulumi_config
from components.cost.cost_guard import CostGuard, CostGuardArgs
from components.delivery.hook import HOOK_MEMORY_MB, HOOK_TIMEOUT_SECONDS, PreTrafficHook, PreTrafficHookArgs
from components.delivery.safe_delivery import SafeDelivery, SafeDeliveryArgs
from components.iam import IDEMPOTENCY_ACTIONS, ITEM_ACTIONS
from components.monitoring.kinds import WatchedApi, WatchedFunction, WatchedStream, WatchedTable, WatchedVault
from components.monitoring.kinds.table import dynamodb_operations
from components.monitoring.monitoring import OWN_WATCHED, ServiceMonitoring, ServiceMonitoringArgs
from components.resilience import documents as backup_documents
from components.resilience.archive import LogArchive, LogArchiveArgs, stream_name
from components.resilience.audit import AuditTrail, AuditTrailArgs
from components.resilience.backup import ServiceBackup, ServiceBackupArgs
from components.resilience.restore_testing import (
    CHECK_MEMORY_MB,
    CHECK_TIMEOUT_SECONDS,
    RestoreTesting,
    RestoreTestingArgs,
    check_function_name,
)
from components.service.function import source_version
from components.service.service import LIVE_ALIAS, ServerlessService, ServerlessServiceArgs, ServiceAccess

ROOT = Path(__file__).resolve().parent
# What monitoring watches of the service, by key (alarm and resource names carry it) and scope; config
# may override thresholds per key (`monitoring.thresholds`, `<key>/<alarm kind>`).
FUNCTION, API, TABLE, IDEMPOTENCY, HOOK = "api", "http", "table", "idempotency", "pre-traffic"
BACKUP, LOG_ARCHIVE, RESTORE_CHECK = "backup", "log-archive", "restore-check"
WATCHED = {FUNCTION: "function", API: "api", TABLE: "table", IDEMPOTENCY: "table", HOOK: "function",
           BACKUP: "vault", LOG_ARCHIVE: "archive", RESTORE_CHECK: "function", **OWN_WATCHED}
SERVICE_PACKAGES = ("service",)

# Validated before anything is registered: a bad stack file creates no resources at all.
config = load_stack_config(pulumi.get_stack(), raw_pulumi_config(), route_keys=ROUTE_KEYS, watched=WATCHED)
# Incident-tool webhooks are secrets kept outside the prodready namespace (`pulumi config set --secret`);
# read here, before any resource, so a missing one also stops the program with nothing half-created.
webhooks = {
    severity: pulumi.Config(key.split(":", 1)[0]).require_secret(key.split(":", 1)[1])
    for severity, key in config.monitoring.webhook_secrets.items()
}

# Every resource goes through this provider; its default tags tag everything taggable.
provider = aws.Provider(
    "aws",
    region=config.region,
    default_tags=aws.ProviderDefaultTagsArgs(tags=config.tags),
)
with_provider = pulumi.ResourceOptions(providers=[provider])
resilience = config.resilience
# The second region's resources (the copy vault and its key) go through their own provider, tagged alike.
copy_provider = (
    aws.Provider(
        "aws-copy",
        region=resilience.copy_region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=config.tags),
    )
    if resilience.enabled and resilience.copy_region
    else None
)

service = ServerlessService(
    config.service,
    ServerlessServiceArgs(
        service_name=config.service,
        name_prefix=config.prefix,
        region=config.region,
        code_dir=ROOT / "app",
        handler="service.handler.lambda_handler",
        packages=SERVICE_PACKAGES,
        route_keys=ROUTE_KEYS,
        access=ServiceAccess(scopes=SCOPES, route_scopes=ROUTE_SCOPES, public_route_keys=PUBLIC_ROUTE_KEYS),
        table_hash_key=TABLE_HASH_KEY,
        function=config.lambda_,
        api=config.api,
        logs=config.logs,
        table=config.table,
        data_protection=config.data_protection,
        environment=config.environment,
    ),
    opts=with_provider,
)

# CodeDeploy calls it before any traffic moves to a new version; monitoring watches it like any function.
hook = (
    PreTrafficHook(
        f"{config.service}-pre-traffic",
        PreTrafficHookArgs(
            name_prefix=config.prefix,
            service_name=config.service,
            region=config.region,
            code_dir=ROOT / "app",
            target_function_arn=service.function_arn,
            function=config.lambda_,
            log_retention_days=config.logs.retention_days,
            metrics_namespace=service.metrics_namespace,
            read_scope=service.token_scope(READ_SCOPE),
            logs_kms_key_arn=service.logs_kms_key_arn,
            retain_logs=config.data_protection.protect_resources,
            mask_sensitive_data=config.logs.mask_sensitive_data,
        ),
        opts=with_provider,
    )
    if config.delivery.pre_traffic_check
    else None
)

monitoring = ServiceMonitoring(
    f"{config.service}-monitoring",
    ServiceMonitoringArgs(
        service_name=config.service,
        name_prefix=config.prefix,
        region=config.region,
        metrics_namespace=service.metrics_namespace,
        config=config.monitoring,
        watched=[
            WatchedFunction(
                key=FUNCTION,
                function_name=service.function_name,
                log_group_name=service.log_group_name,
                timeout_seconds=config.lambda_.timeout_seconds,
                memory_mb=config.lambda_.memory_mb,
                metrics_namespace=service.metrics_namespace,
                reserved_concurrency=config.lambda_.reserved_concurrency,
                alias=LIVE_ALIAS,
            ),
            *(
                [WatchedFunction(
                    key=HOOK,
                    function_name=hook.function_name,
                    log_group_name=hook.log_group_name,
                    timeout_seconds=HOOK_TIMEOUT_SECONDS,
                    memory_mb=HOOK_MEMORY_MB,
                    metrics_namespace=service.metrics_namespace,
                    # Two or three invocations per release; a failure fails the release, which says so.
                    min_invocations=1,
                    pages=False,
                )]
                if hook is not None
                else []
            ),
            WatchedApi(
                key=API,
                api_id=service.api_id,
                stage_name=service.stage_name,
                url=service.api_url,
                access_log_group_name=service.access_log_group_name,
                metrics_namespace=service.metrics_namespace,
                throttling_rate_limit=config.api.throttling_rate_limit,
            ),
            WatchedTable(
                key=TABLE,
                table_name=service.table_name,
                index_names=service.table_index_names,
                operations=dynamodb_operations(ITEM_ACTIONS),
            ),
            WatchedTable(
                key=IDEMPOTENCY,
                table_name=service.idempotency_table_name,
                operations=dynamodb_operations(IDEMPOTENCY_ACTIONS),
            ),
            *(
                [WatchedVault(key=BACKUP, vault_name=backup_documents.vault_name(config.prefix, "primary"))]
                if copy_provider is not None
                else []
            ),
            *([WatchedStream(key=LOG_ARCHIVE, stream_name=stream_name(config.prefix))]
              if config.log_archive.enabled else []),
            # The restore-test validation (created with the backups, below): its names are fixed.
            *(
                [WatchedFunction(
                    key=RESTORE_CHECK,
                    function_name=check_function_name(config.prefix),
                    log_group_name=f"/aws/lambda/{check_function_name(config.prefix)}",
                    timeout_seconds=CHECK_TIMEOUT_SECONDS,
                    memory_mb=CHECK_MEMORY_MB,
                    metrics_namespace=service.metrics_namespace,
                    # One invocation per restore test; a failed validation logs at ERROR, which warns.
                    min_invocations=1,
                    pages=False,
                )]
                if copy_provider is not None and resilience.restore_test_schedule
                else []
            ),
        ],
        business_metrics=BUSINESS_METRICS,
        webhook_endpoints=webhooks,
        # AWS Backup notifies the warning topic of failed jobs.
        publishers=(*PUBLISHERS, BACKUP_PUBLISHER) if copy_provider is not None else tuple(PUBLISHERS),
    ),
    opts=with_provider,
)

# Every new version reaches traffic through CodeDeploy: the hook first, then the configured shift, judged
# by the release alarms; `pulumi up` waits for the release and fails if it rolled back.
delivery = SafeDelivery(
    f"{config.service}-delivery",
    SafeDeliveryArgs(
        name_prefix=config.prefix,
        region=config.region,
        delivery=config.delivery,
        function_name=service.function_name,
        function_arn=service.function_arn,
        alias_name=service.alias_name,
        alias_arn=service.alias_arn,
        target_version=service.function_version,
        alarm_names=monitoring.release_alarm_names,
        hook_function_name=hook.function_name if hook is not None else None,
        hook_function_arn=hook.function_arn if hook is not None else None,
        notification_topic_arn=monitoring.alert_topic_arns["warning"],
        notification_key_arn=monitoring.alert_key_arn,
        source_version=source_version(ROOT / "app", SERVICE_PACKAGES),
    ),
    opts=with_provider,
)

# Daily backups of both tables, copied to the second region, failed jobs notified to the warning topic.
backup = (
    ServiceBackup(
        f"{config.service}-backup",
        ServiceBackupArgs(
            name_prefix=config.prefix,
            region=config.region,
            config=resilience,
            table_arns=[service.table_arn, service.idempotency_table_arn],
            table_key_arns=service.table_key_arns,
            copy_provider=copy_provider,
            notification_topic_arn=monitoring.alert_topic_arns["warning"],
            retain=config.data_protection.protect_resources,
        ),
        opts=with_provider,
    )
    if copy_provider is not None
    else None
)

# Each restore test restores the latest backup of the items table; a function validates it.
restore_testing = (
    RestoreTesting(
        f"{config.service}-restore-test",
        RestoreTestingArgs(
            name_prefix=config.prefix,
            service_name=config.service,
            region=config.region,
            schedule=resilience.restore_test_schedule,
            code_dir=ROOT / "app",
            vault_arn=backup.vault_arn,
            vault_key_arn=backup.vault_key_arn,
            table_arn=service.table_arn,
            table_name=service.table_name,
            hash_key=TABLE_HASH_KEY,
            index_names=service.table_index_names,
            function=config.lambda_,
            log_retention_days=config.logs.retention_days,
            metrics_namespace=service.metrics_namespace,
            table_key_arns=service.table_key_arns,
            logs_kms_key_arn=service.logs_kms_key_arn,
            retain_logs=config.data_protection.protect_resources,
            mask_sensitive_data=config.logs.mask_sensitive_data,
        ),
        opts=with_provider,
    )
    if backup is not None and resilience.restore_test_schedule
    else None
)

# The function and access logs, streamed to the stack's archive bucket as they arrive.
log_archive = (
    LogArchive(
        f"{config.service}-log-archive",
        LogArchiveArgs(
            name_prefix=config.prefix,
            region=config.region,
            config=config.log_archive,
            log_groups={"function": service.log_group_name, "access": service.access_log_group_name},
            retain=config.data_protection.protect_resources,
        ),
        opts=with_provider,
    )
    if config.log_archive.enabled
    else None
)

# Who did what: the tables' item-level calls and the region's control plane (opt-in; prod has it).
audit_trail = (
    AuditTrail(
        f"{config.service}-audit",
        AuditTrailArgs(
            name_prefix=config.prefix,
            region=config.region,
            config=config.audit_trail,
            table_arns=[service.table_arn, service.idempotency_table_arn],
            retain=config.data_protection.protect_resources,
        ),
        opts=with_provider,
    )
    if config.audit_trail.enabled
    else None
)

# Budget, cost anomaly alerts and (for the stack that owns them) the account-level cost settings;
# alerts go to the monitoring layer's topics, whose policies let Budgets and Cost Anomaly Detection publish.
cost_guard = CostGuard(
    f"{config.service}-cost",
    CostGuardArgs(
        name_prefix=config.prefix,
        tags=config.tags,
        cost=config.cost,
        runbook_base_url=config.monitoring.runbook_base_url,
        warning_topic_arn=monitoring.alert_topic_arns["warning"],
        critical_topic_arn=monitoring.alert_topic_arns["critical"],
    ),
    opts=with_provider,
)

pulumi.export("apiUrl", service.api_url)
pulumi.export("functionName", service.function_name)
pulumi.export("liveAlias", service.alias_name)
pulumi.export("functionVersion", service.function_version)
pulumi.export("liveVersion", delivery.live_version)
pulumi.export("releaseApplication", delivery.application_name)
pulumi.export("releaseDeploymentGroup", delivery.deployment_group_name)
pulumi.export("releaseDeploymentConfig", delivery.deployment_config_name)
pulumi.export("region", config.region)
pulumi.export("tableName", service.table_name)
pulumi.export("idempotencyTableName", service.idempotency_table_name)
if service.auth is not None:
    # What a machine caller (and the smoke test) needs to get a token; the client secret stays in Cognito.
    pulumi.export("authIssuer", service.auth.issuer)
    pulumi.export("tokenUrl", service.auth.token_url)
    pulumi.export("authClientId", service.auth.client_id)
    pulumi.export("authScopes", service.auth.scopes)
    pulumi.export("userPoolId", service.auth.user_pool_id)
pulumi.export("logGroupNames", {"function": service.log_group_name, "apiAccess": service.access_log_group_name})
pulumi.export("dashboardName", monitoring.dashboard_name)
pulumi.export("dashboardUrl", monitoring.dashboard_url)
pulumi.export("alertTopicArns", monitoring.alert_topic_arns)
pulumi.export("alarmNames", monitoring.alarm_names)
pulumi.export("budgetName", cost_guard.budget_name)
pulumi.export("anomalyMonitorArn", cost_guard.anomaly_monitor_arn)
if backup is not None:
    pulumi.export("backupVaults", {"primary": backup.vault_arn, "copy": backup.copy_vault_arn})
    pulumi.export("backupPlanId", backup.plan_id)
if log_archive is not None:
    pulumi.export("logArchiveBucket", log_archive.bucket_name)
if audit_trail is not None:
    pulumi.export("auditTrailArn", audit_trail.trail_arn)
if cost_guard.cost_allocation_tags is not None:
    # Keys billing has not activated yet (a new account); each `pulumi up` asks again until it does.
    pulumi.export("pendingCostAllocationTags", cost_guard.cost_allocation_tags.pending_keys)
