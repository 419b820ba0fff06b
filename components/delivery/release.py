"""`Release`: the resource through which `pulumi up` releases a new version.

The function publishes a version on every code or configuration change; the live alias is created by
Pulumi once and then ignored (`ignore_changes`), so only CodeDeploy ever moves it. This resource's input
is the version to release: when it changes, its provider starts a CodeDeploy deployment of the alias
from the live version to that one (pre-traffic hook, traffic shifting, alarms watching) and waits for
its end inside `pulumi up`. A failed or rolled-back release fails the update with what happened (phase,
alarm, the version live now), `pulumi up` exits non-zero, and the state keeps the previous target, so
the next `pulumi up` tries that version again: there is no release step to forget or to skip.

Why a dynamic provider rather than `ignore_changes` plus a separate release command: a second command
can be forgotten or skipped by a hurried operator or a CI edit, and a `pulumi up` that succeeds while
the release it implies fails reports a success that is not one. Here the deployment is part of the
update, ordered after everything it depends on (the alarms exist before they judge).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from components.delivery.deployments import Deployments
from components.dynamic import by_value

# The inputs that make a release: a change to any of them is an update (and a deployment if the alias
# is not already at the target). The serialized provider (`__provider`) is not one of them: new provider
# code alone must not start a deployment.
RELEASE_INPUTS: tuple[str, ...] = (
    "application", "deploymentGroup", "functionName", "alias", "targetVersion", "hookFunction", "retryFailed",
)


@by_value
class ReleaseProvider(ResourceProvider):
    """CRUD of a release; runs in Pulumi's dynamic-provider process (pickled by value, see by_value)."""

    serialize_as_secret_always = False

    def _deployments(self, props: dict[str, Any]) -> Any:
        return Deployments(str(props["region"]))

    def _release(self, props: dict[str, Any]) -> dict[str, Any]:
        deployments = self._deployments(props)
        outcome = deployments.release(
            application=props["application"],
            group=props["deploymentGroup"],
            function=props["functionName"],
            alias=props["alias"],
            target_version=str(props["targetVersion"]),
            hook_function=props.get("hookFunction") or None,
            description=str(props.get("description") or ""),
            timeout_seconds=int(props["timeoutSeconds"]),
            retry_failed=bool(props.get("retryFailed")),
        )
        pruned: list[str] = []
        if props.get("keepVersions"):
            try:
                pruned = deployments.prune_versions(props["functionName"], int(props["keepVersions"]))
            except Exception as error:  # a housekeeping refusal must not fail a release that succeeded
                deployments.log(f"old versions of {props['functionName']} were not deleted: {error}")
        return {
            **props,
            "deploymentId": outcome.get("deploymentId") or "",
            "status": outcome.get("status") or "",
            "liveVersion": str(outcome.get("liveVersion") or props["targetVersion"]),
            "prunedVersions": pruned,
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        # On a stack's first deployment the alias was just created at the target: nothing to shift.
        outs = self._release(props)
        return CreateResult(id_=f"{props['functionName']}:{props['alias']}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in RELEASE_INPUTS if str(olds.get(key) or "") != str(news.get(key) or "")]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=self._release(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # A refresh reports the version live now; the target stays what the program asked for.
        live = self._deployments(props).live_version(props["functionName"], props["alias"])
        return ReadResult(id_=id_, outs={**props, "liveVersion": live})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        # A release is history, not a thing to tear down: the alias belongs to the function.
        return None

    @staticmethod
    def planned_outputs(inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """What create returns on a stack's first deployment (the alias starts at the target), for the
        offline plan, which has no provider process."""
        return f"{inputs['functionName']}:{inputs['alias']}", {
            **inputs, "deploymentId": "", "status": "Unchanged", "liveVersion": str(inputs["targetVersion"]),
            "prunedVersions": [],
        }


@dataclass(frozen=True)
class ReleaseArgs:
    application: pulumi.Input[str]
    """CodeDeploy application (compute platform Lambda)."""
    deployment_group: pulumi.Input[str]
    """Its deployment group: configuration, alarms, rollback."""
    function_name: pulumi.Input[str]
    """The function whose alias is released."""
    alias: pulumi.Input[str]
    """The alias traffic goes through."""
    target_version: pulumi.Input[str]
    """The published version to release (the function's latest)."""
    hook_function: pulumi.Input[str] | None
    """Name of the BeforeAllowTraffic hook function; None releases without a pre-traffic check."""
    region: str
    """Region of the function and the deployment group."""
    timeout_seconds: int
    """How long to wait before stopping the deployment (with rollback) and failing."""
    description: pulumi.Input[str] = ""
    """Deployment description (the source version it ships)."""
    retry_failed: bool = False
    """Deploy the target even if its last release failed (otherwise refused, so a failed version is not
    re-released by every later update)."""
    keep_versions: int | None = None
    """After a release, delete published versions beyond this many newest (aliases' versions stay)."""
    after_hook_function: pulumi.Input[str] | None = None
    """Name of the AfterAllowTraffic hook function; None releases without a post-traffic check."""


class Release(Resource, module="prodready", name="Release"):
    """One stack's releases of a function alias through CodeDeploy (type `pulumi-python:dynamic/prodready:Release`)."""

    status: pulumi.Output[str]

    def __init__(self, name: str, args: ReleaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(
            ReleaseProvider(),
            name,
            {
                "application": args.application,
                "deploymentGroup": args.deployment_group,
                "functionName": args.function_name,
                "alias": args.alias,
                "targetVersion": args.target_version,
                "hookFunction": args.hook_function or "",
                "region": args.region,
                "timeoutSeconds": args.timeout_seconds,
                "description": args.description,
                "retryFailed": args.retry_failed,
                "keepVersions": args.keep_versions,
                "afterHookFunction": args.after_hook_function or "",
                "deploymentId": None,
                "status": None,
                "liveVersion": None,
                "prunedVersions": None,
            },
            opts,
        )

    # A dynamic resource's outputs are attributes named as its properties.
    @property
    def deployment_id(self) -> pulumi.Output[str]:
        return self.__dict__["deploymentId"]

    @property
    def live_version(self) -> pulumi.Output[str]:
        return self.__dict__["liveVersion"]
