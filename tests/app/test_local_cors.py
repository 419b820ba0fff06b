"""CORS in front of the function, as API Gateway applies an HTTP API's CORS configuration (in process)."""

from __future__ import annotations

from typing import Any

import pytest
from service.routes import ROUTE_KEYS

from components.service.http_api import cors_rules
from tools.local_api import Invoker, LocalGateway, cors_origins
from tools.local_auth import local_authorizer

ORIGIN = "https://app.example.com"
RULES = cors_rules((ORIGIN,), ROUTE_KEYS)


class CorsMinded:
    """A function that sets CORS headers of its own, which API Gateway ignores when CORS is configured."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        return {
            "statusCode": 200,
            "headers": {
                "Content-Type": "application/json",
                "Access-Control-Allow-Origin": "*",
                "access-control-allow-credentials": "true",
                "X-Correlation-ID": "c-1",
            },
            "body": "{}",
        }


def public(headers: Any, route_key: str) -> Any:
    class Allowed:
        allowed = True
        authorizer = None

    return Allowed()


def refuse_all(headers: Any, route_key: str) -> Any:
    class Refused:
        allowed = False
        status = 401
        body = {"message": "Unauthorized"}
        www_authenticate = 'Bearer scope="" error="invalid_token"'
        reason = "test"

    return Refused()


@pytest.fixture
def function() -> CorsMinded:
    return CorsMinded()


def gateway(function: CorsMinded, rules: Any = RULES, authorize: Any = public) -> LocalGateway:
    return LocalGateway(Invoker(function, "us-east-1"), authorize=authorize, cors=rules)


def send(target: LocalGateway, method: str, headers: list[tuple[str, str]], path: str = "/items") -> Any:
    return target.respond(method=method, target=path, headers=headers, body=b"", source_ip="127.0.0.1")


def test_the_functions_cors_headers_are_replaced_by_the_configured_ones(function):
    reply = send(gateway(function), "GET", [("Origin", ORIGIN)])

    assert [(name, value) for name, value in reply.headers if name.lower().startswith("access-control-")] == [
        ("Access-Control-Allow-Origin", ORIGIN),
        ("Access-Control-Expose-Headers", "location,retry-after,x-correlation-id"),
    ]
    assert ("X-Correlation-ID", "c-1") in reply.headers


def test_without_origin_or_from_another_origin_no_cors_header_is_sent(function):
    for headers in ([], [("Origin", "https://other.example.com")]):
        reply = send(gateway(function), "GET", headers)
        assert [name for name, _ in reply.headers if name.lower().startswith("access-control-")] == []


def test_a_preflight_is_answered_without_the_function_or_the_authorizer(function):
    reply = send(
        gateway(function, authorize=refuse_all),
        "OPTIONS",
        [
            ("Origin", ORIGIN),
            ("Access-Control-Request-Method", "DELETE"),
            ("Access-Control-Request-Headers", "X-Other"),
        ],
        "/items/abc",
    )

    assert reply.status == 204
    assert dict(reply.headers)["Access-Control-Allow-Origin"] == ORIGIN
    assert "Access-Control-Allow-Headers" not in dict(reply.headers), "x-other is not an allowed header"
    assert function.events == []


def test_options_without_the_preflight_headers_goes_to_the_function_without_a_token(function, tmp_path):
    authorizer = local_authorizer(tmp_path)

    reply = send(gateway(function, authorize=authorizer.authorize), "OPTIONS", [("Origin", ORIGIN)], "/items/abc")

    assert reply.status == 200
    assert function.events[0]["routeKey"] == "OPTIONS /{proxy+}"
    assert "authorizer" not in function.events[0]["requestContext"]


def test_without_cors_there_is_no_preflight_route_and_options_needs_a_token(function, tmp_path):
    authorizer = local_authorizer(tmp_path)
    preflight = [("Origin", ORIGIN), ("Access-Control-Request-Method", "POST")]

    reply = send(gateway(function, rules=None, authorize=authorizer.authorize), "OPTIONS", preflight, "/items/abc")

    assert reply.status == 401, "OPTIONS falls through to the catch-all, which wants a token"
    assert function.events == []


def test_refusals_from_the_authorizer_carry_cors_headers_for_an_allowed_origin(function):
    reply = send(gateway(function, authorize=refuse_all), "GET", [("Origin", ORIGIN)])

    assert reply.status == 401
    assert dict(reply.headers)["Access-Control-Allow-Origin"] == ORIGIN


def test_without_cors_rules_the_functions_headers_pass_through(function):
    reply = send(gateway(function, rules=None), "GET", [("Origin", ORIGIN)])

    assert ("Access-Control-Allow-Origin", "*") in reply.headers


def test_a_wildcard_origin_allows_any(function):
    reply = send(gateway(function, rules=cors_rules(("*",), ROUTE_KEYS)), "GET", [("Origin", "https://x.example")])

    assert dict(reply.headers)["Access-Control-Allow-Origin"] == "*"


def test_origins_come_from_the_dev_stack_unless_cors_origins_is_set():
    assert cors_origins({}) == ("http://localhost:3000",)
    assert cors_origins({"CORS_ORIGINS": "https://a.example, https://b.example ,"}) == (
        "https://a.example",
        "https://b.example",
    )
    assert cors_origins({"CORS_ORIGINS": ""}) == ()
