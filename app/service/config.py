"""Settings the function reads from the environment the Function component sets.

Every value has a local default so the module imports (and the local server runs) without a
deployment; in the deployed function all of them are set explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Typed view of the function's environment."""

    table_name: str
    """DynamoDB table holding the items (`TABLE_NAME`)."""
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


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings once, at init; `env` defaults to the process environment."""
    source = os.environ if env is None else env
    return Settings(
        table_name=source.get("TABLE_NAME") or "prodready-items-local",
        service_name=source.get("POWERTOOLS_SERVICE_NAME") or "prodready-api",
        metrics_namespace=source.get("POWERTOOLS_METRICS_NAMESPACE") or "Prodready/Local",
        service_version=source.get("SERVICE_VERSION") or "0.0.0-local",
        environment=source.get("ENVIRONMENT") or "local",
        region=source.get("AWS_REGION") or source.get("AWS_DEFAULT_REGION") or "us-east-1",
    )
