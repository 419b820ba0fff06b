"""The release and cost-allocation-tags providers driven over gRPC as the engine drives them, across a
stack's life: first up, no change, a code change, a failed release and the update after it, expired
credentials and the run after, a deleted function, destroy, and state written by other Pythons and by
the release of this program that pickled providers by value.

Lambda and CloudWatch are a moto server; CodeDeploy is a stateful stand-in (`codedeploy_standin`).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from components.cost.allocation_tags import CostAllocationTagsProvider
from components.delivery.release import ReleaseProvider
from components.delivery.windows import DAYS
from components.dynamic import STATE_REFERENCES
from tests.provider.codedeploy_standin import CodeDeployStandIn, Served
from tests.provider.engine import PROJECT, ProviderError, ProviderProcess, Resource
from tests.provider.state_form import holds_code, references

REGION = "eu-west-1"
FUNCTION = "catalog-dev-api"
STATE = json.loads((Path(__file__).parent / "state" / "providers.json").read_text())
URN = ("urn:pulumi:dev::prodready::prodready:delivery:SafeDelivery$pulumi-python:dynamic/prodready:Release::"
       "delivery-release")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


def release_inputs(target: str, **changes: Any) -> dict[str, Any]:
    """What the program registers (`Release.__init__`), with today's serialized provider."""
    return {
        "application": "catalog-dev", "deploymentGroup": "catalog-dev-live", "functionName": FUNCTION,
        "alias": "live", "targetVersion": target, "hookFunction": "catalog-dev-pre-traffic",
        "afterHookFunction": "catalog-dev-post-traffic", "region": REGION, "timeoutSeconds": 1800,
        "description": f"catalog-dev source {target}", "retryFailed": False, "keepVersions": 3, "stack": "dev",
        "__provider": serialize_provider(ReleaseProvider()), **changes,
    }


