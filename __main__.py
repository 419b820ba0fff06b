"""prodready: one serverless service and its operations layer, per stack.

Reads and validates the stack config once, then composes the components. Nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws

from app.service.metrics_catalog import BUSINESS_METRICS
from app.service.routes import (
    PUBLIC_ROUTE_KEYS,
    READ_SCOPE,
    ROUTE_KEYS,
    ROUTE_SCOPES,
    ROUTE_THROTTLE_CLASSES,
    SCOPES,
)
from app.service.schema import TABLE_HASH_KEY
from components.alerting.chat_alerts import ChatAlerts, ChatAlertsArgs
from components.alerting.documents import BACKUP_PUBLISHER, PUBLISHERS
from components.config import load_stack_config, raw_pulumi_config
from components.cost.cost_guard import BILLING_SEVERITY, CostGuard, CostGuardArgs
from components.delivery.hook import HOOK_MEMORY_MB, HOOK_TIMEOUT_SECONDS, PreTrafficHook, PreTrafficHookArgs
from components.delivery.post_traffic_hook import PostTrafficHook, PostTrafficHookArgs
from components.delivery.safe_delivery import SafeDelivery, SafeDeliveryArgs
from components.edge.front import EdgeFront, EdgeFrontArgs, origin_domain_name
from components.edge.monitoring import EdgeMonitoring, EdgeMonitoringArgs
from components.iam import IDEMPOTENCY_ACTIONS, ITEM_ACTIONS
from components.monitoring.kinds import (
    WatchedApi,
    WatchedCertificate,
    WatchedFunction,
    WatchedStream,
    WatchedTable,
    WatchedVault,
)
from components.monitoring.kinds.certificate import DOMAIN_KEY, imported_key
from components.monitoring.kinds.edge import EDGE_KEY, WatchedEdge
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
FUNCTION, API, TABLE, IDEMPOTENCY = "api", "http", "table", "idempotency"
HOOK, POST_HOOK = "pre-traffic", "post-traffic"
BACKUP, LOG_ARCHIVE, RESTORE_CHECK = "backup", "log-archive", "restore-check"
WATCHED = {FUNCTION: "function", API: "api", TABLE: "table", IDEMPOTENCY: "table", HOOK: "function",
           POST_HOOK: "function", BACKUP: "vault", LOG_ARCHIVE: "archive", RESTORE_CHECK: "function",
           **OWN_WATCHED}
SERVICE_PACKAGES = ("service",)

# Validated before anything is registered: a bad stack file creates no resources at all.
config = load_stack_config(
    pulumi.get_stack(), raw_pulumi_config(), route_keys=ROUTE_KEYS, throttle_classes=ROUTE_THROTTLE_CLASSES,
    watched=WATCHED,
)
# Incident-tool webhooks are secrets kept outside the prodready namespace (`pulumi config set --secret`);
# read here, before any resource, so a missing one also stops the program with nothing half-created.
webhooks: dict[str, pulumi.Output[str]] = {
    severity: pulumi.Config(key.split(":", 1)[0]).require_secret(key.split(":", 1)[1])
    for severity, key in config.monitoring.webhook_secrets.items()
}

# Every resource of the stack's region goes through this provider; its default tags tag everything taggable.
# The stack file's `aws:` settings (allowed accounts, profile, assumed roles) reach it and every other
# explicit provider (the copy region's, us-east-1's for billing and the edge): the default provider, which
# would read them itself, is not used. A change of them updates the providers in place (the engine asks
# each provider's DiffConfig; pulumi-aws replaces only on a region change).
provider = aws.Provider(
    "aws",
    region=config.region,
    default_tags=aws.ProviderDefaultTagsArgs(tags=config.tags),
    **config.aws_provider,
)
with_provider = pulumi.ResourceOptions(providers=[provider])
front_config = config.edge.cloud_front
resilience = config.resilience
# The second region's resources (the copy vault and its key) go through their own provider, tagged alike.
copy_provider = (
    aws.Provider(
        "aws-copy",
        region=resilience.copy_region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=config.tags),
        **config.aws_provider,
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
        access=ServiceAccess(
            scopes=SCOPES, route_scopes=ROUTE_SCOPES, public_route_keys=PUBLIC_ROUTE_KEYS,
            throttle_classes=ROUTE_THROTTLE_CLASSES,
        ),
        table_hash_key=TABLE_HASH_KEY,
        function=config.lambda_,
        api=config.api,
        logs=config.logs,
        table=config.table,
        data_protection=config.data_protection,
        environment=config.environment,
        api_domain_name=origin_domain_name(config.api.domain.name) if front_config and config.api.domain else None,
    ),
    opts=with_provider,
)

# The API's name on a CloudFront distribution behind a WAF web ACL; the API answers CloudFront on its origin name.
front = (
    EdgeFront(
        f"{config.service}-edge",
        EdgeFrontArgs(
            name_prefix=config.prefix,
            domain_name=config.api.domain.name,
            hosted_zone_id=service.domain.hosted_zone_id,
            origin_domain_name=service.domain.domain_name,
            tags=config.tags,
            rate_limit_per_ip=front_config.rate_limit_per_ip,
            rate_limit_per_client=front_config.rate_limit_per_client,
            window_seconds=front_config.evaluation_window_seconds,
            waf_log_retention_days=front_config.waf_log_retention_days,
            price_class=front_config.price_class,
            max_body_kb=config.api.max_body_kb,
            encrypt_logs=config.logs.customer_managed_key,
            protect=config.data_protection.protect_resources,
            provider_settings=config.aws_provider,
        ),
        opts=with_provider,
    )
    if front_config and config.api.domain and service.domain
    else None
)
# What clients, the canary and the smoke test call.
api_url = front.url if front is not None else service.api_url


# CodeDeploy calls one before any traffic moves to a new version, the other once all of it has moved;
# monitoring watches them like any function.
hook_args = PreTrafficHookArgs(
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
)
hook = (
    PreTrafficHook(f"{config.service}-pre-traffic", hook_args, opts=with_provider)
    if config.delivery.pre_traffic_check
    else None
)
post_hook = (
    PostTrafficHook(
        f"{config.service}-post-traffic",
        PostTrafficHookArgs(**vars(hook_args), alias=LIVE_ALIAS),
        opts=with_provider,
    )
    if config.delivery.post_traffic_check
    else None
)


def watched_hook(key: str, hook_: PreTrafficHook | PostTrafficHook) -> WatchedFunction:
    return WatchedFunction(
        key=key,
        function_name=hook_.function_name,
        log_group_name=hook_.log_group_name,
        timeout_seconds=HOOK_TIMEOUT_SECONDS,
        memory_mb=HOOK_MEMORY_MB,
        metrics_namespace=service.metrics_namespace,
        # A few invocations per release; a failure fails the release, which says so.
        min_invocations=1,
        pages=False,
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
                # What `pulumi up` releases: the canary is judged on what the alias sends this version.
                release_version=service.function_version,
                snap_start=config.lambda_.snap_start,
            ),
            *([watched_hook(HOOK, hook)] if hook is not None else []),
            *([watched_hook(POST_HOOK, post_hook)] if post_hook is not None else []),
            WatchedApi(
                key=API,
                api_id=service.api_id,
                stage_name=service.stage_name,
                url=api_url,
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
            # The domain's certificate, and any other one config names (imported ones ACM never renews).
            *(
                [WatchedCertificate(DOMAIN_KEY, service.domain.certificate_arn, service.domain.domain_name)]
                if service.domain is not None
                else []
            ),
            *(WatchedCertificate(imported_key(arn), arn, arn) for arn in config.monitoring.certificate_arns),
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

# The front's alarms and dashboard live in us-east-1, where CloudFront and its web ACL publish.
edge_monitoring = (
    EdgeMonitoring(
        f"{config.service}-edge-monitoring",
        EdgeMonitoringArgs(
            name_prefix=config.prefix,
            watched=WatchedEdge(EDGE_KEY, front.distribution_id, front.web_acl_name, front.rate_rules),
            certificate=WatchedCertificate(EDGE_KEY, front.certificate_arn, config.api.domain.name),
            config=config.monitoring,
            provider=front.provider,
            webhook_endpoints=webhooks,
        ),
        opts=with_provider,
    )
    if front is not None and config.api.domain is not None
    else None
)

# Every new version reaches traffic through CodeDeploy: the pre-traffic hook first, then the configured
# shift, judged by the release alarms, then the post-traffic hook; `pulumi up` waits for the release and
# fails if it rolled back.
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
        freeze_alarm_names=monitoring.error_budget_alarm_names,
        hook_function_name=hook.function_name if hook is not None else None,
        hook_function_arn=hook.function_arn if hook is not None else None,
        post_hook_function_name=post_hook.function_name if post_hook is not None else None,
        post_hook_function_arn=post_hook.function_arn if post_hook is not None else None,
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
        provider_settings=config.aws_provider,
    ),
    opts=with_provider,
)

# Chat channels get the alerts of their severities: the service's topics, the front's and the account's billing
# alarm's (both in us-east-1).
chat_topics: dict[str, list[pulumi.Output[str]]] = {
    severity: [arn, *([edge_monitoring.alert_topic_arns[severity]] if edge_monitoring is not None else [])]
    for severity, arn in monitoring.alert_topic_arns.items()
}
if cost_guard.billing_topic_arn is not None:
    chat_topics[BILLING_SEVERITY].append(cost_guard.billing_topic_arn)
chat_alerts = (
    ChatAlerts(
        f"{config.service}-chat",
        ChatAlertsArgs(name_prefix=config.prefix, config=config.monitoring.chat, topic_arns=chat_topics),
        opts=with_provider,
    )
    if config.monitoring.chat.enabled
    else None
)

pulumi.export("apiUrl", api_url)
if service.domain is not None:
    # Where the name points (the regional target), for a DNS change made outside the hosted zone.
    pulumi.export("apiDomainTarget", service.domain.target_domain_name)
if front is not None:
    pulumi.export("distributionId", front.distribution_id)
    pulumi.export("webAclName", front.web_acl_name)
if edge_monitoring is not None:
    pulumi.export("edgeAlarmNames", edge_monitoring.alarm_names)
    pulumi.export("edgeDashboardUrl", edge_monitoring.dashboard_url)
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
if chat_alerts is not None:
    pulumi.export("chatConfigurationArns", chat_alerts.configuration_arns)
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
