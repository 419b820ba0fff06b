"""The OpenAPI document of the API, generated from the routes and models by Powertools.

`docs/openapi.json` is this document, committed (`python -m tools.openapi --write` regenerates it;
a test fails when it and the app disagree). The function serves the same document at
`GET /openapi.json` when OPENAPI_ENABLED is true.

Powertools declares its own 422 "HTTPValidationError" on every validated route; this service
answers validation failures with 400 (its own error shape) and 422 only for a reused idempotency
key, so `document()` drops the declarations the app never sends. It also adds the shapes of the
answers no operation owns: 404 for an unknown path and 405 for a known path's other methods.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from service.models import MethodNotAllowedResponse, RouteNotFoundResponse
from service.routes import READ_SCOPE, WRITE_SCOPE

API_TITLE = "prodready catalog API"
# The version of the contract, not of the deployment (SERVICE_VERSION): it changes when the
# document does, so that the committed document does not depend on the environment.
API_VERSION = "1.0.0"
SECURITY_SCHEME = "oauth2"
# The issuer differs per stack (Cognito: https://<domain>.auth.<region>.amazoncognito.com/oauth2/token);
# a reserved, unresolvable host says so instead of pointing at somebody's server.
TOKEN_URL = "https://issuer.invalid/oauth2/token"
COMPONENT_PREFIX = "#/components/schemas/"
# Powertools' own error shapes, which this service never sends (ValidationError last: the
# others refer to it).
_POWERTOOLS_VALIDATION_SCHEMAS = ("HTTPValidationError", "ResponseValidationError", "ValidationError")

DESCRIPTION = """\
A small catalog of items (`name`, `price`, optional `description`).

Errors from the function have one shape: `{"error": {"code", "message", ...}, "correlation_id"}`, with
the correlation id also in the `X-Correlation-ID` response header (send `X-Correlation-ID` to choose it).
401 and 403 come from API Gateway's JWT authorizer, before the function runs, as `{"message": ...}`.
`POST /items` honours an `Idempotency-Key` header: a retry with the same key and body gets the first
response again."""


def configure(app: APIGatewayHttpResolver) -> None:
    """Give `app` the document's metadata and the OAuth2 client-credentials scheme.

    The scheme is the plain Security Scheme Object: Powertools validates it into its OAuth2 model
    when it generates the document, so the function does not import its OpenAPI models at init.
    """
    scheme = {
        "type": "oauth2",
        "flows": {
            "clientCredentials": {
                "tokenUrl": TOKEN_URL,
                "scopes": {READ_SCOPE: "read items", WRITE_SCOPE: "create, replace and delete items"},
            }
        },
        "description": (
            "API Gateway's JWT authorizer checks the bearer token and the route's scope. The token URL is the "
            "deployed stack's issuer's; with Cognito the scopes carry the resource server's prefix."
        ),
    }
    app.configure_openapi(
        title=API_TITLE, version=API_VERSION, description=DESCRIPTION,
        # The plain object (see above), which the signature, naming only Powertools' models, does not admit.
        security_schemes={SECURITY_SCHEME: scheme},  # type: ignore[dict-item]
    )


def security(scopes: tuple[str, ...]) -> list[dict[str, list[str]]] | None:
    """A route's security requirement: any of `scopes` (none for a public route)."""
    return [{SECURITY_SCHEME: list(scopes)}] if scopes else None


def _references(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["$ref"]} if isinstance(value.get("$ref"), str) else set()
        for inner in value.values():
            found |= _references(inner)
        return found
    if isinstance(value, list):
        return set().union(*(_references(inner) for inner in value)) if value else set()
    return set()


def _unrouted_answers(schemas: dict[str, Any]) -> dict[str, Any]:
    from pydantic.json_schema import models_json_schema

    (_, definitions) = models_json_schema(
        [(RouteNotFoundResponse, "serialization"), (MethodNotAllowedResponse, "serialization")],
        ref_template=COMPONENT_PREFIX + "{model}",
    )
    schemas.update(definitions.get("$defs", {}))

    def answer(description: str, model: type, headers: dict[str, Any]) -> dict[str, Any]:
        return {
            "description": description,
            "headers": headers,
            "content": {"application/json": {"schema": {"$ref": COMPONENT_PREFIX + model.__name__}}},
        }

    correlation = {"X-Correlation-ID": {"required": True, "schema": {"type": "string"}}}
    return {
        "RouteNotFound": answer("No route has this path.", RouteNotFoundResponse, correlation),
        "MethodNotAllowed": answer(
            "The path exists, not with this method; `Allow` lists its methods.",
            MethodNotAllowedResponse,
            {**correlation, "Allow": {"required": True, "schema": {"type": "string"}}},
        ),
    }


def document(app: APIGatewayHttpResolver) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `app`, as the API actually answers."""
    spec: dict[str, Any] = json.loads(app.get_openapi_json_schema())
    powertools_error = {COMPONENT_PREFIX + name for name in _POWERTOOLS_VALIDATION_SCHEMAS}
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            declared = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if declared.get("$ref") in powertools_error:
                del responses["422"]
            # Powertools gives every response the return annotation's content; a 204 has none.
            responses.get("204", {}).pop("content", None)
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    components["responses"] = _unrouted_answers(schemas)
    for name in _POWERTOOLS_VALIDATION_SCHEMAS:
        others = {key: value for key, value in schemas.items() if key != name}
        still_used = _references({key: value for key, value in spec.items() if key != "components"})
        still_used |= _references({**components, "schemas": others})
        if COMPONENT_PREFIX + name not in still_used:
            schemas.pop(name, None)
    return spec


def render(spec: dict[str, Any]) -> str:
    """The document as committed: sorted keys, two-space indent, a trailing newline."""
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
