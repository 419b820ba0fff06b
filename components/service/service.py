"""One serverless service: HTTP API -> Lambda -> DynamoDB, with who may call it and how its logs are kept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.iam import IDEMPOTENCY_ACTIONS, ITEM_ACTIONS
from components.service import keys
from components.service.auth import ApiAuth, ApiAuthArgs
from components.service.domain import ApiDomain, ApiDomainArgs
from components.service.function import Function, FunctionArgs, Release, TableAccess, opentelemetry_layer_arn
from components.service.http_api import HttpApi, HttpApiArgs, JwtAuthorization
from components.service.settings import ApiConfig, DataProtectionConfig, LambdaConfig, LogsConfig, TableConfig
from components.service.table import Table, TableArgs
from components.types import SERVERLESS_SERVICE

# The alias the API invokes, and a release moves.
LIVE_ALIAS = "live"
# Powertools' Idempotency utility keeps its records under these attribute names (its defaults).
IDEMPOTENCY_HASH_KEY = "id"
IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"


@dataclass(frozen=True)
class ServiceAccess:
    """Who may call which route: the program's route table, which the stack config does not hold."""

    scopes: Sequence[str]
    """Scope names the API defines (`items.read`, `items.write`)."""
    route_scopes: Mapping[str, Sequence[str]]
    """Per route key, the scope names of which a token needs one."""
    public_route_keys: Sequence[str]
    """Routes reached without a token."""
    throttle_classes: Mapping[str, str] = field(default_factory=dict)
    """Per route key, its throttle class: the stack config may throttle a class (`api.throttleClasses`)."""


def qualified_scopes(route_scopes: Mapping[str, Sequence[str]], prefix: str) -> dict[str, list[str]]:
    """Route scopes as tokens carry them: `<prefix><scope>` (Cognito: `<resource server>/<scope>`)."""
    return {route: [f"{prefix}{scope}" for scope in scopes] for route, scopes in route_scopes.items()}


@dataclass(frozen=True)
class ServerlessServiceArgs:
    service_name: str
    """Service name (Powertools service, metric dimension, Cognito resource server identifier)."""
    name_prefix: str
    """Prefix of every physical name, `<service>-<stack>`."""
    region: str
    """AWS region of the stack."""
    code_dir: Path
    """The Lambda source root (the repository's app/)."""
    handler: str
    """Handler of the function, relative to code_dir."""
    packages: Sequence[str]
    """Top-level packages of code_dir the function ships."""
    route_keys: Sequence[str]
    """API routes the function serves."""
    access: ServiceAccess
    """Scopes and public routes (the app's route table)."""
    table_hash_key: str
    """Partition key attribute of the table."""
    function: LambdaConfig
    """Function settings from the stack config."""
    api: ApiConfig
    """API settings from the stack config (authorization and throttling included)."""
    logs: LogsConfig
    """Log retention and encryption from the stack config."""
    table: TableConfig
    """Table settings from the stack config."""
    data_protection: DataProtectionConfig
    """Data-protection switches from the stack config."""
    environment: str
    """Environment name (dev/prod), handed to the function."""
    api_domain_name: str | None = None
    """The name of the API's regional custom domain when it differs from `api.domain.name` (behind a front,
    its origin name)."""


