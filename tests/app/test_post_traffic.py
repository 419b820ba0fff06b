"""The post-traffic hook, run in-process against the real API handler through the alias (the bench:
hook_testkit). CodeDeploy has moved every request to the new version; a failure here rolls it back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from hook_testkit import DEPLOYMENT_ID, FUNCTION, Hook, HookContext, appspec, deployment, wired
from post_traffic import handler as hook
from pre_traffic import handler as pre_hook
from traffic_hooks import lifecycle

CONTEXT = HookContext(name="prodready-dev-post-traffic")


@pytest.fixture
def post_traffic(handler: ModuleType, dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hook]:
    with wired(hook, handler, monkeypatch) as bench:
        yield bench


def test_a_released_version_that_serves_succeeds(post_traffic: Hook) -> None:
    post_traffic.expect_deployment()
    post_traffic.expect_report("Succeeded")

    summary = post_traffic.run(CONTEXT)

    assert summary["status"] == "Succeeded"
    assert summary["checks_passed"] == ["liveness", "readiness", "listing"]
    # Through the alias, never the version itself: what API Gateway's requests reach now.
    expected_call = {"FunctionName": FUNCTION, "Qualifier": "live", "InvocationType": "RequestResponse"}
    assert post_traffic.lambda_.calls == [expected_call] * 3
    assert [result["executed_version"] for result in summary["checks"]] == ["7", "7", "7"]
    line = post_traffic.check_line("listing")
    assert (line["result"], line["status"], line["alias"], line["executed_version"]) == ("pass", 200, "live", "7")
    (result,) = post_traffic.lines("post-traffic result")
    assert (result["status"], result["correlation_id"]) == ("Succeeded", DEPLOYMENT_ID)


def test_an_alias_that_still_serves_the_old_version_fails(post_traffic: Hook) -> None:
    post_traffic.lambda_.aliases["live"] = "6"
    post_traffic.expect_deployment()
    post_traffic.expect_report("Failed")

    summary = post_traffic.run(CONTEXT)

    assert summary["status"] == "Failed"
    assert summary["checks_failed"] == ["liveness", "readiness", "listing"]
    assert {r["reason"] for r in summary["checks"]} == {"the alias ran version 6, not version 7 under release"}


def test_a_version_whose_table_is_gone_after_the_shift_fails(
    post_traffic: Hook, dynamodb: Any, handler: ModuleType
) -> None:
    dynamodb.delete_table(TableName=handler.repository.table_name)
    post_traffic.expect_deployment()
    post_traffic.expect_report("Failed")

    summary = post_traffic.run(CONTEXT)

    assert summary["status"] == "Failed"
    assert summary["checks_passed"] == ["liveness"]
    readiness = post_traffic.check_line("readiness")
    assert (readiness["level"], readiness["result"], readiness["status"]) == ("WARNING", "fail", 503)


def test_a_version_that_raises_fails(post_traffic: Hook, handler: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> str:
        raise RuntimeError("the new version is broken")

    monkeypatch.setattr(handler, "_checked_correlation_id", broken)
    post_traffic.expect_deployment()
    post_traffic.expect_report("Failed")

    summary = post_traffic.run(CONTEXT)

    assert summary["checks_failed"] == ["liveness", "readiness", "listing"]
    assert {r["error_type"] for r in summary["checks"]} == {"RuntimeError"}


def test_an_appspec_without_an_alias_fails_without_invoking(post_traffic: Hook) -> None:
    post_traffic.expect_deployment(deployment(appspec(alias=None)))
    post_traffic.expect_report("Failed")

    summary = post_traffic.run(CONTEXT)

    assert (summary["status"], summary["reason"]) == (
        "Failed", "the AppSpec is unreadable: the function resource names no Alias")
    assert post_traffic.lambda_.calls == []


def test_the_events_are_the_smoke_tests_reads_from_this_hook(post_traffic: Hook) -> None:
    post_traffic.expect_deployment()
    post_traffic.expect_report("Succeeded")
    post_traffic.run(CONTEXT)
    live, ready, listing = post_traffic.lambda_.events

    assert [e["routeKey"] for e in (live, ready, listing)] == ["GET /health/live", "GET /health/ready", "GET /items"]
    assert listing["queryStringParameters"] == {"limit": "5"}
    assert "authorizer" not in live["requestContext"] and "authorizer" not in ready["requestContext"]
    claims = listing["requestContext"]["authorizer"]["jwt"]["claims"]
    assert (claims["sub"], claims["scope"]) == ("codedeploy-post-traffic", "items.read")
    assert listing["headers"]["x-correlation-id"] == f"post-traffic:{DEPLOYMENT_ID}:listing"
    assert listing["headers"]["host"] == "post-traffic.invalid"


@pytest.mark.parametrize(
    ("check", "body", "reason"),
    [
        ("liveness", {"status": "fail"}, "status is 'fail', not 'pass'"),
        ("readiness", {"status": "pass", "checks": {"dynamodb": {"status": "fail"}}},
         "the dynamodb check is 'fail', not 'pass'"),
        ("listing", {"items": []}, "not a page of items (items and next_token)"),
        ("listing", ["not", "a", "page"], "not a page of items (items and next_token)"),
    ],
)
def test_a_200_whose_body_is_wrong_fails(check: str, body: Any, reason: str) -> None:
    (spec,) = [c for c in hook.checks("items.read") if c.name == check]
    payload = json.dumps({"statusCode": 200, "body": json.dumps(body)}).encode()

    result = lifecycle.evaluate(spec, {"Payload": payload, "ExecutedVersion": "7"}, 1.0, "7")

    assert result.passed is False
    assert result.reason is not None and result.reason.startswith(reason + ": ")
    good = {"liveness": {"status": "pass"}, "readiness": {"checks": {"dynamodb": {"status": "pass"}}},
            "listing": {"items": [], "next_token": None}}[check]
    ok = json.dumps({"statusCode": 200, "body": json.dumps(good)}).encode()
    assert lifecycle.evaluate(spec, {"Payload": ok, "ExecutedVersion": "7"}, 1.0, "7").passed


def test_both_hooks_run_the_one_shared_lifecycle() -> None:
    # The hooks differ in their stage and their checks only: same reading, invoking, judging and reporting.
    assert hook.read_target is pre_hook.read_target is lifecycle.read_target
    assert (hook.STAGE.through_alias, pre_hook.STAGE.through_alias) == (True, False)
    assert hook.CODEDEPLOY_CONFIG is pre_hook.CODEDEPLOY_CONFIG
