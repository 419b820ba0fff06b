"""The service's settings: the function, the HTTP API and its access, logs, the table, data protection.

They are `ServerlessService`'s own argument types; the stack config composes them per stack."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from components.settings import CERTIFICATE_ARN_PATTERN, Settings, check_retention

# Accounts that publish the AWSOpenTelemetryDistroPython layer (AWS Lambda Layer for OpenTelemetry, the
# ADOT Python distribution) in commercial regions, as AWS lists them; one layer serves both architectures.
# The regions AWS opened before 2019 share one account; each opt-in region has its own.
OPENTELEMETRY_LAYER_ACCOUNTS: dict[str, str] = {
    **dict.fromkeys(
        (
            "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
            "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
            "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
        ),
        "615299751070",
    ),
    "af-south-1": "904233096616",
    "ap-east-1": "888577020596",
    "ap-south-2": "796973505492",
    "ap-southeast-3": "039612877180",
    "ap-southeast-4": "713881805771",
    "ap-southeast-5": "152034782359",
    "ap-southeast-7": "980416031188",
    "ca-west-1": "595944127152",
    "eu-central-2": "156041407956",
    "eu-south-1": "257394471194",
    "eu-south-2": "490004653786",
    "il-central-1": "746669239226",
    "me-central-1": "739275441131",
    "me-south-1": "980921751758",
    "mx-central-1": "610118373846",
}
# The layer's version in the regions whose current version this program has checked against AWS's table
# ("AWS Lambda Layer for OpenTelemetry ARNs"). Versions differ per region (one release is 8 in one region,
# 11 in another), so a stack elsewhere names its version rather than inherit a number that may not exist.
OPENTELEMETRY_LAYER_VERSIONS: dict[str, int] = {"eu-west-1": 16}
# The wrapper script the layer ships: it sets OpenTelemetry up (X-Ray propagation, botocore instrumentation,
# the exporter) and wraps the handler before the runtime imports it.
OPENTELEMETRY_EXEC_WRAPPER = "/opt/otel-instrument"
TracingProvider = Literal["xray-sdk", "opentelemetry"]
# A Lambda layer version ARN in a commercial region (the partition every other ARN of this program uses).
LAYER_VERSION_ARN_PATTERN = r"^arn:aws:lambda:[a-z]{2}(-[a-z]+)+-\d:\d{12}:layer:[A-Za-z0-9_-]{1,140}:\d+$"


class FunctionTracingConfig(Settings):
    """How the function writes its X-Ray trace data. Lambda's active tracing (the service's segments and the
    sampling decision) is on with either provider."""

    provider: TracingProvider = "xray-sdk"
    """xray-sdk: Powertools Tracer over the X-Ray SDK (in maintenance since 2026-02-25, unsupported from
    2027-02-25); opentelemetry: the OpenTelemetry API, exported to X-Ray by the AWS-published
    `AWSOpenTelemetryDistroPython` layer (AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-instrument)."""
    open_telemetry_layer_version: int | None = Field(default=None, ge=1)
    """opentelemetry: version of `AWSOpenTelemetryDistroPython` in the stack's region (versions differ per
    region: AWS lists them under "AWS Lambda Layer for OpenTelemetry ARNs"); unset: the version known for the
    region (16 in eu-west-1), and required in the others."""

    def layer_version(self, region: str) -> int:
        """The layer version for `region`: the configured one, else the one known for the region (config
        validation refuses a stack that has neither)."""
        return self.open_telemetry_layer_version or OPENTELEMETRY_LAYER_VERSIONS[region]
    open_telemetry_layer_arn: str | None = Field(default=None, pattern=LAYER_VERSION_ARN_PATTERN)
    """opentelemetry: the layer version ARN in full, instead of the AWS-published one the version names
    (a region whose publishing account the program does not know, or a layer of your own)."""

    @model_validator(mode="after")
    def _layer_needs_opentelemetry(self) -> FunctionTracingConfig:
        if self.open_telemetry_layer_arn and self.provider != "opentelemetry":
            raise ValueError(
                f"openTelemetryLayerArn applies to provider opentelemetry only (provider is {self.provider})"
            )
        return self


class LambdaConfig(Settings):
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
    tracing: FunctionTracingConfig = FunctionTracingConfig()
    """Which instrumentation writes the function's trace data (X-Ray SDK or OpenTelemetry)."""

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


class RouteThrottle(Settings):
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


class ApiAuthConfig(Settings):
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


