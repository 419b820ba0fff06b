"""The program's dynamic providers: what `pulumi up` runs for a release and for the cost allocation tags.

The engine runs them in a process of its own, from their serialized form; the subprocess tests load them
there without this project on the path, as the engine's dynamic-provider host does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from components.cost.allocation_tags import ACTIVE, PENDING, RETRY_AFTER_HOURS, CostAllocationTagsProvider
from components.delivery.deployments import ReleaseFailed
from components.delivery.release import RELEASE_INPUTS, ReleaseProvider

RELEASE = {
    "application": "catalog-prod", "deploymentGroup": "catalog-prod-live", "functionName": "catalog-prod-api",
    "alias": "live", "targetVersion": "8", "hookFunction": "catalog-prod-pre-traffic", "region": "eu-west-1",
    # Numbers reach a provider as floats (protobuf has only doubles).
    "timeoutSeconds": 1200.0, "description": "catalog-prod source a264390d1454", "retryFailed": False,
    "keepVersions": 3.0,
}
NOT_FOUND = {"TagKey": "Environment", "Code": "ValidationException", "Message": "Tag keys not found"}


class FakeDeployments:
    """Records what the provider asks of the release logic (tested on its own in test_deployments)."""

    def __init__(self, outcome: dict[str, Any] | Exception, live: str = "7",
                 pruning: list[str] | Exception | None = None) -> None:
        self.outcome, self.live, self.calls = outcome, live, []
        self.pruning, self.pruned_with, self.lines = pruning or [], [], []
        self.gates: list[dict[str, Any]] = []  # what each release gate was built from

    def release_gate(self, windows: Any = (), **kwargs: Any) -> Any:
        self.gates.append({"windows": tuple(windows), **kwargs})
        return len(self.gates)  # a token release() must receive

    def prune_versions(self, function: str, keep: int, also_keep: tuple[str, ...] = ()) -> list[str]:
        self.pruned_with.append((function, keep, also_keep))
        if isinstance(self.pruning, Exception):
            raise self.pruning
        return self.pruning

    def log(self, line: str) -> None:
        self.lines.append(line)

    def release(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs.pop("gate") == len(self.gates), "release() must get the gate built for it"
        self.calls.append(kwargs)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    def live_version(self, function: str, alias: str) -> str:
        return self.live


def _release_provider(monkeypatch: pytest.MonkeyPatch, fake: FakeDeployments) -> ReleaseProvider:
    provider = ReleaseProvider()
    monkeypatch.setattr(provider, "_deployments", lambda props: fake)
    return provider


def test_a_new_target_version_is_released_and_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDeployments({"deploymentId": "d-ABC123DEF", "status": "Succeeded", "liveVersion": "8"})
    provider = _release_provider(monkeypatch, fake)
    result = provider.update("catalog-prod-api:live", {**RELEASE, "targetVersion": "7"}, RELEASE)
    assert fake.calls == [{
        "application": "catalog-prod", "group": "catalog-prod-live", "function": "catalog-prod-api", "alias": "live",
        "target_version": "8", "hook_function": "catalog-prod-pre-traffic",
        "description": "catalog-prod source a264390d1454", "timeout_seconds": 1200, "retry_failed": False,
        "after_hook_function": None,
    }]
    assert isinstance(fake.calls[0]["timeout_seconds"], int)
    assert (result.outs["deploymentId"], result.outs["status"], result.outs["liveVersion"]) == (
        "d-ABC123DEF", "Succeeded", "8")
    # Then versions beyond the 3 newest go, but never the one this release replaced (the rollback target).
    assert fake.pruned_with == [("catalog-prod-api", 3, ("7",))]


def test_the_release_gate_is_built_from_the_windows_and_overrides_in_the_inputs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from components.delivery.windows import Window

    fake = FakeDeployments({"deploymentId": "d-ABC123DEF", "status": "Succeeded", "liveVersion": "8"})
    news = {**RELEASE, "windows": [{"days": ["Tue", "Wed"], "startHour": 2, "endHour": 4}], "outsideWindow": True,
            "freezeAlarms": ["catalog-prod-http-slo-availability-burn-rate-page-fast-critical"],
            "ignoreErrorBudget": False}
    _release_provider(monkeypatch, fake).update("catalog-prod-api:live", {**news, "targetVersion": "7"}, news)
    assert fake.gates == [{"windows": (Window(("Tue", "Wed"), 2, 4),), "outside_window": True,
                           "freeze_alarms": ["catalog-prod-http-slo-availability-burn-rate-page-fast-critical"],
                           "ignore_freeze": False}]
    # Changing only the windows or the overrides is no release: nothing deployed, no gate asked.
    fake.gates.clear()
    result = _release_provider(monkeypatch, fake).update("catalog-prod-api:live", news, {**news, "windows": []})
    assert fake.gates == [] and len(fake.calls) == 1 and result.outs["windows"] == []


def test_a_refused_clean_up_does_not_fail_a_release_that_succeeded(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDeployments({"deploymentId": "d-ABC123DEF", "status": "Succeeded", "liveVersion": "8"},
                           pruning=RuntimeError("AccessDeniedException: lambda:DeleteFunction"))
    result = _release_provider(monkeypatch, fake).update("catalog-prod-api:live", {**RELEASE, "targetVersion": "7"},
                                                         RELEASE)
    assert result.outs["status"] == "Succeeded" and result.outs["prunedVersions"] == []
    assert fake.lines == [
        "old versions of catalog-prod-api were not deleted: AccessDeniedException: lambda:DeleteFunction"]


def test_a_failed_release_fails_the_update_with_what_happened(monkeypatch: pytest.MonkeyPatch) -> None:
    failure = ReleaseFailed("deployment d-ABC123DEF Stopped: ALARM_ACTIVE; version 7 is live", {"liveVersion": "7"})
    fake = FakeDeployments(failure)
    provider = _release_provider(monkeypatch, fake)
    with pytest.raises(ReleaseFailed, match="ALARM_ACTIVE; version 7 is live"):
        provider.update("catalog-prod-api:live", {**RELEASE, "targetVersion": "7"}, RELEASE)
    assert fake.pruned_with == []  # nothing is deleted after a failure


def test_without_a_hook_the_release_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDeployments({"deploymentId": "", "status": "Unchanged", "liveVersion": "8"})
    created = _release_provider(monkeypatch, fake).create({**RELEASE, "hookFunction": ""})
    assert fake.calls[0]["hook_function"] is None
    assert created.id == "catalog-prod-api:live" and created.outs["status"] == "Unchanged"


def test_only_a_release_input_makes_a_deployment_never_the_provider_or_another_input_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    provider = ReleaseProvider()
    same = {**RELEASE, "__provider": "same"}
    assert provider.diff("id", same, same).changes is False
    for key in RELEASE_INPUTS:
        changed = provider.diff("id", RELEASE, {**RELEASE, key: f"{RELEASE.get(key)}-changed"})
        assert changed.changes is True and changed.replaces == [], key
    # A new provider form (an older release's pickle by value) or a new timeout is an update that records it...
    olds = {**RELEASE, "__provider": "by value", "deploymentId": "d-OLD", "status": "Succeeded", "liveVersion": "8",
            "prunedVersions": ["4"]}
    news = {**RELEASE, "__provider": "by reference", "timeoutSeconds": 1500.0}
    assert provider.diff("id", olds, news).changes is True
    fake = FakeDeployments(RuntimeError("no deployment may start"))
    updated = _release_provider(monkeypatch, fake).update("id", olds, news)
    # ...and calls nothing: no deployment, no pruning; what the last release left stays.
    assert fake.calls == [] and fake.pruned_with == []
    assert (updated.outs["deploymentId"], updated.outs["liveVersion"], updated.outs["timeoutSeconds"]) == (
        "d-OLD", "8", 1500.0)


def test_refresh_reports_the_version_live_now(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = _release_provider(monkeypatch, FakeDeployments({}, live="6"))
    read = provider.read("catalog-prod-api:live", {**RELEASE, "liveVersion": "8"})
    assert read.outs["liveVersion"] == "6" and read.outs["targetVersion"] == "8"


# -- cost allocation tags ---------------------------------------------------------------------


def _ce() -> tuple[Any, Stubber]:
    client = boto3.client("ce", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    return client, Stubber(client)


def _activation(stub: Stubber, errors: list[dict[str, str]]) -> None:
    stub.add_response(
        "update_cost_allocation_tags_status", {"Errors": errors},
        {"CostAllocationTagsStatus": [{"TagKey": "Project", "Status": "Active"},
                                      {"TagKey": "Environment", "Status": "Active"}]},
    )


def test_keys_billing_has_not_seen_are_pending_not_a_failed_deployment() -> None:
    client, stub = _ce()
    _activation(stub, [NOT_FOUND])
    with stub:
        created = CostAllocationTagsProvider(client).create({"tagKeys": ["Project", "Environment"]})
    assert created.outs["statuses"] == {
        "Project": {"status": ACTIVE, "reason": ""},
        "Environment": {"status": PENDING, "reason": "ValidationException: Tag keys not found"},
    }
    assert created.outs["pendingKeys"] == ["Environment"]


def test_a_refusal_of_the_whole_request_leaves_every_key_pending() -> None:
    client, stub = _ce()
    stub.add_client_error("update_cost_allocation_tags_status", "AccessDeniedException",
                          "Linked accounts can only activate tags in the payer account")
    with stub:
        created = CostAllocationTagsProvider(client).create({"tagKeys": ["Project", "Environment"]})
    assert created.outs["pendingKeys"] == ["Environment", "Project"]
    assert created.outs["statuses"]["Project"]["reason"] == (
        "AccessDeniedException: Linked accounts can only activate tags in the payer account")


def test_pending_keys_are_asked_for_again_once_the_last_ask_is_hours_old_and_previews_stay_quiet() -> None:
    asked = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    keys = {"tagKeys": ["Project", "Environment"]}
    pending = {**keys, "pendingKeys": ["Environment"], "askedAt": asked.isoformat()}

    def at(hours: float, client: Any = None) -> CostAllocationTagsProvider:
        return CostAllocationTagsProvider(client, clock=lambda: asked + timedelta(hours=hours))

    assert at(1).diff("id", pending, keys).changes is False  # a preview an hour later shows nothing
    assert at(RETRY_AFTER_HOURS).diff("id", pending, keys).changes is True
    assert at(1).diff("id", {**pending, "askedAt": ""}, keys).changes is True  # state from before askedAt
    assert at(48).diff("id", {**keys, "pendingKeys": [], "askedAt": asked.isoformat()}, keys).changes is False
    assert at(1).diff("id", {**keys, "pendingKeys": []}, {"tagKeys": ["Project"]}).changes is True
    client, stub = _ce()
    _activation(stub, [])
    with stub:
        updated = at(7, client).update("id", pending, keys)
    assert updated.outs["pendingKeys"] == []
    assert updated.outs["askedAt"] == (asked + timedelta(hours=7)).isoformat(timespec="seconds")


def test_refresh_reads_billing_without_changing_it_and_delete_leaves_the_keys_on() -> None:
    client, stub = _ce()
    stub.add_response(
        "list_cost_allocation_tags",
        {"CostAllocationTags": [{"TagKey": "Project", "Type": "UserDefined", "Status": "Active"},
                                {"TagKey": "Environment", "Type": "UserDefined", "Status": "Inactive"}]},
        {"TagKeys": ["Project", "Environment", "Owner"], "Type": "UserDefined"},
    )
    with stub:
        read = CostAllocationTagsProvider(client).read("id", {"tagKeys": ["Project", "Environment", "Owner"]})
        # Other stacks' budgets filter on the keys: no call at all (the stub would fail on an unexpected one).
        CostAllocationTagsProvider(client).delete("id", {"tagKeys": ["Project", "Environment"]})
    assert read.outs["pendingKeys"] == ["Environment", "Owner"]
    assert read.outs["statuses"]["Owner"] == {"status": PENDING, "reason": "not seen by billing yet"}
    stub.assert_no_pending_responses()


def test_setting_retry_failed_version_is_itself_the_update_that_releases_again(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDeployments({"deploymentId": "d-RETRY0001", "status": "Succeeded", "liveVersion": "8"})
    provider = _release_provider(monkeypatch, fake)
    retry = {**RELEASE, "retryFailed": True}
    assert provider.diff("catalog-prod-api:live", RELEASE, retry).changes is True
    provider.update("catalog-prod-api:live", RELEASE, retry)
    assert fake.calls[0]["retry_failed"] is True


def test_an_unexpected_error_reads_as_its_summary_first_and_keeps_its_traceback_after(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from components.dynamic import ProviderDefect

    fake = FakeDeployments(KeyError("deploymentId"))
    monkeypatch.setattr(sys, "tracebacklimit", 0, raising=False)  # as in the provider host
    with pytest.raises(ProviderDefect) as raised:
        _release_provider(monkeypatch, fake).update("id", {**RELEASE, "targetVersion": "7"}, RELEASE)
    message = str(raised.value)
    assert message.startswith("the release of version 8 of catalog-prod-api failed: KeyError: 'deploymentId'\n")
    assert "Traceback (most recent call last):" in message and "in release" in message


def test_a_refusal_waiting_cannot_end_is_not_asked_again_so_drift_checks_stay_quiet() -> None:
    asked = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    keys = {"tagKeys": ["Project"]}
    provider = CostAllocationTagsProvider(clock=lambda: asked + timedelta(days=2))
    refused = {**keys, "pendingKeys": ["Project"], "askedAt": asked.isoformat(),
               "statuses": {"Project": {"status": PENDING, "reason": "AccessDeniedException: not authorized"}}}
    not_seen = {**refused, "statuses": {"Project": {"status": PENDING,
                                                    "reason": "ValidationException: Tag keys not found"}}}
    # A member account's (or an unauthorized role's) refusal stays until someone changes something.
    assert provider.diff("id", refused, keys).changes is False
    # Billing not having seen the key yet ends by itself: asked again once the last ask is old enough.
    assert provider.diff("id", not_seen, keys).changes is True
