"""Typed, validated stack configuration.

`Pulumi.<stack>.yaml` holds keys under the `prodready:` namespace (camelCase, structured values
as YAML maps) plus the AWS provider's `aws:` settings. `load_stack_config` merges them over the
stack's profile (`dev`: cheap and disposable; `prod`: protected), validates everything once, and
returns a frozen `StackConfig`. The profile gives defaults and protections; the environment, the
stack's own name, goes into tags, the budget's filter and names, so a staging stack with the prod
profile is still counted and tagged as staging. Any mistake raises `ConfigError` naming the stack, the
config key, the bad value and what is expected, before a single resource is registered.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

from pulumi.errors import RunError
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_snake

from components.cost.settings import CostConfig, TrafficConfig
from components.delivery.settings import DeliveryConfig
from components.edge.settings import EdgeConfig
from components.monitoring.catalog import MAX_ALARM_METRICS
from components.monitoring.settings import MonitoringConfig
from components.resilience.settings import PITR_RPO_MINUTES, AuditTrailConfig, LogArchiveConfig, ResilienceConfig
from components.service.settings import (
    OPENTELEMETRY_LAYER_ACCOUNTS,
    OPENTELEMETRY_LAYER_VERSIONS,
    ApiConfig,
    DataProtectionConfig,
    LambdaConfig,
    LogsConfig,
    TableConfig,
)
from components.settings import NAMESPACE, Settings

Profile = Literal["dev", "prod"]

# `aws:` settings of a stack file that reach the program's explicit AWS provider, as the provider's
# arguments (the engine hands them as strings, structured values as JSON). Without this they would be
# dropped silently: every resource goes through that provider, not the default one that reads `aws:`.
AWS_PROVIDER_SETTINGS: dict[str, str] = {
    "allowedAccountIds": "allowed_account_ids",
    "forbiddenAccountIds": "forbidden_account_ids",
    "profile": "profile",
    "assumeRole": "assume_roles",  # the provider's older single form, as a list of one
    "assumeRoles": "assume_roles",
    "assumeRoleWithWebIdentity": "assume_role_with_web_identity",
    "sharedConfigFiles": "shared_config_files",
    "sharedCredentialsFiles": "shared_credentials_files",
    "maxRetries": "max_retries",
    "retryMode": "retry_mode",
    "stsRegion": "sts_region",
}
# `aws:` keys the program sets itself: a stack file's value would be overridden.
AWS_OWNED_SETTINGS: dict[str, str] = {
    "defaultTags": "the program tags every resource from prodready:owner, costCenter, service and the stack",
    "skipCredentialsValidation": "credentials are always validated",
    "accessKey": "never keep credentials in a stack file: use aws:profile or an assumed role",
    "secretKey": "never keep credentials in a stack file: use aws:profile or an assumed role",
    "token": "never keep credentials in a stack file: use aws:profile or an assumed role",
}


class ConfigError(RunError, ValueError):
    """Invalid stack configuration; the message names stack, key, value and expectation.

    A RunError: under the engine, `pulumi up` prints the message alone, without a Python traceback.
    """

    def __init__(self, stack: str, problems: list[str]) -> None:
        self.stack = stack
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration for stack '{stack}' ({len(problems)} problem(s)):\n{lines}")


class PipelineConfig(Settings):
    """The stack's place in the deploy pipeline (read by `tools.stacks` for the workflows)."""

    order: int = Field(default=10, ge=1, le=1000)
    """Release order: lower goes first (dev 10, prod 30; a staging between them, 20)."""
    approval: bool = False
    """A person approves each deployment (the GitHub environment named after the stack has required
    reviewers); prod's profile says yes."""


