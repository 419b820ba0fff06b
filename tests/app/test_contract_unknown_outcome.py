"""Writes whose outcome the function cannot know, and dependencies that are absent.

DynamoDB sits behind a proxy that stalls or drops chosen requests (`faulty_dynamodb`), with the
client's timeouts at a tenth of a second (they are settings), so each fault is met as in production:
a write that was stored and never answered, one that never reached the table, a slow table.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from catalog_testkit import IDEMPOTENCY_TABLE_NAME, REGION, TABLE_NAME, for_item, load_event, with_headers
from faulty_dynamodb import Fault, FaultyDynamoDB, faulty_dynamodb

# A fraction of the production timeouts (1 s), still long enough for moto's healthy answers on a
# loaded machine; a stall is well past the read timeout.
TIMEOUT_S = 0.3
STALL_S = 0.8


def stored_items(dynamodb: Any) -> list[dict[str, Any]]:
    return dynamodb.scan(TableName=TABLE_NAME, ConsistentRead=True)["Items"]


@pytest.fixture
def proxy(handler: Any, dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultyDynamoDB]:
    """The handler's DynamoDB behind a fault-injecting proxy, over moto's server (the dynamodb fixture's tables)."""
    from moto.server import ThreadedMotoServer
    from service.idempotency import IdempotentCreates
    from service.repository import ItemRepository, client_config

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        with faulty_dynamodb(f"http://{host}:{port}") as faulty:
            config = client_config(TIMEOUT_S, TIMEOUT_S, 2)
            client = botocore.session.get_session().create_client(
                "dynamodb", region_name=REGION, endpoint_url=faulty.endpoint, config=config
            )
            monkeypatch.setattr(handler, "repository", ItemRepository(TABLE_NAME, client, config))
            monkeypatch.setattr(handler, "idempotency", IdempotentCreates(IDEMPOTENCY_TABLE_NAME, 3600, lambda: client))
            yield faulty
    finally:
        server.stop()


def keyed(key: str) -> dict[str, Any]:
    return with_headers(load_event("create_item"), {"Idempotency-Key": key})


def assert_outcome_unknown(result: Any, key: str | None) -> str:
    assert result.status == 503, result.body
    assert result.headers["Retry-After"] == "1"
    error = result.body["error"]
    assert error["code"] == "outcome_unknown"
    assert error["idempotency_key"] == key
    assert "Traceback" not in result.response["body"] and "127.0.0.1" not in result.response["body"]
    assert result.log("write outcome unknown")["item_id"] == error["item_id"]
    return str(error["item_id"])


# --- a write that was stored, and whose answer was lost -------------------------------------------


def test_a_keyed_create_stored_then_unanswered_says_so_and_the_retry_returns_the_item(invoke, proxy, dynamodb):
    # Both of botocore's attempts: the first stores the item, the second finds it and is not answered either.
    proxy.faults.append(Fault("store_then_stall", "PutItem", TABLE_NAME, STALL_S, times=2))

    first = invoke(keyed("order-unknown-1"))
    item_id = assert_outcome_unknown(first, "order-unknown-1")
    retry = invoke(keyed("order-unknown-1"))

    assert retry.status == 201, retry.body
    assert retry.body["id"] == item_id
    assert len(stored_items(dynamodb)) == 1


def test_a_keyless_create_stored_then_unanswered_names_the_item_to_look_up(invoke, proxy, dynamodb):
    proxy.faults.append(Fault("store_then_stall", "PutItem", TABLE_NAME, STALL_S, times=2))

    first = invoke(load_event("create_item"))
    item_id = assert_outcome_unknown(first, None)

    assert invoke(for_item(load_event("get_item"), item_id)).status == 200
    assert "Idempotency-Key" in first.body["error"]["message"]


def test_botocores_retry_of_a_create_that_had_landed_is_a_201_not_a_409(invoke, proxy, dynamodb):
    # The first attempt is stored and unanswered; the second meets the item it wrote.
    proxy.faults.append(Fault("store_then_stall", "PutItem", TABLE_NAME, STALL_S, times=1))

    result = invoke(load_event("create_item"))

    assert result.status == 201, result.body
    assert [item["id"]["S"] for item in stored_items(dynamodb)] == [result.body["id"]]
    assert "ItemsCreated" in result.metric_names()


def test_a_create_stored_then_cut_off_is_unknown_too(invoke, proxy, dynamodb):
    # Shorter than the read timeout: the connection closes without an answer.
    proxy.faults.append(Fault("store_then_stall", "PutItem", TABLE_NAME, TIMEOUT_S / 5, times=2))

    first = invoke(keyed("order-closed"))

    assert_outcome_unknown(first, "order-closed")
    assert first.log("write outcome unknown")["error"] == "ConnectionClosedError"
    assert invoke(keyed("order-closed")).body["id"] == first.body["error"]["item_id"]
    assert len(stored_items(dynamodb)) == 1


# --- a write that never reached the table ---------------------------------------------------------


def test_a_keyed_create_that_stalled_before_storing_is_performed_by_the_retry(invoke, proxy, dynamodb):
    proxy.faults.append(Fault("stall_before", "PutItem", TABLE_NAME, STALL_S, times=2))

    first = invoke(keyed("order-unsent"))
    item_id = assert_outcome_unknown(first, "order-unsent")
    stored_before_retry = stored_items(dynamodb)
    retry = invoke(keyed("order-unsent"))

    assert stored_before_retry == []
    assert retry.status == 201
    assert retry.body["id"] == item_id
    assert len(stored_items(dynamodb)) == 1
    assert "ItemsCreated" in retry.metric_names()


# --- a slow table, and a record that could not be completed ---------------------------------------


def test_a_slow_table_is_503_and_the_record_it_left_does_not_hold_the_retry(invoke, proxy, dynamodb):
    # Everything slow for the first request: its in-progress record lands, its answers do not.
    proxy.faults.append(Fault("slow", "*", None, STALL_S, times=2))

    first = invoke(keyed("order-slow"))
    records = dynamodb.scan(TableName=IDEMPOTENCY_TABLE_NAME, ConsistentRead=True)["Items"]
    retry = invoke(keyed("order-slow"))

    assert first.status == 503
    assert first.body["error"] == {
        "code": "unavailable",
        "message": "temporarily unavailable, retry later",
        "dependency": "idempotency_table",
    }
    assert [record["status"]["S"] for record in records] == ["INPROGRESS"]
    # Was 409 idempotency_in_progress until the record expired (the function's timeout, ~30 s locally).
    assert retry.status == 201, retry.body
    assert len(stored_items(dynamodb)) == 1


def test_a_create_whose_record_could_not_be_completed_still_answers_the_item(invoke, proxy, dynamodb):
    proxy.faults.append(Fault("store_then_stall", "UpdateItem", IDEMPOTENCY_TABLE_NAME, STALL_S, times=2))

    first = invoke(keyed("order-record"))
    retry = invoke(keyed("order-record"))

    assert first.status == 201, first.body
    assert retry.status == 201
    assert retry.body["id"] == first.body["id"]
    assert len(stored_items(dynamodb)) == 1


# --- replace and delete ----------------------------------------------------------------------------


@pytest.mark.parametrize(("route", "operation"), [("replace_item", "UpdateItem"), ("delete_item", "DeleteItem")])
def test_a_replace_or_delete_left_unanswered_is_outcome_unknown(invoke, proxy, dynamodb, route, operation):
    created = invoke(load_event("create_item")).body
    event = for_item(load_event(route), created["id"])
    proxy.faults.append(Fault("store_then_stall", operation, TABLE_NAME, STALL_S, times=2))

    result = invoke(copy.deepcopy(event))

    assert assert_outcome_unknown(result, None) == created["id"]


# --- absent dependencies ---------------------------------------------------------------------------

ROUTES = ["list_items", "get_item", "create_item", "replace_item", "delete_item"]


@pytest.mark.parametrize("route", ROUTES)
def test_a_missing_items_table_is_a_503_naming_it_on_every_route(invoke, dynamodb, route):
    dynamodb.delete_table(TableName=TABLE_NAME)

    result = invoke(load_event(route))

    assert result.status == 503, result.body
    assert result.headers["Retry-After"] == "1"
    assert result.body["error"]["code"] == "dependency_missing"
    assert result.body["error"]["dependency"] == "items_table"
    assert TABLE_NAME not in result.response["body"]
    assert result.log("dependency missing")["dependency"] == "items_table"
    assert invoke(load_event("health_ready")).status == 503


def test_a_missing_idempotency_table_is_a_503_naming_it(invoke, dynamodb):
    dynamodb.delete_table(TableName=IDEMPOTENCY_TABLE_NAME)

    result = invoke(keyed("order-no-table"))

    assert result.status == 503, result.body
    assert result.body["error"]["code"] == "dependency_missing"
    assert result.body["error"]["dependency"] == "idempotency_table"
    assert stored_items(dynamodb) == []
    assert invoke(load_event("health_ready")).body["checks"]["idempotency_table"] == {"status": "fail"}
