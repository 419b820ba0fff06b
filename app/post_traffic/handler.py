"""CodeDeploy's AfterAllowTraffic hook: check the service through its alias once every request goes to
the new version.

CodeDeploy invokes this function after it has moved all of the `live` alias to the version being
released, before it marks the deployment succeeded. It sends the smoke test's read checks
(`tools/smoke.py`) through the alias, as API Gateway would, and requires each answer to come from the
released version (Lambda's `ExecutedVersion`); a failure reports `Failed` and CodeDeploy rolls the alias
back to the previous version (`traffic_hooks.lifecycle` says how):

- `liveness`: `GET /health/live` must answer 200 with status `pass`;
- `readiness`: `GET /health/ready` must answer 200 with the table's check `pass`;
- `listing`: `GET /items?limit=5` as an authorized caller (subject `codedeploy-post-traffic`, the read
  scope) must answer 200 with a page of items.

The smoke test's writes are left out: this hook may only read, and a release must not leave data behind.

Environment:

- `READ_SCOPE`: the scope the listing's claims carry, as the API's tokens carry it (default `items.read`).
- `POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_LOG_LEVEL`: read by the Powertools Logger.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from traffic_hooks import lifecycle
from traffic_hooks.lifecycle import CODEDEPLOY_CONFIG, Check, codedeploy_client, lambda_client, read_scope, read_target

__all__ = ["CODEDEPLOY_CONFIG", "checks", "codedeploy_client", "lambda_client", "lambda_handler", "read_target"]

logger = Logger(utc=True, use_rfc3339=True)

STAGE = lifecycle.Stage("post-traffic", through_alias=True)
LISTING_LIMIT = "5"


def _live(body: Any) -> str | None:
    status = body.get("status") if isinstance(body, dict) else None
    return None if status == "pass" else f"status is {status!r}, not 'pass'"


def _ready(body: Any) -> str | None:
    checks_ = body.get("checks") if isinstance(body, dict) else None
    dynamodb = checks_.get("dynamodb") if isinstance(checks_, dict) else None
    status = dynamodb.get("status") if isinstance(dynamodb, dict) else None
    return None if status == "pass" else f"the dynamodb check is {status!r}, not 'pass'"


def _page(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("items"), list) and "next_token" in body:
        return None
    return "not a page of items (items and next_token)"


def checks(scope: str) -> tuple[Check, ...]:
    """The smoke test's reads, in its order: liveness, readiness (public), then a page of items."""
    return (
        Check("liveness", "GET /health/live", "/health/live", {}, 200, None, _live),
        Check("readiness", "GET /health/ready", "/health/ready", {}, 200, None, _ready),
        Check("listing", "GET /items", "/items", {"limit": LISTING_LIMIT}, 200, (scope,), _page),
    )


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
