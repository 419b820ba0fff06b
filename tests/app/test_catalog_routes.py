"""Every route of the catalog API, success and failure paths, against DynamoDB on moto."""

from __future__ import annotations

import base64
import json
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError
from catalog_testkit import (
    FIXTURE_ITEM_ID,
    TABLE_NAME,
    for_item,
    load_event,
    with_body,
    with_query,
)
from service.routes import ROUTE_KEYS


def stored_items(dynamodb: Any) -> list[dict[str, Any]]:
    return dynamodb.scan(TableName=TABLE_NAME, ConsistentRead=True)["Items"]


def create(invoke: Any, **fields: Any) -> dict[str, Any]:
    payload = {"name": "Espresso cup", "price": 12.5, **fields}
    result = invoke(with_body(load_event("create_item"), payload))
    assert result.status == 201, result.body
    return result.body


# --- POST /items ---------------------------------------------------------------------------


def test_create_stores_the_item_and_returns_it_with_id_version_and_timestamps(invoke, dynamodb):
    result = invoke(load_event("create_item"))

    assert result.status == 201
    item = result.body
    assert item["name"] == "Espresso cup"
    assert item["price"] == 12.5
    assert item["description"] == "Porcelain, 80 ml"
    assert item["version"] == 1
    assert item["created_at"] == item["updated_at"]
    assert item["created_at"].endswith("Z")
    assert result.headers["Location"] == f"/items/{item['id']}"
    stored = stored_items(dynamodb)
    assert len(stored) == 1
    assert stored[0]["id"] == {"S": item["id"]}
    assert stored[0]["price"] == {"N": "12.5"}
    assert stored[0]["version"] == {"N": "1"}


def test_create_without_description_stores_none(invoke, dynamodb):
    item = create(invoke)

    assert item["description"] is None
    assert "description" not in stored_items(dynamodb)[0]


def test_create_accepts_a_base64_encoded_body(invoke, dynamodb):
    event = load_event("create_item")
    event["body"] = base64.b64encode(json.dumps({"name": "Saucer", "price": 3}).encode()).decode()
    event["isBase64Encoded"] = True

    result = invoke(event)

    assert result.status == 201
    assert result.body["name"] == "Saucer"
    assert result.body["price"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price": 1}, "name"),
        ({"name": "", "price": 1}, "name"),
        ({"name": "Cup", "price": -0.01}, "price"),
        ({"name": "Cup", "price": 1.999}, "price"),
        ({"name": "Cup", "price": "free"}, "price"),
        ({"name": "Cup"}, "price"),
        ({"name": "Cup", "price": 1, "prise": 2}, "prise"),
        ({"name": "Cup", "price": 1, "description": 7}, "description"),
        ("{not json", "body"),
        ("[1, 2]", "body"),
        ("", "body"),
        (None, "body"),
    ],
    ids=[
        "missing-name",
        "empty-name",
        "negative-price",
        "sub-cent-price",
        "text-price",
        "missing-price",
        "unknown-field",
        "description-not-text",
        "not-json",
        "json-array",
        "empty-body",
        "no-body",
    ],
)
def test_create_with_a_bad_body_is_400_naming_the_field_and_writes_nothing(invoke, dynamodb, body, field):
    result = invoke(with_body(load_event("create_item"), body))

    assert result.status == 400
    assert result.body["error"]["code"] == "validation_error"
    assert field in [detail["field"] for detail in result.body["error"]["details"]]
    assert stored_items(dynamodb) == [], "a rejected create must not write"
    assert result.metric_names() == ["ValidationFailures"]


def test_create_with_a_body_that_is_not_base64_is_400(invoke, dynamodb):
    event = load_event("create_item")
    event["body"] = "%%% not base64 %%%"
    event["isBase64Encoded"] = True

    result = invoke(event)

    assert result.status == 400
    assert result.body["error"]["details"][0]["field"] == "body"
    assert stored_items(dynamodb) == []