class ServerlessService(pulumi.ComponentResource):
    """The service and the names monitoring, delivery and the post-deploy tools need."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    function_version: pulumi.Output[str]
    alias_name: pulumi.Output[str]
    alias_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    api_id: pulumi.Output[str]
    stage_name: pulumi.Output[str]
    api_url: pulumi.Output[str]
    access_log_group_name: pulumi.Output[str]
    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]
    table_index_names: tuple[str, ...]
    idempotency_table_name: pulumi.Output[str]
    idempotency_table_arn: pulumi.Output[str]
    table_key_arns: list[pulumi.Output[str]]
    logs_kms_key_arn: pulumi.Output[str] | None
    auth: ApiAuth | None
    domain: ApiDomain | None
    metrics_namespace: str

    def __init__(
        self, name: str, args: ServerlessServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(SERVERLESS_SERVICE, name, None, opts)
        self.metrics_namespace = f"prodready/{args.name_prefix}"

        table = self._table(name, args)
        idempotency = self._idempotency_table(name, args)
        self.logs_kms_key_arn = self._logs_key(name, args)
        function = self._function(name, args, table, idempotency)
        self.auth = self._cognito(name, args)
        self._scope_prefix = self.scope_prefix(args)
        api = self._api(name, args, function)
        self.domain = self._domain(name, args, api)

        self.function_name = function.function_name
        self.function_arn = function.arn
        self.function_version = function.version
        # The service always releases through its alias (Release is set below), so both exist.
        self.alias_name = function.alias_name  # type: ignore[assignment]
        self.alias_arn = function.alias_arn  # type: ignore[assignment]
        self.log_group_name = function.log_group_name
        self.api_id = api.api_id
        self.stage_name = api.stage_name
        # With a domain, everything that calls the API (canary, smoke test, outputs) calls it by its name.
        self.api_url = self.domain.url if self.domain is not None else api.url
        self.access_log_group_name = api.access_log_group_name
        self.table_name = table.name
        self.table_arn = table.arn
        self.table_index_names = table.index_names
        self.idempotency_table_name = idempotency.name
        self.idempotency_table_arn = idempotency.arn
        # The tables' customer-managed keys (none with AWS-owned encryption): a backup reads through them.
        self.table_key_arns = [arn for arn in (table.kms_key_arn, idempotency.kms_key_arn) if arn is not None]
        self.register_outputs(
            {
                "functionName": self.function_name,
                "functionVersion": self.function_version,
                "aliasName": self.alias_name,
                "aliasArn": self.alias_arn,
                "logGroupName": self.log_group_name,
                "apiId": self.api_id,
                "stageName": self.stage_name,
                "apiUrl": self.api_url,
                "accessLogGroupName": self.access_log_group_name,
                "tableName": self.table_name,
                "idempotencyTableName": self.idempotency_table_name,
                "logsKmsKeyArn": self.logs_kms_key_arn,
            }
        )

    def _table_args(self, args: ServerlessServiceArgs, **overrides: object) -> TableArgs:
        protection = args.data_protection
        base = {
            "billing_mode": args.table.billing_mode,
            "read_capacity": args.table.read_capacity,
            "write_capacity": args.table.write_capacity,
            "point_in_time_recovery": protection.point_in_time_recovery,
            "deletion_protection": protection.deletion_protection,
            "protect": protection.protect_resources,
            "region": args.region,
        }
        return TableArgs(**{**base, **overrides})  # type: ignore[arg-type]

    def _table(self, name: str, args: ServerlessServiceArgs) -> Table:
        protection = args.data_protection
        return Table(
            f"{name}-table",
            self._table_args(
                args,
                hash_key=args.table_hash_key,
                ttl_attribute=args.table.ttl_attribute,
                global_secondary_indexes=args.table.global_secondary_indexes,
                stream_enabled=args.table.stream_enabled,
                customer_managed_key_alias=f"{args.name_prefix}-table" if protection.customer_managed_key else None,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _idempotency_table(self, name: str, args: ServerlessServiceArgs) -> Table:
        # Records of POST /items with an Idempotency-Key; they expire by TTL. Same protection profile as
        # the items table: a lost record lets a retried create run twice.
        protection = args.data_protection
        return Table(
            f"{name}-idempotency",
            self._table_args(
                args,
                hash_key=IDEMPOTENCY_HASH_KEY,
                ttl_attribute=IDEMPOTENCY_TTL_ATTRIBUTE,
                customer_managed_key_alias=(
                    f"{args.name_prefix}-idempotency" if protection.customer_managed_key else None
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _logs_key(self, name: str, args: ServerlessServiceArgs) -> pulumi.Output[str] | None:
        """The customer-managed key of the stack's log groups, usable by CloudWatch Logs for them only."""
        if not args.logs.customer_managed_key:
            return None
        protect = args.data_protection.protect_resources
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        # The function log groups of this stack (the service's and any the stack adds, e.g. a deployment
        # hook) and the API access logs.
        patterns = [f"/aws/lambda/{args.name_prefix}-*", f"/aws/apigateway/{args.name_prefix}/*"]
        key = aws.kms.Key(
            f"{name}-logs-key",
            description=f"Encrypts the log groups of {args.name_prefix}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(
                pulumi.Output.all(identity.account_id, identity.arn).apply(
                    lambda v: keys.logs_key_policy(v[0], args.region, patterns, v[1].split(":")[1])
                )
            ),
            # Losing the key makes every log it encrypted unreadable: protected like the logs themselves.
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )
        aws.kms.Alias(
            f"{name}-logs-key-alias",
            name=f"alias/{args.name_prefix}-logs",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return key.arn

    def _function(self, name: str, args: ServerlessServiceArgs, table: Table, idempotency: Table) -> Function:
        fn = args.function
        return Function(
            f"{name}-function",
            FunctionArgs(
                function_name=f"{args.name_prefix}-api",
                code_dir=args.code_dir,
                handler=args.handler,
                packages=args.packages,
                region=args.region,
                memory_mb=fn.memory_mb,
                timeout_seconds=fn.timeout_seconds,
                log_retention_days=args.logs.retention_days,
                service_name=args.service_name,
                metrics_namespace=self.metrics_namespace,
                debug_sample_rate=fn.debug_sample_rate,
                architecture=fn.architecture,
                reserved_concurrency=fn.reserved_concurrency,
                log_level=fn.log_level,
                powertools_layer_version=fn.powertools_layer_version,
                tracing_provider=fn.tracing.provider,
                opentelemetry_layer_arn=(
                    (fn.tracing.open_telemetry_layer_arn
                     or opentelemetry_layer_arn(args.region, fn.tracing.layer_version(args.region)))
                    if fn.tracing.provider == "opentelemetry" else None
                ),
                environment={
                    "TABLE_NAME": table.name,
                    "ENVIRONMENT": args.environment,
                    **({"TABLE_TTL_ATTRIBUTE": args.table.ttl_attribute} if args.table.ttl_attribute else {}),
                    "IDEMPOTENCY_TABLE_NAME": idempotency.name,
                    "IDEMPOTENCY_TTL_SECONDS": str(args.api.idempotency_ttl_seconds),
                    "MAX_REQUEST_BODY_BYTES": str(args.api.max_body_kb * 1024),
                    "OPENAPI_ENABLED": "true" if args.api.serve_openapi else "false",
                },
                table_access=[
                    TableAccess(
                        sid="TableItems",
                        table_arn=table.arn,
                        actions=ITEM_ACTIONS,
                        index_names=table.index_names,
                        kms_key_arn=table.kms_key_arn,
                        key_sid="TableKeyViaDynamoDB",
                    ),
                    TableAccess(
                        sid="IdempotencyRecords",
                        table_arn=idempotency.arn,
                        actions=IDEMPOTENCY_ACTIONS,
                        kms_key_arn=idempotency.kms_key_arn,
                        key_sid="IdempotencyKeyViaDynamoDB",
                    ),
                ],
                retain_logs=args.data_protection.protect_resources,
                logs_kms_key_arn=self.logs_kms_key_arn,
                mask_sensitive_data=args.logs.mask_sensitive_data,
                # The API invokes the live alias; only a CodeDeploy release moves it.
                release=Release(
                    alias=LIVE_ALIAS,
                    snap_start=fn.snap_start,
                    provisioned_concurrency=fn.provisioned_concurrency,
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _cognito(self, name: str, args: ServerlessServiceArgs) -> ApiAuth | None:
        auth = args.api.auth
        if auth.mode != "cognito":
            return None
        return ApiAuth(
            f"{name}-auth",
            ApiAuthArgs(
                name_prefix=args.name_prefix,
                region=args.region,
                resource_server_identifier=args.service_name,
                scopes=args.access.scopes,
                domain_prefix=auth.domain_prefix,
                access_token_minutes=auth.access_token_minutes,
                protect=args.data_protection.protect_resources,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def scope_prefix(args: ServerlessServiceArgs) -> str:
        """How tokens name the service's scopes: `<service>/` for the Cognito resource server, the
        configured prefix for an external issuer."""
        auth = args.api.auth
        if auth.mode == "cognito":
            return f"{args.service_name}/"
        return auth.scope_prefix if auth.mode == "jwt" else ""

    def token_scope(self, scope: str) -> str:
        """`scope` as the service's tokens carry it (what its authorizer requires)."""
        return f"{self._scope_prefix}{scope}"

    def _authorization(self, args: ServerlessServiceArgs) -> JwtAuthorization | None:
        auth = args.api.auth
        if auth.mode == "none":
            return None
        if self.auth is not None:
            issuer: pulumi.Input[str] = self.auth.issuer
            audiences: list[pulumi.Input[str]] = [self.auth.client_id]
        else:
            issuer, audiences = str(auth.issuer), list(auth.audience)
        return JwtAuthorization(
            issuer=issuer,
            audiences=audiences,
            route_scopes=qualified_scopes(args.access.route_scopes, self._scope_prefix),
            public_route_keys=args.access.public_route_keys,
        )

    def _api(self, name: str, args: ServerlessServiceArgs, function: Function) -> HttpApi:
        return HttpApi(
            f"{name}-http",
            HttpApiArgs(
                api_name=args.name_prefix,
                function_name=function.function_name,
                function_invoke_arn=function.invoke_arn,
                function_qualifier=function.alias_name,
                route_keys=args.route_keys,
                throttling_rate_limit=args.api.throttling_rate_limit,
                throttling_burst_limit=args.api.throttling_burst_limit,
                access_log_retention_days=args.logs.access_log_retention_days,
                cors_origins=args.api.cors_origins,
                detailed_metrics=args.api.detailed_metrics,
                retain_logs=args.data_protection.protect_resources,
                authorization=self._authorization(args),
                route_throttling={
                    key: (limits.rate_limit, limits.burst_limit)
                    for key, limits in args.api.route_limits(args.access.throttle_classes).items()
                },
                logs_kms_key_arn=self.logs_kms_key_arn,
                disable_execute_api_endpoint=bool(args.api.domain and args.api.domain.disable_execute_api_endpoint),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _domain(self, name: str, args: ServerlessServiceArgs, api: HttpApi) -> ApiDomain | None:
        domain = args.api.domain
        if domain is None:
            return None
        zone_id: pulumi.Input[str]
        if domain.hosted_zone_id is not None:
            zone_id = domain.hosted_zone_id
        else:
            zone_id = aws.route53.get_zone_output(
                name=domain.hosted_zone_name, private_zone=False, opts=pulumi.InvokeOutputOptions(parent=self)
            ).zone_id
        return ApiDomain(
            f"{name}-domain",
            ApiDomainArgs(
                domain_name=args.api_domain_name or domain.name,
                hosted_zone_id=zone_id,
                api_id=api.api_id,
                stage_name=api.stage_name,
                certificate_arn=domain.certificate_arn,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
