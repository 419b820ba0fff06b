"""Pure pieces of the service: contract modules, routing, tokens, payload models, settings."""

from __future__ import annotations

import ast
import base64
import json
from decimal import Decimal
from pathlib import Path

import pytest
from service.config import SettingsError, load_settings
from service.errors import InvalidRequest
from service.gate import Admission, Rejection, admit, is_json_media_type
from service.items import decode_token, encode_token
from service.models import Item, ItemCreate, ItemReplace, bounded_problems, parse_body, parse_item_id, parse_json
from service.routes import ROUTE_KEYS
from service.routing import allowed_methods, match_route

SERVICE_DIR = Path(__file__).parents[2] / "app" / "service"
ITEM_ID = "3f1c2a9e-6b7d-4e8f-9a0b-1c2d3e4f5a6b"


# --- the contract modules ------------------------------------------------------------------


@pytest.mark.parametrize("module", ["routes.py", "schema.py", "metrics_catalog.py"])
def test_contract_modules_import_nothing_but_future_annotations(module):
    tree = ast.parse((SERVICE_DIR / module).read_text())

    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]

    assert [(node.module, [alias.name for alias in node.names]) for node in imports] == [
        ("__future__", ["annotations"])
    ], f"{module} must stay import-free: the infrastructure imports it"


def test_the_package_init_is_empty():
    assert (SERVICE_DIR / "__init__.py").read_text().strip() == ""


def test_route_keys_are_exactly_the_contract():
    assert ROUTE_KEYS == (
        "GET /health/live",
        "GET /health/ready",
        "GET /items",
        "POST /items",
        "GET /items/{id}",
        "PUT /items/{id}",
        "DELETE /items/{id}",
    )


def test_the_contract_modules_are_importable_the_way_the_infrastructure_imports_them():
    from app.service.metrics_catalog import BUSINESS_METRICS
    from app.service.routes import ROUTE_KEYS as INFRA_ROUTE_KEYS
    from app.service.schema import TABLE_HASH_KEY

    assert INFRA_ROUTE_KEYS == ROUTE_KEYS
    assert TABLE_HASH_KEY == "id"
    assert BUSINESS_METRICS == ("ItemsCreated", "ItemsUpdated", "ItemsDeleted", "ItemsNotFound", "ValidationFailures")


# --- routing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "route_key", "parameters"),
    [
        ("GET", "/items", "GET /items", {}),
        ("post", "/items", "POST /items", {}),
        ("GET", f"/items/{ITEM_ID}", "GET /items/{id}", {"id": ITEM_ID}),
        ("DELETE", "/items/anything", "DELETE /items/{id}", {"id": "anything"}),
        ("GET", "/health/ready", "GET /health/ready", {}),
    ],
)
def test_match_route_finds_the_route_key_and_path_parameters(method, path, route_key, parameters):
    matched = match_route(method, path)

    assert matched is not None
    assert (matched.route_key, matched.path_parameters) == (route_key, parameters)


@pytest.mark.parametrize(
    ("method", "path"),
    [("PATCH", "/items"), ("GET", "/items/"), ("GET", "/items/a/b"), ("GET", "/orders"), ("GET", "/")],
)
def test_match_route_refuses_what_no_route_serves(method, path):
    assert match_route(method, path) is None


def test_allowed_methods_lists_the_methods_of_a_known_path_only():
    assert allowed_methods("/items") == ("GET", "POST")
    assert allowed_methods(f"/items/{ITEM_ID}") == ("DELETE", "GET", "PUT")
    assert allowed_methods("/orders") == ()


# --- pagination tokens ---------------------------------------------------------------------


def test_a_token_round_trips_and_is_urlsafe():
    token = encode_token(ITEM_ID)

    assert decode_token(token) == ITEM_ID
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    "token",
    [
        "!!!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'"a string"').decode(),
        base64.urlsafe_b64encode(json.dumps({"id": "x"}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"id": ITEM_ID, "extra": 1}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"id": 5}).encode()).decode(),
    ],
)
def test_a_malformed_token_is_an_invalid_request_on_next_token(token):
    with pytest.raises(InvalidRequest) as raised:
        decode_token(token)

    assert [error["field"] for error in raised.value.errors] == ["next_token"]


# --- payloads ------------------------------------------------------------------------------


