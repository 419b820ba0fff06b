"""The API Gateway route keys this function serves, and who may call each.

Pure data on purpose: the infrastructure imports this module to create one API route per key with
its authorization, and the local server enforces the same table; so it must stay importable without
the function's dependencies.
"""

from __future__ import annotations

ROUTE_KEYS: tuple[str, ...] = (
    "GET /health/live",
    "GET /health/ready",
    "GET /items",
    "POST /items",
    "GET /items/{id}",
    "PUT /items/{id}",
    "DELETE /items/{id}",
)

# OAuth scopes, as the API's resource server names them (the token carries them with the resource
# server's prefix in Cognito mode, e.g. `catalog/items.read`; see components.config ApiAuthConfig).
READ_SCOPE = "items.read"
WRITE_SCOPE = "items.write"
SCOPES: tuple[str, ...] = (READ_SCOPE, WRITE_SCOPE)

# Reached without a token: the canary and uptime checks call them.
PUBLIC_ROUTE_KEYS: tuple[str, ...] = ("GET /health/live", "GET /health/ready")

# The scope each authorized route requires (any one of them, as API Gateway checks a route's scopes).
ROUTE_SCOPES: dict[str, tuple[str, ...]] = {
    "GET /items": (READ_SCOPE,),
    "GET /items/{id}": (READ_SCOPE,),
    "POST /items": (WRITE_SCOPE,),
    "PUT /items/{id}": (WRITE_SCOPE,),
    "DELETE /items/{id}": (WRITE_SCOPE,),
}

# Unmatched requests go to the function through this route; it requires a valid token with any
# scope, so unauthenticated probing of unknown paths is refused before the function is invoked.
CATCH_ALL_ROUTE = "$default"
# Browsers send CORS preflights without a token; this route, which outranks `$default`, lets them
# through without authorization (API Gateway answers true preflights from the API's CORS configuration;
# another OPTIONS request reaches the function, which only answers with the path's `Allow`).
PREFLIGHT_ROUTE = "OPTIONS /{proxy+}"

# Routes whose bodies are item writes: JSON only, bounded in size.
BODY_ROUTE_KEYS: tuple[str, ...] = ("POST /items", "PUT /items/{id}")

if set(ROUTE_SCOPES) | set(PUBLIC_ROUTE_KEYS) != set(ROUTE_KEYS):
    raise RuntimeError("every route key is either public or has its scopes in ROUTE_SCOPES")
