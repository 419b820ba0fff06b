"""Lambda entry point (`service.handler.lambda_handler`): the HTTP API over the item catalog.

Powertools provides the mechanism: a JSON Logger with correlation ids, a Tracer, EMF Metrics and
the HTTP API (payload 2.0) resolver, which validates each request against the route's signature
(the models in `service.models`) and generates the OpenAPI document from the same signatures.
Business rules live in `service.items`; this module maps them to HTTP and adds the
instrumentation, the body checks of `service.gate`, the security headers and the caller's identity.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import warnings
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared import constants as powertools_constants
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from service import items, openapi
from service.config import load_settings
from service.errors import (
    DependencyFailed,
    FieldError,
    IdempotencyKeyReused,
    InvalidRequest,
    ItemConflict,
    ItemNotFound,
    WriteOutcomeUnknown,
)
from service.faults import MISSING_CODE, RETRY_AFTER_SECONDS, missing_dependency, unavailable_cause
from service.gate import Admission, Rejection, admit
from service.http_headers import (
    CONTENT_SECURITY_POLICY,
    CORRELATION_ID_HEADER,
    add_security_headers,
    docs_content_security_policy,
)
from service.idempotency import IDEMPOTENCY_TABLE, IdempotentCreates, item_id_for
from service.log_redaction import RedactingFormatter, redact_text
from service.metrics_catalog import (
    ITEMS_CREATED,
    ITEMS_DELETED,
    ITEMS_NOT_FOUND,
    ITEMS_UPDATED,
    VALIDATION_FAILURES,
)
from service.models import (
    DEFAULT_LIMIT,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IDEMPOTENCY_KEY_PATTERN,
    ITEM_ID_PATTERN,
    MAX_LIMIT,
    NEXT_TOKEN_MAX_LENGTH,
    NEXT_TOKEN_PATTERN,
    ConflictResponse,
    GatewayMessage,
    IdempotencyMismatchResponse,
    ItemCreate,
    ItemNotFoundResponse,
    ItemOut,
    ItemReplace,
    ListQuery,
    Liveness,
    PageOut,
    PayloadTooLargeResponse,
    Readiness,
    StaleVersionResponse,
    UnavailableResponse,
    UnsupportedMediaTypeResponse,
    ValidationErrorResponse,
    bounded_problems,
    parse_json,
)
from service.repository import ItemRepository, client_config
from service.routes import BY_OPERATION, CATCH_ALL_ROUTE, OPERATIONS, PREFLIGHT_ROUTE, ROUTE_KEYS, Route
from service.routing import allowed_methods, match_route
from service.tracing import tracing_for

settings = load_settings()
logger = Logger(service=settings.service_name, logger_formatter=RedactingFormatter(utc=True, use_rfc3339=True))
# Powertools Tracer (X-Ray SDK) or OpenTelemetry, as the stack's lambda.tracing.provider sets it.
tracer = tracing_for(settings.service_name)
metrics = Metrics(service=settings.service_name, namespace=settings.metrics_namespace)
# JSON numbers parse as Decimal, so a price of 0.1 is 0.1 and not 0.1000000000000000055.
app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=parse_json)
openapi.configure(app)
# Created at init, outside the handler, so that warm invocations reuse its connections.
repository = ItemRepository.create(
    settings.table_name,
    settings.region,
    client_config(
        settings.dynamodb_connect_timeout_ms / 1000,
        settings.dynamodb_read_timeout_ms / 1000,
        settings.dynamodb_max_attempts,
    ),
)
# Shares the repository's client (same endpoint, timeouts and retries); built on first use.
idempotency = IdempotentCreates(
    settings.idempotency_table_name, settings.idempotency_ttl_seconds, lambda: repository.client
)


def after_restore() -> None:
    """With SnapStart every new execution environment resumes from one snapshot taken after init, so
    what init created is shared by all of them: the DynamoDB client (its connection pool and the
    credentials it resolved) is made anew in each, and `random` is reseeded from os.urandom, as AWS's
    SnapStart uniqueness guidance asks (botocore draws its retry jitter from `random`: environments
    sharing one sequence would retry in step). Ids come from uuid4 (os.urandom) at request time."""
    random.seed()
    repository.reconnect(settings.region)
    idempotency.reset()


def _register_after_restore() -> bool:
    try:
        # Part of Lambda's Python managed runtimes (3.12 and later); absent elsewhere.
        from snapshot_restore_py import register_after_restore
    except ImportError:
        return False
    register_after_restore(after_restore)
    return True


SNAPSTART_HOOKED = _register_after_restore()

# Reads and health checks legitimately emit no business metric; Powertools would warn on each.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

# HTTP API (payload 2.0) lower-cases header names; without the header, the API request id.
CORRELATION_ID_PATH = 'headers."x-correlation-id" || requestContext.requestId'
# A caller-supplied id is echoed in a header and written to every log line, so only a plain
# token without a sensitive shape is accepted; anything else is replaced by the request id (API
# Gateway's, generated per request), and the answer's X-Correlation-ID says which was used.
_SAFE_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")
# The event is logged here rather than by inject_lambda_context, so that its line carries the
# caller too; the switch is Powertools' own.
_LOG_EVENT = resolve_truthy_env_var_choice(env=os.getenv(powertools_constants.LOGGER_LOG_EVENT_ENV, "false"))
MAX_CALLER_LENGTH = 256

# The dependencies a 503 names, as its `dependency` field spells them.
ITEMS_TABLE = "items_table"
DEPENDENCY_NAMES = {ITEMS_TABLE: "items table", IDEMPOTENCY_TABLE: "idempotency table"}

_KNOWN_ROUTE_KEYS = frozenset(ROUTE_KEYS)

# --- the contract of each route: its error answers -------------------------------------------

_CORRELATION_HEADER_DOC = {
    CORRELATION_ID_HEADER: {
        "description": "The request's correlation id: the caller's X-Correlation-ID, else the API request id.",
        "required": True,
        "schema": {"type": "string"},
    }
}
_RETRY_AFTER_DOC = {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 0}}}
_ERROR_ANSWERS: dict[int, tuple[str, Any]] = {
    400: ("The request is invalid: `details` names each field at fault (the first 10).", ValidationErrorResponse),
    404: ("No item has this id.", ItemNotFoundResponse),
    413: ("The body is larger than MAX_REQUEST_BODY_BYTES; nothing was parsed.", PayloadTooLargeResponse),
    415: ("The body is not JSON (`application/json` or `application/*+json`, UTF-8).", UnsupportedMediaTypeResponse),
    503: (
        "A table is unavailable, throttling or missing (`dependency` says which), or a write's outcome is unknown "
        "(`outcome_unknown`: it may have been applied; see `item_id` and `idempotency_key`). Retry after "
        "`Retry-After` seconds.",
        UnavailableResponse,
    ),
}
# Every route is throttled at the stage (and writes per route): API Gateway answers 429 itself.
_THROTTLED_ANSWER: dict[int, str] = {429: "API Gateway: the route's throttling limit was reached; retry later."}
_GATEWAY_ANSWERS: dict[int, str] = {
    401: "API Gateway: no valid bearer token.",
    403: "API Gateway: the token lacks the route's scope.",
}
Answers = dict[int, tuple[str, Any]]


def _answers(route: Route, headers: dict[str, Any] | None, overrides: Answers) -> dict[int, Any]:
    """The OpenAPI responses of a route: its success, its errors, API Gateway's 401, 403 and 429."""
    answers: dict[int, Any] = {
        route.status: {"description": route.description, "headers": {**_CORRELATION_HEADER_DOC, **(headers or {})}}
    }
    for code in route.errors:
        text, model = overrides.get(code) or _ERROR_ANSWERS[code]
        retry = _RETRY_AFTER_DOC if code == 503 else {}
        answers[code] = {
            "description": text,
            "headers": {**_CORRELATION_HEADER_DOC, **retry},
            "content": {content_types.APPLICATION_JSON: {"model": model}},
        }
    gateway = {**(_GATEWAY_ANSWERS if not route.public else {}), **_THROTTLED_ANSWER}
    for code, text in gateway.items():
        content = {content_types.APPLICATION_JSON: {"model": GatewayMessage}}
        answers[code] = {"description": text, "content": content}
    return answers


