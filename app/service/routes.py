"""The API's routes, declared once: who may call each, its operation, its answers, its throttling.

Everything that names a route derives from `ROUTES`: the API Gateway routes and their authorization
the infrastructure creates, the stage's per-route throttling, the handler's OpenAPI operations and
its body checks, the local server's authorizer and routing. Adding a route is one entry here, one
handler function, and the contract files the tests regenerate.

Pure data on purpose: the infrastructure imports this module, so it must stay importable without the
function's dependencies (no imports at all; a test keeps it so).
"""

from __future__ import annotations

# OAuth scopes, as the API's resource server names them (the token carries them with the resource
# server's prefix in Cognito mode, e.g. `catalog/items.read`; see components.config ApiAuthConfig).
READ_SCOPE = "items.read"
WRITE_SCOPE = "items.write"
SCOPES: tuple[str, ...] = (READ_SCOPE, WRITE_SCOPE)

# Throttle classes: routes throttled alike. Stack config may give a class its limits
# (`api.throttleClasses`) and a single route its own (`api.routeThrottling`, by route key).
HEALTH = "health"
READ = "read"
WRITE = "write"
THROTTLE_CLASSES: tuple[str, ...] = (HEALTH, READ, WRITE)


class Route:
    """One route of the API: the facts every consumer of the route table reads."""

    __slots__ = ("body", "description", "errors", "key", "operation_id", "scope", "status", "summary", "throttle")

    key: str
    """The API Gateway route key, `METHOD /path` with `{name}` path parameters."""
    operation_id: str
    """The OpenAPI operation id; also the trace annotation `operation`."""
    summary: str
    """The OpenAPI operation's summary."""
    scope: str | None
    """The scope a token needs (unprefixed); None: public, reached without a token."""
    throttle: str
    """Its throttle class (one of THROTTLE_CLASSES)."""
    status: int
    """The status of its success answer."""
    description: str
    """What its success answer means (the OpenAPI response's description)."""
    errors: tuple[int, ...]
    """The error statuses the function answers with (API Gateway's 401, 403 and 429 come on top)."""
    body: bool
    """Its body is an item write: JSON only, bounded in size, checked before parsing."""

    def __init__(
        self,
        key: str,
        *,
        operation_id: str,
        summary: str,
        scope: str | None,
        throttle: str,
        status: int,
        description: str,
        errors: tuple[int, ...],
        body: bool = False,
    ) -> None:
        self.key = key
        self.operation_id = operation_id
        self.summary = summary
        self.scope = scope
        self.throttle = throttle
        self.status = status
        self.description = description
        self.errors = errors
        self.body = body

    @property
    def method(self) -> str:
        return self.key.split(" ", 1)[0]

    @property
    def path(self) -> str:
        """The path template, in API Gateway's and OpenAPI's `{name}` syntax."""
        return self.key.split(" ", 1)[1]

    @property
    def public(self) -> bool:
        return self.scope is None

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes of which a token needs one; empty for a public route."""
        return () if self.scope is None else (self.scope,)

    def __repr__(self) -> str:
        return f"Route({self.key!r})"


ROUTES: tuple[Route, ...] = (
    # Public: the canary and uptime checks call them without a token.
    Route("GET /health/live", operation_id="health_live", summary="Liveness", scope=None, throttle=HEALTH,
          status=200, description="The function is running.", errors=(413,)),
    Route("GET /health/ready", operation_id="health_ready", summary="Readiness", scope=None, throttle=HEALTH,
          status=200, description="DynamoDB answers.", errors=(413, 503)),
    Route("GET /items", operation_id="list_items", summary="List items", scope=READ_SCOPE, throttle=READ,
          status=200, description="A page of items.", errors=(400, 413, 503)),
    Route("POST /items", operation_id="create_item", summary="Create an item", scope=WRITE_SCOPE, throttle=WRITE,
          status=201, description="The item was created (or, for a repeated Idempotency-Key, had been).",
          errors=(400, 409, 413, 415, 422, 503), body=True),
    Route("GET /items/{id}", operation_id="get_item", summary="Get an item", scope=READ_SCOPE, throttle=READ,
          status=200, description="The item.", errors=(400, 404, 413, 503)),
    Route("PUT /items/{id}", operation_id="replace_item", summary="Replace an item", scope=WRITE_SCOPE,
          throttle=WRITE, status=200, description="The item, replaced; its version bumped.",
          errors=(400, 404, 409, 413, 415, 503), body=True),
    Route("DELETE /items/{id}", operation_id="delete_item", summary="Delete an item", scope=WRITE_SCOPE,
          throttle=WRITE, status=204, description="The item is gone (or never was).", errors=(400, 413, 503)),
)

BY_KEY: dict[str, Route] = {route.key: route for route in ROUTES}
BY_OPERATION: dict[str, Route] = {route.operation_id: route for route in ROUTES}

# --- what the consumers read, derived ------------------------------------------------------------

ROUTE_KEYS: tuple[str, ...] = tuple(route.key for route in ROUTES)
PUBLIC_ROUTE_KEYS: tuple[str, ...] = tuple(route.key for route in ROUTES if route.public)
# The scopes of which a token needs one, per authorized route (API Gateway checks a route's scopes so).
ROUTE_SCOPES: dict[str, tuple[str, ...]] = {route.key: route.scopes for route in ROUTES if not route.public}
# Routes whose bodies are item writes: JSON only, bounded in size.
BODY_ROUTE_KEYS: tuple[str, ...] = tuple(route.key for route in ROUTES if route.body)
# Per route key, its throttle class.
ROUTE_THROTTLE_CLASSES: dict[str, str] = {route.key: route.throttle for route in ROUTES}
OPERATIONS: dict[str, str] = {route.key: route.operation_id for route in ROUTES}

# Unmatched requests go to the function through this route; it requires a valid token with any
# scope, so unauthenticated probing of unknown paths is refused before the function is invoked.
CATCH_ALL_ROUTE = "$default"
# Browsers send CORS preflights without a token; this route, which outranks `$default`, lets them
# through without authorization (API Gateway answers true preflights from the API's CORS configuration;
# another OPTIONS request reaches the function, which only answers with the path's `Allow`).
PREFLIGHT_ROUTE = "OPTIONS /{proxy+}"


def table_problems(routes: tuple[Route, ...]) -> list[str]:
    """What is wrong with a route table: duplicates, unknown scopes or throttle classes. Pure."""
    problems: list[str] = []
    for label, values in (("route key", [r.key for r in routes]), ("operation id", [r.operation_id for r in routes])):
        duplicates = sorted({value for value in values if values.count(value) > 1})
        if duplicates:
            problems.append(f"{label}s declared twice: {duplicates}")
    for route in routes:
        method, _, path = route.key.partition(" ")
        if method != method.upper() or not path.startswith("/"):
            problems.append(f"{route.key!r}: a route key is `METHOD /path`")
        if route.scope is not None and route.scope not in SCOPES:
            problems.append(f"{route.key!r}: scope {route.scope!r} is not one of {list(SCOPES)}")
        if route.throttle not in THROTTLE_CLASSES:
            problems.append(f"{route.key!r}: throttle class {route.throttle!r} is not one of {list(THROTTLE_CLASSES)}")
    return problems


_PROBLEMS = table_problems(ROUTES)
if _PROBLEMS:
    raise RuntimeError("service.routes: " + "; ".join(_PROBLEMS))
