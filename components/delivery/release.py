"""`Release`: the resource through which `pulumi up` releases a new version.

The function publishes a version on every code or configuration change; the live alias is created by
Pulumi once and then ignored (`ignore_changes`), so only CodeDeploy ever moves it. This resource's input
is the version to release: when it changes, its provider starts a CodeDeploy deployment of the alias
from the live version to that one (pre-traffic hook, traffic shifting, alarms watching) and waits for
its end inside `pulumi up`. A failed or rolled-back release fails the update with what happened (phase,
alarm, the version live now), `pulumi up` exits non-zero, and the state keeps the previous target, so
the next `pulumi up` tries that version again: there is no release step to forget or to skip.

The state holds a reference to `ReleaseProvider`, not its code (`components.dynamic`): a refresh or destroy
runs today's code under whichever Python the project uses now.

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

from components.delivery.deployments import Deployments, ReleaseFailed
from components.delivery.windows import windows_from
from components.dynamic import ProviderDefect, explained, state_is_current, summaries_without_tracebacks

# The inputs that make a release: a change to any of them is an update that deploys (if the alias is not
# already at the target). Any other change (the timeout, the description, the serialized provider) is an
# update that records it and calls nothing: new provider code alone must not start a deployment.
RELEASE_INPUTS: tuple[str, ...] = (
    "application", "deploymentGroup", "functionName", "alias", "targetVersion", "hookFunction",
    "afterHookFunction", "retryFailed",
)
# What the provider computes; not inputs.
RELEASE_OUTPUTS: tuple[str, ...] = ("deploymentId", "status", "liveVersion", "prunedVersions")


class ReleaseProvider(ResourceProvider):
    """CRUD of a release; runs in Pulumi's dynamic-provider process, which imports this module."""

    serialize_as_secret_always = False

    def configure(self, req: Any) -> None:
        summaries_without_tracebacks()

    def _deployments(self, props: dict[str, Any]) -> Any:
        return Deployments(str(props["region"]), stack=str(props.get("stack") or ""))

    @staticmethod
    def _inputs(props: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in props.items() if key not in RELEASE_OUTPUTS and key != "__provider"}

    def _release(self, props: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._deploy(props)
        except (ReleaseFailed, ProviderDefect):
            raise
        except Exception as error:
            raise explained(error, f"the release of version {props.get('targetVersion')} of "
                                   f"{props.get('functionName')}") from None

    def _deploy(self, props: dict[str, Any]) -> dict[str, Any]:
        deployments = self._deployments(props)
        before = deployments.live_version(props["functionName"], props["alias"])
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
            after_hook_function=props.get("afterHookFunction") or None,
            gate=deployments.release_gate(
                windows_from(props.get("windows") or ()),
                outside_window=bool(props.get("outsideWindow")),
                freeze_alarms=list(props.get("freezeAlarms") or ()),
                ignore_freeze=bool(props.get("ignoreErrorBudget")),
            ),
        )
        pruned: list[str] = []
        if props.get("keepVersions"):
            try:
                # The version this release replaced stays: it is what a rollback returns to.
                pruned = deployments.prune_versions(props["functionName"], int(props["keepVersions"]),
                                                    also_keep=(str(before),))
            except Exception as error:  # a housekeeping refusal must not fail a release that succeeded
                deployments.log(f"old versions of {props['functionName']} were not deleted: {error}")
        return {
            **self._inputs(props),
            "deploymentId": outcome.get("deploymentId") or "",
            "status": outcome.get("status") or "",
            "liveVersion": str(outcome.get("liveVersion") or props["targetVersion"]),
            "prunedVersions": pruned,
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        # On a stack's first deployment the alias was just created at the target: nothing to shift.
        outs = self._release(props)
        return CreateResult(id_=f"{props['functionName']}:{props['alias']}", outs=outs)

    @staticmethod
    def releases(olds: dict[str, Any], news: dict[str, Any]) -> bool:
        """Whether going from `olds` to `news` is a release (otherwise an update only records the news)."""
        return any(str(olds.get(key) or "") != str(news.get(key) or "") for key in RELEASE_INPUTS)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        inputs = {key for key in (*olds, *news) if key not in RELEASE_OUTPUTS and key != "__provider"}
        changed = [key for key in inputs if str(olds.get(key) or "") != str(news.get(key) or "")]
        # A provider pickled by value (by an earlier release of this program) is replaced by today's
        # reference, so that a refresh or destroy under another Python can load it.
        return DiffResult(changes=bool(changed) or not state_is_current(olds, news), replaces=[],
                          delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if not self.releases(olds, news):
            return UpdateResult(outs={**self._inputs(news), **{key: olds.get(key) for key in RELEASE_OUTPUTS}})
        return UpdateResult(outs=self._release(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # A refresh reports the version live now; the target stays what the program asked for. A function
        # (or alias) that is gone takes its releases with it: an empty id drops the resource from the state.
        try:
            live = self._deployments(props).live_version(props["functionName"], props["alias"])
        except Exception as error:
            if Deployments._error_code(error) == "ResourceNotFoundException":
                return ReadResult(id_="", outs={})
            raise explained(error, f"reading {props.get('functionName')}:{props.get('alias')}") from None
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
    stack: str = ""
    """The stack's name, for the operator commands a failure message names."""
    windows: tuple[dict[str, Any], ...] = ()
    """When a release may start (`{days, startHour, endHour}`, UTC); empty: any time."""
    outside_window: bool = False
    """Start a release although no window is open (one update's override)."""
    freeze_alarms: pulumi.Input[list[str]] | None = None
    """Alarms (the availability burn-rate composites) any of which in ALARM refuses a release."""
    ignore_error_budget: bool = False
    """Start a release despite the freeze (one update's override)."""


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
                "stack": args.stack or pulumi.get_stack(),
                # When a release may start: changing them never starts one (not in RELEASE_INPUTS).
                "windows": list(args.windows),
                "outsideWindow": args.outside_window,
                "freezeAlarms": args.freeze_alarms or [],
                "ignoreErrorBudget": args.ignore_error_budget,
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