def resolver_rule(path: str) -> str:
    """A route's path as the resolver spells it: `/items/{id}` -> `/items/<id>`."""
    return path.replace("{", "<").replace("}", ">")


def serves[Handler: Callable[..., Any]](
    *, headers: dict[str, Any] | None = None, answers: Answers | None = None
) -> Callable[[Handler], Handler]:
    """Registers the decorated function as the route of `service.routes` whose operation id is its name:
    the route's path and method, operation, summary, security and answers all come from the table.

    `headers`: the success answer's headers beyond X-Correlation-ID; `answers`: this route's own text
    and model for some of its error statuses (the rest are the service-wide ones)."""

    def register(function: Handler) -> Handler:
        route = BY_OPERATION[function.__name__]
        unknown = sorted(set(answers or {}) - set(route.errors))
        if unknown:
            raise RuntimeError(f"{route.key}: answers given for statuses the route table does not list: {unknown}")
        options: dict[str, Any] = {
            "operation_id": route.operation_id,
            "summary": route.summary,
            "tags": ["health"] if route.public else ["items"],
            "security": openapi.security(route.scopes),
            "responses": _answers(route, headers, answers or {}),
        }
        return app.route(resolver_rule(route.path), route.method, **options)(function)

    return register


# --- responses -----------------------------------------------------------------------------