def test_create_with_an_id_that_exists_is_409_and_keeps_the_existing_item(invoke, dynamodb, monkeypatch):
    existing = create(invoke, name="Original")
    from service import items

    monkeypatch.setattr(items, "new_item_id", lambda: existing["id"])

    result = invoke(with_body(load_event("create_item"), {"name": "Intruder", "price": 1}))

    assert result.status == 409
    assert result.body["error"]["code"] == "conflict"
    stored = stored_items(dynamodb)
    assert len(stored) == 1
    assert stored[0]["name"] == {"S": "Original"}


# --- GET /items/{id} -----------------------------------------------------------------------


def test_get_returns_the_stored_item(invoke):
    created = create(invoke, description="Blue")

    result = invoke(for_item(load_event("get_item"), created["id"]))

    assert result.status == 200
    assert result.body == created


def test_get_of_a_missing_item_is_404_and_counts_a_not_found(invoke):
    result = invoke(load_event("get_item"))

    assert result.status == 404
    assert result.body["error"] == {
        "code": "item_not_found",
        "message": f"item {FIXTURE_ITEM_ID} not found",
        "item_id": FIXTURE_ITEM_ID,
    }
    assert result.metric_names() == ["ItemsNotFound"]


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "3f1c2a9e6b7d4e8f9a0b1c2d3e4f5a6b", "__readiness_probe__"])
def test_get_with_a_malformed_id_is_400(invoke, bad_id):
    result = invoke(for_item(load_event("get_item"), bad_id))

    assert result.status == 400
    assert result.body["error"]["details"][0]["field"] == "id"


# --- GET /items ----------------------------------------------------------------------------


def test_list_of_an_empty_table_is_an_empty_last_page(invoke):
    result = invoke(with_query(load_event("list_items"), {}))

    assert result.status == 200
    assert result.body == {"items": [], "next_token": None}


def test_list_pages_through_every_item_exactly_once(invoke):
    created = {create(invoke, name=f"Item {n}")["id"] for n in range(5)}
    seen: list[str] = []
    params = {"limit": "2"}

    for _ in range(10):  # bounded: 5 items in pages of 2 need at most 4 requests
        result = invoke(with_query(load_event("list_items"), params))
        assert result.status == 200
        page = result.body
        assert len(page["items"]) <= 2
        seen.extend(item["id"] for item in page["items"])
        if page["next_token"] is None:
            break
        params = {"limit": "2", "next_token": page["next_token"]}
    else:
        pytest.fail("pagination did not end")

    assert sorted(seen) == sorted(created)


def test_list_returns_20_items_by_default(invoke):
    for n in range(21):
        create(invoke, name=f"Item {n}")

    result = invoke(with_query(load_event("list_items"), {}))

    assert len(result.body["items"]) == 20
    assert result.body["next_token"] is not None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"next_token": "%%%"}, "next_token"),
        ({"next_token": base64.urlsafe_b64encode(b'{"id":"x"}').decode()}, "next_token"),
        ({"next_token": base64.urlsafe_b64encode(b"[1]").decode()}, "next_token"),
    ],
    ids=["limit-zero", "limit-too-big", "limit-not-a-number", "token-not-base64", "token-bad-id", "token-not-object"],
)
def test_list_with_a_bad_parameter_is_400_naming_it(invoke, params, field):
    result = invoke(with_query(load_event("list_items"), params))

    assert result.status == 400
    assert [detail["field"] for detail in result.body["error"]["details"]] == [field]


# --- PUT /items/{id} -----------------------------------------------------------------------


def test_replace_with_the_current_version_updates_and_bumps_the_version(invoke, dynamodb):
    created = create(invoke, description="Blue")
    event = with_body(for_item(load_event("replace_item"), created["id"]), {"name": "Mug", "price": 9, "version": 1})

    result = invoke(event)

    assert result.status == 200
    updated = result.body
    assert updated["name"] == "Mug"
    assert updated["price"] == 9
    assert updated["description"] is None, "PUT replaces: an omitted description is removed"
    assert updated["version"] == 2
    assert updated["created_at"] == created["created_at"]
    assert updated["updated_at"] >= created["updated_at"]
    assert stored_items(dynamodb)[0]["version"] == {"N": "2"}
    assert result.metric_names() == ["ItemsUpdated"]


