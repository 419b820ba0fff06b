"""Security headers on every response the function produces, errors included."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from catalog_testkit import for_item, load_event, responses, run_fresh, with_body, with_headers

EXPECTED = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


def options_event() -> dict[str, Any]:
    event = load_event("unknown_route")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/items"
    event["requestContext"]["http"]["method"] = "OPTIONS"
    return event


def text_body() -> dict[str, Any]:
    return with_headers(with_body(load_event("create_item"), "name=cup"), {"Content-Type": "text/plain"})


SCENARIOS = {
    "200 live": (load_event("health_live"), 200),
    "201 create": (load_event("create_item"), 201),
    "204 delete": (load_event("delete_item"), 204),
    "204 options": (options_event(), 204),
    "400 bad id": (for_item(load_event("get_item"), "nope"), 400),
    "404 item": (load_event("get_item"), 404),
    "404 route": (load_event("unknown_route"), 404),
    "405 method": (load_event("wrong_method"), 405),
    "413 too large": (with_body(load_event("create_item"), "x" * 70_000), 413),
    "415 not json": (text_body(), 415),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_answer_carries_the_security_headers(invoke, name):
    event, status = SCENARIOS[name]

    result = invoke(event)

    assert result.status == status, result.body
    assert {key: result.headers.get(key) for key in EXPECTED} == EXPECTED


def test_dependency_failures_and_bugs_carry_them_too(invoke, handler, monkeypatch):
    def throttled(item_id: str) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem")

    monkeypatch.setattr(handler.repository, "get", throttled)
    unavailable = invoke(load_event("get_item"))
    monkeypatch.setattr(handler.repository, "get", lambda item_id: 1 / 0)
    bug = invoke(load_event("get_item"))

    assert (unavailable.status, bug.status) == (503, 500)
    for result in (unavailable, bug):
        assert {key: result.headers.get(key) for key in EXPECTED} == EXPECTED


def test_an_event_the_resolver_cannot_parse_still_gets_them(invoke):
    result = invoke({"version": "2.0", "rawPath": "/items", "requestContext": {"requestId": "r-1"}})

    assert result.status == 500
    assert {key: result.headers.get(key) for key in EXPECTED} == EXPECTED
    assert result.headers["X-Correlation-ID"] == "r-1"


def test_without_openapi_enabled_the_document_and_docs_are_not_served(invoke):
    for path in ("/openapi.json", "/docs"):
        event = load_event("unknown_route")
        event["rawPath"] = event["requestContext"]["http"]["path"] = path

        assert invoke(event).status == 404


def get(path: str) -> dict[str, Any]:
    event = load_event("unknown_route")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    return event


def test_with_openapi_enabled_the_document_and_the_swagger_ui_are_served(tmp_path):
    document, docs = responses(run_fresh(tmp_path, {"OPENAPI_ENABLED": "true"}, [get("/openapi.json"), get("/docs")]))

    assert document["response_status"] == 200
    assert json.loads(document["response_body"])["info"]["title"] == "prodready catalog API"
    assert {key: document["response_headers"].get(key) for key in EXPECTED} == EXPECTED
    assert docs["response_status"] == 200
    assert docs["response_headers"]["Content-Type"] == "text/html"
    html = docs["response_body"]
    assert "swagger-ui" in html
    policy = docs["response_headers"]["Content-Security-Policy"]
    # Its own policy: exactly the page's inline scripts may run, nothing may frame it.
    scripts = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    assert len(scripts) == 2
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    others = {key: value for key, value in EXPECTED.items() if key != "Content-Security-Policy"}
    assert {key: docs["response_headers"].get(key) for key in others} == others
