"""Raw request text in the logs (paths, query strings, bodies) is redacted like parsed fields."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from catalog_testkit import function_lines, load_event, run_fresh, with_body, with_headers
from service.log_redaction import (
    MAX_LOGGED_BODY_CHARS,
    REDACTED,
    redact,
    redact_body,
    redact_query,
    redact_text,
)

EMAIL = "alice@example.com"
TOKEN = "tok-7f3a9c1e5b"
PASSWORD = "hunter2-correct-horse"
BEARER = "eyJhbGciOiJSUzI1NiJ9.payload.signature"
SECRETS = (EMAIL, "alice%40example.com", "alice%40example%2Ecom", TOKEN, PASSWORD, BEARER)


def path_event(path: str) -> dict[str, Any]:
    event = load_event("get_item")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"id": path.rsplit("/", 1)[-1]}
    return event


def query_event() -> dict[str, Any]:
    event = load_event("list_items")
    event["rawQueryString"] = f"limit=5&token={TOKEN}&access_token={TOKEN}&contact=alice%40example.com"
    event["queryStringParameters"] = {"limit": "5", "token": TOKEN, "access_token": TOKEN, "contact": EMAIL}
    return event


def body_events() -> list[dict[str, Any]]:
    json_body = with_body(
        load_event("create_item"), {"name": "Cup", "price": 1, "password": PASSWORD, "owner": {"email": EMAIL}}
    )
    text_body = with_headers(
        with_body(load_event("create_item"), f"Authorization: Bearer {BEARER}\npassword={PASSWORD}\n{EMAIL}"),
        {"Content-Type": "text/plain"},
    )
    form_body = with_headers(
        with_body(load_event("create_item"), f"user={EMAIL}&password={PASSWORD}&token={TOKEN}"),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    encoded = with_body(load_event("create_item"), None)
    encoded["body"] = base64.b64encode(json.dumps({"password": PASSWORD, "note": EMAIL}).encode()).decode()
    encoded["isBase64Encoded"] = True
    return [json_body, text_body, form_body, encoded]


def scenario() -> list[dict[str, Any]]:
    """Requests carrying an e-mail in the path (plain and %40), a token in the query, a password in the body."""
    return [path_event(f"/items/{EMAIL}"), path_event("/items/alice%40example.com"), query_event(), *body_events()]


def assert_nothing_sensitive(lines: list[dict[str, Any]]) -> None:
    assert lines, "nothing was logged"
    text = json.dumps(lines)
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} was logged"


@pytest.mark.parametrize("log_event", [False, True], ids=["event-logging-off", "event-logging-on"])
def test_a_request_with_sensitive_path_query_and_body_logs_none_of_it(invoke, handler, monkeypatch, log_event):
    monkeypatch.setattr(handler, "_LOG_EVENT", log_event)
    logged: list[dict[str, Any]] = []

    for event in scenario():
        logged.extend(invoke(event).logs)

    assert_nothing_sensitive(logged)
    events = [line["message"] for line in logged if isinstance(line.get("message"), dict)]
    assert len(events) == (len(scenario()) if log_event else 0)
    completed = [line for line in logged if line["message"] == "request completed"]
    assert [line["path"] for line in completed[:2]] == [f"/items/{REDACTED}"] * 2


def test_with_event_logging_on_the_logged_event_is_redacted_as_data(tmp_path):
    lines = function_lines(run_fresh(tmp_path, {"POWERTOOLS_LOGGER_LOG_EVENT": "true"}, scenario()))

    assert_nothing_sensitive(lines)
    logged = [line["message"] for line in lines if isinstance(line.get("message"), dict)]
    assert len(logged) == len(scenario())
    by_path, by_encoded_path, query, json_body, text_body, form_body, encoded = logged
    assert by_path["rawPath"] == by_encoded_path["rawPath"] == f"/items/{REDACTED}"
    assert by_path["pathParameters"] == {"id": REDACTED}
    assert query["rawQueryString"] == (f"limit=5&token={REDACTED}&access_token={REDACTED}&contact={REDACTED}")
    assert query["queryStringParameters"]["token"] == REDACTED
    assert json.loads(json_body["body"]) == {
        "name": "Cup",
        "price": 1,
        "password": REDACTED,
        "owner": {"email": REDACTED},
    }
    assert text_body["body"] == f"Authorization: {REDACTED}\npassword={REDACTED}\n{REDACTED}"
    assert form_body["body"] == f"user={REDACTED}&password={REDACTED}&token={REDACTED}"
    assert json.loads(encoded["body"]) == {"password": REDACTED, "note": REDACTED}
    assert encoded["isBase64Encoded"] is False


def test_a_logged_body_is_bounded(invoke, handler, monkeypatch):
    monkeypatch.setattr(handler, "_LOG_EVENT", True)
    body = json.dumps({"name": "Cup", "price": 1, "description": "d" * 60_000})

    result = invoke(with_body(load_event("create_item"), body))

    (logged,) = [line["message"] for line in result.logs if isinstance(line.get("message"), dict)]
    assert len(logged["body"]) < MAX_LOGGED_BODY_CHARS + 100
    assert max(len(json.dumps(line)) for line in result.logs) < 8192


# --- the rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/items/alice@example.com", f"/items/{REDACTED}"),
        ("/items/alice%40example.com", f"/items/{REDACTED}"),
        ("/items/ALICE%40EXAMPLE.COM/x", f"/items/{REDACTED}/x"),
        ("/items/3f1c2a9e-6b7d-4e8f-9a0b-1c2d3e4f5a6b", "/items/3f1c2a9e-6b7d-4e8f-9a0b-1c2d3e4f5a6b"),
        ("100%40 off", "100%40 off"),
    ],
)
def test_redact_text_decodes_percent_encoding_before_looking_for_addresses(text, expected):
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("token=abc&limit=5", f"token={REDACTED}&limit=5"),
        ("Access-Token=abc", f"Access-Token={REDACTED}"),
        ("next_token=eyJpZCI6IjEifQ", "next_token=eyJpZCI6IjEifQ"),
        ("to=bob%40example.org&x=1", f"to={REDACTED}&x=1"),
        ("password", "password"),
        ("", ""),
    ],
)
def test_redact_query_replaces_sensitive_parameters_and_addresses(raw, expected):
    assert redact_query(raw) == expected


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (
            '{"password": "x", "n": [{"token": "y"}]}',
            None,
            '{"password": "[REDACTED]", "n": [{"token": "[REDACTED]"}]}',
        ),
        ("password=x&keep=1", "application/x-www-form-urlencoded", f"password={REDACTED}&keep=1"),
        ("client_secret=x", None, f"client_secret={REDACTED}"),
        ('{"password": "cut short', None, f'{{"password": "{REDACTED}"'),
        ("Authorization: Basic dXNlcjpwYXNz", "text/plain", f"Authorization: {REDACTED}"),
        ("plain words", "text/plain", "plain words"),
    ],
    ids=["json", "form", "form-by-shape", "broken-json", "header-like", "harmless"],
)
def test_redact_body_parses_what_it_can_and_patterns_the_rest(body, content_type, expected):
    assert redact_body(body, content_type=content_type) == expected


def test_redact_body_does_not_log_binary_or_parse_huge_bodies():
    binary = base64.b64encode(b"\xff\xfe\x00password=x").decode()
    huge = "password=" + "x" * 200_000

    assert "password" not in redact_body(binary, is_base64=True)
    redacted = redact_body(huge)
    assert redacted.startswith(f"password={REDACTED}")
    assert len(redacted) < MAX_LOGGED_BODY_CHARS + 100


def test_redact_leaves_the_callers_data_alone_and_handles_events_as_data():
    event = {
        "rawQueryString": "token=abc",
        "body": '{"password": "x"}',
        "headers": {"content-type": "application/json"},
    }

    redacted = redact(event)

    assert redacted == {
        "rawQueryString": f"token={REDACTED}",
        "body": '{"password": "[REDACTED]"}',
        "headers": {"content-type": "application/json"},
    }
    assert event["body"] == '{"password": "x"}'


def test_a_logged_body_can_always_be_written_as_utf8():
    # "\ud800" is valid JSON but a lone surrogate in Python: written raw, the whole line would be lost.
    redacted = redact_body('{"note": "\\ud800", "password": "x"}')

    assert redacted.encode("utf-8")
    assert json.loads(redacted) == {"note": "\ud800", "password": REDACTED}


def test_camel_case_and_token_header_spellings_are_sensitive_keys_too():
    from service.log_redaction import REDACTED, redact

    logged = redact({"clientSecret": "s3cr3t", "apiKey": "k", "accessToken": "t", "X-Auth-Token": "x",
                     "privateKey": "p", "name": "teapot"})
    assert logged == {"clientSecret": REDACTED, "apiKey": REDACTED, "accessToken": REDACTED,
                      "X-Auth-Token": REDACTED, "privateKey": REDACTED, "name": "teapot"}


def test_a_bearer_token_or_jwt_inside_any_text_is_redacted_but_ordinary_words_are_not():
    from service.log_redaction import REDACTED, redact_text

    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXBhcnQ"
    assert redact_text(f"upstream refused Authorization: Bearer {jwt}") == (
        f"upstream refused Authorization: Bearer {REDACTED}")
    assert redact_text(f"token was {jwt} (expired)") == f"token was {REDACTED} (expired)"
    assert redact_text("a basic teapot, bearer of good news") == "a basic teapot, bearer of good news"

