"""The caller's identity (the JWT authorizer's claims) on every log line and on the trace."""

from __future__ import annotations

from typing import Any

import pytest
from catalog_testkit import load_event, with_claims

# What a Cognito client-credentials access token carries, as the authorizer passes it on.
CLIENT_CLAIMS = {
    "sub": "5c1d2f3a4b6e7d8c9f0a1b2c3d",
    "client_id": "5c1d2f3a4b6e7d8c9f0a1b2c3d",
    "token_use": "access",
    "scope": "catalog/items.read catalog/items.write",
    "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example",
    "exp": "1741778130",
}


def annotations_of(handler: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    recorded: dict[str, Any] = {}
    monkeypatch.setattr(handler.tracer, "put_annotation", lambda key, value: recorded.__setitem__(key, value))
    return recorded


def test_every_line_of_an_authorized_invocation_names_the_caller(invoke, handler, monkeypatch):
    monkeypatch.setattr(handler, "_LOG_EVENT", True)

    result = invoke(with_claims(load_event("create_item"), CLIENT_CLAIMS, ["catalog/items.write"]))

    assert result.status == 201
    assert len(result.logs) >= 3, "the event, the business event and the request line"
    assert {line.get("caller") for line in result.logs} == {CLIENT_CLAIMS["sub"]}


def test_without_a_subject_the_client_id_is_the_caller(invoke):
    claims = {key: value for key, value in CLIENT_CLAIMS.items() if key != "sub"} | {"client_id": "reporting-job"}

    result = invoke(with_claims(load_event("list_items"), claims))

    assert result.log("request completed")["caller"] == "reporting-job"


@pytest.mark.parametrize(
    "event",
    [
        load_event("health_live"),
        with_claims(load_event("list_items"), {"iss": "x"}),
        with_claims(load_event("list_items"), {"sub": "   "}),
    ],
    ids=["public-route", "no-subject-claims", "blank-subject"],
)
def test_without_an_identity_no_line_names_a_caller(invoke, event):
    result = invoke(event)

    assert result.logs
    assert all("caller" not in line for line in result.logs)


def test_the_caller_is_cleared_between_invocations(invoke):
    invoke(with_claims(load_event("list_items"), CLIENT_CLAIMS))

    after = invoke(load_event("health_live"))

    assert all("caller" not in line for line in after.logs)


def test_the_trace_is_annotated_with_operation_status_and_caller(invoke, handler, monkeypatch):
    annotations = annotations_of(handler, monkeypatch)

    invoke(with_claims(load_event("get_item"), CLIENT_CLAIMS))

    assert annotations == {"operation": "get_item", "status": 404, "caller": CLIENT_CLAIMS["sub"]}


def test_an_unauthenticated_trace_has_no_caller_annotation(invoke, handler, monkeypatch):
    annotations = annotations_of(handler, monkeypatch)

    invoke(load_event("health_ready"))

    assert annotations == {"operation": "health_ready", "status": 200}


def test_a_subject_that_is_an_address_is_redacted_in_logs_and_trace(invoke, handler, monkeypatch):
    annotations = annotations_of(handler, monkeypatch)

    result = invoke(with_claims(load_event("list_items"), {"sub": "dana@example.com"}))

    assert "dana@example.com" not in str(result.logs)
    assert result.log("request completed")["caller"] == "[REDACTED]"
    assert annotations["caller"] == "[REDACTED]"


def test_caller_of_reads_only_the_authorizers_claims(handler):
    assert handler.caller_of({"requestContext": {"authorizer": {"jwt": {"claims": {"sub": "a"}}}}}) == "a"
    assert handler.caller_of({"requestContext": {"authorizer": {"lambda": {"sub": "a"}}}}) is None
    assert handler.caller_of({"requestContext": {"authorizer": {"jwt": {"claims": {"sub": 7}}}}}) is None
    assert handler.caller_of({"headers": {"sub": "a"}}) is None
    assert handler.caller_of({"requestContext": "odd"}) is None
    assert len(handler.caller_of({"requestContext": {"authorizer": {"jwt": {"claims": {"sub": "x" * 999}}}}})) == 256
