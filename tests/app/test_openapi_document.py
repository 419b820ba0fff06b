"""The OpenAPI document: valid, generated from the app, committed, and true to what the app answers."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from catalog_testkit import REPO_ROOT, for_item, load_event, with_body, with_headers, with_query
from openapi_spec_validator import validate
from service.routes import PUBLIC_ROUTE_KEYS, ROUTE_KEYS, ROUTE_SCOPES, SCOPES

COMMITTED = REPO_ROOT / "docs" / "openapi.json"

# The contract: what each operation may answer (401/403 come from API Gateway, not the function).
DECLARED_STATUSES = {
    "GET /health/live": {"200", "413", "429"},
    "GET /health/ready": {"200", "413", "429", "503"},
    "GET /items": {"200", "400", "401", "403", "413", "429", "503"},
    "POST /items": {"201", "400", "401", "403", "409", "413", "415", "422", "429", "503"},
    "GET /items/{id}": {"200", "400", "401", "403", "404", "413", "429", "503"},
    "PUT /items/{id}": {"200", "400", "401", "403", "404", "409", "413", "415", "429", "503"},
    "DELETE /items/{id}": {"204", "400", "401", "403", "413", "429", "503"},
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from service import handler, openapi

    return openapi.document(handler.app)


def operation(document: dict[str, Any], route_key: str) -> dict[str, Any]:
    method, path = route_key.split(" ", 1)
    return document["paths"][path][method.lower()]


def test_the_apps_own_schema_and_the_document_are_valid_openapi_3(document):
    from service import handler

    validate(json.loads(handler.app.get_openapi_json_schema()))
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_the_committed_document_is_the_apps():
    from service import openapi

    from tools.openapi import rendered_document

    committed = COMMITTED.read_text(encoding="utf-8")

    assert committed == rendered_document(), "docs/openapi.json is stale: run python -m tools.openapi --write"
    assert committed.endswith("}\n")
    assert openapi.render(json.loads(committed)) == committed, "keys are sorted, indent 2"


def test_tools_openapi_prints_and_writes_the_document(tmp_path, monkeypatch, capsys):
    import tools.openapi as tool

    assert tool.main([]) == 0
    printed = capsys.readouterr().out
    target = tmp_path / "openapi.json"
    monkeypatch.setattr(tool, "DOCUMENT_PATH", target)
    monkeypatch.setattr(tool, "REPO_ROOT", tmp_path)

    assert tool.main(["--write"]) == 0
    assert target.read_text(encoding="utf-8") == printed == COMMITTED.read_text(encoding="utf-8")


def test_every_route_key_is_an_operation_and_nothing_else(document):
    documented = {f"{method.upper()} {path}" for path, methods in document["paths"].items() for method in methods}

    assert documented == set(ROUTE_KEYS)


@pytest.mark.parametrize("route_key", ROUTE_KEYS)
def test_security_follows_the_route_scopes(document, route_key):
    declared = operation(document, route_key).get("security")

    if route_key in PUBLIC_ROUTE_KEYS:
        assert declared is None
    else:
        assert declared == [{"oauth2": list(ROUTE_SCOPES[route_key])}]


def test_the_scheme_is_oauth2_client_credentials_with_the_services_scopes(document):
    (scheme,) = document["components"]["securitySchemes"].values()

    assert scheme["type"] == "oauth2"
    flow = scheme["flows"]["clientCredentials"]
    assert set(flow["scopes"]) == set(SCOPES) == {"items.read", "items.write"}
    assert flow["tokenUrl"].startswith("https://")
    assert "security" not in document, "no global requirement: the health routes are public"


@pytest.mark.parametrize("route_key", ROUTE_KEYS)
def test_each_operation_declares_exactly_its_answers(document, route_key):
    responses = operation(document, route_key)["responses"]

    assert set(responses) == DECLARED_STATUSES[route_key]
    for status, response in responses.items():
        if status in {"401", "403", "429"}:
            # API Gateway's own answers: its authorizer's and its throttling's.
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/GatewayMessage"}
            continue
        assert response["headers"]["X-Correlation-ID"]["required"] is True
        if status == "503":
            assert response["headers"]["Retry-After"]["required"] is True
        if status == "409":
            # No conflict is settled by waiting (a key still in progress settles at once).
            assert "Retry-After" not in response["headers"]
        if status == "204":
            assert "content" not in response


def test_the_503_declares_each_dependency_answer_by_its_code(document):
    schemas = document["components"]["schemas"]
    error = schemas["UnavailableResponse"]["properties"]["error"]

    assert set(error["discriminator"]["mapping"]) == {"unavailable", "dependency_missing", "outcome_unknown"}
    assert schemas["OutcomeUnknownProblem"]["required"] == ["code", "message", "item_id", "idempotency_key"]
    assert schemas["UnavailableProblem"]["properties"]["dependency"]["enum"] == ["items_table", "idempotency_table"]


def test_the_readiness_503_is_declared_with_the_body_it_has(document):
    ready = operation(document, "GET /health/ready")["responses"]
    assert ready["503"]["content"] == ready["200"]["content"]  # the Readiness shape, status "fail"


def test_powertools_own_error_shapes_are_not_declared(document):
    text = json.dumps(document)

    assert "HTTPValidationError" not in text
    assert "ResponseValidationError" not in text
    assert set(document["components"]["responses"]) == {"RouteNotFound", "MethodNotAllowed"}


def test_the_gateway_message_is_api_gateways_body(document):
    assert document["components"]["schemas"]["GatewayMessage"]["required"] == ["message"]


def test_the_list_parameters_are_bounded_as_the_model(document):
    from service.models import ListQuery

    parameters = {
        parameter["name"]: parameter["schema"] for parameter in operation(document, "GET /items")["parameters"]
    }
    limit = ListQuery.model_fields["limit"]

    assert parameters["limit"]["minimum"] == 1
    assert parameters["limit"]["maximum"] == 100
    assert parameters["limit"]["default"] == limit.default == 20
    (token,) = [option for option in parameters["next_token"]["anyOf"] if option["type"] == "string"]
    assert token["maxLength"] == 128
    assert token["pattern"] == "^[A-Za-z0-9_-]+={0,2}$"


def test_the_item_body_is_documented_as_it_is_validated(document):
    schemas = document["components"]["schemas"]
    create = schemas["ItemCreate"]

    assert create["additionalProperties"] is False
    assert create["required"] == ["name", "price"]
    assert create["properties"]["price"]["type"] == "number", "a JSON number, never a string"
    assert create["properties"]["price"]["maximum"] == 1_000_000
    assert schemas["ItemReplace"]["properties"]["version"]["maximum"] == 2**53 - 2


# --- what the app answers conforms to what the document says -----------------------------------


def response_schema(document: dict[str, Any], route_key: str, status: int) -> dict[str, Any]:
    content = operation(document, route_key)["responses"][str(status)]["content"]["application/json"]
    return {**content["schema"], "components": document["components"]}


def cases(invoke: Any) -> list[tuple[str, dict[str, Any]]]:
    created = invoke(load_event("create_item")).body
    item = created["id"]
    replace = for_item(load_event("replace_item"), item)
    return [
        ("GET /health/live", load_event("health_live")),
        ("GET /health/ready", load_event("health_ready")),
        ("GET /items", with_query(load_event("list_items"), {"limit": "1"})),
        ("GET /items", with_query(load_event("list_items"), {"limit": "0"})),
        ("POST /items", load_event("create_item")),
        ("POST /items", with_body(load_event("create_item"), {"name": "", "price": "1"})),
        ("POST /items", with_headers(load_event("create_item"), {"Content-Type": "text/plain"})),
        ("POST /items", with_body(load_event("create_item"), "x" * 70_000)),
        ("POST /items", with_headers(load_event("create_item"), {"Idempotency-Key": "doc-1"})),
        (
            "POST /items",
            with_headers(with_body(load_event("create_item"), {"name": "B", "price": 2}), {"Idempotency-Key": "doc-1"}),
        ),
        ("GET /items/{id}", for_item(load_event("get_item"), item)),
        ("GET /items/{id}", load_event("get_item")),
        ("PUT /items/{id}", with_body(replace, {"name": "Mug", "price": 3, "version": 1})),
        ("PUT /items/{id}", with_body(replace, {"name": "Mug", "price": 3, "version": 1})),
        ("PUT /items/{id}", load_event("replace_item")),
        ("DELETE /items/{id}", for_item(load_event("delete_item"), item)),
    ]


def test_real_answers_match_their_declared_schemas(invoke, document):
    seen = set()
    for route_key, event in cases(invoke):
        result = invoke(event)
        assert str(result.status) in operation(document, route_key)["responses"], (route_key, result.status)
        seen.add((route_key, result.status))
        if result.status == 204:
            assert result.response.get("body") in (None, "")
            continue
        jsonschema.validate(result.body, response_schema(document, route_key, result.status))

    assert {status for _, status in seen} >= {200, 201, 204, 400, 404, 409, 413, 415, 422}


def test_the_unrouted_answers_match_their_component_schemas(invoke, document):
    for name, event in (
        ("RouteNotFound", load_event("unknown_route")),
        ("MethodNotAllowed", load_event("wrong_method")),
    ):
        result = invoke(event)
        schema = document["components"]["responses"][name]["content"]["application/json"]["schema"]

        jsonschema.validate(result.body, {**schema, "components": document["components"]})
        for header, spec in document["components"]["responses"][name]["headers"].items():
            assert not spec["required"] or header in result.headers
