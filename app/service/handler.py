"""Lambda entry point (`service.handler.lambda_handler`): the HTTP API over the item catalog.

Powertools provides the mechanism: a JSON Logger with correlation ids, a Tracer, EMF Metrics and
the HTTP API (payload 2.0) resolver. Business rules live in `service.items`; this module maps
them to HTTP and adds the instrumentation.
"""

from __future__ import annotations

import binascii
import json
import re
import time
import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from service import items
from service.config import load_settings
from service.errors import FieldError, InvalidRequest, ItemConflict, ItemNotFound
from service.log_redaction import RedactingFormatter
from service.metrics_catalog import (
    ITEMS_CREATED,
    ITEMS_DELETED,
    ITEMS_NOT_FOUND,
    ITEMS_UPDATED,
    VALIDATION_FAILURES,
)
from service.repository import ItemRepository
from service.routes import ROUTE_KEYS
from service.routing import allowed_methods, match_route

settings = load_settings()
logger = Logger(service=settings.service_name, logger_formatter=RedactingFormatter(utc=True, use_rfc3339=True))
# Only botocore, the function's one outbound client: the default patches every library X-Ray
# supports that can be imported (sqlite3, for one), which only adds cold-start time.
tracer = Tracer(service=settings.service_name, patch_modules=["botocore"])
metrics = Metrics(service=settings.service_name, namespace=settings.metrics_namespace)
app = APIGatewayHttpResolver()
# Created at init, outside the handler, so that warm invocations reuse its connections.
repository = ItemRepository.create(settings.table_name, settings.region)

# Reads and health checks legitimately emit no business metric; Powertools would warn on each.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

CORRELATION_ID_HEADER = "X-Correlation-ID"
# HTTP API (payload 2.0) lower-cases header names; without the header, the API request id.
CORRELATION_ID_PATH = 'headers."x-correlation-id" || requestContext.requestId'
# A caller-supplied id is echoed in a header and written to every log line, so only a plain
# token is accepted; anything else is replaced by the request id.
_SAFE_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")

OPERATIONS: dict[str, str] = {
    "GET /health/live": "health_live",
    "GET /health/ready": "health_ready",
    "GET /items": "list_items",
    "POST /items": "create_item",
    "GET /items/{id}": "get_item",
    "PUT /items/{id}": "replace_item",
    "DELETE /items/{id}": "delete_item",
}
_KNOWN_ROUTE_KEYS = frozenset(ROUTE_KEYS)
_THROTTLING_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})