# Response[Any]: the body is JSON data; each route's annotation (Response[ItemOut], ...) names its schema.
def _json(status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(status_code=status_code, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def _error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}, "correlation_id": logger.get_correlation_id()}


def _error(
    status_code: int, code: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    return _json(status_code, _error_body(code, message, **extra), headers)


def _retry_later(cause: str, dependency: str) -> Response[dict[str, Any]]:
    # The cause is for the log only: the client learns which dependency and when to come back.
    logger.warning("dependency unavailable", extra={"error": cause, "dependency": dependency})
    return _error(
        503,
        "unavailable",
        "temporarily unavailable, retry later",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        dependency=dependency,
    )


def _invalid(problems: list[FieldError], count: int) -> Response[dict[str, Any]]:
    metrics.add_metric(name=VALIDATION_FAILURES, unit=MetricUnit.Count, value=1)
    # Logged as bounded as answered: the first problems and how many there were.
    logger.info("request rejected", extra={"errors": problems, "error_count": count})
    return _error(400, "validation_error", "the request is invalid", details=problems, error_count=count)


def _business_event(event: str, metric: str, item_id: str) -> None:
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    logger.info("business event", extra={"event": event, "item_id": item_id})


def _health() -> dict[str, Any]:
    return {"service": settings.service_name, "version": settings.service_version, "environment": settings.environment}


# --- routes --------------------------------------------------------------------------------


def trace_route(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """A subsegment per route, named as Tracer.capture_method names one.

    A middleware rather than the decorator: the decorator's wrapper would hide the route's module
    from Powertools, which resolves the signature's (string) annotations in its globals. Liveness
    calls nothing, so it has none; and without tracing there is nothing to record.
    """
    route = app.context["_route"].func
    if tracer.disabled or route is health_live:
        return next_middleware(app)
    with tracer.subsegment(f"## {route.__module__}.{route.__qualname__}"):
        return next_middleware(app)


app.use([trace_route])

ItemIdParam = Annotated[str, Path(pattern=ITEM_ID_PATTERN, description="An item id (a UUID) from POST /items.")]


@serves()
def health_live() -> Response[Liveness]:
    # Liveness must not depend on anything else: a DynamoDB outage must not get the function
    # reported as dead.
    return _json(200, {"status": "pass", **_health()})


@serves(answers={503: (
    "A table does not answer; `checks` says which check failed. Retry after `Retry-After` seconds.", Readiness
)})
def health_ready() -> Response[Readiness]:
    readiness = items.check_ready(repository, idempotency.table_name)
    body = {
        "status": "pass" if readiness.ready else "fail",
        **_health(),
        "checks": readiness.checks,
        "correlation_id": logger.get_correlation_id(),
    }
    if readiness.ready:
        return _json(200, body)
    logger.warning("readiness check failed", extra={"checks": readiness.checks, "causes": readiness.causes})
    return _json(503, body, {"Retry-After": str(RETRY_AFTER_SECONDS)})


@serves()
def list_items(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    next_token: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=NEXT_TOKEN_MAX_LENGTH,
            pattern=NEXT_TOKEN_PATTERN,
            description="The `next_token` of the previous page.",
        ),
    ] = None,
) -> Response[PageOut]:
    page = items.list_items(repository, ListQuery(limit=limit, next_token=next_token))
    return _json(200, page.to_public())


