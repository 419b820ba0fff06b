"""inventory: a second service built from prodready's components, with its own routes and table.

It shows the components as a library: each takes its own typed settings (`components.<concern>.settings`)
and plain arguments, never prodready's stack config. Here the settings are written in code; a real
program would read them from its own config the same way prodready's `__main__.py` does.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.delivery.safe_delivery import SafeDelivery, SafeDeliveryArgs
from components.delivery.settings import DeliveryConfig
from components.monitoring.kinds import WatchedApi, WatchedFunction, WatchedTable
from components.monitoring.monitoring import ServiceMonitoring, ServiceMonitoringArgs
from components.monitoring.settings import MonitoringConfig
from components.service.service import LIVE_ALIAS, ServerlessService, ServerlessServiceArgs, ServiceAccess
from components.service.settings import ApiConfig, DataProtectionConfig, LambdaConfig, LogsConfig, TableConfig

ROOT = Path(__file__).resolve().parent
SERVICE = "inventory"
STACK = pulumi.get_stack()
PREFIX = f"{SERVICE}-{STACK}"
REGION = pulumi.Config("aws").require("region")
# The route table: who may call what.
ROUTES = {"GET /stock/{sku}": ["stock.read"], "PUT /stock/{sku}": ["stock.write"]}
PUBLIC = ("GET /health/live", "GET /health/ready")

provider = aws.Provider("aws", region=REGION, default_tags=aws.ProviderDefaultTagsArgs(tags={
    "Project": SERVICE, "Environment": STACK, "Service": SERVICE, "Owner": "stock-team@example.com",
    "CostCenter": "CC-2001", "ManagedBy": "pulumi"}))
with_provider = pulumi.ResourceOptions(providers=[provider])

function = LambdaConfig(memory_mb=256, timeout_seconds=5, architecture="arm64", log_level="INFO")
service = ServerlessService(
    SERVICE,
    ServerlessServiceArgs(
        service_name=SERVICE, name_prefix=PREFIX, region=REGION, code_dir=ROOT / "app",
        handler="inventory.handler.handler", packages=("inventory",), route_keys=(*ROUTES, *PUBLIC),
        access=ServiceAccess(scopes=("stock.read", "stock.write"), route_scopes=ROUTES, public_route_keys=PUBLIC),
        table_hash_key="sku",
        function=function,
        api=ApiConfig(throttling_rate_limit=50, throttling_burst_limit=100, auth={"mode": "cognito"}),
        logs=LogsConfig(retention_days=30, access_log_retention_days=30),
        table=TableConfig(),
        data_protection=DataProtectionConfig(deletion_protection=False, point_in_time_recovery=True,
                                             customer_managed_key=False, protect_resources=False),
        environment=STACK,
    ),
    opts=with_provider,
)

monitoring = ServiceMonitoring(
    f"{SERVICE}-monitoring",
    ServiceMonitoringArgs(
        service_name=SERVICE, name_prefix=PREFIX, region=REGION, metrics_namespace=service.metrics_namespace,
        config=MonitoringConfig(alert_emails={"critical": ("stock-oncall@example.com",),
                                              "warning": ("stock-team@example.com",)},
                                tracing={"sampling_rate": 0.1}, canary={"enabled": False}),
        watched=[
            WatchedFunction(key="api", function_name=service.function_name, log_group_name=service.log_group_name,
                            timeout_seconds=function.timeout_seconds, memory_mb=function.memory_mb,
                            metrics_namespace=service.metrics_namespace, alias=LIVE_ALIAS),
            WatchedApi(key="http", api_id=service.api_id, stage_name=service.stage_name, url=service.api_url,
                       access_log_group_name=service.access_log_group_name,
                       metrics_namespace=service.metrics_namespace, throttling_rate_limit=50),
            WatchedTable(key="table", table_name=service.table_name, operations=("GetItem", "PutItem")),
            # The component always creates the idempotency table; the policy pack requires it watched too.
            WatchedTable(key="idempotency", table_name=service.idempotency_table_name,
                         operations=("GetItem", "PutItem", "UpdateItem", "DeleteItem")),
        ],
    ),
    opts=with_provider,
)

delivery = SafeDelivery(
    f"{SERVICE}-delivery",
    SafeDeliveryArgs(
        name_prefix=PREFIX, region=REGION,
        delivery=DeliveryConfig(strategy="linear", percentage=25, interval_minutes=2, pre_traffic_check=False),
        function_name=service.function_name, function_arn=service.function_arn, alias_name=service.alias_name,
        alias_arn=service.alias_arn, target_version=service.function_version,
        alarm_names=monitoring.release_alarm_names,
        notification_topic_arn=monitoring.alert_topic_arns["warning"], notification_key_arn=monitoring.alert_key_arn,
    ),
    opts=with_provider,
)

pulumi.export("apiUrl", service.api_url)
pulumi.export("tableName", service.table_name)
pulumi.export("liveVersion", delivery.live_version)
