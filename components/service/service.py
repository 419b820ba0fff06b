"""One serverless service: HTTP API -> Lambda -> DynamoDB, composed from the three components."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.config import ApiConfig, DataProtectionConfig, LambdaConfig, LogsConfig, TableConfig
from components.iam import ITEM_ACTIONS
from components.service.function import Function, FunctionArgs, TableAccess
from components.service.http_api import HttpApi, HttpApiArgs
from components.service.table import Table, TableArgs


@dataclass(frozen=True)
class ServerlessServiceArgs:
    service_name: str
    """Service name (Powertools service, metric dimension)."""
    name_prefix: str
    """Prefix of every physical name, `<service>-<stack>`."""
    region: str
    """AWS region of the stack."""
    code_dir: Path
    """The Lambda source root (the repository's app/)."""
    handler: str
    """Handler of the function, relative to code_dir."""
    route_keys: Sequence[str]
    """API routes the function serves."""
    table_hash_key: str
    """Partition key attribute of the table."""
    function: LambdaConfig
    """Function settings from the stack config."""
    api: ApiConfig
    """API settings from the stack config."""
    logs: LogsConfig
    """Log retention from the stack config."""
    table: TableConfig
    """Table settings from the stack config."""
    data_protection: DataProtectionConfig
    """Data-protection switches from the stack config."""
    environment: str
    """Environment name (dev/prod), handed to the function."""


class ServerlessService(pulumi.ComponentResource):
    """The service and the names monitoring needs to watch it."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    api_id: pulumi.Output[str]
    stage_name: pulumi.Output[str]
    api_url: pulumi.Output[str]
    access_log_group_name: pulumi.Output[str]
    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]
    table_index_names: tuple[str, ...]
    metrics_namespace: str

    def __init__(
        self, name: str, args: ServerlessServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("prodready:service:ServerlessService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        protection = args.data_protection
        self.metrics_namespace = f"prodready/{args.name_prefix}"

        table = Table(
            f"{name}-table",
            TableArgs(
                hash_key=args.table_hash_key,
                billing_mode=args.table.billing_mode,
                read_capacity=args.table.read_capacity,
                write_capacity=args.table.write_capacity,
                ttl_attribute=args.table.ttl_attribute,
                global_secondary_indexes=args.table.global_secondary_indexes,
                stream_enabled=args.table.stream_enabled,
                point_in_time_recovery=protection.point_in_time_recovery,
                deletion_protection=protection.deletion_protection,
                customer_managed_key_alias=(
                    f"{args.name_prefix}-table" if protection.customer_managed_key else None
                ),
                protect=protection.protect_resources,
            ),
            opts=child,
        )

        fn_config = args.function
        function = Function(
            f"{name}-function",
            FunctionArgs(
                function_name=f"{args.name_prefix}-api",
                code_dir=args.code_dir,
                handler=args.handler,
                region=args.region,
                memory_mb=fn_config.memory_mb,
                timeout_seconds=fn_config.timeout_seconds,
                log_retention_days=args.logs.retention_days,
                service_name=args.service_name,
                metrics_namespace=self.metrics_namespace,
                debug_sample_rate=fn_config.debug_sample_rate,
                architecture=fn_config.architecture,
                reserved_concurrency=fn_config.reserved_concurrency,
                log_level=fn_config.log_level,
                powertools_layer_version=fn_config.powertools_layer_version,
                environment={
                    "TABLE_NAME": table.name,
                    "ENVIRONMENT": args.environment,
                    **({"TABLE_TTL_ATTRIBUTE": args.table.ttl_attribute} if args.table.ttl_attribute else {}),
                },
                table_access=TableAccess(
                    table_arn=table.arn,
                    actions=ITEM_ACTIONS,
                    index_names=table.index_names,
                    kms_key_arn=table.kms_key_arn,
                ),
                retain_logs=protection.protect_resources,
            ),
            opts=child,
        )

        api = HttpApi(
            f"{name}-http",
            HttpApiArgs(
                api_name=args.name_prefix,
                function_name=function.function_name,
                function_invoke_arn=function.invoke_arn,
                route_keys=args.route_keys,
                throttling_rate_limit=args.api.throttling_rate_limit,
                throttling_burst_limit=args.api.throttling_burst_limit,
                access_log_retention_days=args.logs.access_log_retention_days,
                cors_origins=args.api.cors_origins,
                detailed_metrics=args.api.detailed_metrics,
                retain_logs=protection.protect_resources,
            ),
            opts=child,
        )

        self.function_name = function.function_name
        self.function_arn = function.arn
        self.log_group_name = function.log_group_name
        self.api_id = api.api_id
        self.stage_name = api.stage_name
        self.api_url = api.url
        self.access_log_group_name = api.access_log_group_name
        self.table_name = table.name
        self.table_arn = table.arn
        self.table_index_names = table.index_names
        self.register_outputs(
            {
                "functionName": self.function_name,
                "logGroupName": self.log_group_name,
                "apiId": self.api_id,
                "stageName": self.stage_name,
                "apiUrl": self.api_url,
                "accessLogGroupName": self.access_log_group_name,
                "tableName": self.table_name,
            }
        )