@serves(
    headers={"Location": {"required": True, "schema": {"type": "string"}, "description": "The item's path."}},
    answers={
        409: ("The id exists already.", ConflictResponse),
        422: ("This Idempotency-Key was used with another body.", IdempotencyMismatchResponse),
    },
)
def create_item(
    payload: Annotated[ItemCreate, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description="Retry-safe creates: a repeated key with the same body returns the first response.",
        ),
    ] = None,
) -> Response[ItemOut]:
    caller = caller_identity(app.current_event.raw_event) if idempotency_key is not None else None
    item_id = item_id_for(caller, idempotency_key) if idempotency_key is not None else None

    def create() -> dict[str, Any]:
        try:
            item, created = items.store_new_item(repository, payload, item_id)
        except ItemConflict:
            if item_id is None:
                raise
            # The key's item exists with other fields: the key was used for another create.
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different body") from None
        if created:
            _business_event("item_created", ITEMS_CREATED, item.id)
        return item.to_public()

    try:
        if idempotency_key is None:
            answer = create()
        else:
            answer = idempotency.run(
                caller=caller, key=idempotency_key, payload=payload, lambda_context=app.lambda_context, operation=create
            )
    except WriteOutcomeUnknown as unknown:
        unknown.idempotency_key = idempotency_key
        raise
    return _json(201, answer, {"Location": f"/items/{answer['id']}"})


@serves()
def get_item(id: ItemIdParam) -> Response[ItemOut]:
    return _json(200, items.get_item(repository, id).to_public())


@serves(answers={409: ("`version` is not the stored version (`current_version`).", StaleVersionResponse)})
def replace_item(id: ItemIdParam, payload: Annotated[ItemReplace, Body()]) -> Response[ItemOut]:
    item = items.replace_item(repository, id, payload)
    _business_event("item_updated", ITEMS_UPDATED, item.id)
    return _json(200, item.to_public())


@serves()
def delete_item(id: ItemIdParam) -> Response[None]:
    if items.delete_item(repository, id):
        _business_event("item_deleted", ITEMS_DELETED, id.lower())
    return Response(status_code=204)


# --- the document, when this stage serves it -------------------------------------------------


@cache
def _document_json() -> str:
    return json.dumps(openapi.document(app), separators=(",", ":"))


@cache
def _docs_page() -> tuple[str, str]:
    """Powertools' Swagger UI page (its bundled assets, inlined) over this document, and its policy."""
    from importlib.resources import files

    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    assets = files("aws_lambda_powertools.event_handler.openapi.swagger_ui")
    swagger_js = assets.joinpath("swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    swagger_css = assets.joinpath("swagger-ui.min.css").read_text(encoding="utf-8")
    # "</" inside the inlined document would end its <script> element.
    html = generate_swagger_html(_document_json().replace("</", "<\\/"), swagger_js, swagger_css, "", None)
    return html, docs_content_security_policy(html)


# Not app.enable_swagger(): it would serve Powertools' raw schema, with the 422s it declares on
# every route; these serve service.openapi.document(), the document that is committed.
if settings.openapi_enabled:

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document() -> Response[Any]:
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=_document_json())

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> Response[Any]:
        html, policy = _docs_page()
        return Response(status_code=200, content_type="text/html", body=html, headers={CONTENT_SECURITY_POLICY: policy})


# --- errors --------------------------------------------------------------------------------


@app.exception_handler(RequestValidationError)
def handle_validation_error(exc: RequestValidationError) -> Response:
    errors = list(exc.errors())
    if any(tuple(error.get("loc") or ())[:1] == ("response",) for error in errors):
        # The route produced a response its model refuses: a bug, not the client's fault.
        return handle_unexpected(exc)
    problems, count = bounded_problems(errors)
    return _invalid(problems, count)


@app.exception_handler(InvalidRequest)
def handle_invalid_request(exc: InvalidRequest) -> Response:
    return _invalid(exc.errors, exc.count)


@app.exception_handler(ItemNotFound)
def handle_item_not_found(exc: ItemNotFound) -> Response:
    metrics.add_metric(name=ITEMS_NOT_FOUND, unit=MetricUnit.Count, value=1)
    return _error(404, "item_not_found", str(exc), item_id=exc.item_id)


@app.exception_handler(ItemConflict)
def handle_conflict(exc: ItemConflict) -> Response:
    return _error(409, "conflict", str(exc), item_id=exc.item_id, current_version=exc.current_version)


@app.exception_handler(IdempotencyKeyReused)
def handle_idempotency_mismatch(exc: IdempotencyKeyReused) -> Response:
    return _error(422, "idempotency_key_reused", str(exc))


