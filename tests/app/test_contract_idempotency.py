"""POST /items with an Idempotency-Key: a retry gets the first response, never a second item."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from catalog_testkit import APP_ENV, IDEMPOTENCY_TABLE_NAME, REPO_ROOT, TABLE_NAME, load_event, with_body, with_headers


def stored_items(dynamodb: Any) -> list[dict[str, Any]]:
    return dynamodb.scan(TableName=TABLE_NAME, ConsistentRead=True)["Items"]


def idempotency_records(dynamodb: Any) -> list[dict[str, Any]]:
    return dynamodb.scan(TableName=IDEMPOTENCY_TABLE_NAME, ConsistentRead=True)["Items"]


def keyed_create(key: str, body: Any = None, caller: str | None = None) -> dict[str, Any]:
    event = with_headers(load_event("create_item"), {"Idempotency-Key": key})
    if body is not None:
        event = with_body(event, body)
    if caller is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": caller}, "scopes": ["items.write"]}}
    return event


def table_calls(dynamodb: Any, table: str) -> list[str]:
    """The DynamoDB operations `dynamodb` sends to `table` from now on."""
    calls: list[str] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == table:
            calls.append(model.name)

    dynamodb.meta.events.register("provide-client-params.dynamodb", record)
    return calls


def test_a_retry_with_the_same_key_and_body_returns_the_first_response(invoke, dynamodb):
    event = keyed_create("order-7f3a-retry")

    first = invoke(event)
    again = invoke(copy.deepcopy(event))

    assert first.status == again.status == 201
    assert again.body == first.body
    assert again.headers["Location"] == first.headers["Location"] == f"/items/{first.body['id']}"
    assert len(stored_items(dynamodb)) == 1
    assert "ItemsCreated" in first.metric_names()
    assert "ItemsCreated" not in again.metric_names(), "a replay creates nothing, so it counts nothing"
    assert [line for line in again.logs if line["message"] == "business event"] == []


def test_the_same_key_with_another_body_is_422_and_creates_nothing(invoke, dynamodb):
    first = invoke(keyed_create("order-1", {"name": "Cup", "price": 1}))

    other = invoke(keyed_create("order-1", {"name": "Cup", "price": 2}))

    assert first.status == 201
    assert other.status == 422
    assert other.body["error"]["code"] == "idempotency_key_reused"
    assert len(stored_items(dynamodb)) == 1


def test_the_same_amount_spelled_differently_is_the_same_request(invoke, dynamodb):
    first = invoke(keyed_create("order-2", '{"name": "Cup", "price": 12.50}'))

    again = invoke(keyed_create("order-2", '{"name": "Cup", "price": 12.5}'))

    assert (first.status, again.status) == (201, 201)
    assert again.body["id"] == first.body["id"]


def put_back_in_progress(dynamodb: Any) -> None:
    """The state a first request leaves when its answer was lost: its record in progress for a while yet."""
    (record,) = idempotency_records(dynamodb)
    dynamodb.update_item(
        TableName=IDEMPOTENCY_TABLE_NAME,
        Key={"id": record["id"]},
        UpdateExpression="SET #status = :progress, in_progress_expiration = :until REMOVE #data",
        ExpressionAttributeNames={"#status": "status", "#data": "data"},
        ExpressionAttributeValues={":progress": {"S": "INPROGRESS"}, ":until": {"N": str(2**41)}},
    )


def test_a_key_whose_record_is_in_progress_settles_at_once_with_the_stored_item(invoke, dynamodb):
    # Was 409 idempotency_in_progress until the record expired (up to the function's timeout) even
    # when the request that wrote it had long answered; the item's own conditional write settles it.
    first = invoke(keyed_create("order-3"))
    put_back_in_progress(dynamodb)

    second = invoke(keyed_create("order-3"))

    assert (first.status, second.status) == (201, 201)
    assert second.body == first.body
    assert len(stored_items(dynamodb)) == 1
    assert "ItemsCreated" not in second.metric_names()


def test_a_key_whose_record_is_in_progress_but_whose_item_never_landed_creates_it_once(invoke, dynamodb):
    first = invoke(keyed_create("order-8"))
    put_back_in_progress(dynamodb)
    dynamodb.delete_item(TableName=TABLE_NAME, Key={"id": {"S": first.body["id"]}})

    second = invoke(keyed_create("order-8"))
    third = invoke(keyed_create("order-8"))

    assert (second.status, third.status) == (201, 201)
    assert second.body["id"] == third.body["id"] == first.body["id"]
    assert len(stored_items(dynamodb)) == 1
    assert "ItemsCreated" in second.metric_names()


def test_a_key_in_progress_with_another_body_is_still_422(invoke, dynamodb):
    invoke(keyed_create("order-9", {"name": "Cup", "price": 1}))
    put_back_in_progress(dynamodb)

    other = invoke(keyed_create("order-9", {"name": "Cup", "price": 2}))

    assert other.status == 422
    assert other.body["error"]["code"] == "idempotency_key_reused"
    assert len(stored_items(dynamodb)) == 1


@pytest.mark.parametrize(
    "key",
    ["", "k" * 129, "two words", "ünïcode", "semi;colon", 'quote"d'],
    ids=["empty", "129-characters", "space", "non-ascii", "semicolon", "quote"],
)
def test_a_malformed_key_is_400_naming_the_header(invoke, dynamodb, key):
    result = invoke(keyed_create(key))

    assert result.status == 400, result.body
    assert [detail["field"] for detail in result.body["error"]["details"]] == ["Idempotency-Key"]
    assert stored_items(dynamodb) == []
    assert idempotency_records(dynamodb) == []


def test_a_key_of_128_safe_characters_is_accepted(invoke, dynamodb):
    assert invoke(keyed_create("aA0._:~+/=-" * 11 + "x" * 7)).status == 201


def test_without_the_header_every_create_is_a_new_item_and_the_table_is_untouched(invoke, dynamodb):
    calls = table_calls(dynamodb, IDEMPOTENCY_TABLE_NAME)

    first = invoke(load_event("create_item"))
    second = invoke(load_event("create_item"))

    assert (first.status, second.status) == (201, 201)
    assert first.body["id"] != second.body["id"]
    assert len(stored_items(dynamodb)) == 2
    assert calls == []


def test_two_callers_using_the_same_key_get_their_own_items(invoke, dynamodb):
    alice = invoke(keyed_create("shared-key", caller="client-alice"))
    bob = invoke(keyed_create("shared-key", caller="client-bob"))

    assert (alice.status, bob.status) == (201, 201)
    assert alice.body["id"] != bob.body["id"]
    assert len(stored_items(dynamodb)) == 2


LONG_PREFIX = "p" * 256


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"sub": "carol"}, {"sub": "  carol "}),
        ({"sub": "carol"}, {"sub": "Carol"}),
        ({"sub": LONG_PREFIX + "-alice"}, {"sub": LONG_PREFIX + "-bob"}),
        ({"sub": "svc-7"}, {"client_id": "svc-7"}),
        ({"sub": "carol", "iss": "https://issuer-a.example"}, {"sub": "carol", "iss": "https://issuer-b.example"}),
    ],
    ids=["surrounding-whitespace", "case", "long-shared-prefix", "subject-vs-client-id", "another-issuer"],
)
def test_callers_that_differ_in_any_way_never_share_a_key(invoke, dynamodb, first, second):
    def as_caller(claims: dict[str, str]) -> dict[str, Any]:
        event = keyed_create("shared-key")
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": ["items.write"]}}
        return event

    one = invoke(as_caller(first))
    other = invoke(as_caller(second))

    assert (one.status, other.status) == (201, 201)
    assert one.body["id"] != other.body["id"], "the second caller received the first caller's item"
    assert len(stored_items(dynamodb)) == 2


def test_the_same_caller_replays_its_own_key(invoke, dynamodb):
    event = keyed_create("own-key")
    event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": " x" * 200, "iss": "i"}, "scopes": []}}

    first, again = invoke(event), invoke(copy.deepcopy(event))

    assert first.body["id"] == again.body["id"]


def throttle_next_item_write(handler: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next item write is refused by DynamoDB (throttled: nothing was written)."""
    from botocore.exceptions import ClientError

    real_put = handler.repository.put_new

    def throttled(item: Any) -> None:
        monkeypatch.setattr(handler.repository, "put_new", real_put)
        error = {"Code": "ThrottlingException", "Message": "slow down"}
        raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, "PutItem")

    monkeypatch.setattr(handler.repository, "put_new", throttled)


