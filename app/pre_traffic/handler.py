"""CodeDeploy's BeforeAllowTraffic hook: try the new version of the API function before it gets traffic.

CodeDeploy invokes this function before it moves any share of the `live` alias. It invokes the version
being released directly (not through the alias, which still points at the old one) with the events API
Gateway would send, and reports the outcome (`traffic_hooks.lifecycle` says how):

- `readiness`: `GET /health/ready`, a public route, must answer 200 (the table answers);
- `read`: `GET /items?limit=1` as an authorized caller (JWT claims with subject
  `codedeploy-pre-traffic` and the read scope), must answer 200.

A version that fails never gets a request.

Environment:

- `READ_SCOPE`: the scope the read check's claims carry, as the API's tokens carry it (default
  `items.read`, see `traffic_hooks.lifecycle.read_scope`).
- `POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_LOG_LEVEL`: read by the Powertools Logger.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from traffic_hooks import lifecycle
from traffic_hooks.lifecycle import (
    CHECK_RESERVE_MS,
    CODEDEPLOY_CONFIG,
    DEFAULT_READ_SCOPE,
    EXCERPT_CHARS,
    REPORT_RESERVE_MS,
    Check,
    codedeploy_client,
    lambda_client,
    read_scope,
    read_target,
)

# What the hook's tests and tools reach through this module, as before the shared module existed.
__all__ = [
    "CHECK_RESERVE_MS", "CODEDEPLOY_CONFIG", "DEFAULT_READ_SCOPE", "EXCERPT_CHARS", "REPORT_RESERVE_MS", "api_event",
    "checks", "codedeploy_client", "lambda_client", "lambda_handler", "read_scope", "read_target",
]

logger = Logger(utc=True, use_rfc3339=True)

STAGE = lifecycle.Stage("pre-traffic", through_alias=False)
CALLER = STAGE.caller


def checks(scope: str) -> tuple[Check, ...]:
    """The checks, in order: readiness (public), then a one-item read by a caller holding `scope`."""
    return (
        Check("readiness", "GET /health/ready", "/health/ready", {}, 200, None),
        Check("read", "GET /items", "/items", {"limit": "1"}, 200, (scope,)),
    )


def api_event(check: Check, *, account_id: str, deployment_id: str, now: float | None = None) -> dict[str, Any]:
    """The event API Gateway would send for `check`, from this hook."""
    return lifecycle.api_event(check, stage=STAGE, account_id=account_id, deployment_id=deployment_id, now=now)


@logger.inject_lambda_context(correlation_id_path="DeploymentId", clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # This module's names, looked up per invocation: what the hook calls can be replaced in one place.
    hook = lifecycle.Hook(
        STAGE,
        logger,
        codedeploy=lambda: codedeploy_client(),
        lambda_=lambda: lambda_client(),
        read_target=lambda deployment: read_target(deployment),
        checks=lambda: checks(read_scope()),
    )
    return hook.handle(event, context)