@app.exception_handler(WriteOutcomeUnknown)
def handle_unknown_outcome(exc: WriteOutcomeUnknown) -> Response:
    # Logged as what it is: not an outage answered with "nothing happened", but a write that may stand.
    logger.warning("write outcome unknown", extra={"error": exc.cause, "item_id": exc.item_id})
    key = exc.idempotency_key
    if app.current_event.request_context.http.method == "POST":
        advice = (
            "retry with the same Idempotency-Key: you get the item if it was stored, and it is stored if not"
            if key is not None
            else "GET /items/{item_id} tells whether it was created; send an Idempotency-Key to retry safely"
        )
    else:
        advice = "read the item to see whether the change was applied; retrying is safe"
    return _error(
        503,
        "outcome_unknown",
        f"the write may or may not have been applied: {advice}",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        item_id=exc.item_id,
        idempotency_key=key,
    )


@app.not_found
def handle_no_route(_: NotFoundError) -> Response:
    path = app.current_event.path
    allowed = allowed_methods(path)
    if app.current_event.request_context.http.method == "OPTIONS":
        # Only without CORS does a preflight reach the function (API Gateway answers it otherwise).
        if allowed:
            return Response(status_code=204, headers={"Allow": ", ".join(allowed)})
        return _error(404, "route_not_found", "no such route")
    if allowed:
        return _error(
            405,
            "method_not_allowed",
            "method not allowed on this path",
            headers={"Allow": ", ".join(allowed)},
        )
    return _error(404, "route_not_found", "no such route")


def _dependency_failure(dependency: str, exc: BaseException) -> Response:
    """A failed call to `dependency`: absent or unavailable is a 503 naming it; anything else a defect."""
    if missing_dependency(exc):
        logger.error("dependency missing", extra={"dependency": dependency, "error": MISSING_CODE})
        return _error(
            503,
            "dependency_missing",
            f"the {DEPENDENCY_NAMES[dependency]} does not exist; retry later",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            dependency=dependency,
        )
    cause = unavailable_cause(exc)
    if cause:
        return _retry_later(cause, dependency)
    # A request DynamoDB refuses (ValidationException, AccessDeniedException) is a bug of ours or of
    # the deployment: one line with the cause, and the id for the client to quote.
    code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else type(exc).__name__
    operation = getattr(exc, "operation_name", None)
    logger.exception(
        "dependency refused the request", extra={"dependency": dependency, "error": code, "operation": operation}
    )
    return _error(500, "internal_error", "internal error; quote the correlation_id when reporting it")


@app.exception_handler(ClientError)
def handle_aws_error(exc: ClientError) -> Response:
    # Every DynamoDB call outside the idempotency layer (which raises DependencyFailed) is to the items table.
    return _dependency_failure(ITEMS_TABLE, exc)


@app.exception_handler(BotoCoreError)
def handle_botocore_error(exc: BotoCoreError) -> Response:
    return _dependency_failure(ITEMS_TABLE, exc)


@app.exception_handler(DependencyFailed)
def handle_dependency_failed(exc: DependencyFailed) -> Response:
    return _dependency_failure(exc.dependency, exc.cause)


@app.exception_handler(Exception)
def handle_unexpected(exc: Exception) -> Response:
    # The log line carries the stack trace; the client only gets the id to quote.
    logger.exception("unexpected error")
    return _error(500, "internal_error", "internal error; quote the correlation_id when reporting it")


# --- the entry point -----------------------------------------------------------------------


def _checked_correlation_id(event: dict[str, Any], context: LambdaContext) -> str:
    correlation_id = logger.get_correlation_id()
    # Echoed in a header and written on every line: a plain token, and none with a secret's shape
    # (a JWT, a card number, pwd=...), which the logs would have to hide and the answer would repeat.
    if (
        isinstance(correlation_id, str)
        and _SAFE_CORRELATION_ID.fullmatch(correlation_id)
        and redact_text(correlation_id) == correlation_id
    ):
        return correlation_id
    request_context = event.get("requestContext") or {}
    fallback = str(request_context.get("requestId") or context.aws_request_id)
    logger.set_correlation_id(fallback)
    return fallback


def _claims(event: dict[str, Any]) -> dict[str, Any] | None:
    """The JWT authorizer's claims in the event, or None."""
    request_context = event.get("requestContext")
    authorizer = request_context.get("authorizer") if isinstance(request_context, dict) else None
    jwt = authorizer.get("jwt") if isinstance(authorizer, dict) else None
    claims = jwt.get("claims") if isinstance(jwt, dict) else None
    return claims if isinstance(claims, dict) else None


