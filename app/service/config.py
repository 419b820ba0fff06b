"""Settings the function reads from the environment the Function component sets.

Every value has a local default so the module imports (and the local server runs) without a
deployment; in the deployed function all of them are set explicitly. A value that is set but
malformed stops the function at init with an error naming the variable, rather than running with a
default nobody chose.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_IDEMPOTENCY_TABLE = "prodready-idempotency-local"
DEFAULT_IDEMPOTENCY_TTL_SECONDS = 3600
DEFAULT_MAX_REQUEST_BODY_BYTES = 65536
# DynamoDB client limits (see service.repository for why these values): milliseconds and attempts.
DEFAULT_DYNAMODB_CONNECT_TIMEOUT_MS = 1000
DEFAULT_DYNAMODB_READ_TIMEOUT_MS = 1000
DEFAULT_DYNAMODB_MAX_ATTEMPTS = 2

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class SettingsError(ValueError):
    """An environment variable holds a value the function cannot run with."""


@dataclass(frozen=True)
class Settings:
    """Typed view of the function's environment."""

    table_name: str
    """DynamoDB table holding the items (`TABLE_NAME`)."""
    idempotency_table_name: str
    """DynamoDB table of Powertools' idempotency records, key `id`, TTL `expiration` (`IDEMPOTENCY_TABLE_NAME`)."""
    idempotency_ttl_seconds: int
    """How long a create's `Idempotency-Key` replays its first response (`IDEMPOTENCY_TTL_SECONDS`)."""
    max_request_body_bytes: int
    """Largest decoded request body accepted; larger ones are 413 before parsing (`MAX_REQUEST_BODY_BYTES`)."""
    openapi_enabled: bool
    """Serve `GET /openapi.json` and the Swagger UI at `GET /docs` (`OPENAPI_ENABLED`)."""
    service_name: str
    """Value of the `service` log key and metric dimension (`POWERTOOLS_SERVICE_NAME`)."""
    metrics_namespace: str
    """CloudWatch namespace of the EMF metrics (`POWERTOOLS_METRICS_NAMESPACE`)."""
    service_version: str
    """Deployed version, reported by the health endpoints (`SERVICE_VERSION`)."""
    environment: str
    """Deployment environment, dev or prod (`ENVIRONMENT`)."""
    region: str
    """AWS region of the DynamoDB client (`AWS_REGION`, set by the Lambda runtime)."""
    dynamodb_connect_timeout_ms: int = DEFAULT_DYNAMODB_CONNECT_TIMEOUT_MS
    """How long the DynamoDB client waits for a connection (`DYNAMODB_CONNECT_TIMEOUT_MS`)."""
    dynamodb_read_timeout_ms: int = DEFAULT_DYNAMODB_READ_TIMEOUT_MS
    """How long it waits for an answer once the request is sent (`DYNAMODB_READ_TIMEOUT_MS`)."""
    dynamodb_max_attempts: int = DEFAULT_DYNAMODB_MAX_ATTEMPTS
    """Attempts per DynamoDB call, the first included (`DYNAMODB_MAX_ATTEMPTS`)."""


def _positive_int(source: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    raw = source.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= maximum:
        raise SettingsError(f"{name} must be a whole number from 1 to {maximum}, got {raw!r}")
    return int(text)


def _flag(source: Mapping[str, str], name: str) -> bool:
    raw = source.get(name)
    if raw is None or raw.strip() == "":
        return False
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings once, at init; `env` defaults to the process environment."""
    source = os.environ if env is None else env
    return Settings(
        table_name=source.get("TABLE_NAME") or "prodready-items-local",
        idempotency_table_name=source.get("IDEMPOTENCY_TABLE_NAME") or DEFAULT_IDEMPOTENCY_TABLE,
        # A DynamoDB TTL is honoured within days, not seconds; a year is far beyond any client's retry.
        idempotency_ttl_seconds=_positive_int(
            source, "IDEMPOTENCY_TTL_SECONDS", DEFAULT_IDEMPOTENCY_TTL_SECONDS, 366 * 24 * 3600
        ),
        # API Gateway refuses payloads above 10 MB before the function sees them.
        max_request_body_bytes=_positive_int(
            source, "MAX_REQUEST_BODY_BYTES", DEFAULT_MAX_REQUEST_BODY_BYTES, 10 * 1024 * 1024
        ),
        openapi_enabled=_flag(source, "OPENAPI_ENABLED"),
        service_name=source.get("POWERTOOLS_SERVICE_NAME") or "prodready-api",
        metrics_namespace=source.get("POWERTOOLS_METRICS_NAMESPACE") or "Prodready/Local",
        service_version=source.get("SERVICE_VERSION") or "0.0.0-local",
        environment=source.get("ENVIRONMENT") or "local",
        region=source.get("AWS_REGION") or source.get("AWS_DEFAULT_REGION") or "us-east-1",
        # Bounded so that every attempt of one call fits the function's timeout many times over.
        dynamodb_connect_timeout_ms=_positive_int(
            source, "DYNAMODB_CONNECT_TIMEOUT_MS", DEFAULT_DYNAMODB_CONNECT_TIMEOUT_MS, 5000
        ),
        dynamodb_read_timeout_ms=_positive_int(
            source, "DYNAMODB_READ_TIMEOUT_MS", DEFAULT_DYNAMODB_READ_TIMEOUT_MS, 5000
        ),
        dynamodb_max_attempts=_positive_int(source, "DYNAMODB_MAX_ATTEMPTS", DEFAULT_DYNAMODB_MAX_ATTEMPTS, 5),
    )