def _json(status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    return Response(status_code=status_code, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def _error(
    status_code: int,
    code: str,
    message: str,
    *,
    details: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    error: dict[str, Any] = {"code": code, "message": message, **extra}
    if details:
        error["details"] = details
    return _json(status_code, {"error": error, "correlation_id": logger.get_correlation_id()}, headers)


def _business_event(event: str, metric: str, item_id: str) -> None:
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    logger.info("business event", extra={"event": event, "item_id": item_id})


def _body() -> str | None:
    try:
        return app.current_event.decoded_body
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest(
            [{"field": "body", "message": "is not valid base64-encoded UTF-8", "type": "encoding"}]
        ) from None


def _health(status: str) -> dict[str, Any]:
    return {
        "status": status,
        "service": settings.service_name,
        "version": settings.service_version,
        "environment": settings.environment,
    }


@app.get("/health/live")
def health_live() -> Response[dict[str, Any]]:
    # Liveness must not depend on anything else: a DynamoDB outage must not get the function
    # reported as dead.
    return _json(200, _health("pass"))


@app.get("/health/ready")
@tracer.capture_method(capture_response=False)
def health_ready() -> Response[dict[str, Any]]:
    readiness = items.check_ready(repository)
    if not readiness.ready:
        logger.warning("readiness check failed", extra={"checks": readiness.checks})
    body = {**_health("pass" if readiness.ready else "fail"), "checks": readiness.checks}
    return _json(200 if readiness.ready else 503, body)


@app.get("/items")
@tracer.capture_method(capture_response=False)
def list_items() -> Response[dict[str, Any]]:
    page = items.list_items(repository, app.current_event.query_string_parameters)
    return _json(200, page.to_public())


@app.post("/items")
@tracer.capture_method(capture_response=False)
def create_item() -> Response[dict[str, Any]]:
    item = items.create_item(repository, _body())
    _business_event("item_created", ITEMS_CREATED, item.id)
    return _json(201, item.to_public(), {"Location": f"/items/{item.id}"})


@app.get("/items/<id>")
@tracer.capture_method(capture_response=False)
def get_item(id: str) -> Response[dict[str, Any]]:
    return _json(200, items.get_item(repository, id).to_public())


@app.put("/items/<id>")
@tracer.capture_method(capture_response=False)
def replace_item(id: str) -> Response[dict[str, Any]]:
    item = items.replace_item(repository, id, _body())
    _business_event("item_updated", ITEMS_UPDATED, item.id)
    return _json(200, item.to_public())


@app.delete("/items/<id>")
@tracer.capture_method(capture_response=False)
def delete_item(id: str) -> Response[None]:
    if items.delete_item(repository, id):
        _business_event("item_deleted", ITEMS_DELETED, id.lower())
    return Response(status_code=204)


@app.exception_handler(InvalidRequest)
def handle_invalid_request(exc: InvalidRequest) -> Response:
    metrics.add_metric(name=VALIDATION_FAILURES, unit=MetricUnit.Count, value=1)
    logger.info("request rejected", extra={"errors": exc.errors})
    return _error(400, "validation_error", "the request is invalid", details=exc.errors)


@app.exception_handler(ItemNotFound)
def handle_item_not_found(exc: ItemNotFound) -> Response:
    metrics.add_metric(name=ITEMS_NOT_FOUND, unit=MetricUnit.Count, value=1)
    return _error(404, "item_not_found", str(exc), item_id=exc.item_id)


@app.exception_handler(ItemConflict)
def handle_conflict(exc: ItemConflict) -> Response:
    return _error(409, "conflict", str(exc), item_id=exc.item_id, current_version=exc.current_version)


@app.not_found
def handle_no_route(_: NotFoundError) -> Response:
    allowed = allowed_methods(app.current_event.path)
    if allowed:
        return _error(
            405,
            "method_not_allowed",
            "method not allowed on this path",
            headers={"Allow": ", ".join(allowed)},
        )
    return _error(404, "route_not_found", "no such route")


@app.exception_handler(ClientError)
def handle_aws_error(exc: ClientError) -> Response:
    if exc.response.get("Error", {}).get("Code") in _THROTTLING_CODES:
        # Still throttled after the client's retries: tell the caller to come back later.
        logger.warning("dependency throttled", extra={"error": exc.response["Error"]["Code"]})
        return _error(503, "unavailable", "temporarily unavailable, retry later", headers={"Retry-After": "1"})
    return handle_unexpected(exc)


@app.exception_handler(Exception)
def handle_unexpected(exc: Exception) -> Response:
    # The log line carries the stack trace; the client only gets the id to quote.
    logger.exception("unexpected error")
    return _error(500, "internal_error", "internal error; quote the correlation_id when reporting it")


def _checked_correlation_id(event: dict[str, Any], context: LambdaContext) -> str:
    correlation_id = logger.get_correlation_id()
    if isinstance(correlation_id, str) and _SAFE_CORRELATION_ID.fullmatch(correlation_id):
        return correlation_id
    request_context = event.get("requestContext") or {}
    fallback = str(request_context.get("requestId") or context.aws_request_id)
    logger.set_correlation_id(fallback)
    return fallback


def _route_key(event: dict[str, Any], method: str, path: str) -> str:
    route_key = event.get("routeKey")
    if route_key in _KNOWN_ROUTE_KEYS:
        return str(route_key)
    # Behind a catch-all ($default) route, or locally: work out which route served it.
    matched = match_route(method, path)
    return matched.route_key if matched else "$default"


def _internal_error(correlation_id: str) -> dict[str, Any]:
    body = {
        "error": {"code": "internal_error", "message": "internal error"},
        "correlation_id": correlation_id,
    }
    return {
        "statusCode": 500,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    correlation_id = _checked_correlation_id(event, context)
    http = (event.get("requestContext") or {}).get("http") or {}
    method = str(http.get("method", ""))
    path = str(event.get("rawPath") or http.get("path") or "")
    # Only written when POWERTOOLS_LOG_LEVEL is DEBUG or this invocation is sampled for debug.
    logger.debug("request received", extra={"http_method": method, "path": path})
    try:
        response = app.resolve(event, context)
    except Exception:
        # The router's catch-all covers route code; this covers events it cannot even parse.
        logger.exception("unexpected error")
        response = _internal_error(correlation_id)
    response.setdefault("headers", {})[CORRELATION_ID_HEADER] = correlation_id
    route_key = _route_key(event, method, path)
    status_code = int(response.get("statusCode", 500))

    tracer.put_annotation(key="operation", value=OPERATIONS.get(route_key, "unrouted"))
    tracer.put_annotation(key="status_code", value=status_code)
    tracer.put_metadata(key="request_bytes", value=len(event.get("body") or ""))
    tracer.put_metadata(key="response_bytes", value=len(response.get("body") or ""))
    logger.info(
        "request completed",
        extra={
            "http_method": method,
            "route": route_key,
            "path": path,
            "status_code": status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000.0, 3),
        },
    )
    return response