def test_prices_are_exact_decimals():
    created = parse_body(ItemCreate, '{"name": " Cup ", "price": 0.10}')

    assert created.price == Decimal("0.10")
    assert created.name == "Cup", "surrounding whitespace is not part of a name"


def test_a_replace_needs_an_integer_version():
    with pytest.raises(InvalidRequest) as raised:
        parse_body(ItemReplace, '{"name": "Cup", "price": 1, "version": 1.5}')

    assert [error["field"] for error in raised.value.errors] == ["version"]


def test_errors_do_not_echo_the_input():
    with pytest.raises(InvalidRequest) as raised:
        parse_body(ItemCreate, '{"name": "Cup", "price": "card 4111111111111111"}')

    assert "4111" not in json.dumps(raised.value.errors)


def test_item_ids_are_uuids_normalised_to_lower_case():
    assert parse_item_id(ITEM_ID.upper()) == ITEM_ID
    with pytest.raises(InvalidRequest):
        parse_item_id(None)


def test_public_prices_are_json_numbers():
    item = Item("i", "n", Decimal("12.50"), None, 1, "t", "t")
    whole = Item("i", "n", Decimal("3"), None, 1, "t", "t")

    assert item.to_public()["price"] == 12.5
    assert whole.to_public()["price"] == 3
    assert isinstance(whole.to_public()["price"], int)


# --- settings ------------------------------------------------------------------------------


def test_settings_come_from_the_function_environment():
    settings = load_settings(
        {
            "TABLE_NAME": "prodready-prod-items-1a2b3c4",
            "POWERTOOLS_SERVICE_NAME": "catalog",
            "POWERTOOLS_METRICS_NAMESPACE": "Prodready/Prod",
            "SERVICE_VERSION": "2.0.1",
            "ENVIRONMENT": "prod",
            "AWS_REGION": "eu-central-1",
        }
    )

    assert settings.table_name == "prodready-prod-items-1a2b3c4"
    assert settings.service_name == "catalog"
    assert settings.metrics_namespace == "Prodready/Prod"
    assert settings.service_version == "2.0.1"
    assert settings.environment == "prod"
    assert settings.region == "eu-central-1"


def test_settings_have_safe_local_defaults():
    settings = load_settings({})

    assert settings.table_name == "prodready-items-local"
    assert settings.idempotency_table_name == "prodready-idempotency-local"
    assert settings.idempotency_ttl_seconds == 3600
    assert settings.max_request_body_bytes == 65536
    assert settings.openapi_enabled is False
    assert settings.environment == "local"
    assert settings.metrics_namespace
    assert settings.region


def test_the_contract_settings_come_from_the_environment():
    settings = load_settings(
        {
            "IDEMPOTENCY_TABLE_NAME": "prodready-prod-idempotency-9f8e7d6",
            "IDEMPOTENCY_TTL_SECONDS": "7200",
            "MAX_REQUEST_BODY_BYTES": "131072",
            "OPENAPI_ENABLED": "true",
        }
    )

    assert settings.idempotency_table_name == "prodready-prod-idempotency-9f8e7d6"
    assert settings.idempotency_ttl_seconds == 7200
    assert settings.max_request_body_bytes == 131072
    assert settings.openapi_enabled is True
    assert load_settings({"OPENAPI_ENABLED": "False"}).openapi_enabled is False


def test_the_dynamodb_client_limits_are_settings():
    defaults = load_settings({})
    settings = load_settings(
        {"DYNAMODB_CONNECT_TIMEOUT_MS": "100", "DYNAMODB_READ_TIMEOUT_MS": "150", "DYNAMODB_MAX_ATTEMPTS": "1"}
    )

    assert (defaults.dynamodb_connect_timeout_ms, defaults.dynamodb_read_timeout_ms) == (1000, 1000)
    assert defaults.dynamodb_max_attempts == 2
    assert (settings.dynamodb_connect_timeout_ms, settings.dynamodb_read_timeout_ms) == (100, 150)
    assert settings.dynamodb_max_attempts == 1


