"""Sensitive values are redacted by their shape wherever a request puts them, whatever they are called.

Each shape (a JWT, a bearer credential, a card number, an e-mail address plain and percent-encoded
once and twice, a value under a password-like name in any case) is planted in each place a request
carries text the function may log (the path, the raw query, a header, the body, the token's claims,
the correlation id), with event logging off and on: no log line, and no answer header, holds it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from catalog_testkit import function_lines, load_event, run_fresh, with_body, with_claims, with_headers
from service.log_redaction import REDACTED, redact, redact_query, redact_text

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJlLW9mLW1hbGxvcnk"
BEARER_SECRET = "s3cr3tOpaqueToken12345"
CARD = "4111111111111111"
CARD_SPACED = "4111 1111 1111 1111"
PASSWORD = "Tr0ub4dor-and-3"

# shape -> (the text planted, the substrings that must never be written)
SHAPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "jwt": (JWT, (JWT, "eyJzdWIiOiJtYWxsb3J5In0")),
    "bearer": (f"Bearer {BEARER_SECRET}", (BEARER_SECRET,)),
    "card": (CARD, (CARD,)),
    "card-spaced": (CARD_SPACED, (CARD_SPACED, CARD)),
    "email": ("mallory@example.com", ("mallory",)),
    "email-encoded": ("mallory%40example.com", ("mallory",)),
    "email-encoded-twice": ("mallory%2540example.com", ("mallory",)),
    "password-name": (f"PassWord={PASSWORD}", (PASSWORD,)),
    "pwd-name": (f"pwd={PASSWORD}", (PASSWORD,)),
    "pass-name": (f"PASS={PASSWORD}", (PASSWORD,)),
}


def _name_and_value(text: str) -> tuple[str, str]:
    """For places with names (query, header, body, claims): a password-like name holds the value;
    any other shape sits under an innocent name."""
    name, sep, value = text.partition("=")
    return (name, value) if sep and value == PASSWORD else ("note", text)


def in_path(text: str) -> dict[str, Any]:
    event = load_event("get_item")
    encoded = quote(text, safe="%=@")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/items/{encoded}"
    event["pathParameters"] = {"id": encoded}
    return event


def in_query(text: str) -> dict[str, Any]:
    name, value = _name_and_value(text)
    event = load_event("list_items")
    event["rawQueryString"] = f"limit=5&{name}={quote(value, safe='%')}"
    event["queryStringParameters"] = {"limit": "5", name: value}
    return event


def in_header(text: str) -> dict[str, Any]:
    name, value = _name_and_value(text)
    return with_headers(load_event("list_items"), {f"X-{name}": value})


def in_body(text: str) -> dict[str, Any]:
    # At the top and deep inside unknown fields.
    name, value = _name_and_value(text)
    return with_body(load_event("create_item"), {"name": "pen", "price": 1, name: value, "extra": [{name: value}]})


def in_claims(text: str) -> dict[str, Any]:
    # A value of a shape is planted as the subject too (it is logged as the caller); a bare password cannot be.
    name, value = _name_and_value(text)
    claims = {"sub": value if name == "note" else "u-1", f"custom:{name}": value, "iss": "https://issuer"}
    return with_claims(load_event("list_items"), claims)


def in_correlation_id(text: str) -> dict[str, Any]:
    return with_headers(load_event("list_items"), {"X-Correlation-ID": text})


PLACES = {
    "path": in_path,
    "query": in_query,
    "header": in_header,
    "body": in_body,
    "claims": in_claims,
    "correlation-id": in_correlation_id,
}


def leaks(written: Any, forbidden: tuple[str, ...]) -> list[str]:
    text = json.dumps(written, ensure_ascii=False)
    return [secret for secret in forbidden if secret in text]


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("shape", list(SHAPES))
def test_no_shape_in_any_place_reaches_the_log_or_the_answer_headers(invoke, handler, monkeypatch, shape, place):
    text, forbidden = SHAPES[shape]

    for log_event in (False, True):
        monkeypatch.setattr(handler, "_LOG_EVENT", log_event)
        result = invoke(PLACES[place](text))

        assert result.logs
        assert leaks(result.logs, forbidden) == [], (log_event, result.logs)
        assert leaks(result.headers, forbidden) == []
        assert len([line for line in result.logs if isinstance(line.get("message"), dict)]) == int(log_event)


def test_with_event_logging_switched_on_by_its_variable_no_shape_is_written(tmp_path):
    events = [PLACES[place](SHAPES[shape][0]) for place in PLACES for shape in SHAPES]
    forbidden = tuple(secret for _, secrets in SHAPES.values() for secret in secrets)

    lines = run_fresh(tmp_path, {"POWERTOOLS_LOGGER_LOG_EVENT": "true"}, events)

    logged = function_lines(lines)
    assert len([line for line in logged if isinstance(line.get("message"), dict)]) == len(events)
    assert leaks(logged, forbidden) == []
    assert leaks([line["response_headers"] for line in lines if "response_headers" in line], forbidden) == []


# --- the correlation id ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_correlation_id_with_a_sensitive_shape_is_replaced_and_the_answer_says_by_what(invoke, shape):
    event = in_correlation_id(SHAPES[shape][0])

    result = invoke(event)

    used = event["requestContext"]["requestId"]
    assert result.headers["X-Correlation-ID"] == used
    assert {line["correlation_id"] for line in result.logs} == {used}


@pytest.mark.parametrize(
    "accepted", ["order-flow-7f3a", "0f8c2a1e-6b7d-4e8f-9a0b-1c2d3e4f5a6b", "Root=1-67d0b6a0-1d2c"]
)
def test_an_ordinary_correlation_id_is_kept(invoke, accepted):
    result = invoke(in_correlation_id(accepted))

    assert result.headers["X-Correlation-ID"] == accepted


# --- the rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kept",
    [
        "/items/3f1c2a9e-6b7d-4e8f-9a0b-1c2d3e4f5a6b",
        "/items/12345678-1234-1234-1234-123456789012",
        "4111111111111112",  # fails the Luhn check: not a card number
        "2026-12-06T16:07:35.077Z",
        "next_token=eyJpZCI6IjEifQ",
        "100% sure",
        "a basic teapot, bearer of good news",
    ],
)
def test_ordinary_text_is_left_alone(kept):
    assert redact_text(kept) == kept


def test_a_card_number_given_as_a_json_number_is_redacted_too():
    assert redact({"note": 4111111111111111, "price": 12, "count": 4111111111111112}) == {
        "note": REDACTED,
        "price": 12,
        "count": 4111111111111112,
    }


@pytest.mark.parametrize("name", ["pwd", "PWD", "pass", "Pass", "PASSWORD", "db_password", "newPassword", "passphrase"])
def test_password_like_names_are_sensitive_in_any_case(name):
    assert redact({name: "x"}) == {name: REDACTED}
    assert redact_query(f"{name}=x&limit=5") == f"{name}={REDACTED}&limit=5"


@pytest.mark.parametrize("name", ["passenger", "compass", "next_token", "bypass_cache"])
def test_names_that_merely_contain_pass_or_token_are_not(name):
    assert redact({name: "x"}) == {name: "x"}
