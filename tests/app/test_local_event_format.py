"""The local server's events against the payload 2.0 example AWS documents (events/recorded/README.md)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tools.local_api import Invoker, LocalGateway, build_event
from tools.local_auth import local_authorizer, mint_token, signing_key

RECORDED = Path(__file__).parent / "events" / "recorded" / "http-api-payload-2.0.json"
# The example's timeEpoch. (Its "time", 12/Mar/2020:19:03:58, is not that instant, 04/Mar/2020:19:03:58:
# the documented example contradicts itself, so only the format of "time" is compared.)
EXAMPLE_NOW = 1583348638.390
REQUEST_TIME = re.compile(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000")

# Parts of the example this API never receives, so the local server never produces them.
NOT_APPLICABLE: dict[tuple[str, ...], str] = {
    ("requestContext", "authentication"): "mutual TLS client certificates: the API has no custom domain with mTLS",
    ("requestContext", "authorizer", "lambda"): "a Lambda authorizer's context: the API uses a JWT authorizer",
    ("stageVariables",): "stage variables: the $default stage defines none",
    ("pathParameters",): "the $default route has none; a parametrised route is checked below",
}
# Objects whose keys depend on the request, compared as maps of strings to strings.
MAPS: set[tuple[str, ...]] = {
    ("headers",),
    ("queryStringParameters",),
    ("pathParameters",),
    ("stageVariables",),
    ("requestContext", "authorizer", "jwt", "claims"),
}


# A list of strings or null: API Gateway passes null on a route without authorization scopes (as
# this API's catch-all is), which the example does not show (observed; the payload 1.0 example on
# the same page has "scopes": null).
SCOPES = ("requestContext", "authorizer", "jwt", "scopes")


def shape(value: Any, path: tuple[str, ...] = ()) -> Any:
    """Keys, nesting and value types, without the values."""
    if path == SCOPES:
        assert value is None or (isinstance(value, list) and all(isinstance(item, str) for item in value))
        return "list[str] | null"
    if path in MAPS:
        assert isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        return "map[str, str]"
    if isinstance(value, dict):
        return {key: shape(item, (*path, key)) for key, item in value.items() if (*path, key) not in NOT_APPLICABLE}
    if isinstance(value, list):
        return [sorted({json.dumps(shape(item, path)) for item in value})]
    return type(value).__name__


@pytest.fixture
def recorded() -> dict[str, Any]:
    return json.loads(RECORDED.read_text())


@pytest.fixture
def local_event(tmp_path: Path) -> dict[str, Any]:
    """The event the local server gives the function for the request the example describes."""
    key_dir = tmp_path / "keys"
    events: list[dict[str, Any]] = []

    def function(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        return {"statusCode": 204}

    gateway = LocalGateway(Invoker(function, "us-east-1"), authorize=local_authorizer(key_dir).authorize)
    token = mint_token(["items.read"], key=signing_key(key_dir))
    headers = [
        ("Host", "id.execute-api.us-east-1.amazonaws.com"),
        ("User-Agent", "agent"),
        ("Header1", "value1"),
        ("Header2", "value1"),
        ("Header2", "value2"),
        ("Cookie", "cookie1; cookie2"),
        ("Authorization", f"Bearer {token}"),
        ("Content-Length", "17"),
    ]
    reply = gateway.respond(
        method="POST",
        target="/my/path?parameter1=value1&parameter1=value2&parameter2=value",
        headers=headers,
        body=b"Hello from Lambda",
        source_ip="IP",
    )
    assert reply.status == 204
    (event,) = events
    return event


def test_the_event_has_the_documented_keys_nesting_and_types(local_event, recorded):
    assert shape(local_event) == shape(recorded)


def test_deterministic_values_equal_the_documented_ones(local_event, recorded):
    for key in ("version", "routeKey", "rawPath", "rawQueryString", "cookies", "queryStringParameters", "body"):
        assert local_event[key] == recorded[key], key
    assert local_event["isBase64Encoded"] is recorded["isBase64Encoded"] is False
    # Lower-cased names, repeated headers joined with commas, cookies moved out of the headers.
    assert {name: local_event["headers"][name] for name in recorded["headers"]} == recorded["headers"]
    assert "cookie" not in local_event["headers"]
    assert "Header1" not in local_event["headers"]

    ours, theirs = local_event["requestContext"], recorded["requestContext"]
    for key in ("accountId", "domainName", "domainPrefix", "routeKey", "stage"):
        assert ours[key] == theirs[key], key
    assert REQUEST_TIME.fullmatch(theirs["time"]) and REQUEST_TIME.fullmatch(ours["time"])
    moment = datetime.fromtimestamp(ours["timeEpoch"] / 1000, UTC)
    assert ours["time"] == moment.strftime("%d/%b/%Y:%H:%M:%S +0000")
    assert ours["http"] == theirs["http"]
    assert isinstance(ours["requestId"], str) and ours["requestId"]


def test_the_jwt_authorizer_context_has_the_documented_form(local_event, recorded):
    ours = local_event["requestContext"]["authorizer"]["jwt"]
    theirs = recorded["requestContext"]["authorizer"]["jwt"]

    assert set(ours) == set(theirs) == {"claims", "scopes"}
    assert ours["scopes"] is None, "the catch-all has no authorization scopes"
    assert all(isinstance(value, str) for value in ours["claims"].values())


def test_a_route_with_scopes_passes_the_matched_ones_as_a_list(tmp_path, recorded):
    key_dir = tmp_path / "keys"
    events: list[dict[str, Any]] = []
    gateway = LocalGateway(
        Invoker(lambda event, context: events.append(event) or {"statusCode": 204}, "us-east-1"),
        authorize=local_authorizer(key_dir).authorize,
    )
    token = mint_token(["items.read", "items.write"], key=signing_key(key_dir))

    gateway.respond(
        method="GET", target="/items", headers=[("Authorization", f"Bearer {token}")], body=b"", source_ip="IP"
    )

    scopes = events[0]["requestContext"]["authorizer"]["jwt"]["scopes"]
    assert scopes == ["items.read"]
    assert type(scopes) is type(recorded["requestContext"]["authorizer"]["jwt"]["scopes"])


def test_time_fields_of_an_event_built_at_the_examples_instant():
    event = build_event(method="GET", target="/", headers=[], body=b"", source_ip="IP", now=EXAMPLE_NOW)

    assert event["requestContext"]["timeEpoch"] == 1583348638390
    assert event["requestContext"]["time"] == "04/Mar/2020:19:03:58 +0000"


def test_path_parameters_have_the_documented_form_on_a_parametrised_route(recorded):
    event = build_event(
        method="GET", target="/items/3f1c2a9e", headers=[("Host", "h")], body=b"", source_ip="IP", now=EXAMPLE_NOW
    )

    assert event["pathParameters"] == {"id": "3f1c2a9e"}
    assert shape(event["pathParameters"], ("pathParameters",)) == shape(recorded["pathParameters"], ("pathParameters",))
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "GET /items/{id}"


def test_every_part_left_out_is_in_the_example(recorded):
    for path in NOT_APPLICABLE:
        node: Any = recorded
        for key in path:
            node = node[key]
        assert node, path