class World:
    """A function with published versions behind `live` (moto), CodeDeploy (the stand-in), the provider
    process, and the engine's state of the Release."""

    def __init__(self, moto_url: str) -> None:
        self.lam = boto3.client("lambda", region_name=REGION, endpoint_url=moto_url, **_keys())
        iam = boto3.client("iam", region_name=REGION, endpoint_url=moto_url, **_keys())
        role = iam.create_role(RoleName=f"role-{id(self)}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        self.lam.create_function(FunctionName=FUNCTION, Runtime="python3.13", Role=role, Handler="h.handler",
                                 Code={"ZipFile": _zip()}, Publish=True)
        self.lam.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="1")
        self.codedeploy = CodeDeployStandIn(self.move_alias)
        self.served = Served(self.codedeploy)
        self.environment = {**CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": moto_url,
                            "AWS_ENDPOINT_URL_CODEDEPLOY": self.served.url}
        self.provider = ProviderProcess(self.environment)
        self.release = Resource(URN)

    def publish(self) -> str:
        self.lam.update_function_configuration(FunctionName=FUNCTION, Description="a change")
        return str(self.lam.publish_version(FunctionName=FUNCTION)["Version"])

    def move_alias(self, function: str, alias: str, version: str) -> None:
        self.lam.update_alias(FunctionName=function, Name=alias, FunctionVersion=version,
                              RoutingConfig={"AdditionalVersionWeights": {}})

    def live(self) -> str:
        return str(self.lam.get_alias(FunctionName=FUNCTION, Name="live")["FunctionVersion"])

    def restart(self) -> None:
        """A new `pulumi` command: a new provider process, the state kept."""
        self.provider.close()
        self.provider = ProviderProcess(self.environment)

    def close(self) -> None:
        self.provider.close()
        self.served.close()
        self.lam.delete_function(FunctionName=FUNCTION)


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("h.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@pytest.fixture
def world(moto_url: str) -> Iterator[World]:
    world = World(moto_url)
    try:
        yield world
    finally:
        world.close()


# -- a stack's life


def test_first_up_no_change_and_a_code_change(world: World) -> None:
    assert world.release.up(world.provider, release_inputs("1")) == "create"
    assert (world.release.outputs["status"], world.release.outputs["liveVersion"]) == ("Unchanged", "1")
    assert world.codedeploy.created == []  # the alias was created at the target: nothing to shift

    assert world.release.up(world.provider, release_inputs("1")) == "same"

    version = world.publish()
    assert world.release.up(world.provider, release_inputs(version)) == "update"
    assert world.release.outputs["status"] == "Succeeded" and world.live() == version
    spec = json.loads(world.codedeploy.created[0]["revision"]["appSpecContent"]["content"])
    assert spec["Hooks"] == [{"BeforeAllowTraffic": "catalog-dev-pre-traffic"},
                             {"AfterAllowTraffic": "catalog-dev-post-traffic"}]


def test_a_change_of_anything_but_the_release_deploys_nothing(world: World) -> None:
    world.release.up(world.provider, release_inputs("1"))
    version = world.publish()
    world.release.up(world.provider, release_inputs(version))

    assert world.release.up(world.provider, release_inputs(version, timeoutSeconds=2400)) == "update"
    assert len(world.codedeploy.created) == 1
    assert world.release.outputs["timeoutSeconds"] == 2400
    assert world.release.outputs["deploymentId"] == "d-STANDIN01"  # what the last release left stays


@pytest.mark.parametrize("rollback_names", ["good-version", "failed-revision"])
def test_a_failed_release_then_every_later_up_refuses_that_version(world: World, rollback_names: str) -> None:
    world.release.up(world.provider, release_inputs("1"))
    bad = world.publish()
    world.codedeploy.outcome, world.codedeploy.rollback_names = "stop-on-alarm", rollback_names

    with pytest.raises(ProviderError) as failed:
        world.release.up(world.provider, release_inputs(bad))

    # What `pulumi up` shows: the summary first, no Python traceback.
    assert failed.value.details.startswith(f"components.delivery.deployments.ReleaseFailed: deployment "
                                           f"d-STANDIN01 of version {bad} Stopped")
    assert "Traceback" not in failed.value.details
    assert "live now: version 1" in failed.value.details and world.live() == "1"
    assert world.release.outputs["liveVersion"] == "1"  # the failed update left the state as it was

    # CodeDeploy answers deployments without their AppSpec; the provider read the failed one's by its hash.
    assert world.codedeploy.revision_reads >= 1
    for _ in range(2):  # whatever the group reports last, the next ups do not canary it again
        world.restart()
        with pytest.raises(ProviderError, match=f"version {bad} of {FUNCTION} was not deployed again"):
            world.release.up(world.provider, release_inputs(bad))
    assert len([c for c in world.codedeploy.created]) == 1

    fixed = world.publish()
    world.codedeploy.outcome = "succeed"
    assert world.release.up(world.provider, release_inputs(fixed)) == "update"
    assert world.live() == fixed


@pytest.mark.parametrize(("then", "live_after"), [("succeed", "new"), ("stop-on-alarm", "1")])
def test_expired_credentials_then_the_next_up_takes_up_the_outcome(world: World, then: str, live_after: str) -> None:
    world.release.up(world.provider, release_inputs("1"))
    version = world.publish()
    world.codedeploy.outcome, world.codedeploy.then = "expire-credentials", then

    with pytest.raises(ProviderError) as lost:
        world.release.up(world.provider, release_inputs(version))
    assert "lost its AWS credentials while waiting for it (ExpiredTokenException)" in lost.value.details
    assert "`python -m tools.release status --stack dev`" in lost.value.details

    world.codedeploy.restore_credentials()
    world.restart()
    if live_after == "new":
        assert world.release.up(world.provider, release_inputs(version)) == "update"
        # Not a silent Unchanged: the deployment the lost run started is what released it.
        assert (world.release.outputs["status"], world.release.outputs["deploymentId"]) == ("Succeeded",
                                                                                             "d-STANDIN01")
        assert world.release.outputs["liveVersion"] == version
    else:
        with pytest.raises(ProviderError, match="deployment d-STANDIN01, ended Stopped: ALARM_ACTIVE"):
            world.release.up(world.provider, release_inputs(version))
    assert len(world.codedeploy.created) == 1


def test_a_release_outside_every_window_fails_naming_it_and_deploys_nothing(world: World) -> None:
    world.release.up(world.provider, release_inputs("1"))
    # Windows on every day but today and tomorrow (UTC): closed now, even if the test runs over midnight.
    today = datetime.now(UTC).weekday()
    days = [DAYS[d] for d in range(7) if d not in (today, (today + 1) % 7)]
    windows = [{"days": days, "startHour": 0, "endHour": 24}]
    version = world.publish()

    with pytest.raises(ProviderError) as refused:
        world.release.up(world.provider, release_inputs(version, windows=windows))

    assert f"version {version} of {FUNCTION} was not deployed: it is {DAYS[today]}" in refused.value.details
    assert "outside the release windows" in refused.value.details
    assert "prodready:delivery.outsideWindow: true" in refused.value.details
    assert "Traceback" not in refused.value.details
    assert world.codedeploy.created == [] and world.live() == "1"
    assert world.release.outputs["liveVersion"] == "1"  # the state keeps the previous target

    # Changing the windows alone is no release; the one-update override releases.
    assert world.release.up(world.provider, release_inputs(version, windows=windows, outsideWindow=True)) == "update"
    assert world.live() == version and len(world.codedeploy.created) == 1


def test_refresh_reports_the_live_version_and_drops_a_deleted_function_and_destroy_calls_nothing(
        world: World, moto_url: str) -> None:
    world.release.up(world.provider, release_inputs("1"))
    version = world.publish()
    world.move_alias(FUNCTION, "live", version)  # moved outside Pulumi (an operator's rollback tool)

    world.release.refresh(world.provider)
    assert world.release.outputs["liveVersion"] == version and world.release.exists

    world.release.destroy(world.provider)  # a release is history: nothing is deleted
    assert world.live() == version

    world.release.up(world.provider, release_inputs(version))
    world.lam.delete_function(FunctionName=FUNCTION)
    world.release.refresh(world.provider)
    assert not world.release.exists  # dropped from the state, not an error
    world.lam.create_function(  # so that the fixture's clean-up finds it
        FunctionName=FUNCTION, Runtime="python3.13", Handler="h.handler", Code={"ZipFile": _zip()},
        Role=boto3.client("iam", region_name=REGION, endpoint_url=moto_url, **_keys()).list_roles()["Roles"][0]["Arn"])


# -- state written by other Pythons and by the release before this one


@pytest.mark.parametrize("python", sorted(STATE["by-reference"]))
def test_state_written_by_any_supported_python_refreshes_updates_and_destroys(world: World, python: str) -> None:
    written = STATE["by-reference"][python]["release"]
    assert written == serialize_provider(ReleaseProvider())  # the same bytes whichever Python wrote them
    world.release.up(world.provider, release_inputs("1"))
    world.release.outputs["__provider"] = world.release.inputs["__provider"] = written

    world.release.refresh(world.provider)
    version = world.publish()
    assert world.release.up(world.provider, release_inputs(version)) == "update"
    world.release.destroy(world.provider)
    assert world.live() == version


def test_state_pickled_by_value_is_replaced_by_an_update_that_deploys_nothing(world: World) -> None:
    legacy = STATE["by-value"]["3.11"]["release"]
    assert holds_code(legacy)
    world.release.up(world.provider, release_inputs("1"))
    world.release.outputs["__provider"] = world.release.inputs["__provider"] = legacy

    # A `pulumi up` with nothing else changed: the engine loads the program's provider, never the old one.
    assert world.release.up(world.provider, release_inputs("1")) == "update"
    assert world.codedeploy.created == []
    assert not holds_code(world.release.outputs["__provider"])
    world.restart()
    world.release.refresh(world.provider)  # and from now on any Python can read it
    assert world.release.outputs["liveVersion"] == "1"


def test_the_state_holds_references_only_and_no_path_of_the_checkout() -> None:
    for provider, name in ((ReleaseProvider(), "release"), (CostAllocationTagsProvider(), "costAllocationTags")):
        serialized = serialize_provider(provider)
        assert references(serialized) == [(type(provider).__module__, type(provider).__qualname__)]
        assert (type(provider).__module__, type(provider).__qualname__) in STATE_REFERENCES
        assert not holds_code(serialized)
        assert str(PROJECT).encode() not in serialized.encode()
        assert len(serialized) < 200, name
    for written in STATE["by-value"]["3.11"].values():
        assert holds_code(written)


def test_cost_allocation_tags_state_by_value_is_replaced_without_asking_billing(moto_url: str) -> None:
    provider = ProviderProcess({**CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1",
                                # Any call to billing would fail: nothing answers on this port.
                                "AWS_ENDPOINT_URL_COST_EXPLORER": "http://127.0.0.1:9"})
    try:
        tags = Resource("urn:pulumi:dev::prodready::prodready:cost:CostGuard$pulumi-python:dynamic/prodready:"
                        "CostAllocationTags::cost-tags")
        statuses = {"Project": {"status": "Active", "reason": ""}}
        tags.id, tags.inputs = "Project", {"tagKeys": ["Project"], "__provider": STATE["by-value"]["3.11"][
            "costAllocationTags"]}
        tags.outputs = {**tags.inputs, "statuses": statuses, "pendingKeys": []}
        news = {"tagKeys": ["Project"], "statuses": None, "pendingKeys": None, "askedAt": None,
                "__provider": serialize_provider(CostAllocationTagsProvider())}

        assert tags.up(provider, news) == "update"
        assert tags.outputs["statuses"] == statuses and not holds_code(tags.outputs["__provider"])
        assert tags.up(provider, news) == "same"
    finally:
        provider.close()
