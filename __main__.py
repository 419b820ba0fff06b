"""prodready: one serverless service and its operations layer, per stack.

Reads and validates the stack config once, then composes the components. Nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws

from app.service.metrics_catalog import BUSINESS_METRICS
from app.service.routes import PUBLIC_ROUTE_KEYS, ROUTE_KEYS, ROUTE_SCOPES, SCOPES
from app.service.schema import TABLE_HASH_KEY
from components.config import load_stack_config, raw_pulumi_config
from components.cost.cost_guard import CostGuard, CostGuardArgs
from components.iam import IDEMPOTENCY_ACTIONS, ITEM_ACTIONS
from components.monitoring.monitoring import (
    MonitoredApi,
    MonitoredFunction,
    MonitoredTable,
    ServiceMonitoring,
    ServiceMonitoringArgs,
    dynamodb_operations,
)
from components.service.service import ServerlessService, ServerlessServiceArgs, ServiceAccess

ROOT = Path(__file__).resolve().parent

# Validated before anything is registered: a bad stack file creates no resources at all.
config = load_stack_config(pulumi.get_stack(), raw_pulumi_config(), route_keys=ROUTE_KEYS)
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

service = ServerlessService(
    config.service,
    ServerlessServiceArgs(
        service_name=config.service,
        name_prefix=config.prefix,
        region=config.region,
        code_dir=ROOT / "app",
        handler="service.handler.lambda_handler",
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

monitoring = ServiceMonitoring(
    f"{config.service}-monitoring",
    ServiceMonitoringArgs(
        service_name=config.service,
        name_prefix=config.prefix,
        region=config.region,
        metrics_namespace=service.metrics_namespace,
        config=config.monitoring,
        functions=[
            MonitoredFunction(
                key="api",
                function_name=service.function_name,
                log_group_name=service.log_group_name,
                timeout_seconds=config.lambda_.timeout_seconds,
                memory_mb=config.lambda_.memory_mb,
                reserved_concurrency=config.lambda_.reserved_concurrency,
            )
        ],
        apis=[
            MonitoredApi(
                key="http",
                api_id=service.api_id,
                stage_name=service.stage_name,
                url=service.api_url,
                access_log_group_name=service.access_log_group_name,
            )
        ],
        tables=[
            MonitoredTable(
                key="table",
                table_name=service.table_name,
                index_names=service.table_index_names,
                operations=dynamodb_operations(ITEM_ACTIONS),
            ),
            MonitoredTable(
                key="idempotency",
                table_name=service.idempotency_table_name,
                operations=dynamodb_operations(IDEMPOTENCY_ACTIONS),
            ),
        ],
        business_metrics=BUSINESS_METRICS,
        webhook_endpoints=webhooks,
    ),
    opts=with_provider,
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
