"""Lambda function packaged from source, with its own log group, tracing and least-privilege role."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components import iam
from components.service.settings import OPENTELEMETRY_EXEC_WRAPPER, OPENTELEMETRY_LAYER_ACCOUNTS
from components.types import FUNCTION

RUNTIME = aws.lambda_.Runtime.PYTHON3D13
# Account that publishes the Powertools for AWS Lambda (Python) layers in the commercial partition.
# Every input of the live alias that UpdateAlias can change. Under `ignore_changes` the engine sends an
# ignored field's old *input* (the version the alias was created with) whenever anything else updates the
# alias, and the AWS provider's update sends version and routing in full: one changed description would
# point every request back at version 1. With all of them ignored no update of the alias is ever sent;
# what is left (function name, alias name, region) can only replace it. A provider release that adds an
# updatable input fails tests/unit/test_live_alias.py until it is listed here.
ALIAS_OWNED_BY_DEPLOYMENTS: tuple[str, ...] = ("functionVersion", "routingConfig", "description")

POWERTOOLS_LAYER_ACCOUNT = "017000801446"


def powertools_layer_arn(region: str, architecture: str, version: int, runtime: str = RUNTIME.value) -> str:
    """ARN of the AWS-published Powertools v3 layer for a region, runtime and architecture."""
    python = runtime.replace(".", "")  # python3.13 -> python313, as the layer names spell it
    return (
        f"arn:aws:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{python}-{architecture}:{version}"
    )


TRACING_PROVIDERS: tuple[str, ...] = ("xray-sdk", "opentelemetry")


def opentelemetry_layer_arn(region: str, version: int) -> str:
    """ARN of the AWS-published AWSOpenTelemetryDistroPython layer version in `region`."""
    account = OPENTELEMETRY_LAYER_ACCOUNTS.get(region)
    if account is None:
        raise ValueError(f"AWS publishes no AWSOpenTelemetryDistroPython layer this program knows of in {region}")
    return f"arn:aws:lambda:{region}:{account}:layer:AWSOpenTelemetryDistroPython:{version}"


def tracing_environment(provider: str) -> dict[str, str]:
    """Environment that selects the app's tracing facade (TRACING_PROVIDER) and, for OpenTelemetry, starts
    the layer's instrumentation.

    With OpenTelemetry, Application Signals stays off (AWS's advice when the layer only replaces the X-Ray
    SDK): the layer then exports the sampled spans over UDP to the Lambda X-Ray daemon endpoint, as the SDK
    did, so traces, IAM and sampling stay those of active tracing. OTEL_SERVICE_NAME is left to the layer,
    which names the service after the function: the sampling rule and the faults group match that name.
    """
    if provider not in TRACING_PROVIDERS:
        raise ValueError(f"tracing provider {provider!r} is not one of {list(TRACING_PROVIDERS)}")
    if provider == "xray-sdk":
        return {"TRACING_PROVIDER": provider}
    return {
        "TRACING_PROVIDER": provider,
        "AWS_LAMBDA_EXEC_WRAPPER": OPENTELEMETRY_EXEC_WRAPPER,
        "OTEL_AWS_APPLICATION_SIGNALS_ENABLED": "false",
        # Powertools' Tracer is not used on this path; this keeps any stray one from loading the X-Ray SDK.
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


# What CloudWatch Logs masks in the function's log group, behind the app's own redaction: identifiers
# a request could smuggle into a log line (an e-mail in a free-text field, a pasted key).
MASKED_DATA_IDENTIFIERS: tuple[str, ...] = (
    "EmailAddress",
    "AwsSecretKey",
    "OpenSshPrivateKey",
    "PgpPrivateKey",
    "PkcsPrivateKey",
    "PuttyPrivateKey",
    "CreditCardNumber",
)


def data_protection_policy(name: str, partition: str = "aws") -> dict[str, Any]:
    """A CloudWatch Logs data protection policy masking MASKED_DATA_IDENTIFIERS (policy language 2021-06-01).

    The audit statement (findings count toward the group's metrics, sent nowhere else) is required
    alongside the de-identify statement.
    """
    identifiers = [f"arn:{partition}:dataprotection::aws:data-identifier/{i}" for i in MASKED_DATA_IDENTIFIERS]
    return {
        "Name": name,
        "Description": "Masks identifiers AWS detects, behind the application's own redaction",
        "Version": "2021-06-01",
        "Statement": [
            {"Sid": "audit", "DataIdentifier": identifiers, "Operation": {"Audit": {"FindingsDestination": {}}}},
            {"Sid": "mask", "DataIdentifier": identifiers, "Operation": {"Deidentify": {"MaskConfig": {}}}},
        ],
    }


def source_files(code_dir: Path, packages: Sequence[str] = ()) -> dict[str, Path]:
    """The files a function ships: Python sources only, so caches never change the archive; with
    `packages`, only those top-level packages of code_dir (one function's code, not its neighbours')."""
    return {
        path.relative_to(code_dir).as_posix(): path
        for path in sorted(code_dir.rglob("*.py"))
        if "__pycache__" not in path.parts
        and (not packages or path.relative_to(code_dir).parts[0] in packages)
    }


def source_version(code_dir: Path, packages: Sequence[str] = ()) -> str:
    """Content hash of the shipped sources; the function reports it as its version."""
    digest = hashlib.sha256()
    for rel, path in source_files(code_dir, packages).items():
        digest.update(rel.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Release:
    """How a function's code reaches traffic: published versions behind an alias."""

    alias: str = "live"
    """The alias the API invokes; only a deployment moves it (Pulumi creates it and then leaves it alone)."""
    snap_start: bool = False
    """Lambda SnapStart on published versions: init runs once per version, restored from a snapshot."""
    provisioned_concurrency: int | None = None
    """Execution environments kept initialised on the alias; None for none."""


@dataclass(frozen=True)
class TableAccess:
    sid: str
    """Statement id of the grant in the function's policy (one per table)."""
    table_arn: pulumi.Input[str]
    """ARN of the table the function may use."""
    actions: tuple[str, ...]
    """DynamoDB actions granted on the table and its indexes."""
    index_names: tuple[str, ...] = ()
    """Index names the actions extend to."""
    kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed key of the table, if any (used only through DynamoDB)."""
    key_sid: str = ""
    """Statement id of the key grant."""


@dataclass(frozen=True)
class FunctionArgs:
    function_name: str
    """Physical function name; fixed so the log group `/aws/lambda/<name>` exists before the function."""
    code_dir: Path
    """Directory whose Python files become the deployment package root."""
    handler: str
    """Handler in module.function form, relative to code_dir."""
    region: str
    """Region, to pick the Powertools layer and scope the KMS condition."""
    memory_mb: int
    """Memory in MB."""
    timeout_seconds: int
    """Timeout in seconds."""
    log_retention_days: int
    """Retention of the function's log group."""
    service_name: str
    """Powertools service name: the `service` log key and metric dimension."""
    metrics_namespace: str
    """CloudWatch namespace of the function's EMF business metrics."""
    debug_sample_rate: float = 0.0
    """Share of invocations logged at DEBUG whatever the log level."""
    architecture: str = "arm64"
    """arm64 or x86_64."""
    reserved_concurrency: int | None = None
    """Reserved concurrent executions; None for the unreserved pool."""
    log_level: str = "INFO"
    """Application log level."""
    powertools_layer_version: int = 27
    """Version of the AWS-published Powertools v3 layer."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Extra environment variables (added to the Powertools ones)."""
    table_access: Sequence[TableAccess] = ()
    """DynamoDB access to grant, one entry per table."""
    retain_logs: bool = False
    """Keep the log group when the stack is destroyed or the group replaced."""
    extra_layers: Sequence[str] = ()
    """Further layer ARNs."""
    logs_kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed key of the log group; None keeps CloudWatch Logs' own encryption."""
    mask_sensitive_data: bool = False
    """Attach a data protection policy (MASKED_DATA_IDENTIFIERS) to the log group."""
    packages: Sequence[str] = ()
    """Top-level packages of code_dir the function ships; empty ships every Python file."""
    extra_statements: pulumi.Input[Sequence[Mapping[str, Any]]] = ()
    """Further statements of its role's policy (built as data, e.g. the calls a deployment hook makes)."""
    release: Release | None = None
    """Publish versions behind an alias that deployments shift; None serves `$LATEST` (no alias)."""
    tracing_provider: str = "xray-sdk"
    """Who writes the trace data: `xray-sdk` (Powertools Tracer) or `opentelemetry` (the ADOT layer)."""
    opentelemetry_layer_arn: str | None = None
    """The OpenTelemetry layer version to add; required with the `opentelemetry` provider."""


def powertools_environment(
    *, service_name: str, metrics_namespace: str, log_level: str, debug_sample_rate: float, version: str
) -> dict[str, str]:
    """Environment that configures Powertools' Logger, Metrics and Tracer in the function."""
    return {
        "POWERTOOLS_SERVICE_NAME": service_name,
        "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace,
        "POWERTOOLS_LOG_LEVEL": log_level,
        "POWERTOOLS_LOGGER_SAMPLE_RATE": f"{debug_sample_rate:g}",
        # Events carry request bodies and headers; they are never logged wholesale.
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        "SERVICE_VERSION": version,
    }


# Lambda's JSON application-log filter speaks TRACE/DEBUG/INFO/WARN/ERROR/FATAL; Python says WARNING.
_LAMBDA_LOG_LEVEL = {"DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "WARN", "ERROR": "ERROR"}


class Function(pulumi.ComponentResource):
    """A traced Lambda function writing JSON logs to a log group it owns; with a release, published
    versions behind an alias."""

    function_name: pulumi.Output[str]
    arn: pulumi.Output[str]
    invoke_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    version: pulumi.Output[str]
    alias_name: pulumi.Output[str] | None
    alias_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(FUNCTION, name, None, opts)
        log_group = self._log_group(name, args)
        role, role_policy = self._role(name, args, log_group)
        function = self._function(name, args, log_group, role, role_policy)
        alias = self._alias(name, args, function)

        self.function_name = function.name
        self.arn = function.arn
        # What callers invoke: the alias when there is one (never $LATEST then), else the function.
        self.invoke_arn = alias.invoke_arn if alias is not None else function.invoke_arn
        self.log_group_name = log_group.name
        self.role_arn = role.arn
        self.version = function.version
        self.alias_name = alias.name if alias is not None else None
        self.alias_arn = alias.arn if alias is not None else None
        self.register_outputs(
            {
                "functionName": self.function_name,
                "arn": self.arn,
                "logGroupName": self.log_group_name,
                "roleArn": self.role_arn,
                "version": self.version,
                "aliasName": self.alias_name,
                "aliasArn": self.alias_arn,
            }
        )

    def _log_group(self, name: str, args: FunctionArgs) -> aws.cloudwatch.LogGroup:
        child = pulumi.ResourceOptions(parent=self)

        # Created before the function and named as Lambda would name it, so Lambda never creates a
        # never-expiring group of its own, and retention applies from the first invocation.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{args.function_name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain_logs),
        )
        if args.mask_sensitive_data:
            aws.cloudwatch.LogDataProtectionPolicy(
                f"{name}-data-protection",
                log_group_name=log_group.name,
                policy_document=json.dumps(data_protection_policy(f"{args.function_name}-mask")),
                opts=child,
            )
        return log_group

    def _role(
        self, name: str, args: FunctionArgs, log_group: aws.cloudwatch.LogGroup
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            description=f"Execution role of Lambda function {args.function_name}",
            assume_role_policy=pulumi.Output.json_dumps(iam.assume_role_policy("lambda.amazonaws.com")),
            opts=child,
        )
        grants = pulumi.Output.all(*[
            pulumi.Output.all(access.table_arn, access.kms_key_arn).apply(
                # mypy cannot type a lambda whose default binds the loop variable (python/mypy#15459)
                lambda arns, access=access: iam.TableGrant(  # type: ignore[misc]
                    sid=access.sid,
                    table_arn=arns[0],
                    actions=access.actions,
                    index_names=access.index_names,
                    kms_key_arn=arns[1],
                    key_sid=access.key_sid,
                )
            )
            for access in args.table_access
        ])
        policy_document = pulumi.Output.all(log_group.arn, grants, args.extra_statements).apply(
            lambda values: iam.function_policy(
                log_group_arn=values[0], tables=values[1], region=args.region, extra=values[2]
            )
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(policy_document),
            opts=child,
        )
        return role, role_policy

    def _function(
        self,
        name: str,
        args: FunctionArgs,
        log_group: aws.cloudwatch.LogGroup,
        role: aws.iam.Role,
        role_policy: aws.iam.RolePolicy,
    ) -> aws.lambda_.Function:
        code = pulumi.AssetArchive(
            {rel: pulumi.FileAsset(str(path)) for rel, path in source_files(args.code_dir, args.packages).items()}
        )
        version = source_version(args.code_dir, args.packages)
        environment = {
            **powertools_environment(
                service_name=args.service_name,
                metrics_namespace=args.metrics_namespace,
                log_level=args.log_level,
                debug_sample_rate=args.debug_sample_rate,
                version=version,
            ),
            **tracing_environment(args.tracing_provider),
            **args.environment,
        }
        layers = [
            powertools_layer_arn(args.region, args.architecture, args.powertools_layer_version),
            *self._tracing_layers(args),
            *args.extra_layers,
        ]
        release = args.release
        return aws.lambda_.Function(
            f"{name}-lambda",
            name=args.function_name,
            description=f"{args.service_name} service, source {version}",
            role=role.arn,
            runtime=RUNTIME,
            handler=args.handler,
            code=code,
            architectures=[args.architecture],
            memory_size=args.memory_mb,
            timeout=args.timeout_seconds,
            # -1 removes any reservation; a reservation caps the function and guards the account pool.
            reserved_concurrent_executions=(
                args.reserved_concurrency if args.reserved_concurrency is not None else -1
            ),
            layers=layers,
            # Active with either provider: Lambda records its own segments, makes the sampling decision both
            # instrumentations follow, and runs the daemon endpoint both send their segments/spans to.
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON",
                log_group=log_group.name,
                application_log_level=_LAMBDA_LOG_LEVEL[args.log_level],
                # INFO keeps platform.report records, which the cold-start and memory metric filters read.
                system_log_level="INFO",
            ),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            # A new version on every code or configuration change: what a release shifts traffic to.
            publish=release is not None,
            snap_start=(
                aws.lambda_.FunctionSnapStartArgs(apply_on="PublishedVersions")
                if release is not None and release.snap_start else None
            ),
            # The policy must exist before the first invocation can log or trace.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, log_group]),
        )

    @staticmethod
    def _tracing_layers(args: FunctionArgs) -> list[str]:
        if args.tracing_provider != "opentelemetry":
            return []
        if not args.opentelemetry_layer_arn:
            raise ValueError(f"{args.function_name}: the opentelemetry tracing provider needs a layer ARN")
        return [args.opentelemetry_layer_arn]

    def _alias(self, name: str, args: FunctionArgs, function: aws.lambda_.Function) -> aws.lambda_.Alias | None:
        release = args.release
        if release is None:
            return None
        alias = aws.lambda_.Alias(
            f"{name}-{release.alias}",
            name=release.alias,
            function_name=function.name,
            description=f"What {args.function_name}'s callers invoke; moved only by deployments",
            # Created on the first version; from then on only a deployment moves it (traffic shifting
            # sets the routing config), so Pulumi never fights CodeDeploy over it.
            function_version=function.version,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=list(ALIAS_OWNED_BY_DEPLOYMENTS)),
        )
        if release.provisioned_concurrency:
            aws.lambda_.ProvisionedConcurrencyConfig(
                f"{name}-provisioned",
                function_name=function.name,
                qualifier=alias.name,
                provisioned_concurrent_executions=release.provisioned_concurrency,
                opts=pulumi.ResourceOptions(parent=self),
            )
        return alias