def test_replace_with_a_stale_version_is_409_and_changes_nothing(invoke, dynamodb):
    created = create(invoke)
    event = for_item(load_event("replace_item"), created["id"])
    assert invoke(with_body(event, {"name": "First", "price": 1, "version": 1})).status == 200
    before = stored_items(dynamodb)

    result = invoke(with_body(event, {"name": "Second", "price": 2, "version": 1}))

    assert result.status == 409
    assert result.body["error"]["current_version"] == 2
    assert stored_items(dynamodb) == before


def test_two_writers_of_the_same_version_cannot_both_win(invoke, dynamodb):
    created = create(invoke)
    event = for_item(load_event("replace_item"), created["id"])

    first = invoke(with_body(event, {"name": "Writer A", "price": 1, "version": created["version"]}))
    second = invoke(with_body(event, {"name": "Writer B", "price": 2, "version": created["version"]}))

    assert (first.status, second.status) == (200, 409)
    assert stored_items(dynamodb)[0]["name"] == {"S": "Writer A"}


def test_replace_of_a_missing_item_is_404_and_creates_nothing(invoke, dynamodb):
    result = invoke(load_event("replace_item"))

    assert result.status == 404
    assert stored_items(dynamodb) == []
    assert result.metric_names() == ["ItemsNotFound"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Mug", "price": 1}, "version"),
        ({"name": "Mug", "price": 1, "version": "1"}, "version"),
        ({"name": "Mug", "price": 1, "version": 0}, "version"),
        ({"name": "Mug", "price": -5, "version": 1}, "price"),
        ({"price": 1, "version": 1}, "name"),
    ],
    ids=["missing-version", "text-version", "zero-version", "negative-price", "missing-name"],
)
def test_replace_with_a_bad_body_is_400_and_changes_nothing(invoke, dynamodb, body, field):
    created = create(invoke)
    before = stored_items(dynamodb)

    result = invoke(with_body(for_item(load_event("replace_item"), created["id"]), body))

    assert result.status == 400
    assert [detail["field"] for detail in result.body["error"]["details"]] == [field]
    assert stored_items(dynamodb) == before


def test_replace_with_a_malformed_id_is_400(invoke):
    result = invoke(for_item(load_event("replace_item"), "nope"))

    assert result.status == 400
    assert result.body["error"]["details"][0]["field"] == "id"


# --- DELETE /items/{id} --------------------------------------------------------------------


def test_delete_removes_the_item(invoke, dynamodb):
    created = create(invoke)

    result = invoke(for_item(load_event("delete_item"), created["id"]))

    assert result.status == 204
    assert result.response.get("body") in (None, "")
    assert stored_items(dynamodb) == []
    assert result.metric_names() == ["ItemsDeleted"]


def test_delete_is_idempotent(invoke, dynamodb):
    created = create(invoke)
    event = for_item(load_event("delete_item"), created["id"])
    invoke(event)

    again = invoke(event)

    assert again.status == 204
    assert again.metric_names() == [], "nothing was deleted the second time"
    assert [line for line in again.logs if line["message"] == "business event"] == []


def test_delete_with_a_malformed_id_is_400(invoke):
    result = invoke(for_item(load_event("delete_item"), "nope"))

    assert result.status == 400


# --- routing and unexpected errors ---------------------------------------------------------


def test_the_resolver_registers_exactly_the_route_keys_the_infrastructure_creates(handler: ModuleType):
    # The resolver keeps its routes in these two lists (Powertools pinned to the layer version);
    # `openapi_path` is the route in API Gateway's {param} syntax.
    routes = handler.app._static_routes + handler.app._dynamic_routes

    registered = [f"{route.method} {route.openapi_path}" for route in routes]

    assert sorted(registered) == sorted(ROUTE_KEYS)
    assert len(ROUTE_KEYS) == len(set(ROUTE_KEYS))