def test_the_function_builds_its_client_from_the_settings(tmp_path):
    import json
    import os
    import subprocess
    import sys

    from catalog_testkit import APP_ENV, REPO_ROOT

    probe = (
        "import json; from service import handler; c = handler.repository.client.meta.config; "
        "print(json.dumps([c.connect_timeout, c.read_timeout, c.retries]))"
    )
    env = {**os.environ, **APP_ENV, "DYNAMODB_CONNECT_TIMEOUT_MS": "100", "DYNAMODB_READ_TIMEOUT_MS": "250",
           "DYNAMODB_MAX_ATTEMPTS": "3"}
    completed = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT / "app", env=env, capture_output=True,
                               text=True, timeout=60, check=True)

    assert json.loads(completed.stdout.splitlines()[-1]) == [0.1, 0.25, {"mode": "standard", "total_max_attempts": 3}]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DYNAMODB_READ_TIMEOUT_MS", "0.5"),
        ("DYNAMODB_READ_TIMEOUT_MS", "60000"),
        ("DYNAMODB_CONNECT_TIMEOUT_MS", "0"),
        ("DYNAMODB_MAX_ATTEMPTS", "10"),
        ("IDEMPOTENCY_TTL_SECONDS", "1h"),
        ("IDEMPOTENCY_TTL_SECONDS", "0"),
        ("IDEMPOTENCY_TTL_SECONDS", "-5"),
        ("MAX_REQUEST_BODY_BYTES", "64k"),
        ("MAX_REQUEST_BODY_BYTES", "20000000"),
        ("OPENAPI_ENABLED", "maybe"),
    ],
)
def test_a_malformed_setting_is_refused_naming_the_variable_and_value(name, value):
    with pytest.raises(SettingsError) as raised:
        load_settings({name: value})

    assert name in str(raised.value)
    assert repr(value) in str(raised.value)


# --- parsing and bounding ------------------------------------------------------------------


def test_json_numbers_parse_exactly_and_non_json_numbers_do_not_parse():
    assert parse_json('{"a": 0.1, "b": 3}') == {"a": Decimal("0.1"), "b": 3}
    assert isinstance(parse_json("1" * 50), Decimal), "no 4300-digit conversion limit to trip over"
    for text in ("NaN", "[Infinity]", "-Infinity", "[" * 50_000 + "]" * 50_000):
        with pytest.raises(json.JSONDecodeError):
            parse_json(text)


def test_bounded_problems_keeps_ten_and_counts_all():
    errors = [
        {"loc": ("body", f"k{n}"), "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
        for n in range(25)
    ]

    problems, count = bounded_problems(errors)

    assert count == 25
    assert [problem["field"] for problem in problems] == [f"k{n}" for n in range(10)]


@pytest.mark.parametrize(
    ("location", "error_type", "field"),
    [
        (("body",), "model_type", "body"),
        (("body", 17), "json_invalid", "body"),
        (("body", "price"), "decimal_type", "price"),
        (("query", "limit"), "int_parsing", "limit"),
        (("header", "idempotency-key"), "string_too_long", "Idempotency-Key"),
    ],
)
def test_problems_name_the_field_as_the_client_sent_it(location, error_type, field):
    (problem,), _ = bounded_problems([{"loc": location, "msg": "m", "type": error_type}])

    assert problem["field"] == field


@pytest.mark.parametrize(
    ("content_type", "is_json"),
    [
        ("application/json", True),
        ("application/json;charset=utf-8", True),
        ('application/json; charset="UTF-8"', True),
        ("application/problem+json", True),
        ("application/+json", False),
        ("application/json; charset=iso-8859-1", False),
        ("application/json; boundary=x", False),
        ("text/json", False),
        ("", False),
        (None, False),
    ],
)
def test_json_media_types(content_type, is_json):
    assert is_json_media_type(content_type) is is_json


def test_the_gate_measures_before_it_decodes_and_passes_the_decoded_body_on():
    event = {
        "body": base64.b64encode(b'{"name": "x"}').decode(),
        "isBase64Encoded": True,
        "headers": {"content-type": "application/merge-patch+json"},
    }

    admitted = admit(event, "POST /items", 1000)
    refused = admit({**event, "body": "A" * 2000}, "POST /items", 1000)

    assert isinstance(admitted, Admission)
    assert admitted.event["body"] == '{"name": "x"}'
    assert admitted.event["isBase64Encoded"] is False
    assert admitted.event["headers"]["content-type"] == "application/json"
    assert event["isBase64Encoded"] is True, "the caller's event is not changed"
    assert isinstance(refused, Rejection)
    assert (refused.status, refused.max_bytes) == (413, 1000)
