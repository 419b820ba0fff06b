"""Typed, validated stack configuration.

`Pulumi.<stack>.yaml` holds keys under the `prodready:` namespace (camelCase, structured values
as YAML maps) plus `aws:region`. `load_stack_config` merges them over the environment profile
(dev is cheap and disposable, prod is protected), validates everything once, and returns a
frozen `StackConfig`. Any mistake raises `ConfigError` naming the stack, the config key, the bad
value and what is expected, before a single resource is registered.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from components.monitoring.catalog import threshold_problems
from components.monitoring.registry import KINDS

NAMESPACE = "prodready"

# The only values CloudWatch Logs accepts for RetentionInDays (0/"never expire" is deliberately
# absent: we never keep logs forever by accident).
CLOUDWATCH_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)

Environment = Literal["dev", "prod"]


class ConfigError(ValueError):
    """Invalid stack configuration; the message names stack, key, value and expectation."""

    def __init__(self, stack: str, problems: list[str]) -> None:
        self.stack = stack
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration for stack '{stack}' ({len(problems)} problem(s)):\n{lines}")


class _Model(BaseModel):
    """Base for every config section: camelCase keys as in the YAML, frozen, no unknown keys."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


def _check_retention(value: int) -> int:
    if value not in CLOUDWATCH_RETENTION_DAYS:
        raise ValueError(
            f"{value} is not a retention CloudWatch Logs accepts; use one of {list(CLOUDWATCH_RETENTION_DAYS)}"
        )
    return value


