"""`CostAllocationTags`: activation of the budget's tag keys that never fails a deployment.

Billing refuses to activate a tag key it has not yet seen on a resource ("Tag keys not found"), and it
sees new keys only some hours after resources carry them (up to 24 hours, Billing and Cost Management
User Guide, "Activating user-defined cost allocation tags"). So a first `pulumi up` in a new account
cannot activate them, and `aws.costexplorer.CostAllocationTag`, which treats the refusal as an error,
failed that deployment.

This resource asks for activation and reports each key's status instead: `Active`, or `Pending` with
billing's reason. A pending key makes a later `pulumi up` ask again once the last request is
`RETRY_AFTER_HOURS` old (so previews in between show no change), until billing accepts; meanwhile the
budget and the anomaly monitor exist and filter on the keys, and count spend from the moment the keys are
active (AWS does not apply activation to earlier spend).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from components.dynamic import state_is_current, summaries_without_tracebacks

ACTIVE = "Active"
PENDING = "Pending"
# Billing sees a new key some hours after resources carry it (up to 24): asking more often than this
# changes nothing, and each ask would show as an update in every preview.
RETRY_AFTER_HOURS = 6


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CostAllocationTagsProvider(ResourceProvider):
    """Activates cost allocation tag keys; runs in Pulumi's dynamic-provider process, which imports this module."""

    serialize_as_secret_always = False
    # Cost Explorer's API has one endpoint, in us-east-1.
    region = "us-east-1"

    def __init__(self, client: Any = None, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self._client = client
        self._clock = clock

    def __getstate__(self) -> dict[str, Any]:
        # The state holds the class reference only: no client, no clock.
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._client = None
        self._clock = None

    def configure(self, req: Any) -> None:
        summaries_without_tracebacks()

    def _now(self) -> datetime:
        return (self._clock or _utc_now)()

    def _ce(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("ce", region_name=CostAllocationTagsProvider.region)
        return self._client

    def activate(self, keys: Sequence[str]) -> dict[str, dict[str, str]]:
        """Ask billing to activate `keys`; each key's status, Pending with billing's reason if refused."""
        from botocore.exceptions import ClientError

        try:
            response = self._ce().update_cost_allocation_tags_status(
                CostAllocationTagsStatus=[{"TagKey": key, "Status": "Active"} for key in keys]
            )
        except ClientError as error:
            # Refused as a whole (a member account of an organization, whose payer owns the setting; a
            # role without ce:UpdateCostAllocationTagsStatus): still not a reason to fail a deployment.
            details = error.response.get("Error", {})
            reason = ": ".join(part for part in (details.get("Code"), details.get("Message")) if part)
            return {key: {"status": PENDING, "reason": reason} for key in keys}
        # Refusals come back per key in `Errors`, not as an exception.
        refused = {e.get("TagKey"): ": ".join(part for part in (e.get("Code"), e.get("Message")) if part)
                   for e in response.get("Errors") or []}
        return {
            key: ({"status": PENDING, "reason": refused[key]} if key in refused else {"status": ACTIVE, "reason": ""})
            for key in keys
        }

    def statuses(self, keys: Sequence[str]) -> dict[str, dict[str, str]]:
        """What billing reports now, without changing anything (for refresh)."""
        found: dict[str, str] = {}
        pages = self._ce().get_paginator("list_cost_allocation_tags").paginate(TagKeys=list(keys), Type="UserDefined")
        for page in pages:
            for tag in page.get("CostAllocationTags") or []:
                found[tag["TagKey"]] = tag.get("Status", "")
        return {
            key: {"status": ACTIVE, "reason": ""} if found.get(key) == ACTIVE
            else {"status": PENDING, "reason": "inactive" if key in found else "not seen by billing yet"}
            for key in keys
        }

    @staticmethod
    def outputs(inputs: dict[str, Any], statuses: dict[str, dict[str, str]], asked_at: str) -> dict[str, Any]:
        pending = sorted(key for key, s in statuses.items() if s["status"] != ACTIVE)
        inputs = {key: value for key, value in inputs.items() if key == "tagKeys"}
        return {**inputs, "statuses": statuses, "pendingKeys": pending, "askedAt": asked_at}

    def _asked(self, keys: list[str], props: dict[str, Any]) -> dict[str, Any]:
        return self.outputs(props, self.activate(keys), self._now().isoformat(timespec="seconds"))

    def create(self, props: dict[str, Any]) -> CreateResult:
        keys = list(props["tagKeys"])
        return CreateResult(id_=",".join(keys), outs=self._asked(keys, props))

    # Refusals that waiting can end: billing has not seen the key yet. Others (a member account of an
    # organization, a role without the permission) stay until someone changes something, so they are not
    # asked again on their own, and a nightly drift check does not report them as a change.
    RETRYABLE = ("ValidationException", "Tag keys not found", "not seen by billing yet")

    def _due(self, olds: dict[str, Any]) -> bool:
        """Whether pending keys are due to be asked for again."""
        pending = list(olds.get("pendingKeys") or [])
        if not pending:
            return False
        statuses = olds.get("statuses") or {}
        reasons = [str((statuses.get(key) or {}).get("reason") or "") for key in pending]
        if statuses and not any(any(word in reason for word in self.RETRYABLE) for reason in reasons):
            return False
        try:
            asked = datetime.fromisoformat(str(olds.get("askedAt")))
        except ValueError:  # state from before askedAt was recorded
            return True
        return self._now() - asked >= timedelta(hours=RETRY_AFTER_HOURS)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = list(olds.get("tagKeys") or []) != list(news.get("tagKeys") or [])
        changed = changed or self._due(olds) or not state_is_current(olds, news)
        return DiffResult(changes=changed, replaces=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        keys = list(news["tagKeys"])
        if keys == list(olds.get("tagKeys") or []) and not self._due(olds):
            # Only the recorded provider changed: nothing to ask billing.
            return UpdateResult(outs=self.outputs(news, dict(olds.get("statuses") or {}),
                                                  str(olds.get("askedAt") or "")))
        return UpdateResult(outs=self._asked(keys, news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        keys = list(props.get("tagKeys") or [])
        return ReadResult(id_=id_, outs=self.outputs(props, self.statuses(keys), str(props.get("askedAt") or "")))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        # Account-level, and other stacks' budgets filter on the keys: destroying this stack leaves them on.
        return None

    @staticmethod
    def planned_outputs(inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """What create returns in an account whose billing has not seen the keys yet (a new account's
        first deployment), for the offline plan."""
        keys = list(inputs["tagKeys"])
        statuses = {key: {"status": PENDING, "reason": "ValidationException: Tag keys not found"} for key in keys}
        return ",".join(keys), CostAllocationTagsProvider.outputs(inputs, statuses, "")


class CostAllocationTags(Resource, module="prodready", name="CostAllocationTags"):
    """Activation of cost allocation tag keys (type `pulumi-python:dynamic/prodready:CostAllocationTags`)."""

    statuses: pulumi.Output[dict[str, Any]]

    def __init__(self, name: str, tag_keys: Sequence[str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(
            CostAllocationTagsProvider(),
            name,
            {"tagKeys": list(tag_keys), "statuses": None, "pendingKeys": None, "askedAt": None},
            opts,
        )

    # A dynamic resource's outputs are attributes named as its properties.
    @property
    def pending_keys(self) -> pulumi.Output[list[str]]:
        return self.__dict__["pendingKeys"]