def test_the_resolver_dispatches_exactly_the_route_keys(invoke):
    paths = {key.split(" ", 1)[1] for key in ROUTE_KEYS} | {"/", "/items/{id}/history", "/health"}
    methods = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
    served = set()

    for template in paths:
        path = template.replace("{id}", FIXTURE_ITEM_ID)
        for method in methods:
            event = load_event("unknown_route")
            event["rawPath"] = path
            event["requestContext"]["http"].update(method=method, path=path)
            # As API Gateway routes it: a route of the API, else the catch-all.
            key = f"{method} {template}"
            event["routeKey"] = event["requestContext"]["routeKey"] = key if key in ROUTE_KEYS else "$default"
            error = (invoke(event).body or {}).get("error") or {}
            if error.get("code") not in {"route_not_found", "method_not_allowed"}:
                served.add(f"{method} {template}")

    assert served == set(ROUTE_KEYS)


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/items"), ("Post", "/items"), ("POST", "/items\n"), ("delete", f"/items/{FIXTURE_ITEM_ID}"),
    ("put", f"/items/{FIXTURE_ITEM_ID}"),
])
def test_what_the_gateway_sent_to_the_catch_all_never_runs_an_item_route(invoke, dynamodb, method, path):
    # The catch-all's authorizer accepts any valid token: the item route's scopes were never checked.
    before = dynamodb.scan(TableName=TABLE_NAME)["Count"]
    event = load_event("unknown_route")
    event["rawPath"] = path
    event["requestContext"]["http"].update(method=method, path=path)
    event["body"] = json.dumps({"name": "sneaky", "price": 1, "version": 1})
    event["headers"]["content-type"] = "application/json"
    result = invoke(event)
    assert result.status == 404 and result.body["error"]["code"] == "route_not_found"
    assert dynamodb.scan(TableName=TABLE_NAME)["Count"] == before


def options_event(path: str) -> dict[str, Any]:
    event = load_event("unknown_route")
    event["rawPath"] = path
    event["requestContext"]["http"].update(method="OPTIONS", path=path)
    return event


@pytest.mark.parametrize(
    ("path", "allow"),
    [("/items", "GET, POST"), (f"/items/{FIXTURE_ITEM_ID}", "DELETE, GET, PUT"), ("/health/ready", "GET")],
)
def test_options_on_a_known_path_is_204_with_the_allowed_methods(invoke, path, allow):
    result = invoke(options_event(path))

    assert result.status == 204
    assert result.headers["Allow"] == allow
    assert result.response.get("body") in (None, "")


def test_options_on_an_unknown_path_is_404_never_405(invoke):
    result = invoke(options_event("/orders"))

    assert result.status == 404
    assert result.body["error"]["code"] == "route_not_found"


def test_an_unknown_route_is_404(invoke):
    result = invoke(load_event("unknown_route"))

    assert result.status == 404
    assert result.body["error"]["code"] == "route_not_found"


def test_a_wrong_method_is_405_with_the_allowed_methods(invoke):
    result = invoke(load_event("wrong_method"))

    assert result.status == 405
    assert result.headers["Allow"] == "DELETE, GET, PUT"


def test_an_unexpected_error_is_a_json_500_with_the_correlation_id_and_no_trace(invoke, handler, monkeypatch):
    def explode(item_id: str) -> None:
        raise RuntimeError("connection pool state 0x7f3a corrupted")

    monkeypatch.setattr(handler.repository, "get", explode)

    result = invoke(load_event("get_item"))

    assert result.status == 500
    assert result.body["error"]["code"] == "internal_error"
    assert result.body["correlation_id"] == load_event("get_item")["requestContext"]["requestId"]
    raw = result.response["body"]
    assert "Traceback" not in raw
    assert "0x7f3a" not in raw
    error_line = result.log("unexpected error")
    assert error_line["level"] == "ERROR"
    assert error_line["exception_name"] == "RuntimeError"
    assert "Traceback" in error_line["exception"]
    assert "explode" in error_line["exception"]


def test_dynamodb_throttling_after_retries_is_503_retry_later(invoke, handler, monkeypatch):
    def throttled(item_id: str) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem")

    monkeypatch.setattr(handler.repository, "get", throttled)

    result = invoke(load_event("get_item"))

    assert result.status == 503
    assert result.headers["Retry-After"] == "1"