def test_a_create_that_fails_releases_its_key(invoke, handler, dynamodb, monkeypatch):
    throttle_next_item_write(handler, monkeypatch)
    failed = invoke(keyed_create("order-4"))
    released = idempotency_records(dynamodb)
    retried = invoke(keyed_create("order-4"))

    assert failed.status == 503
    assert failed.body["error"]["code"] == "unavailable"
    assert released == []
    assert retried.status == 201
    assert len(stored_items(dynamodb)) == 1


def test_the_persistence_layer_calls_only_the_operations_the_role_grants(invoke, handler, dynamodb, monkeypatch):
    # The infrastructure grants exactly these on the idempotency table; see the report of the change.
    calls = table_calls(dynamodb, IDEMPOTENCY_TABLE_NAME)
    invoke(keyed_create("order-5"))
    first = list(calls)
    invoke(keyed_create("order-5"))
    replay = calls[len(first) :]
    throttle_next_item_write(handler, monkeypatch)
    invoke(keyed_create("order-6"))
    failure = calls[len(first) + len(replay) :]

    assert first == ["PutItem", "UpdateItem"]
    # The conditional put fails and returns the stored record (ReturnValuesOnConditionCheckFailure).
    assert replay == ["PutItem"]
    assert failure == ["PutItem", "DeleteItem"]
    # The role's grant on the idempotency table: every call made, and GetItem, Powertools' fallback when
    # a failed condition returns no item (boto3 before 1.26.164), nothing else.
    from components.iam import IDEMPOTENCY_ACTIONS

    assert {f"dynamodb:{call}" for call in first + replay + failure} | {"dynamodb:GetItem"} == set(IDEMPOTENCY_ACTIONS)


def test_importing_the_handler_loads_neither_boto3_nor_the_idempotency_utility():
    # Cold starts pay for them only in the execution environments that see an Idempotency-Key.
    probe = "import json, sys, service.handler; print(json.dumps(sorted(sys.modules)))"
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT / "app",
        env={**os.environ, **APP_ENV},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = set(json.loads(completed.stdout))

    assert "service.handler" in loaded
    assert "boto3" not in loaded
    assert not {name for name in loaded if name.startswith("aws_lambda_powertools.utilities.idempotency")}
