"""The local server: HTTP requests become API Gateway v2 events for the real handler."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tools.local_api import build_event, local_environment, to_http
from tools.serve import _port_from_environment

ITEM_ID = "3f1c2a9e-6b7d-4e8f-9a0b-1c2d3e4f5a6b"


def call(base_url: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None):
    data = body.encode() if isinstance(body, str) else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base_url + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, reply_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, reply_headers, raw = error.code, error.headers, error.read()
    return status, reply_headers, (json.loads(raw) if raw else None)


# --- the served API, end to end ------------------------------------------------------------


def test_the_server_listens_on_loopback_only(served_api):
    assert served_api.url.startswith("http://127.0.0.1:")


def test_health_endpoints_answer(served_api):
    live_status, _, live = call(served_api.url, "GET", "/health/live")
    ready_status, _, ready = call(served_api.url, "GET", "/health/ready")

    assert (live_status, live["status"]) == (200, "pass")
    assert (ready_status, ready["status"]) == (200, "pass")
    assert ready["checks"]["dynamodb"]["status"] == "pass"


def test_an_item_round_trip_works_over_http(served_api):
    url = served_api.url
    status, headers, created = call(url, "POST", "/items", {"name": "Teapot", "price": 30, "description": "1 l"})
    assert status == 201
    assert headers["Location"] == f"/items/{created['id']}"

    assert call(url, "GET", f"/items/{created['id']}")[2] == created
    listed = call(url, "GET", "/items?limit=100")[2]
    assert created["id"] in [item["id"] for item in listed["items"]]

    status, _, updated = call(url, "PUT", f"/items/{created['id']}", {"name": "Teapot", "price": 28, "version": 1})
    assert (status, updated["version"], updated["price"]) == (200, 2, 28)
    assert call(url, "PUT", f"/items/{created['id']}", {"name": "Old", "price": 1, "version": 1})[0] == 409

    assert call(url, "DELETE", f"/items/{created['id']}")[0] == 204
    assert call(url, "GET", f"/items/{created['id']}")[0] == 404


def test_errors_come_back_as_json(served_api):
    assert call(served_api.url, "POST", "/items", "{broken")[0] == 400
    assert call(served_api.url, "GET", "/nowhere")[0] == 404
    status, headers, _ = call(served_api.url, "PATCH", "/items")
    assert status == 405
    assert headers["Allow"] == "GET, POST"


def test_the_correlation_id_header_is_echoed(served_api):
    _, headers, _ = call(served_api.url, "GET", "/health/live", headers={"X-Correlation-ID": "local-check-1"})

    assert headers["X-Correlation-ID"] == "local-check-1"


def test_the_function_output_is_printed_as_in_lambda(served_api):
    call(served_api.url, "GET", "/health/live", headers={"X-Correlation-ID": "printed-1"})

    deadline = time.monotonic() + 5
    while "printed-1" not in served_api.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = served_api.output().splitlines()
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    completed = [line for line in logged if line.get("correlation_id") == "printed-1"]
    assert len(completed) == 1
    assert completed[0]["message"] == "request completed"
    assert completed[0]["route"] == "GET /health/live"
    assert any(line.startswith("START RequestId: ") for line in lines)
    assert any(line.startswith("REPORT RequestId: ") and "Duration:" in line for line in lines)
    assert any("_aws" in line for line in logged), "the cold start EMF document is printed too"


# --- translation between HTTP and the payload 2.0 event ------------------------------------


def test_build_event_shapes_a_payload_2_event():
    event = build_event(
        method="put",
        target=f"/items/{ITEM_ID}?tag=a&tag=b&empty=",
        headers=[("Content-Type", "application/json"), ("X-Multi", "1"), ("x-multi", "2"), ("Cookie", "a=1; b=2")],
        body=b'{"name": "x"}',
        source_ip="127.0.0.1",
        now=1741774530.0,
    )

    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "PUT /items/{id}"
    assert event["rawPath"] == f"/items/{ITEM_ID}"
    assert event["rawQueryString"] == "tag=a&tag=b&empty="
    assert event["queryStringParameters"] == {"tag": "a,b", "empty": ""}
    assert event["pathParameters"] == {"id": ITEM_ID}
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["x-multi"] == "1,2"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["requestContext"]["http"]["method"] == "PUT"
    assert event["requestContext"]["timeEpoch"] == 1741774530000
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["requestId"]
    assert event["body"] == '{"name": "x"}'
    assert event["isBase64Encoded"] is False


def test_build_event_marks_unrouted_requests_default_and_encodes_binary_bodies():
    event = build_event(method="POST", target="/upload", headers=[], body=b"\xff\xfe", source_ip="127.0.0.1")

    assert event["routeKey"] == "$default"
    assert "pathParameters" not in event
    assert "queryStringParameters" not in event
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe"


def test_to_http_follows_the_payload_2_response_format():
    result = to_http(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json"},
            "cookies": ["s=1; HttpOnly"],
            "body": base64.b64encode(b"{}").decode(),
            "isBase64Encoded": True,
        }
    )

    assert result.status == 201
    assert ("Set-Cookie", "s=1; HttpOnly") in result.headers
    assert result.body == b"{}"


def test_to_http_treats_a_result_without_status_code_as_a_json_body():
    result = to_http({"hello": "world"})

    assert (result.status, json.loads(result.body)) == (200, {"hello": "world"})


def test_the_local_environment_never_uses_real_credentials_or_endpoints():
    env = local_environment("http://127.0.0.1:5555", {"AWS_ACCESS_KEY_ID": "AKIAREAL", "TABLE_NAME": "mine"})

    assert env["AWS_ACCESS_KEY_ID"] == "local"
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:5555"
    assert env["TABLE_NAME"] == "mine"
    assert env["POWERTOOLS_TRACE_DISABLED"] == "true"


def test_port_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    assert _port_from_environment() == 8080
    monkeypatch.setenv("PORT", "9001")
    assert _port_from_environment() == 9001
    monkeypatch.setenv("PORT", "http")
    with pytest.raises(SystemExit):
        _port_from_environment()