def caller_of(event: dict[str, Any]) -> str | None:
    """Who is calling: the JWT's subject, else its client id (client credentials); None if no token."""
    claims = _claims(event)
    if claims is None:
        return None
    for claim in ("sub", "client_id"):
        value = claims.get(claim)
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_CALLER_LENGTH]
    return None


def caller_identity(event: dict[str, Any]) -> tuple[str, ...] | None:
    """The caller exactly as the token names it: issuer, the claim used, its value; None if no token.

    For scoping what callers must not share (idempotency records): unlike `caller_of`, which is
    for reading logs, nothing is stripped or shortened, and a subject never equals a client id.
    """
    claims = _claims(event)
    if claims is None:
        return None
    issuer = claims.get("iss")
    for claim in ("sub", "client_id"):
        value = claims.get(claim)
        if isinstance(value, str) and value.strip():
            return (issuer if isinstance(issuer, str) else "", claim, value)
    return None


def _unrouted(event: dict[str, Any], route_key: str, method: str, path: str) -> Rejection | None:
    """A request API Gateway sent through a catch-all route ($default, the preflight route) never reaches
    an item route: the gateway did not match it to one, so its authorizer never checked that route's
    scopes. The router reads some requests otherwise than the gateway (it upper-cases the method; its
    patterns end in `$`, which also matches before a final newline): such a request, and any the routes
    would match, is answered as for an unknown route."""
    if event.get("routeKey") not in (CATCH_ALL_ROUTE, PREFLIGHT_ROUTE):
        return None
    if route_key in _KNOWN_ROUTE_KEYS or method != method.upper() or any(ord(c) < 32 or ord(c) == 127 for c in path):
        return Rejection(404, "route_not_found", "no such route")
    return None


def _route_key(event: dict[str, Any], method: str, path: str) -> str:
    route_key = event.get("routeKey")
    if route_key in _KNOWN_ROUTE_KEYS:
        return str(route_key)
    # Behind a catch-all ($default) route, or locally: work out which route served it.
    matched = match_route(method, path)
    return matched.route_key if matched else "$default"


def _result(status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A payload 2.0 result built without the resolver (for requests refused before it runs)."""
    return {
        "statusCode": status_code,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def _refused(rejection: Rejection) -> dict[str, Any]:
    if rejection.status == 400:
        details = list(rejection.details)
        metrics.add_metric(name=VALIDATION_FAILURES, unit=MetricUnit.Count, value=1)
        logger.info("request rejected", extra={"errors": details, "error_count": len(details)})
        body = _error_body(rejection.code, rejection.message, details=details, error_count=len(details))
    else:
        extra = {"max_bytes": rejection.max_bytes} if rejection.max_bytes is not None else {}
        logger.info("request refused", extra={"status_code": rejection.status, "error": rejection.code})
        body = _error_body(rejection.code, rejection.message, **extra)
    return _result(rejection.status, body)


def _internal_error() -> dict[str, Any]:
    return _result(500, _error_body("internal_error", "internal error"))


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH, clear_state=True, log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    correlation_id = _checked_correlation_id(event, context)
    caller = caller_of(event)
    if caller is not None:
        # On every line of this invocation; inject_lambda_context clears it before the next one.
        logger.append_keys(caller=caller)
    if _LOG_EVENT:
        logger.info(event)
    http = (event.get("requestContext") or {}).get("http") or {}
    method = str(http.get("method", ""))
    path = str(event.get("rawPath") or http.get("path") or "")
    route_key = _route_key(event, method, path)
    # Only written when POWERTOOLS_LOG_LEVEL is DEBUG or this invocation is sampled for debug.
    logger.debug("request received", extra={"http_method": method, "path": path})
    try:
        admission = _unrouted(event, route_key, method, path) or admit(
            event, route_key, settings.max_request_body_bytes
        )
        response = app.resolve(admission.event, context) if isinstance(admission, Admission) else _refused(admission)
    except Exception:
        # The router's catch-all covers route code; this covers events it cannot even parse.
        logger.exception("unexpected error")
        response = _internal_error()
    headers = response.setdefault("headers", {})
    add_security_headers(headers)[CORRELATION_ID_HEADER] = correlation_id
    status_code = int(response.get("statusCode", 500))

    tracer.put_annotation(key="operation", value=OPERATIONS.get(route_key, "unrouted"))
    tracer.put_annotation(key="status", value=status_code)
    if caller is not None:
        # Annotations are indexed and never redacted downstream: the same rules as the logs.
        tracer.put_annotation(key="caller", value=redact_text(caller))
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