class StackConfig(Settings):
    """Everything a stack is built from; one instance per `pulumi up`."""

    stack: str
    """Pulumi stack name (not a config key; filled in by the loader)."""
    profile: Profile
    """Defaults and protections: dev (cheap, disposable) or prod (protected: data kept, access required)."""
    environment: str = Field(pattern=r"^[a-z][a-z0-9-]{0,23}$")
    """The environment's name (Environment tag, the budget's filter): the stack's name unless set, and
    then it must be the stack's name, so two stacks never count each other's spend."""
    aws_provider: dict[str, Any] = {}
    """The stack file's `aws:` settings for the AWS provider (not a prodready key; filled in by the loader)."""
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    """AWS region (`aws:region`)."""
    service: str = Field(pattern=r"^[a-z][a-z0-9-]{1,23}$")
    """Service name: lower-case, used in physical names and the Service tag."""
    owner: str = Field(min_length=1)
    """Owning team (Owner tag), e.g. an email list or team handle."""
    cost_center: str = Field(min_length=1)
    """Cost centre (CostCenter tag)."""
    lambda_: LambdaConfig = Field(alias="lambda")
    """Lambda function settings."""
    api: ApiConfig
    """HTTP API settings."""
    logs: LogsConfig
    """Log retention settings."""
    table: TableConfig = TableConfig()
    """DynamoDB table settings."""
    data_protection: DataProtectionConfig
    """Data-protection switches; prod refuses to turn them off."""
    cost: CostConfig
    """Budget, anomaly detection, cost allocation tags and the billing alarm."""
    traffic: TrafficConfig
    """Traffic level the cost estimate prices."""
    monitoring: MonitoringConfig
    """Alerting, alarm thresholds, SLOs, dashboard, tracing and the synthetic check."""
    delivery: DeliveryConfig = DeliveryConfig()
    """Traffic shifting of releases (CodeDeploy) and the pre-traffic check."""
    pipeline: PipelineConfig = PipelineConfig()
    """Where the stack deploys in the pipeline's order, and whether a person approves it."""
    edge: EdgeConfig = EdgeConfig()
    """An optional CloudFront and WAF front."""
    resilience: ResilienceConfig = ResilienceConfig()
    """Backups, the copy in a second region, vault lock, and the recovery objectives they must meet."""
    log_archive: LogArchiveConfig = LogArchiveConfig()
    """Function and access logs archived to an S3 bucket of the stack."""
    audit_trail: AuditTrailConfig = AuditTrailConfig()
    """A CloudTrail trail with the tables' data events and the region's management events."""

    @model_validator(mode="after")
    def _prod_is_protected(self) -> StackConfig:
        if self.profile != "prod":
            return self
        problems = []
        if "*" in self.api.cors_origins:
            problems.append("api.corsOrigins: '*' is not allowed in a prod stack; list the exact origins")
        plain = [origin for origin in self.api.cors_origins if origin.startswith("http://")]
        if plain:
            problems.append(f"api.corsOrigins: plain http origins {plain} are not allowed in a prod stack; use https")
        for key, value in self.data_protection.model_dump(by_alias=True).items():
            if key != "customerManagedKey" and value is not True:
                problems.append(f"dataProtection.{key}: must be true in a prod stack (got {value!r})")
        if self.api.auth.mode == "none":
            problems.append(
                "api.auth.mode: 'none' is refused in a prod stack: every non-public route needs an authorizer "
                "(use cognito or jwt)"
            )
        if not self.logs.customer_managed_key:
            problems.append("logs.customerManagedKey: must be true in a prod stack (got False)")
        if self.api.domain is not None and not self.api.domain.disable_execute_api_endpoint:
            problems.append(
                "api.domain.disableExecuteApiEndpoint: must be true in a prod stack with a domain: the execute-api "
                "URL would let clients around the domain (and anything in front of it)"
            )
        if not self.aws_provider.get("allowed_account_ids"):
            problems.append(
                "aws:allowedAccountIds: required with the prod profile: the AWS provider then refuses to deploy "
                "into any other account (pulumi config set --path 'aws:allowedAccountIds[0]' <account id>)"
            )
        if self.logs.access_log_retention_days < 90:
            problems.append(
                f"logs.accessLogRetentionDays: prod keeps access logs at least 90 days "
                f"(got {self.logs.access_log_retention_days})"
            )
        if self.monitoring.chat.enabled and not self.monitoring.chat.user_authorization_required:
            problems.append(
                "monitoring.chat.userAuthorizationRequired: must be true in a prod stack with chat channels: each "
                "chat user acts with an IAM role of their own, capped by the guardrails"
            )
        if not self.resilience.enabled:
            problems.append(
                "resilience.enabled: must be true in a prod stack (daily backups with a copy in a second region)"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @model_validator(mode="after")
    def _objectives_are_reachable(self) -> StackConfig:
        """The recovery objectives must be ones the configured setup can meet; each finding names its keys."""
        backup = self.resilience
        if not backup.enabled:
            return self
        problems = []
        interval = backup.interval_minutes
        if self.data_protection.point_in_time_recovery:
            if backup.rpo_minutes < PITR_RPO_MINUTES:
                problems.append(
                    f"resilience.rpoMinutes: {backup.rpo_minutes} is shorter than point-in-time recovery can "
                    f"promise (restorable to about {PITR_RPO_MINUTES} minutes ago)"
                )
        elif backup.rpo_minutes < interval:
            problems.append(
                f"resilience.rpoMinutes: {backup.rpo_minutes} is shorter than the backup interval of "
                f"resilience.backupSchedule ({interval} minutes) and dataProtection.pointInTimeRecovery is off: "
                "turn PITR on or back up more often"
            )
        if backup.copy_region is None:
            problems.append(
                "resilience.copyRegion: required when resilience is enabled: resilience.copyRpoMinutes promises "
                "recovery when the region is lost, which needs a copy outside it"
            )
        elif backup.copy_region == self.region:
            problems.append(
                f"resilience.copyRegion: {backup.copy_region} is the stack's own region (aws:region); a copy "
                "there does not survive the region's loss"
            )
        if backup.copy_rpo_minutes < interval:
            problems.append(
                f"resilience.copyRpoMinutes: {backup.copy_rpo_minutes} is shorter than the backup interval of "
                f"resilience.backupSchedule ({interval} minutes): copies in the second region are made once per "
                "backup, so a region loss can lose up to one interval of writes"
            )
        if backup.rpo_minutes > backup.copy_rpo_minutes:
            problems.append(
                f"resilience.rpoMinutes ({backup.rpo_minutes}) is longer than resilience.copyRpoMinutes "
                f"({backup.copy_rpo_minutes}): the in-region objective is never the looser one"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @model_validator(mode="after")
    def _tracing_layer_in_region(self) -> StackConfig:
        # Lambda takes layers of the function's own region only.
        tracing = self.lambda_.tracing
        if tracing.provider != "opentelemetry":
            return self
        if tracing.open_telemetry_layer_arn:
            layer_region = tracing.open_telemetry_layer_arn.split(":")[3]
            if layer_region != self.region:
                raise ValueError(
                    f"lambda.tracing.openTelemetryLayerArn: the layer is in {layer_region}, not in the stack's "
                    f"region {self.region} (Lambda uses layers of the function's region only)"
                )
        elif self.region not in OPENTELEMETRY_LAYER_ACCOUNTS:
            raise ValueError(
                f"lambda.tracing.provider opentelemetry: no AWS-published AWSOpenTelemetryDistroPython account is "
                f"known for {self.region}; set lambda.tracing.openTelemetryLayerArn"
            )
        elif tracing.open_telemetry_layer_version is None and self.region not in OPENTELEMETRY_LAYER_VERSIONS:
            raise ValueError(
                f"lambda.tracing.openTelemetryLayerVersion: required in {self.region} (AWS publishes "
                f"AWSOpenTelemetryDistroPython under a different version in each region; take the current one "
                f"from its \"AWS Lambda Layer for OpenTelemetry ARNs\" table)"
            )
        return self

    @model_validator(mode="after")
    def _front_has_a_name(self) -> StackConfig:
        if self.edge.cloud_front is not None and self.api.domain is None:
            raise ValueError(
                "edge.cloudFront: needs api.domain: CloudFront enforces TLS 1.2 only with a certificate for a name "
                "of your own, and the API's execute-api endpoint is closed behind a domain"
            )
        return self

    @model_validator(mode="after")
    def _certificates_in_region(self) -> StackConfig:
        # A regional API Gateway domain takes a certificate of its own region only, and DaysToExpiry is
        # published in the certificate's region, where this stack's alarms live.
        given = {f"monitoring.certificateArns[{i}]": arn for i, arn in enumerate(self.monitoring.certificate_arns)}
        if self.api.domain is not None and self.api.domain.certificate_arn:
            given["api.domain.certificateArn"] = self.api.domain.certificate_arn
        problems = [
            f"{key}: certificate {arn} is in {arn.split(':')[3]}, not in the stack's region {self.region}"
            for key, arn in given.items() if arn.split(":")[3] != self.region
        ]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @model_validator(mode="after")
    def _freeze_has_its_alarms(self) -> StackConfig:
        if self.delivery.freeze_on_error_budget and not self.monitoring.slo.burn_rate_alerts:
            raise ValueError("delivery.freezeOnErrorBudget: reads the availability burn-rate alarms, which "
                             "monitoring.slo.burnRateAlerts false does not create; turn one on or the other off")
        return self

    @model_validator(mode="after")
    def _indexes_fit_an_alarm(self) -> StackConfig:
        # The table's throttle alarms sum the table's metric and each index's in one metric-math alarm.
        indexes = len(self.table.global_secondary_indexes)
        if 1 + indexes > MAX_ALARM_METRICS:
            raise ValueError(
                f"table.globalSecondaryIndexes: {indexes} indexes; the throttle alarms read the table's metric and "
                f"each index's, and a CloudWatch metric-math alarm reads at most {MAX_ALARM_METRICS}: at most "
                f"{MAX_ALARM_METRICS - 1} indexes"
            )
        return self

    @property
    def prefix(self) -> str:
        """Physical-name prefix shared by every named resource of this stack."""
        return f"{self.service}-{self.stack}"

    @property
    def tags(self) -> dict[str, str]:
        """The tags every taggable resource carries (applied as provider default tags)."""
        return {
            "Project": NAMESPACE,
            "Environment": self.environment,
            "Service": self.service,
            "Owner": self.owner,
            "CostCenter": self.cost_center,
            "ManagedBy": "pulumi",
        }


# Profiles: what a stack gets when its file says nothing. A stack file overrides any leaf; prod's
# protections cannot be overridden to off (see _prod_is_protected).
PROFILES: dict[str, dict[str, Any]] = {
    "dev": {
        "lambda": {"memoryMb": 256, "timeoutSeconds": 10, "logLevel": "DEBUG",
                   # Dev runs OpenTelemetry ahead of the X-Ray SDK's end of support (2027-02-25).
                   "tracing": {"provider": "opentelemetry"}},
        "api": {"throttlingRateLimit": 20, "throttlingBurstLimit": 40,
                "throttleClasses": {"write": {"rateLimit": 10, "burstLimit": 20}},
                "routeThrottling": {"DELETE /items/{id}": {"rateLimit": 5, "burstLimit": 10}}},
        "logs": {"retentionDays": 7, "accessLogRetentionDays": 14},
        "dataProtection": {"deletionProtection": False, "pointInTimeRecovery": True,
                           "customerManagedKey": False, "protectResources": False},
        "cost": {"monthlyBudgetUsd": 40},
        "traffic": {"requestsPerMonth": 100_000, "averageDurationMs": 150, "functionLogBytesPerRequest": 3000,
                    "writeUnitsPerRequest": 0.3, "storedGb": 0.1, "alertsPerMonth": 50},
        # Idle by design: no no-traffic alarm, no canary (off unless a profile turns it on); every request traced.
        "monitoring": {"expectTraffic": False, "tracing": {"samplingRate": 1.0}},
        # Releases still go through CodeDeploy and both traffic checks, all at once.
        "delivery": {"strategy": "all-at-once"},
        # Disposable data: PITR only; no backup plan, log archive or audit trail (the models' defaults: a stack
        # file may turn one on to try it).
    },
    "prod": {
        # Tracing stays on the model's xray-sdk until dev has run OpenTelemetry through a release cycle
        # (docs/tracing.md), before 2027-02-25.
        "lambda": {"memoryMb": 512, "timeoutSeconds": 10, "reservedConcurrency": 100, "debugSampleRate": 0.01,
                   "snapStart": True},
        # Writes are throttled below reads: they cost more and a runaway writer fills the table.
        "api": {"throttlingRateLimit": 500, "throttlingBurstLimit": 1000,
                "throttleClasses": {"write": {"rateLimit": 100, "burstLimit": 200}},
                "routeThrottling": {"DELETE /items/{id}": {"rateLimit": 50, "burstLimit": 100}}},
        "logs": {"retentionDays": 90, "accessLogRetentionDays": 365, "customerManagedKey": True},
        "dataProtection": {"deletionProtection": True, "pointInTimeRecovery": True,
                           "customerManagedKey": True, "protectResources": True},
        # 250: backups in two regions, the log archive, the audit trail and restore tests add about 60 USD.
        "cost": {"monthlyBudgetUsd": 250, "anomalyFrequency": "IMMEDIATE"},
        "traffic": {"requestsPerMonth": 10_000_000, "averageDurationMs": 80, "functionLogBytesPerRequest": 1200,
                    "storedGb": 5},
        # Always some traffic (the canary every 5 minutes); 5 % of requests traced after 1/s.
        # Chat users act only through an IAM role of their own, never the channel's.
        "monitoring": {"anomalyDetection": True, "tracing": {"samplingRate": 0.05}, "canary": {"enabled": True},
                       "chat": {"userAuthorizationRequired": True}},
        # Releases: the models' canary, 10% of traffic for 5 minutes, watched by the release alarms, then the rest.
        "pipeline": {"order": 30, "approval": True},
        # Daily backups kept 30 days, copied to a second region, both vaults locked; RPO and RTO one hour in
        # the region (PITR), one backup interval when the region is lost (the models' defaults).
        "resilience": {"enabled": True, "copyRegion": "eu-central-1", "vaultLock": True,
                       "restoreTestSchedule": "cron(0 6 ? * MON *)"},
        # Logs leave CloudWatch for S3 as they arrive: Glacier Instant Retrieval after 30 days, gone after 2 years.
        "logArchive": {"enabled": True, "expireAfterDays": 730},
        # Who did what: the tables' item-level calls and the region's control plane, kept a year.
        "auditTrail": {"enabled": True},
    },
}


def default_profile(environment: str) -> str | None:
    """The profile a stack file without `profile` gets: files from before profiles said `environment:
    dev|prod` and meant both."""
    return environment if environment in PROFILES else None


def profile_of(stack: str, stack_file_config: Mapping[str, Any]) -> str:
    """A stack file's profile (its `config:` map as YAML gives it), or ConfigError."""
    environment = stack_file_config.get(f"{NAMESPACE}:environment") or stack
    profile = stack_file_config.get(f"{NAMESPACE}:profile") or default_profile(str(environment))
    if profile not in PROFILES:
        raise ConfigError(stack, [f"{NAMESPACE}:profile: {profile!r} is not one of {sorted(PROFILES)}"])
    return str(profile)


def pipeline_defaults(profile: str) -> dict[str, Any]:
    """The pipeline settings a profile gives (its own over the model's defaults)."""
    return PipelineConfig.model_validate(PROFILES[profile].get("pipeline", {})).model_dump(by_alias=True)

# Top-level keys of the prodready namespace; anything else in the stack file is a typo.
TOP_LEVEL_KEYS: frozenset[str] = frozenset(
    info.alias or name for name, info in StackConfig.model_fields.items()
    if name not in ("stack", "region", "aws_provider")
)


def did_you_mean(key: str, known: Sequence[str]) -> str:
    """" (did you mean 'memoryMb'?)" for a near miss of one of `known`, else ""."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    if not close:
        close = [k for k in known if k.lower() == key.lower()]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _model_in(annotation: Any) -> Any:
    """The config model an annotation holds (itself, or inside a list, a map's values or an Optional)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        model = _model_in(argument)
        if model is not None:
            return model
    return None


def _model_keys(loc: tuple[Any, ...]) -> list[str]:
    """The config keys the model accepts beside the unknown one at `loc` (for a suggestion)."""
    model: Any = StackConfig
    for item in loc[:-1]:
        if isinstance(item, int) or model is None:
            continue
        fields = {info.alias or name: info for name, info in model.model_fields.items()}
        info = fields.get(str(item))
        model = _model_in(info.annotation) if info else None
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def aws_provider_settings(raw_config: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    """The stack file's `aws:` settings as AWS provider arguments; what cannot be honoured goes to `problems`."""
    settings: dict[str, Any] = {}
    for full_key, raw in raw_config.items():
        namespace, _, key = full_key.partition(":")
        if namespace != "aws" or key == "region":
            continue
        if key in AWS_OWNED_SETTINGS:
            problems.append(f"{full_key}: not honoured: {AWS_OWNED_SETTINGS[key]}")
            continue
        argument = AWS_PROVIDER_SETTINGS.get(key)
        if argument is None:
            hint = did_you_mean(key, list(AWS_PROVIDER_SETTINGS))
            problems.append(f"{full_key}: an AWS provider setting this program does not pass on{hint}; "
                            f"supported: {', '.join(sorted(AWS_PROVIDER_SETTINGS))}")
            continue
        value = _parse_value(raw)
        if argument in ("allowed_account_ids", "forbidden_account_ids", "shared_config_files",
                        "shared_credentials_files"):
            if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
                problems.append(f"{full_key}: a list expected (got {raw!r})")
                continue
            value = [str(v) for v in value]
            bad = [v for v in value if argument.endswith("account_ids") and not re.fullmatch(r"\d{12}", v)]
            if bad:
                problems.append(f"{full_key}: account ids are 12 digits (got {bad})")
                continue
        elif argument in ("assume_roles", "assume_role_with_web_identity"):
            roles: list[Any] = value if isinstance(value, list) else [value]
            if not all(isinstance(v, Mapping) and v.get("roleArn") for v in roles):
                problems.append(f"{full_key}: each role needs a roleArn (got {raw!r})")
                continue
            # The provider's argument types take snake_case keys; the stack file uses the provider's
            # camelCase config names.
            roles = [{to_snake(k): v for k, v in role.items()} for role in roles]
            value = roles if argument == "assume_roles" else roles[0]
        elif argument == "max_retries":
            try:
                value = int(value)
            except (TypeError, ValueError):
                problems.append(f"{full_key}: a whole number expected (got {raw!r})")
                continue
        settings[argument] = value
    return settings


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _parse_value(raw: Any) -> Any:
    """Pulumi hands structured values to the program as JSON text and scalars as strings."""
    if isinstance(raw, str) and raw[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _format_location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif " " in str(item):
            # A map key such as a route key (`POST /items`): quoted, so the path reads unambiguously.
            parts.append(f"[{json.dumps(str(item))}]")
        else:
            parts.append(("." if parts else "") + str(item))
    path = "".join(parts)
    if path in ("region",):
        return "aws:region"
    return f"{NAMESPACE}:{path}" if path else f"{NAMESPACE}"


def _lookup(data: Mapping[str, Any], loc: tuple[Any, ...]) -> Any:
    current: Any = data
    for item in loc:
        try:
            current = current[item]
        except (KeyError, IndexError, TypeError):
            return None
    return current


def load_stack_config(
    stack: str,
    raw_config: Mapping[str, Any],
    *,
    route_keys: Sequence[str] = (),
    throttle_classes: Mapping[str, str] | None = None,
    watched: Mapping[str, str] | None = None,
) -> StackConfig:
    """Validate a stack's raw config map (`"ns:key" -> value`) into a StackConfig.

    `route_keys` are the API's routes, `throttle_classes` each route key's throttle class and `watched` the
    keys of the resources monitoring watches with their scope (the program's facts, not config): keys that
    name routes, throttle classes or watched resources are checked against them. Raises ConfigError listing
    every problem; nothing is half-loaded.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    for full_key, raw in raw_config.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        if key not in TOP_LEVEL_KEYS:
            problems.append(
                f"{full_key}: unknown config key (value {raw!r}){did_you_mean(key, sorted(TOP_LEVEL_KEYS))}; "
                f"known keys: {', '.join(sorted(TOP_LEVEL_KEYS))}"
            )
            continue
        values[key] = _parse_value(raw)

    environment = values.setdefault("environment", stack)
    # Stack files from before profiles said `environment: dev|prod` and meant both.
    profile = values.setdefault("profile", default_profile(str(environment)))
    if profile is None:
        problems.append(f"{NAMESPACE}:profile: required; set it to one of {sorted(PROFILES)} (the defaults and "
                        f"protections this stack gets)")
    elif profile not in PROFILES:
        problems.append(f"{NAMESPACE}:profile: {profile!r} is not one of {sorted(PROFILES)}")
    if environment != stack:
        problems.append(
            f"{NAMESPACE}:environment: {environment!r} is not this stack's name: its resources would be tagged "
            f"Environment={environment} and counted by that environment's budget and cost reports, and "
            f"{environment}'s by this one's. Remove it (it defaults to the stack's name); for {environment}'s "
            f"defaults and protections set {NAMESPACE}:profile instead"
        )
    region = raw_config.get("aws:region")
    if region is None:
        problems.append("aws:region: required (pulumi config set aws:region <region>)")
    aws_settings = aws_provider_settings(raw_config, problems)
    if profile not in PROFILES or region is None:
        raise ConfigError(stack, problems)

    merged = _deep_merge(PROFILES[str(profile)], values)
    merged.update(stack=stack, region=region, awsProvider=aws_settings)
    try:
        config = StackConfig.model_validate(merged, context={
            "route_keys": tuple(route_keys), "throttle_classes": throttle_classes, "watched": watched,
        })
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            value = _lookup(merged, loc) if error["type"] != "missing" else None
            where = _format_location(loc)
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                hint = did_you_mean(str(loc[-1]), _model_keys(loc)) if loc else ""
                problems.append(f"{where}: unknown config key (value {error['input']!r}){hint}")
            elif error["type"] == "missing":
                problems.append(f"{where}: required")
            elif not loc:
                # Cross-field rules report several findings at once, each already naming its key.
                problems.extend(part if part.startswith("aws:") else f"{NAMESPACE}:{part}"
                                for part in message.split("\n"))
            else:
                problems.append(f"{where}: {message} (got {value!r})")
        raise ConfigError(stack, problems) from None
    if problems:
        raise ConfigError(stack, problems)
    return config


def raw_pulumi_config() -> dict[str, Any]:
    """Every config key the engine handed this program, as `"ns:key" -> raw value`.

    `pulumi.Config` can only look up keys it is asked for, so a misspelt top-level key would go
    unnoticed; the runtime's full map (the engine passes it as PULUMI_CONFIG) lets us refuse it.
    """
    from pulumi.runtime import config as runtime_config

    merged: dict[str, Any] = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return merged