class LambdaConfig(_Model):
    memory_mb: int = Field(ge=128, le=10240)
    """Function memory in MB (128-10240); CPU scales with it."""
    timeout_seconds: int = Field(ge=1, le=29)
    """Function timeout; at most 29 s because the HTTP API integration times out at 30 s."""
    reserved_concurrency: int | None = Field(default=None, ge=1, le=10000)
    """Reserved concurrent executions; None leaves the function on the unreserved account pool."""
    architecture: Literal["arm64", "x86_64"] = "arm64"
    """Instruction set; arm64 is ~20% cheaper per GB-second."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Application log level (Powertools and Lambda's JSON application log filter)."""
    debug_sample_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Share of invocations that log at DEBUG regardless of log level."""
    powertools_layer_version: int = Field(default=27, ge=1)
    """Version of the AWS-published Powertools for AWS Lambda (Python) v3 layer."""
    snap_start: bool = False
    """Lambda SnapStart on published versions (Python 3.12 and later): init runs once per version and
    each cold start restores its snapshot. Billed per GB-second cached and per GB restored."""
    provisioned_concurrency: int | None = Field(default=None, ge=1, le=10000)
    """Execution environments kept initialised on the live alias (billed whether used or not)."""

    @model_validator(mode="after")
    def _combinations_aws_accepts(self) -> LambdaConfig:
        if self.snap_start and self.provisioned_concurrency:
            raise ValueError(
                "snapStart and provisionedConcurrency: Lambda does not support SnapStart with provisioned "
                "concurrency; choose one"
            )
        if self.provisioned_concurrency and self.reserved_concurrency and \
                self.provisioned_concurrency > self.reserved_concurrency:
            raise ValueError(
                f"provisionedConcurrency ({self.provisioned_concurrency}) cannot exceed reservedConcurrency "
                f"({self.reserved_concurrency})"
            )
        return self


_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def _is_origin(origin: str) -> bool:
    """An origin as browsers send it (scheme://host[:port]); plain http only for a loopback host, matched
    whole (`http://localhost.example.com` is not local)."""
    match = re.fullmatch(r"(https?)://([A-Za-z0-9.-]+|\[::1\])(?::(\d{1,5}))?", origin)
    if not match:
        return False
    scheme, host = match.group(1), match.group(2).lower()
    return scheme == "https" or host in _LOOPBACK_HOSTS


class RouteThrottle(_Model):
    """Throttling of one route, on top of the stage's default route settings."""

    rate_limit: float = Field(gt=0, le=10000)
    """Steady-state requests per second of this route."""
    burst_limit: int = Field(gt=0, le=5000)
    """Burst capacity of this route."""

    @model_validator(mode="after")
    def _burst_covers_rate(self) -> RouteThrottle:
        if self.burst_limit < self.rate_limit:
            raise ValueError(f"burstLimit ({self.burst_limit}) must be >= rateLimit ({self.rate_limit:g})")
        return self


# Cognito refuses domain prefixes that contain these words.
_COGNITO_RESERVED_WORDS = ("aws", "amazon", "cognito")


class ApiAuthConfig(_Model):
    """Who may call the API: a JWT authorizer on every route but the public ones."""

    mode: Literal["cognito", "jwt", "none"] = "cognito"
    """cognito: the stack creates a Cognito user pool, resource server, token domain and machine client;
    jwt: an existing OIDC issuer (issuer, audience); none: no authorizer (dev only, written explicitly)."""
    issuer: str | None = Field(default=None, pattern=r"^https://[^\s/]+(/\S*)?$")
    """jwt mode: the issuer URL (the `iss` claim); API Gateway reads its keys from its OIDC discovery."""
    audience: tuple[str, ...] = Field(default=(), max_length=50)
    """jwt mode: accepted `aud` values (or `client_id` when a token has no `aud`); API Gateway takes 50."""
    scope_prefix: str = Field(default="", max_length=200, pattern=r"^[!-~]*$")
    """jwt mode: prefix of the scope names in the token (e.g. `api://catalog/`); cognito mode uses the
    resource server identifier and a slash."""
    domain_prefix: str | None = Field(default=None, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
    """cognito mode: prefix of the token endpoint's domain (unique in the region across all accounts);
    default `<service>-<stack>-<account id>`."""
    access_token_minutes: int = Field(default=60, ge=5, le=1440)
    """cognito mode: lifetime of an access token (Cognito allows 5 minutes to 1 day)."""

    @model_validator(mode="after")
    def _fields_match_mode(self) -> ApiAuthConfig:
        jwt_only = {"issuer": self.issuer, "audience": self.audience, "scopePrefix": self.scope_prefix}
        cognito_only = {"domainPrefix": self.domain_prefix}
        if self.mode == "jwt":
            if not self.issuer:
                raise ValueError("mode jwt needs issuer (the https URL of the OIDC issuer)")
            if not self.audience:
                raise ValueError("mode jwt needs audience (at least one accepted aud or client_id)")
            given = [key for key, value in cognito_only.items() if value]
        elif self.mode == "cognito":
            given = [key for key, value in jwt_only.items() if value]
        else:
            given = [key for key, value in {**jwt_only, **cognito_only}.items() if value]
        if given:
            raise ValueError(f"{', '.join(given)} do(es) not apply to mode {self.mode}")
        if self.domain_prefix and any(word in self.domain_prefix for word in _COGNITO_RESERVED_WORDS):
            raise ValueError(f"domainPrefix may not contain {', '.join(_COGNITO_RESERVED_WORDS)} (Cognito refuses it)")
        return self


class ApiConfig(_Model):
    throttling_rate_limit: float = Field(gt=0, le=10000)
    """Default route steady-state requests per second for the $default stage."""
    throttling_burst_limit: int = Field(gt=0, le=5000)
    """Default route burst capacity for the $default stage."""
    cors_origins: tuple[str, ...] = ()
    """Allowed CORS origins (https://...); empty disables CORS. '*' is refused in prod."""
    detailed_metrics: bool = False
    """Per-route CloudWatch metrics (billed as custom metrics)."""
    auth: ApiAuthConfig = ApiAuthConfig()
    """Authorization of the routes (JWT authorizer)."""
    route_throttling: dict[str, RouteThrottle] = {}
    """Per-route throttling on top of the stage default, keyed by route key (`POST /items`)."""
    max_body_kb: int = Field(default=64, ge=1, le=6144)
    """Largest request body the function accepts, in KB (413 above it, before parsing); Lambda's
    synchronous payload limit is 6 MB."""
    idempotency_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 86400)
    """How long a POST /items with an Idempotency-Key is remembered (a retry within it gets the first answer)."""
    serve_openapi: bool = False
    """Serve /openapi.json and the Swagger UI at /docs from the deployed function (behind the catch-all
    route's authorization). The local server always serves them."""

    @field_validator("route_throttling")
    @classmethod
    def _throttled_routes_exist(
        cls, routes: dict[str, RouteThrottle], info: ValidationInfo
    ) -> dict[str, RouteThrottle]:
        known = tuple((info.context or {}).get("route_keys") or ())
        unknown = [key for key in routes if known and key not in known]
        if unknown:
            raise ValueError(f"unknown route key(s) {unknown}; the API's routes are {list(known)}")
        return routes

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_urls(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            if origin != "*" and not _is_origin(origin):
                raise ValueError(
                    f"CORS origin {origin!r} must be '*', https://<host>[:port], or http:// on localhost or "
                    "127.0.0.1 (scheme, host and port only, no path)"
                )
        return origins

    @model_validator(mode="after")
    def _burst_covers_rate(self) -> ApiConfig:
        if self.throttling_burst_limit < self.throttling_rate_limit:
            raise ValueError(
                f"throttlingBurstLimit ({self.throttling_burst_limit}) must be >= "
                f"throttlingRateLimit ({self.throttling_rate_limit})"
            )
        return self


class LogsConfig(_Model):
    retention_days: int
    """Retention of the function's log group, in days (a value CloudWatch accepts)."""
    access_log_retention_days: int
    """Retention of the API access log group (security/audit logs), in days."""

    customer_managed_key: bool = False
    """Encrypt the function and access log groups with a customer-managed KMS key (else CloudWatch's own)."""
    mask_sensitive_data: bool = True
    """A CloudWatch Logs data protection policy masks identifiers AWS detects (e-mail addresses, keys) in
    the function's log group, behind the app's own redaction. Billed per GB scanned."""

    @field_validator("retention_days", "access_log_retention_days")
    @classmethod
    def _retention_is_accepted(cls, value: int) -> int:
        return _check_retention(value)


class GsiConfig(_Model):
    name: str = Field(min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_.-]+$")
    """Index name."""
    hash_key: str = Field(min_length=1)
    """Partition key attribute of the index (string type)."""
    range_key: str | None = None
    """Optional sort key attribute of the index (string type)."""
    projection_type: Literal["ALL", "KEYS_ONLY", "INCLUDE"] = "ALL"
    """Which attributes the index copies."""
    non_key_attributes: tuple[str, ...] = ()
    """Projected attributes when projectionType is INCLUDE."""

    @model_validator(mode="after")
    def _include_needs_attributes(self) -> GsiConfig:
        if self.projection_type == "INCLUDE" and not self.non_key_attributes:
            raise ValueError("projectionType INCLUDE needs nonKeyAttributes")
        if self.projection_type != "INCLUDE" and self.non_key_attributes:
            raise ValueError("nonKeyAttributes only applies to projectionType INCLUDE")
        return self


class TableConfig(_Model):
    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = "PAY_PER_REQUEST"
    """On-demand (default) or provisioned capacity."""
    read_capacity: int | None = Field(default=None, ge=1)
    """Provisioned read capacity units (PROVISIONED only)."""
    write_capacity: int | None = Field(default=None, ge=1)
    """Provisioned write capacity units (PROVISIONED only)."""
    ttl_attribute: str | None = None
    """Attribute holding an epoch-seconds expiry; None disables TTL."""
    global_secondary_indexes: tuple[GsiConfig, ...] = ()
    """Global secondary indexes."""
    stream_enabled: bool = False
    """Enable a NEW_AND_OLD_IMAGES stream."""

    @model_validator(mode="after")
    def _capacity_matches_billing(self) -> TableConfig:
        provisioned = self.read_capacity is not None or self.write_capacity is not None
        if self.billing_mode == "PROVISIONED" and (self.read_capacity is None or self.write_capacity is None):
            raise ValueError("billingMode PROVISIONED needs readCapacity and writeCapacity")
        if self.billing_mode == "PAY_PER_REQUEST" and provisioned:
            raise ValueError("readCapacity/writeCapacity only apply to billingMode PROVISIONED")
        names = [g.name for g in self.global_secondary_indexes]
        if len(names) != len(set(names)):
            raise ValueError(f"globalSecondaryIndexes names must be unique, got {names}")
        return self


class DataProtectionConfig(_Model):
    deletion_protection: bool
    """DynamoDB deletion protection."""
    point_in_time_recovery: bool
    """DynamoDB continuous backups (PITR)."""
    customer_managed_key: bool
    """Encrypt the table with a customer-managed KMS key (else the AWS-managed key)."""
    protect_resources: bool
    """Pulumi `protect` plus `retainOnDelete` on the table, its key and log groups."""


_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class CostConfig(_Model):
    monthly_budget_usd: float = Field(gt=0, le=1_000_000)
    """Monthly cost budget of this stack in USD, over the spend tagged with its Project and Environment."""
    budget_emails: tuple[str, ...] = Field(default=(), max_length=10)
    """Who receives the budget notifications by email (AWS Budgets allows 10 per notification); they also
    receive the anomaly digest when anomalyFrequency is DAILY or WEEKLY, and the billing alarm."""
    anomaly_threshold_usd: float = Field(default=10.0, gt=0, le=1_000_000)
    """Alert when a cost anomaly's total impact reaches this many USD."""
    anomaly_frequency: Literal["IMMEDIATE", "DAILY", "WEEKLY"] = "DAILY"
    """IMMEDIATE alerts go to the warning SNS topic; DAILY and WEEKLY digests go to budgetEmails (Cost
    Anomaly Detection sends SNS only for IMMEDIATE and email only for DAILY/WEEKLY)."""
    manage_cost_allocation_tags: bool = False
    """Activate the Project and Environment cost allocation tags. Account-level: exactly one stack per
    account sets this (the committed prod stack does); see the README."""
    billing_alarm: bool = False
    """Create the account-wide AWS/Billing EstimatedCharges alarm (us-east-1 only) and its dashboard."""
    billing_alarm_threshold_usd: float | None = Field(default=None, gt=0, le=1_000_000)
    """Month-to-date estimated charges of the whole account, in USD, that trip the billing alarm."""
    estimate_warn_share: float = Field(default=0.8, gt=0, le=1)
    """`make plan` warns when the estimate at the configured traffic exceeds this share of the budget."""

    @field_validator("budget_emails")
    @classmethod
    def _emails_are_addresses(cls, emails: tuple[str, ...]) -> tuple[str, ...]:
        for email in emails:
            if not re.match(_EMAIL, email):
                raise ValueError(f"{email!r} is not an email address")
        if len(set(emails)) != len(emails):
            raise ValueError(f"duplicate addresses in {list(emails)}")
        return emails

    @model_validator(mode="after")
    def _recipients_exist(self) -> CostConfig:
        if self.anomaly_frequency != "IMMEDIATE" and not self.budget_emails:
            raise ValueError(
                f"anomalyFrequency {self.anomaly_frequency} delivers by email only: set budgetEmails "
                "or use IMMEDIATE (delivered to the warning topic)"
            )
        if self.billing_alarm and self.billing_alarm_threshold_usd is None:
            raise ValueError("billingAlarm needs billingAlarmThresholdUsd")
        if self.billing_alarm and not self.budget_emails:
            raise ValueError("billingAlarm notifies budgetEmails through a us-east-1 topic: set budgetEmails")
        return self


class TrafficConfig(_Model):
    """The traffic level the monthly cost estimate prices (`make plan`); creates no resources."""

    requests_per_month: int = Field(ge=0, le=100_000_000_000)
    """Client requests per month through the HTTP API."""
    average_duration_ms: float = Field(gt=0, le=900_000)
    """Average billed duration of one invocation, in ms."""
    average_payload_kb: float = Field(default=2.0, gt=0, le=10_240)
    """Average response size in KB (HTTP API meters 512 KB increments; data transfer out)."""
    function_log_bytes_per_request: int = Field(default=1500, ge=0, le=10_000_000)
    """Bytes the function writes to its log group per invocation, platform records included."""
    access_log_bytes_per_request: int = Field(default=700, ge=0, le=100_000)
    """Bytes of one API access-log record."""
    read_units_per_request: float = Field(default=1.0, ge=0, le=10_000)
    """DynamoDB read request units per client request (0.5 per eventually consistent read of <= 4 KB)."""
    write_units_per_request: float = Field(default=0.2, ge=0, le=10_000)
    """DynamoDB write request units per client request, on the table alone (indexes are added from the plan)."""
    stored_gb: float = Field(default=1.0, ge=0, le=1_000_000)
    """Table data size in GB (indexes are added from the plan)."""
    canary_requests_per_run: int = Field(default=1, ge=0, le=1000)
    """API requests one canary run makes; they are billed like client requests, at rest too."""
    alerts_per_month: int = Field(default=20, ge=0, le=1_000_000)
    """Alarm and budget notifications published per month (SNS publishes and email deliveries)."""
    idempotent_requests_share: float = Field(default=0.05, ge=0, le=1)
    """Share of client requests that are creates with an Idempotency-Key (two write units each on the
    idempotency table, held until the record expires)."""
    token_requests_per_month: int = Field(default=1500, ge=0, le=1_000_000_000)
    """Access tokens machine callers request from Cognito per month (a caller that caches its token asks
    about once an hour: 730 a month; each smoke-test run asks twice)."""
    cold_start_share: float = Field(default=0.005, ge=0, le=1)
    """Share of invocations that start a new execution environment (each restores a SnapStart snapshot)."""
    releases_per_month: int = Field(default=20, ge=0, le=10_000)
    """Releases per month (each runs the pre-traffic hook, which invokes the new version twice)."""


class DeliveryConfig(_Model):
    """How a new version reaches traffic: CodeDeploy shifts the live alias, watched by the release alarms."""

    strategy: Literal["canary", "linear", "all-at-once"] = "canary"
    """canary: `percentage` for `intervalMinutes`, then the rest; linear: `percentage` more every
    `intervalMinutes`; all-at-once: every request at once (still after the pre-traffic check)."""
    percentage: int = Field(default=10, ge=1, le=99)
    """Share of traffic of the canary step, or of each linear step."""
    interval_minutes: int = Field(default=5, ge=1, le=1440)
    """Minutes between steps, while the release alarms watch."""
    pre_traffic_check: bool = True
    """Before any traffic moves, a hook function invokes the new version with the readiness route and a
    read; a version that fails never gets a request."""
    keep_versions: int = Field(default=3, ge=2, le=100)
    """Published versions kept after each release (the live one and those before it, for a rollback);
    older ones are deleted: each is stored and, with SnapStart, its snapshot is billed while it exists."""
    retry_failed_version: bool = False
    """Release a version again although its last release failed (set it, `pulumi up`, unset it): without
    it a failed version is never sent to traffic a second time by a later update."""
    max_release_minutes: int = Field(default=45, ge=5, le=345)
    """The longest a release may take, waited for inside `pulumi up` (traffic shifting plus the hooks and
    CodeDeploy's overhead). Keep it below the deploy credentials' lifetime (a CI role's session is 1 hour
    by default) and the CI job's timeout; raise all three together."""

    # What a release takes beyond its traffic shifting: CodeDeploy's start-up, the hooks (their timeouts),
    # the final alias update, and a margin; past it `pulumi up` stops the deployment and rolls back.
    OVERHEAD_MINUTES: ClassVar[int] = 15

    @model_validator(mode="after")
    def _release_fits(self) -> DeliveryConfig:
        if self.release_minutes > self.max_release_minutes:
            raise ValueError(
                f"a {self.strategy} release of {self.percentage}% every {self.interval_minutes} min takes up to "
                f"{self.release_minutes} min ({self.total_minutes} of traffic shifting, {self.OVERHEAD_MINUTES} for "
                f"CodeDeploy and the hooks), more than maxReleaseMinutes ({self.max_release_minutes}): `pulumi up` "
                f"would outlive its deploy credentials. Shorten intervalMinutes, raise percentage, or raise "
                f"maxReleaseMinutes together with the deploy role's session duration and the CI job's timeout"
            )
        return self

    @property
    def release_minutes(self) -> int:
        """The longest a release may take, hooks and CodeDeploy included."""
        return self.total_minutes + self.OVERHEAD_MINUTES

    @property
    def total_minutes(self) -> int:
        """How long the traffic shifting takes after the pre-traffic check."""
        if self.strategy == "canary":
            return self.interval_minutes
        if self.strategy == "linear":
            return self.interval_minutes * (-(-100 // self.percentage) - 1)
        return 0


Severity = Literal["critical", "warning"]

DEFAULT_RUNBOOK_BASE_URL = "https://github.com/example-org/prodready/blob/main/docs/runbooks"


class SloConfig(_Model):
    """Service-level objectives of the HTTP API, and their burn-rate alerts."""

    availability_target_percent: float = Field(default=99.9, ge=90, lt=100)
    """Share of requests that must not end in a 5xx, in percent (99.9 allows 43 min of full outage per 30 days)."""
    latency_target_percent: float = Field(default=99.0, ge=50, lt=100)
    """Share of requests that must complete within latencyThresholdMs, in percent."""
    latency_threshold_ms: int = Field(default=1000, ge=10, le=30000)
    """Latency a good request stays within (API Gateway's Latency metric)."""
    window_days: int = Field(default=30, ge=7, le=90)
    """SLO window; the burn-rate thresholds are derived from it (30 days gives the workbook's 14.4/6/1)."""
    burn_rate_alerts: bool = True
    """Create the multiwindow, multi-burn-rate alarms (page at 14.4x and 6x, ticket at 1x)."""


class TracingConfig(_Model):
    """X-Ray sampling and the faults group."""

    sampling_rate: float = Field(ge=0, le=1)
    """Share of requests traced after the reservoir is used up (1.0 = every request)."""
    reservoir_per_second: int = Field(default=1, ge=0, le=1000)
    """Requests per second traced before the rate applies."""
    insights: bool = True
    """X-Ray Insights with notifications on the faults-and-errors group."""


class CanaryConfig(_Model):
    """The synthetic health check."""

    enabled: bool = False
    """Run a CloudWatch Synthetics canary against the API's readiness route."""
    schedule: str = Field(default="rate(5 minutes)", pattern=r"^(rate\(\d+ (minute|minutes|hour|hours)\)|cron\(.+\))$")
    """Synthetics schedule expression: rate(N minutes|hours) or cron(...)."""
    path: str = Field(default="/health/ready", pattern=r"^/[A-Za-z0-9/_.-]*$")
    """Path the canary requests (a 2xx answer is a success)."""
    runtime_version: str = Field(default="syn-nodejs-puppeteer-15.0", pattern=r"^syn-nodejs-puppeteer-\d+\.\d+$")
    """Synthetics runtime; the script uses the runtime's @aws/synthetics-puppeteer module."""
    artifact_retention_days: int = Field(default=30, ge=1, le=455)
    """Days canary artifacts stay in S3 and run data in Synthetics."""
    timeout_seconds: int = Field(default=60, ge=15, le=840)
    """Run timeout (Synthetics wants at least 15 s)."""


class MonitoringConfig(_Model):
    """Alert routing, alarm thresholds, SLOs, dashboard, tracing and the synthetic check."""

    runbook_base_url: str = Field(default=DEFAULT_RUNBOOK_BASE_URL, pattern=r"^https://[^\s]+[^/\s]$")
    """Where docs/runbooks is browsable; each alarm description ends with `<base>/<alarm kind>.md`."""
    alert_emails: dict[Severity, tuple[str, ...]] = {}
    """Email subscribers per severity (`critical` pages, `warning` notifies)."""
    webhook_secrets: dict[Severity, str] = {}
    """Per severity, the `namespace:key` of a secret config value holding an HTTPS endpoint (an incident
    tool's webhook), set with `pulumi config set --secret`; not in the `prodready` namespace."""
    thresholds: dict[str, dict[Severity, float | None]] = {}
    """Overrides of the default thresholds, by alarm kind then severity (`api-latency-p99: {warning: 500}`);
    a key `<resource key>/<kind>` overrides one watched resource only (`pre-traffic/lambda-duration-p99`);
    null removes that severity's alarm."""
    min_requests: int = Field(default=10, ge=1, le=1_000_000)
    """Requests (or invocations) a 5-minute period needs before rate and p99 alarms judge it."""
    expect_traffic: bool = True
    """The API always has traffic (the canary counts): alarm when it has none. False in a stack idle by design."""
    slo: SloConfig = SloConfig()
    """Availability and latency SLOs."""
    tracing: TracingConfig
    """X-Ray sampling rule and faults group."""
    canary: CanaryConfig = CanaryConfig()
    """Synthetic health check."""
    dashboard: bool = True
    """Create the service dashboard."""
    anomaly_detection: bool = False
    """Anomaly-detection band alarms (warning) on request count and p99 latency; the models need about two
    weeks of traffic to learn the band. Needs expectTraffic."""

    @field_validator("alert_emails")
    @classmethod
    def _emails_are_addresses(cls, emails: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for severity, addresses in emails.items():
            for email in addresses:
                if not re.match(_EMAIL, email):
                    raise ValueError(f"{severity}: {email!r} is not an email address")
            if len(set(addresses)) != len(addresses):
                raise ValueError(f"{severity}: duplicate addresses in {list(addresses)}")
        return emails

    @field_validator("webhook_secrets")
    @classmethod
    def _secrets_are_other_namespace_keys(cls, keys: dict[str, str]) -> dict[str, str]:
        for severity, key in keys.items():
            namespace, _, name = key.partition(":")
            if not re.match(r"^[A-Za-z0-9_.-]+$", namespace) or not re.match(r"^[A-Za-z0-9_.-]+$", name):
                raise ValueError(f"{severity}: {key!r} is not a config key of the form namespace:key")
            if namespace in (NAMESPACE, "aws"):
                raise ValueError(
                    f"{severity}: {key!r} must live outside the {NAMESPACE!r} and 'aws' namespaces, "
                    "e.g. alerting:criticalWebhookUrl"
                )
        return keys

    @field_validator("thresholds")
    @classmethod
    def _thresholds_name_known_kinds(
        cls, thresholds: dict[str, dict[str, float | None]], info: ValidationInfo
    ) -> dict[str, dict[str, float | None]]:
        problems = threshold_problems(thresholds, KINDS, (info.context or {}).get("watched"))
        if problems:
            raise ValueError("; ".join(problems))
        return thresholds

    @model_validator(mode="after")
    def _anomaly_bands_need_traffic(self) -> MonitoringConfig:
        if self.anomaly_detection and not self.expect_traffic:
            raise ValueError("anomalyDetection needs expectTraffic: a band learnt from an idle stack means nothing")
        return self

    @model_validator(mode="after")
    def _every_severity_reaches_someone(self) -> MonitoringConfig:
        missing = [s for s in ("critical", "warning") if not self.alert_emails.get(s) and s not in self.webhook_secrets]
        if missing:
            raise ValueError(
                f"alertEmails/webhookSecrets: no subscriber for {', '.join(missing)}; every alert topic needs "
                "at least one email address or webhook"
            )
        return self


# DynamoDB keeps a table restorable to any second up to about five minutes ago while PITR is on
# (LatestRestorableDateTime): the in-region recovery point objective PITR can promise.
PITR_RPO_MINUTES = 5


def schedule_interval_minutes(expression: str) -> int | None:
    """Longest gap between two runs of an AWS Backup schedule, in minutes, or None when it cannot be read.

    Reads `cron(m h dom mon dow year)` with every day of the month (`*` or `?`) and a fixed minute:
    the hour field a number (daily), `*` (hourly), `*/n` or `a/n` (every n hours) or a list (the widest
    gap, wrapping past midnight). Anything else (weekdays only, days of the month) is not guessed at."""
    match = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", expression.strip())
    if not match:
        return None
    minute, hour, day, month, weekday, _year = match.groups()
    if not minute.isdigit() or day not in ("*", "?") or month != "*" or weekday not in ("*", "?"):
        return None
    if hour == "*":
        return 60
    step = re.fullmatch(r"(\*|\d{1,2})/(\d{1,2})", hour)
    if step:
        every = int(step.group(2))
        return every * 60 if every and 24 % every == 0 else None
    if re.fullmatch(r"\d{1,2}(,\d{1,2})*", hour):
        hours = sorted({int(h) for h in hour.split(",")})
        if any(h > 23 for h in hours):
            return None
        gaps = [b - a for a, b in itertools.pairwise(hours)] + [hours[0] + 24 - hours[-1]]
        return max(gaps) * 60
    return None


class ResilienceConfig(_Model):
    """Backups, their copy in a second region, and the recovery objectives they must meet."""

    enabled: bool = False
    """AWS Backup for the stack's tables: a vault per region under its own key, a plan with a copy
    action to the second region, notifications of failed jobs and alarms on them."""
    rpo_minutes: int = Field(default=60, ge=1, le=525_600)
    """Recovery point objective in the stack's region, in minutes: the most data a restore may lose.
    PITR meets it down to 5 minutes; without PITR only the backup interval can."""
    copy_rpo_minutes: int = Field(default=1440, ge=1, le=525_600)
    """Recovery point objective when the stack's region is lost, in minutes: only the copies in the
    second region survive, so it can be no shorter than the backup interval."""
    rto_minutes: int = Field(default=60, ge=15, le=10_080)
    """Recovery time objective, in minutes: from the decision to restore to a serving table. At least 15:
    a restore creates a new table, which takes minutes even when it is empty."""
    backup_schedule: str = "cron(0 3 * * ? *)"
    """When AWS Backup takes a backup (UTC cron expression; default daily at 03:00)."""
    retention_days: int = Field(default=30, ge=1, le=36_500)
    """Days a backup is kept in the stack's region."""
    cold_storage_after_days: int | None = Field(default=None, ge=1, le=36_500)
    """Days after which a backup moves to cold storage (cheaper; AWS Backup keeps it there at least 90
    days, so retentionDays must be at least this plus 90). None keeps every backup warm."""
    copy_region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    """Region of the second vault that receives a copy of every backup; None makes no copy."""
    copy_retention_days: int | None = Field(default=None, ge=1, le=36_500)
    """Days a copy is kept in the second region; None keeps it as long as the backup (retentionDays)."""
    restore_test_schedule: str | None = None
    """When AWS Backup restores the latest backup of the items table into a scratch table and a function
    validates it (schema, items) before AWS Backup deletes it (cron, UTC); None runs no restore test."""
    vault_lock: bool = False
    """Lock both vaults in governance mode: nobody deletes a backup before its retention ends, except a
    principal allowed backup:DeleteBackupVaultLockConfiguration (see the README for why not compliance)."""

    @field_validator("backup_schedule")
    @classmethod
    def _schedule_is_readable(cls, schedule: str) -> str:
        if schedule_interval_minutes(schedule) is None:
            raise ValueError(
                "use a cron expression AWS Backup accepts with every day of the month and a fixed minute, e.g. "
                "cron(0 3 * * ? *) (daily), cron(0 */6 * * ? *) (every 6 hours); the recovery point objectives "
                "are checked against its interval"
            )
        return schedule

    @model_validator(mode="after")
    def _lifecycle_aws_accepts(self) -> ResilienceConfig:
        cold = self.cold_storage_after_days
        if cold is not None and self.retention_days < cold + 90:
            raise ValueError(
                f"retentionDays ({self.retention_days}) must be at least coldStorageAfterDays ({cold}) + 90: "
                "AWS Backup keeps a backup in cold storage for at least 90 days"
            )
        if cold is not None and self.copy_retention_days is not None and self.copy_retention_days < cold + 90:
            raise ValueError(
                f"copyRetentionDays ({self.copy_retention_days}) must be at least coldStorageAfterDays ({cold}) "
                "+ 90: the copy moves to cold storage on the same schedule"
            )
        if self.restore_test_schedule is not None and not re.fullmatch(r"cron\(\S+( \S+){5}\)",
                                                                        self.restore_test_schedule):
            raise ValueError(
                f"restoreTestSchedule {self.restore_test_schedule!r} is not a cron expression AWS Backup accepts, "
                "e.g. cron(0 6 ? * MON *) (Mondays 06:00 UTC)"
            )
        if self.copy_retention_days is not None and self.copy_region is None:
            raise ValueError("copyRetentionDays applies only with copyRegion")
        return self

    @property
    def interval_minutes(self) -> int:
        """Longest gap between two backups (the schedule was validated readable)."""
        return schedule_interval_minutes(self.backup_schedule) or 0

    @property
    def copy_days(self) -> int:
        """Days a copy is kept in the second region."""
        return self.copy_retention_days or self.retention_days


# Storage classes a lifecycle rule may move the archive to, with the shortest age S3 accepts for it
# (S3 lifecycle: Standard-IA and One Zone-IA need objects at least 30 days old; the Glacier classes none).
ARCHIVE_STORAGE_CLASSES: dict[str, int] = {
    "STANDARD_IA": 30, "ONEZONE_IA": 30, "GLACIER_IR": 0, "GLACIER": 0, "DEEP_ARCHIVE": 0,
}


class LogArchiveConfig(_Model):
    """The function and access logs streamed to an S3 bucket of the stack, kept longer and cheaper than in
    CloudWatch Logs."""

    enabled: bool = False
    """Subscription filters on the function and access log groups feed a Firehose stream that writes to an
    encrypted, versioned, TLS-only bucket with a lifecycle; failed deliveries alarm."""
    archive_after_days: int = Field(default=30, ge=0, le=3650)
    """Days after which archived logs move to `storageClass`."""
    storage_class: Literal["STANDARD_IA", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"] = "GLACIER_IR"
    """The archive storage class (Glacier Instant Retrieval: milliseconds to read, billed 90 days at least)."""
    expire_after_days: int = Field(default=365, ge=1, le=36_500)
    """Days after which archived logs are deleted (older versions 30 days after they are replaced)."""

    @model_validator(mode="after")
    def _lifecycle_s3_accepts(self) -> LogArchiveConfig:
        minimum = ARCHIVE_STORAGE_CLASSES[self.storage_class]
        if self.archive_after_days < minimum:
            raise ValueError(
                f"archiveAfterDays ({self.archive_after_days}) must be at least {minimum} for storageClass "
                f"{self.storage_class} (S3 lifecycle refuses an earlier transition)"
            )
        if self.expire_after_days <= self.archive_after_days:
            raise ValueError(
                f"expireAfterDays ({self.expire_after_days}) must be later than archiveAfterDays "
                f"({self.archive_after_days})"
            )
        return self


class AuditTrailConfig(_Model):
    """A CloudTrail trail of the stack: who did what to its tables and its account region."""

    enabled: bool = False
    """Create the trail, its encrypted bucket and key. Turn it off where an organization trail already
    records this account (see the README for how to check): a second copy of management events is billed."""
    management_events: bool = True
    """Record management events (every control-plane call in the region, and global services such as IAM)."""
    data_events: bool = True
    """Record the stack's tables' data events (every item read and write: GetItem, PutItem, Query...)."""
    retention_days: int = Field(default=365, ge=1, le=36_500)
    """Days the trail's log files are kept in its bucket."""

    @model_validator(mode="after")
    def _records_something(self) -> AuditTrailConfig:
        if self.enabled and not (self.management_events or self.data_events):
            raise ValueError("managementEvents and dataEvents are both off: the trail would record nothing")
        return self


class StackConfig(_Model):
    """Everything a stack is built from; one instance per `pulumi up`."""

    stack: str
    """Pulumi stack name (not a config key; filled in by the loader)."""
    environment: Environment
    """Environment profile: dev (cheap, disposable) or prod (protected)."""
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
    resilience: ResilienceConfig = ResilienceConfig()
    """Backups, the copy in a second region, vault lock, and the recovery objectives they must meet."""
    log_archive: LogArchiveConfig = LogArchiveConfig()
    """Function and access logs archived to an S3 bucket of the stack."""
    audit_trail: AuditTrailConfig = AuditTrailConfig()
    """A CloudTrail trail with the tables' data events and the region's management events."""

    @model_validator(mode="after")
    def _prod_is_protected(self) -> StackConfig:
        if self.environment != "prod":
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
        if self.logs.access_log_retention_days < 90:
            problems.append(
                f"logs.accessLogRetentionDays: prod keeps access logs at least 90 days "
                f"(got {self.logs.access_log_retention_days})"
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
    def _within_cloudwatch_limits(self, info: ValidationInfo) -> StackConfig:
        watched = (info.context or {}).get("watched")
        if not watched:
            return self
        # Deferred: the dry run builds the monitoring layer's alarms, whose module reads this config's types.
        from components.monitoring.limits import config_problems

        problems = config_problems(self, watched)
        if problems:
            raise ValueError("\n".join(problems))
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


# Environment profiles: what a stack gets when its file says nothing. A stack file overrides
# any leaf; prod's protections cannot be overridden to off (see _prod_is_protected).
PROFILES: dict[str, dict[str, Any]] = {
    "dev": {
        "lambda": {"memoryMb": 256, "timeoutSeconds": 10, "architecture": "arm64", "logLevel": "DEBUG",
                   "debugSampleRate": 0.0, "snapStart": False},
        "api": {"throttlingRateLimit": 20, "throttlingBurstLimit": 40, "corsOrigins": [],
                "auth": {"mode": "cognito"},
                "routeThrottling": {"POST /items": {"rateLimit": 10, "burstLimit": 20},
                                    "PUT /items/{id}": {"rateLimit": 10, "burstLimit": 20},
                                    "DELETE /items/{id}": {"rateLimit": 5, "burstLimit": 10}}},
        "logs": {"retentionDays": 7, "accessLogRetentionDays": 14, "customerManagedKey": False,
                 "maskSensitiveData": True},
        "table": {"billingMode": "PAY_PER_REQUEST"},
        "dataProtection": {"deletionProtection": False, "pointInTimeRecovery": True,
                           "customerManagedKey": False, "protectResources": False},
        "cost": {"monthlyBudgetUsd": 40, "anomalyThresholdUsd": 10, "anomalyFrequency": "DAILY",
                 "manageCostAllocationTags": False, "billingAlarm": False, "estimateWarnShare": 0.8},
        "traffic": {"requestsPerMonth": 100_000, "averageDurationMs": 150, "averagePayloadKb": 2,
                    "functionLogBytesPerRequest": 3000, "accessLogBytesPerRequest": 700,
                    "readUnitsPerRequest": 1.0, "writeUnitsPerRequest": 0.3, "storedGb": 0.1,
                    "canaryRequestsPerRun": 1, "alertsPerMonth": 50},
        # Idle by design: no no-traffic alarm, no canary; every request traced.
        "monitoring": {"expectTraffic": False, "minRequests": 10, "dashboard": True,
                       "tracing": {"samplingRate": 1.0, "reservoirPerSecond": 1, "insights": True},
                       "canary": {"enabled": False}},
        # Releases still go through CodeDeploy and the pre-traffic check, all at once.
        "delivery": {"strategy": "all-at-once", "preTrafficCheck": True},
        # Disposable data: PITR only, no backup plan (a stack file may turn it on to try it).
        "resilience": {"enabled": False},
        "logArchive": {"enabled": False},
        "auditTrail": {"enabled": False},
    },
    "prod": {
        "lambda": {"memoryMb": 512, "timeoutSeconds": 10, "reservedConcurrency": 100,
                   "architecture": "arm64", "logLevel": "INFO", "debugSampleRate": 0.01, "snapStart": True},
        # Writes are throttled below reads: they cost more and a runaway writer fills the table.
        "api": {"throttlingRateLimit": 500, "throttlingBurstLimit": 1000,
                "auth": {"mode": "cognito"},
                "routeThrottling": {"POST /items": {"rateLimit": 100, "burstLimit": 200},
                                    "PUT /items/{id}": {"rateLimit": 100, "burstLimit": 200},
                                    "DELETE /items/{id}": {"rateLimit": 50, "burstLimit": 100}}},
        "logs": {"retentionDays": 90, "accessLogRetentionDays": 365, "customerManagedKey": True,
                 "maskSensitiveData": True},
        "table": {"billingMode": "PAY_PER_REQUEST"},
        "dataProtection": {"deletionProtection": True, "pointInTimeRecovery": True,
                           "customerManagedKey": True, "protectResources": True},
        "cost": {"monthlyBudgetUsd": 200, "anomalyThresholdUsd": 10, "anomalyFrequency": "IMMEDIATE",
                 "manageCostAllocationTags": False, "billingAlarm": False, "estimateWarnShare": 0.8},
        "traffic": {"requestsPerMonth": 10_000_000, "averageDurationMs": 80, "averagePayloadKb": 2,
                    "functionLogBytesPerRequest": 1200, "accessLogBytesPerRequest": 700,
                    "readUnitsPerRequest": 1.0, "writeUnitsPerRequest": 0.2, "storedGb": 5,
                    "canaryRequestsPerRun": 1, "alertsPerMonth": 20},
        # Always some traffic (the canary every 5 minutes); 5 % of requests traced after 1/s.
        "monitoring": {"expectTraffic": True, "minRequests": 10, "dashboard": True, "anomalyDetection": True,
                       "tracing": {"samplingRate": 0.05, "reservoirPerSecond": 1, "insights": True},
                       "canary": {"enabled": True, "schedule": "rate(5 minutes)"}},
        # 10% of traffic for 5 minutes, watched by the release alarms, then the rest.
        "delivery": {"strategy": "canary", "percentage": 10, "intervalMinutes": 5, "preTrafficCheck": True},
        # Daily backups kept 30 days, copied to a second region, both vaults locked; RPO and RTO one hour in
        # the region (PITR), one backup interval when the region is lost.
        "resilience": {"enabled": True, "rpoMinutes": 60, "copyRpoMinutes": 1440, "rtoMinutes": 60,
                       "backupSchedule": "cron(0 3 * * ? *)", "retentionDays": 30, "copyRegion": "eu-central-1",
                       "vaultLock": True, "restoreTestSchedule": "cron(0 6 ? * MON *)"},
        # Logs leave CloudWatch for S3 as they arrive: Glacier Instant Retrieval after 30 days, gone after 2 years.
        "logArchive": {"enabled": True, "archiveAfterDays": 30, "storageClass": "GLACIER_IR", "expireAfterDays": 730},
        # Who did what: the tables' item-level calls and the region's control plane, kept a year.
        "auditTrail": {"enabled": True, "managementEvents": True, "dataEvents": True, "retentionDays": 365},
    },
}

# Top-level keys of the prodready namespace; anything else in the stack file is a typo.
TOP_LEVEL_KEYS: frozenset[str] = frozenset(
    info.alias or name for name, info in StackConfig.model_fields.items() if name not in ("stack", "region")
)


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
    watched: Mapping[str, str] | None = None,
) -> StackConfig:
    """Validate a stack's raw config map (`"ns:key" -> value`) into a StackConfig.

    `route_keys` are the API's routes and `watched` the keys of the resources monitoring watches with
    their scope (the program's facts, not config): keys that name routes or watched resources are checked
    against them. Raises ConfigError listing every problem; nothing is half-loaded.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    for full_key, raw in raw_config.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        if key not in TOP_LEVEL_KEYS:
            problems.append(
                f"{full_key}: unknown config key (value {raw!r}); known keys: "
                f"{', '.join(sorted(TOP_LEVEL_KEYS))}"
            )
            continue
        values[key] = _parse_value(raw)

    environment = values.get("environment")
    if environment is None:
        problems.append(f"{NAMESPACE}:environment: required; set it to one of {sorted(PROFILES)}")
    elif environment not in PROFILES:
        problems.append(f"{NAMESPACE}:environment: {environment!r} is not one of {sorted(PROFILES)}")
    region = raw_config.get("aws:region")
    if region is None:
        problems.append("aws:region: required (pulumi config set aws:region <region>)")
    if environment not in PROFILES or region is None:
        raise ConfigError(stack, problems)

    merged = _deep_merge(PROFILES[str(environment)], values)
    merged.update(stack=stack, region=region)
    try:
        config = StackConfig.model_validate(merged, context={"route_keys": tuple(route_keys), "watched": watched})
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            value = _lookup(merged, loc) if error["type"] != "missing" else None
            where = _format_location(loc)
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                problems.append(f"{where}: unknown config key (value {error['input']!r})")
            elif error["type"] == "missing":
                problems.append(f"{where}: required")
            elif not loc:
                # Cross-field rules report several findings at once, each already naming its key.
                problems.extend(f"{NAMESPACE}:{part}" for part in message.split("\n"))
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
