"""The pre-traffic hook, run in-process against the real API handler (the bench: hook_testkit)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError
from catalog_testkit import EVENTS_DIR, load_event
from hook_testkit import (
    ACCOUNT,
    DEPLOYMENT_ID,
    EXECUTION_ID,
    FUNCTION,
    Hook,
    HookContext,
    appspec,
    deployment,
    wired,
)
from pre_traffic import handler as hook


@pytest.fixture
def pre_traffic(handler: ModuleType, dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hook]:
    with wired(hook, handler, monkeypatch) as bench:
        yield bench


# --- the outcomes -------------------------------------------------------------------------------


def test_a_healthy_version_succeeds(pre_traffic: Hook) -> None:
    pre_traffic.expect_deployment()
    pre_traffic.expect_report("Succeeded")

    summary = pre_traffic.run()

    assert summary["status"] == "Succeeded"
    assert summary["checks_passed"] == ["readiness", "read"]
    assert summary["checks_failed"] == []
    assert (summary["function"], summary["version"], summary["current_version"]) == (FUNCTION, "7", "6")
    expected_call = {"FunctionName": FUNCTION, "Qualifier": "7", "InvocationType": "RequestResponse"}
    assert pre_traffic.lambda_.calls == [expected_call, expected_call]
    for check in ("readiness", "read"):
        line = pre_traffic.check_line(check)
        assert line["level"] == "INFO"
        assert (line["result"], line["status"], line["version"], line["function"]) == ("pass", 200, "7", FUNCTION)
        assert isinstance(line["duration_ms"], float)
    (result,) = pre_traffic.lines("pre-traffic result")
    assert result["status"] == "Succeeded"
    assert result["correlation_id"] == DEPLOYMENT_ID


def test_the_appspec_is_read_by_its_hash_as_codedeploy_answers_without_it(pre_traffic: Hook) -> None:
    # "The content property of the appSpecContent object in the returned revision is always null. Use
    # GetApplicationRevision and the sha256 property" (CodeDeploy API reference, GetDeployment).
    content = appspec()
    sha = hashlib.sha256(content.encode()).hexdigest()
    pre_traffic.expect_deployment(deployment(revision={"revisionType": "AppSpecContent",
                                                       "appSpecContent": {"sha256": sha}}))
    pre_traffic.codedeploy.add_response(
        "get_application_revision",
        {"applicationName": "prodready-dev",
         "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": content, "sha256": sha}}},
        {"applicationName": "prodready-dev",
         "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": sha}}},
    )
    pre_traffic.expect_report("Succeeded")

    summary = pre_traffic.run()

    assert (summary["status"], summary["version"]) == ("Succeeded", "7")


def test_a_version_whose_table_is_missing_fails(pre_traffic: Hook, dynamodb: Any, handler: ModuleType) -> None:
    dynamodb.delete_table(TableName=handler.repository.table_name)
    pre_traffic.expect_deployment()
    pre_traffic.expect_report("Failed")

    summary = pre_traffic.run()

    assert summary["status"] == "Failed"
    readiness = summary["checks"][0]
    assert readiness["check"] == "readiness"
    assert readiness["passed"] is False
    assert readiness["status_code"] == 503
    assert readiness["reason"].startswith("status 503, expected 200: ")
    assert json.loads(readiness["excerpt"])["checks"]["dynamodb"]["status"] == "fail"
    assert len(readiness["excerpt"]) <= hook.EXCERPT_CHARS
    line = pre_traffic.check_line("readiness")
    assert (line["level"], line["result"], line["status"]) == ("WARNING", "fail", 503)


def test_a_version_that_raises_fails(pre_traffic: Hook, handler: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> str:
        raise RuntimeError("the new version is broken")

    # Outside the handler's own try: an exception there leaves the function, as a bad release would.
    monkeypatch.setattr(handler, "_checked_correlation_id", broken)
    pre_traffic.expect_deployment()
    pre_traffic.expect_report("Failed")

    summary = pre_traffic.run()

    assert summary["status"] == "Failed"
    assert summary["checks_failed"] == ["readiness", "read"]
    for result in summary["checks"]:
        assert result["function_error"] == "Unhandled"
        assert result["error_type"] == "RuntimeError"
        assert result["reason"] == "function error Unhandled (RuntimeError): the new version is broken"
    assert pre_traffic.check_line("read")["error_type"] == "RuntimeError"


@pytest.mark.parametrize(
    ("revision", "reason"),
    [
        ({"revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0\nResources: []"}}, "not JSON"),
        (
            {"revisionType": "AppSpecContent", "appSpecContent": {"content": appspec(target_version="$LATEST")}},
            "'$LATEST'",
        ),
        ({"revisionType": "S3", "s3Location": {"bucket": "b", "key": "k", "bundleType": "JSON"}}, "'S3'"),
    ],
    ids=["yaml", "latest", "s3"],
)
def test_an_unreadable_appspec_fails_without_invoking(pre_traffic: Hook, revision: dict[str, Any], reason: str) -> None:
    pre_traffic.expect_deployment(deployment(revision=revision))
    pre_traffic.expect_report("Failed")

    summary = pre_traffic.run()

    assert summary["status"] == "Failed"
    assert summary["reason"].startswith("the AppSpec is unreadable: ")
    assert reason in summary["reason"]
    assert summary["checks"] == []
    assert pre_traffic.lambda_.calls == []


def test_an_unreadable_deployment_fails(pre_traffic: Hook) -> None:
    pre_traffic.codedeploy.add_client_error(
        "get_deployment", service_error_code="DeploymentDoesNotExistException", http_status_code=400
    )
    pre_traffic.expect_report("Failed")

    summary = pre_traffic.run()

    assert summary["status"] == "Failed"
    assert summary["reason"].startswith("GetDeployment failed: DeploymentDoesNotExistException")
    assert pre_traffic.lambda_.calls == []


def test_checks_are_not_started_without_time_to_report(pre_traffic: Hook) -> None:
    pre_traffic.expect_deployment()
    pre_traffic.expect_report("Failed")

    summary = pre_traffic.run(HookContext(remaining_ms=hook.CHECK_RESERVE_MS + hook.REPORT_RESERVE_MS - 1))

    assert summary["status"] == "Failed"
    assert {result["reason"] for result in summary["checks"]} == {"not run: too little of the hook's time left"}
    assert pre_traffic.lambda_.calls == []


def test_no_checks_is_not_a_success(pre_traffic: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hook, "checks", lambda scope: ())
    pre_traffic.expect_deployment()
    pre_traffic.expect_report("Failed")

    summary = pre_traffic.run()

    assert (summary["status"], summary["reason"]) == ("Failed", "no check ran")


def test_a_crash_in_the_hook_reports_failed(pre_traffic: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(_: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(hook, "read_target", crash)
    pre_traffic.expect_deployment()
    pre_traffic.expect_report("Failed")

    summary = pre_traffic.run()

    assert (summary["status"], summary["reason"]) == ("Failed", "the hook failed before finishing its checks")
    (crashed,) = pre_traffic.lines("pre-traffic checks crashed")
    assert "KeyError" in crashed["exception"]


def test_a_failed_report_raises(pre_traffic: Hook) -> None:
    pre_traffic.expect_deployment()
    pre_traffic.codedeploy.add_client_error(
        "put_lifecycle_event_hook_execution_status",
        service_error_code="ThrottlingException",
        http_status_code=400,
        expected_params={
            "deploymentId": DEPLOYMENT_ID,
            "lifecycleEventHookExecutionId": EXECUTION_ID,
            "status": "Succeeded",
        },
    )

    with pytest.raises(ClientError, match="ThrottlingException"):
        pre_traffic.run()


# --- the events ---------------------------------------------------------------------------------


def _shape(value: Any) -> Any:
    """Keys and value types, recursively: what must match a recorded event."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return type(value).__name__


