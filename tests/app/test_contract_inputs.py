"""Bounded inputs and bounded errors: no input makes the function answer 5xx, or answer (or log) big."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
from catalog_testkit import TABLE_NAME, for_item, load_event, with_body, with_headers, with_query

MAX_SAFE_INTEGER = 2**53 - 1


def stored_items(dynamodb: Any) -> list[dict[str, Any]]:
    return dynamodb.scan(TableName=TABLE_NAME, ConsistentRead=True)["Items"]


def create(invoke: Any, **fields: Any) -> dict[str, Any]:
    result = invoke(with_body(load_event("create_item"), {"name": "Espresso cup", "price": 12.5, **fields}))
    assert result.status == 201, result.body
    return result.body


def replace_event(item_id: str, body: Any) -> dict[str, Any]:
    return with_body(for_item(load_event("replace_item"), item_id), body)


def fields_at_fault(result: Any) -> list[str]:
    return [detail["field"] for detail in result.body["error"]["details"]]


# --- version -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version",
    ["9" * 4300, "1" + "0" * 38, str(MAX_SAFE_INTEGER), str(2**63)],
    ids=["4300-digits", "39-digits", "2^53-1", "2^63"],
)
def test_a_huge_version_is_400_not_500(invoke, dynamodb, version):
    created = create(invoke)
    before = stored_items(dynamodb)
    body = f'{{"name": "Mug", "price": 1, "version": {version}}}'

    result = invoke(replace_event(created["id"], body))

    assert result.status == 400, result.body
    assert fields_at_fault(result) == ["version"]
    assert stored_items(dynamodb) == before


@pytest.mark.parametrize("version", ["true", "1.0", '"1"', "1e0", "-1"])
def test_a_version_must_be_a_plain_positive_integer(invoke, dynamodb, version):
    created = create(invoke)

    result = invoke(replace_event(created["id"], f'{{"name": "Mug", "price": 1, "version": {version}}}'))

    assert result.status == 400
    assert fields_at_fault(result) == ["version"]


def test_the_largest_accepted_version_can_still_be_bumped_and_stored(invoke, dynamodb):
    created = create(invoke)
    highest = MAX_SAFE_INTEGER - 1
    dynamodb.update_item(
        TableName=TABLE_NAME,
        Key={"id": {"S": created["id"]}},
        UpdateExpression="SET version = :v",
        ExpressionAttributeValues={":v": {"N": str(highest)}},
    )

    result = invoke(replace_event(created["id"], {"name": "Mug", "price": 1, "version": highest}))

    assert result.status == 200, result.body
    assert result.body["version"] == MAX_SAFE_INTEGER
    assert stored_items(dynamodb)[0]["version"] == {"N": str(MAX_SAFE_INTEGER)}


# --- price ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "price",
    ['"12.50"', "true", "null", "[1]", "1000000.01", "1e400", "0.001", "-0.01", "NaN", "Infinity", "1" * 5000,
     "1e1000000000000000000", "10E+999999999999999999"],
    ids=[
        "string",
        "bool",
        "null",
        "array",
        "over-maximum",
        "huge-exponent",
        "sub-cent",
        "negative",
        "nan",
        "infinity",
        "5000-digits",
        "exponent-beyond-decimal",
        "exponent-beyond-decimal-upper",
    ],
)
def test_a_price_must_be_a_json_number_within_bounds(invoke, dynamodb, price):
    result = invoke(with_body(load_event("create_item"), f'{{"name": "Cup", "price": {price}}}'))

    assert result.status == 400, result.body
    assert fields_at_fault(result) in (["price"], ["body"]), "NaN and Infinity are not JSON at all"
    assert stored_items(dynamodb) == []


@pytest.mark.parametrize("route", ["create_item", "replace_item"])
@pytest.mark.parametrize(
    "body",
    ['[{"name": "pen", "price": 1, "version": 1}]', ' \n[{"name": "pen", "price": 1, "version": 1}, {"x": 1}]', "[]"],
    ids=["one-item", "two-items-after-whitespace", "empty"],
)
def test_a_json_array_is_not_an_item_even_holding_one(invoke, dynamodb, route, body):
    # The contract says an object; the resolver would read a one-element array as its element.
    result = invoke(with_body(load_event(route), body))

    assert result.status == 400, result.body
    assert result.body["error"]["details"] == [
        {"field": "body", "message": "must be a JSON object", "type": "model_attributes_type"}]
    assert stored_items(dynamodb) == []


@pytest.mark.parametrize("route", ["create_item", "replace_item"])
def test_a_body_that_names_a_field_twice_is_refused_and_writes_nothing(invoke, dynamodb, route):
    result = invoke(with_body(load_event(route), '{"name": "Cup", "price": 1, "price": 2, "version": 1}'))

    assert result.status == 400, result.body
    assert result.body["error"]["details"] == [
        {"field": "body", "message": "is not valid JSON", "type": "json_invalid"}]
    assert stored_items(dynamodb) == []


@pytest.mark.parametrize(
    ("sent", "stored", "returned"),
    [("0.1", "0.1", 0.1), ("12.50", "12.5", 12.5), ("1000000.00", "1000000", 1000000), ("1.2E+1", "12", 12)],
)
def test_prices_are_exact_and_stored_in_one_spelling(invoke, dynamodb, sent, stored, returned):
    result = invoke(with_body(load_event("create_item"), f'{{"name": "Cup", "price": {sent}}}'))

    assert result.status == 201, result.body
    assert stored_items(dynamodb)[0]["price"] == {"N": stored}
    assert result.body["price"] == returned
    assert type(result.body["price"]) is type(returned)


# --- strings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Cup\x00", "Cup\nMug", "Tab\there", "del\x7f", "c1\x85", "   ", "x" * 201, "\ud800", "\u200b", "\u200b \ufeff",
     "tea\u202epot", "\u2066Cup"],
    ids=["nul", "newline", "tab", "del", "c1-control", "only-spaces", "too-long", "lone-surrogate", "zero-width",
         "only-invisible", "right-to-left-override", "bidi-isolate"],
)
def test_a_name_holds_no_control_characters_and_is_bounded(invoke, dynamodb, name):
    result = invoke(with_body(load_event("create_item"), json.dumps({"name": name, "price": 1})))

    assert result.status == 400, result.body
    assert fields_at_fault(result) == ["name"]
    assert stored_items(dynamodb) == []


def test_a_name_is_stored_without_surrounding_whitespace(invoke, dynamodb):
    assert create(invoke, name="  Cup  ")["name"] == "Cup"


@pytest.mark.parametrize(
    ("description", "accepted"),
    [
        ("two lines\nand\ttabs", True),
        ("carriage\rreturn", False),
        ("bell\x07", False),
        ("d" * 2000, True),
        ("d" * 2001, False),
    ],
)
def test_a_description_allows_tab_and_newline_only(invoke, dynamodb, description, accepted):
    result = invoke(
        with_body(load_event("create_item"), json.dumps({"name": "Cup", "price": 1, "description": description}))
    )

    assert result.status == (201 if accepted else 400), result.body
    if not accepted:
        assert fields_at_fault(result) == ["description"]


@pytest.mark.parametrize(
    "token",
    ["not/base64?", "a" * 129, "ab=cd", "%%%"],
    ids=["outside-alphabet", "too-long", "padding-inside", "percent"],
)
def test_a_next_token_is_url_safe_base64_of_bounded_length(invoke, token):
    result = invoke(with_query(load_event("list_items"), {"next_token": token}))

    assert result.status == 400
    assert fields_at_fault(result) == ["next_token"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
def test_limit_is_1_to_100(invoke, limit):
    result = invoke(with_query(load_event("list_items"), {"limit": limit}))

    assert result.status == 400
    assert fields_at_fault(result) == ["limit"]


# --- media type ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1", "application/jsonx"],
    ids=["none", "text", "form", "latin-1", "jsonx"],
)
@pytest.mark.parametrize("route", ["create_item", "replace_item"])
def test_a_body_that_is_not_declared_json_is_415(invoke, dynamodb, route, content_type):
    event = with_body(
        load_event(route),
        {"name": "Cup", "price": 1, "version": 1} if route == "replace_item" else {"name": "Cup", "price": 1},
    )
    if content_type is None:
        del event["headers"]["content-type"]
    else:
        event["headers"]["content-type"] = content_type

    result = invoke(event)

    assert result.status == 415
    assert result.body["error"]["code"] == "unsupported_media_type"
    assert stored_items(dynamodb) == []


@pytest.mark.parametrize(
    "content_type", ["application/json", "Application/JSON; charset=UTF-8", "application/merge-patch+json"]
)
def test_json_media_types_are_accepted(invoke, dynamodb, content_type):
    result = invoke(with_headers(load_event("create_item"), {"Content-Type": content_type}))

    assert result.status == 201, result.body


def test_a_get_with_a_body_of_any_type_is_served(invoke):
    event = with_body(load_event("list_items"), "ignored")
    event["headers"]["content-type"] = "text/plain"

    assert invoke(event).status == 200


# --- size ----------------------------------------------------------------------------------


def big_body(size: int) -> str:
    """A JSON object of exactly `size` bytes."""
    prefix = '{"name": "Cup", "price": 1, "description": "'
    return prefix + "d" * (size - len(prefix) - 2) + '"}'


def test_a_body_over_the_limit_is_413_before_any_parsing(invoke, handler, dynamodb, monkeypatch):
    parsed: list[str] = []
    original = handler.app._json_body_deserializer
    monkeypatch.setattr(handler.app, "_json_body_deserializer", lambda text: parsed.append(text) or original(text))
    body = big_body(handler.settings.max_request_body_bytes + 1)

    result = invoke(with_body(load_event("create_item"), body))

    assert result.status == 413
    assert result.body["error"]["code"] == "payload_too_large"
    assert result.body["error"]["max_bytes"] == handler.settings.max_request_body_bytes == 65536
    assert parsed == []
    assert stored_items(dynamodb) == []


def test_a_body_at_the_limit_passes_the_size_check(invoke, handler):
    result = invoke(with_body(load_event("create_item"), big_body(handler.settings.max_request_body_bytes)))

    # Parsed and validated (the description is too long), not refused for its size.
    assert result.status == 400
    assert fields_at_fault(result) == ["description"]


def test_the_limit_counts_utf8_bytes_not_characters(invoke, handler):
    # 16 385 four-byte characters: fewer characters than the limit, more bytes.
    body = json.dumps({"name": "\U0001f375" * 16385, "price": 1}, ensure_ascii=False)
    assert len(body) < handler.settings.max_request_body_bytes < len(body.encode())

    assert invoke(with_body(load_event("create_item"), body)).status == 413


@pytest.mark.parametrize(("extra", "status"), [(0, 400), (1, 413)])
def test_the_limit_counts_a_base64_body_decoded(invoke, handler, extra, status):
    raw = big_body(handler.settings.max_request_body_bytes + extra).encode()
    event = load_event("create_item")
    event["body"] = base64.b64encode(raw).decode()
    event["isBase64Encoded"] = True

    assert invoke(event).status == status


def test_a_base64_body_that_is_not_utf8_is_400_naming_the_body(invoke, dynamodb):
    event = load_event("create_item")
    event["body"] = base64.b64encode(b'{"name": "\xff\xfe", "price": 1}').decode()
    event["isBase64Encoded"] = True

    result = invoke(event)

    assert result.status == 400
    assert fields_at_fault(result) == ["body"]


# --- error amplification -------------------------------------------------------------------


def unknown_keys_body(count: int) -> str:
    return json.dumps({"name": "Cup", "price": 1, **{f"key{n}": 0 for n in range(count)}}, separators=(",", ":"))


def test_a_400_lists_ten_problems_and_counts_them_all(invoke, dynamodb):
    body = unknown_keys_body(5000)

    result = invoke(with_body(load_event("create_item"), body))

    assert result.status == 400
    error = result.body["error"]
    assert len(error["details"]) == 10
    assert error["error_count"] == 5000
    assert {detail["type"] for detail in error["details"]} == {"extra_forbidden"}
    rejected = result.log("request rejected")
    assert len(rejected["errors"]) == 10
    assert rejected["error_count"] == 5000


def test_a_megabyte_of_unknown_keys_answers_and_logs_a_few_kilobytes(invoke, handler, monkeypatch):
    # Even with the size limit raised far enough to parse it, the review's 90 000-key body.
    monkeypatch.setattr(handler, "settings", dataclasses.replace(handler.settings, max_request_body_bytes=2_000_000))
    body = unknown_keys_body(90_000)
    assert len(body) > 1_000_000

    result = invoke(with_body(load_event("create_item"), body))

    assert result.status == 400
    assert result.body["error"]["error_count"] == 90_000
    assert len(result.response["body"]) < 4096
    assert max(len(json.dumps(line)) for line in result.logs) < 4096


def test_a_long_unknown_key_is_named_shortened(invoke):
    result = invoke(with_body(load_event("create_item"), json.dumps({"name": "Cup", "price": 1, "k" * 10_000: 0})))

    assert result.status == 400
    (field,) = fields_at_fault(result)
    assert field.startswith("kkk")
    assert len(field) <= 100


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000 + "]" * 100_000, '{"name": ' * 30_000, '{"price": 1' + "0" * 60_000 + "}", "\x00", "{}" * 3],
    ids=["deep-array", "deep-object", "long-number", "nul", "trailing-data"],
)
def test_hostile_json_is_a_400_naming_the_body(invoke, handler, monkeypatch, body):
    monkeypatch.setattr(handler, "settings", dataclasses.replace(handler.settings, max_request_body_bytes=1_000_000))

    result = invoke(with_body(load_event("create_item"), body))

    assert result.status == 400, result.body
    assert "body" in fields_at_fault(result) or "price" in fields_at_fault(result)


def test_bad_input_never_answers_5xx(invoke, dynamodb):
    created = create(invoke)
    bodies = ['{"name": "x", "price": 1e308, "version": 1e308}', '{"version": {"$gt": 0}}', '"just a string"', "null"]
    for body in bodies:
        for event in (with_body(load_event("create_item"), body), replace_event(created["id"], body)):
            assert invoke(event).status < 500, body