# A DNS name API Gateway and ACM accept: lower-case labels of letters, digits and hyphens, at least two.
_DOMAIN_NAME = r"^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
_HOSTED_ZONE_ID = r"^Z[A-Z0-9]{1,31}$"


class DomainConfig(Settings):
    """The API's own name: a regional API Gateway domain with its certificate, mapped to the stage."""

    name: str = Field(max_length=253, pattern=_DOMAIN_NAME)
    """The name clients call (`api.example.com`), lower case; the alias record is created in the hosted zone."""
    hosted_zone_id: str | None = Field(default=None, pattern=_HOSTED_ZONE_ID)
    """Route 53 public hosted zone that holds `name` (and the certificate's validation record)."""
    hosted_zone_name: str | None = Field(default=None, pattern=_DOMAIN_NAME)
    """Alternatively, the zone's name (`example.com`): the program looks its id up (public zones only)."""
    certificate_arn: str | None = Field(default=None, pattern=CERTIFICATE_ARN_PATTERN)
    """An existing ACM certificate (imported or issued elsewhere) in the stack's region covering `name`;
    none: the stack requests a public certificate validated by DNS in the zone. Watched either way."""
    disable_execute_api_endpoint: bool = True
    """Refuse requests to `<api id>.execute-api.<region>.amazonaws.com`, so that every client goes through
    the domain; prod refuses false."""

    @model_validator(mode="after")
    def _one_zone(self) -> DomainConfig:
        if (self.hosted_zone_id is None) == (self.hosted_zone_name is None):
            raise ValueError("give exactly one of hostedZoneId and hostedZoneName")
        zone = self.hosted_zone_name
        if zone is not None and not (self.name == zone or self.name.endswith(f".{zone}")):
            raise ValueError(f"name {self.name!r} is not in hosted zone {zone!r}")
        return self


class ApiConfig(Settings):
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
    throttle_classes: dict[str, RouteThrottle] = {}
    """Throttling of every route of a throttle class (`write`: the program's route table gives each route
    its class), on top of the stage default."""
    route_throttling: dict[str, RouteThrottle] = {}
    """Throttling of one route, keyed by route key (`DELETE /items/{id}`); wins over its class's."""
    max_body_kb: int = Field(default=64, ge=1, le=6144)
    """Largest request body the function accepts, in KB (413 above it, before parsing); Lambda's
    synchronous payload limit is 6 MB."""
    idempotency_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 86400)
    """How long a POST /items with an Idempotency-Key is remembered (a retry within it gets the first answer)."""
    serve_openapi: bool = False
    """Serve /openapi.json and the Swagger UI at /docs from the deployed function (behind the catch-all
    route's authorization). The local server always serves them."""
    domain: DomainConfig | None = None
    """A custom domain for the API (certificate, API Gateway domain name, mapping, alias record); none: clients
    use the execute-api URL."""

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

    @field_validator("throttle_classes")
    @classmethod
    def _throttle_classes_exist(
        cls, classes: dict[str, RouteThrottle], info: ValidationInfo
    ) -> dict[str, RouteThrottle]:
        route_classes = (info.context or {}).get("throttle_classes")
        if route_classes is not None:
            known = sorted(set(route_classes.values()))
            unknown = [name for name in classes if name not in known]
            if unknown:
                raise ValueError(f"unknown throttle class(es) {unknown}; the API's routes have classes {known}")
        return classes

    def route_limits(self, route_classes: Mapping[str, str]) -> dict[str, RouteThrottle]:
        """Per route key, its throttling beyond the stage default: its own `routeThrottling` entry, else
        its class's; routes with neither are left out. `route_classes`: each route key's throttle class. Pure."""
        unknown = sorted(set(self.throttle_classes) - set(route_classes.values()))
        if unknown:
            raise ValueError(f"api.throttleClasses: no route has throttle class(es) {unknown}")
        limits = {
            key: self.throttle_classes[name] for key, name in route_classes.items() if name in self.throttle_classes
        }
        return {**limits, **self.route_throttling}

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


class LogsConfig(Settings):
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
        return check_retention(value)


class GsiConfig(Settings):
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


class TableConfig(Settings):
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


class DataProtectionConfig(Settings):
    deletion_protection: bool
    """DynamoDB deletion protection."""
    point_in_time_recovery: bool
    """DynamoDB continuous backups (PITR)."""
    customer_managed_key: bool
    """Encrypt the table with a customer-managed KMS key (else the AWS-managed key)."""
    protect_resources: bool
    """Pulumi `protect` plus `retainOnDelete` on the table, its key and log groups."""