def test_the_events_are_shaped_like_api_gateway_s(pre_traffic: Hook, handler: ModuleType) -> None:
    pre_traffic.expect_deployment()
    pre_traffic.expect_report("Succeeded")
    pre_traffic.run()
    readiness, read = pre_traffic.lambda_.events

    recorded = _shape(json.loads((EVENTS_DIR / "recorded" / "http-api-payload-2.0.json").read_text()))
    for event in (readiness, read):
        shape = _shape(event)
        # Every key the event has, AWS's example has too, with values of the same type.
        assert {key for key in shape if key not in recorded} == set()
        for key in ("version", "routeKey", "rawPath", "rawQueryString", "isBase64Encoded"):
            assert shape[key] == recorded[key]
        assert {k: v for k, v in shape["requestContext"].items() if k != "authorizer"} == {
            k: v for k, v in recorded["requestContext"].items() if k not in ("authorizer", "authentication")
        }
        assert all(name == name.lower() for name in event["headers"])
        assert event["requestContext"]["stage"] == "$default"
        assert event["requestContext"]["accountId"] == ACCOUNT
        assert event["requestContext"]["routeKey"] == event["routeKey"]
        assert abs(event["requestContext"]["timeEpoch"] / 1000 - datetime.now(UTC).timestamp()) < 60
        assert event["headers"]["x-correlation-id"] == f"pre-traffic:{DEPLOYMENT_ID}:" + (
            "readiness" if event is readiness else "read"
        )
    # The same header names as the committed fixtures, plus the correlation id.
    assert set(read["headers"]) - set(load_event("list_items")["headers"]) == {"x-correlation-id"}

    assert readiness["routeKey"] == "GET /health/ready"
    assert (readiness["rawQueryString"], "queryStringParameters" in readiness) == ("", False)
    assert "authorizer" not in readiness["requestContext"]
    assert read["routeKey"] == "GET /items"
    assert (read["rawQueryString"], read["queryStringParameters"]) == ("limit=1", {"limit": "1"})
    assert readiness["requestContext"]["requestId"] != read["requestContext"]["requestId"]
    # As API Gateway's look: "JKJaXmPLvHcESHA=".
    assert all(re.fullmatch(r"[A-Za-z0-9+/]{15}=", e["requestContext"]["requestId"]) for e in (readiness, read))

    jwt = read["requestContext"]["authorizer"]["jwt"]
    assert jwt["scopes"] == ["items.read"]
    assert jwt["claims"]["sub"] == "codedeploy-pre-traffic"
    assert jwt["claims"]["scope"] == "items.read"
    assert all(isinstance(value, str) for value in jwt["claims"].values())
    if hasattr(handler, "caller_of"):
        # The app version that reads the caller's identity from the claims.
        assert handler.caller_of(read) == "codedeploy-pre-traffic"


def test_the_default_read_scope_is_the_one_the_read_route_requires() -> None:
    from service.routes import READ_SCOPE, ROUTE_SCOPES

    assert hook.DEFAULT_READ_SCOPE == READ_SCOPE
    (read,) = [check for check in hook.checks(hook.read_scope()) if check.name == "read"]
    assert read.scopes is not None
    assert set(read.scopes) & set(ROUTE_SCOPES[read.route_key])
    assert read.method == "GET"


def test_the_read_scope_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("READ_SCOPE", "catalog/items.read")
    (_, read) = hook.checks(hook.read_scope())
    event = hook.api_event(read, account_id=ACCOUNT, deployment_id=DEPLOYMENT_ID, now=1741774530.0)

    assert event["requestContext"]["authorizer"]["jwt"]["scopes"] == ["catalog/items.read"]
    assert event["requestContext"]["time"] == "12/Mar/2025:10:15:30 +0000"
    assert event["requestContext"]["timeEpoch"] == 1741774530000


def test_an_event_that_is_not_a_hook_event_raises() -> None:
    with pytest.raises(ValueError, match="DeploymentId"):
        hook.lambda_handler({"DeploymentId": DEPLOYMENT_ID}, HookContext())
