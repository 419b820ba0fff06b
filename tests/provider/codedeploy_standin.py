"""A stateful stand-in for CodeDeploy's Lambda deployments, served over its JSON protocol.

moto's CodeDeploy keeps every deployment in Created and never moves an alias, so a provider process
driven over gRPC cannot see a release end. This server answers the calls `Deployments` makes with the
shapes of botocore's model (checked by the client that parses them) and acts on the alias the way
CodeDeploy does, through the Lambda it is given (moto):

- `succeed`: the deployment ends Succeeded and the alias serves the AppSpec's TargetVersion;
- `stop-on-alarm`: it ends Stopped (ALARM_ACTIVE), and an automatic rollback deployment (creator
  codeDeployRollback) ends Succeeded with the alias left on CurrentVersion; `rollback_names` decides
  which versions that rollback's AppSpec names, since AWS does not document it;
- `expire-credentials`: once created, every call answers ExpiredTokenException (the caller's session
  ended) while the deployment goes on and ends as `then` says.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

TARGET_PREFIX = "CodeDeploy_20141006."


@dataclass
class CodeDeployStandIn:
    """One application's deployment group; `move_alias(function, alias, version)` shifts traffic."""

    move_alias: Callable[[str, str, str], None]
    outcome: str = "succeed"
    then: str = "succeed"
    rollback_names: str = "good-version"  # or "failed-revision"
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    expired: bool = False
    revisions: dict[str, str] = field(default_factory=dict)
    revision_reads: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _clock: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 3, 0, tzinfo=UTC))

    # -- the protocol

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        operation = request.headers.get("X-Amz-Target", "").removeprefix(TARGET_PREFIX)
        body = json.loads(request.get_data() or b"{}")
        if self.expired:
            answer, status = {"__type": "ExpiredTokenException",
                              "message": "The security token included in the request is expired"}, 400
        else:
            handler = getattr(self, f"op_{operation}", None)
            if handler is None:
                answer, status = {"__type": "UnknownOperationException", "message": operation}, 400
            else:
                try:
                    answer, status = handler(body), 200
                except KeyError as missing:
                    answer, status = {"__type": "DeploymentDoesNotExistException", "message": str(missing)}, 400
        return Response(json.dumps(answer, default=_epoch), status=status,
                        content_type="application/x-amz-json-1.1")(environ, start_response)

    def op_ListDeployments(self, body: dict[str, Any]) -> dict[str, Any]:
        statuses = body.get("includeOnlyStatuses") or []
        return {"deployments": [deployment_id for deployment_id, info in self.deployments.items()
                                if not statuses or info["status"] in statuses]}

    def op_GetDeployment(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"deploymentInfo": self._as_answered(self.deployments[body["deploymentId"]])}

    def op_BatchGetDeployments(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"deploymentsInfo": [self._as_answered(self.deployments[d]) for d in body["deploymentIds"]
                                    if d in self.deployments]}

    def op_GetApplicationRevision(self, body: dict[str, Any]) -> dict[str, Any]:
        sha = body["revision"]["appSpecContent"]["sha256"]
        self.revision_reads += 1
        return {"applicationName": body["applicationName"],
                "revision": {"revisionType": "AppSpecContent",
                             "appSpecContent": {"content": self.revisions[sha], "sha256": sha}}}

    def _as_answered(self, info: dict[str, Any]) -> dict[str, Any]:
        """A deployment as GetDeployment answers it: "The content property of the appSpecContent object in the
        returned revision is always null" (CodeDeploy API reference); the content is kept by its hash."""
        holder = info["revision"]["appSpecContent"]
        self.revisions[holder["sha256"]] = holder["content"]
        return {**info, "revision": {**info["revision"], "appSpecContent": {"sha256": holder["sha256"]}}}

    def op_GetDeploymentGroup(self, body: dict[str, Any]) -> dict[str, Any]:
        ended = sorted((i for i in self.deployments.values() if i["status"] in ("Succeeded", "Failed", "Stopped")),
                       key=lambda i: i["createTime"])
        info: dict[str, Any] = {
            "applicationName": body["applicationName"], "deploymentGroupName": body["deploymentGroupName"],
            "alarmConfiguration": {"enabled": True, "alarms": []}, "computePlatform": "Lambda",
        }
        if ended:
            last = ended[-1]
            info["lastAttemptedDeployment"] = {"deploymentId": last["deploymentId"], "status": last["status"]}
        return {"deploymentGroupInfo": info}

    def op_ListDeploymentTargets(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"targetIds": []}

    def op_StopDeployment(self, body: dict[str, Any]) -> dict[str, Any]:
        info = self.deployments[body["deploymentId"]]
        info["status"] = "Stopped"
        return {"status": "Succeeded", "statusMessage": "stopped"}

    def op_CreateDeployment(self, body: dict[str, Any]) -> dict[str, Any]:
        self.created.append(body)
        spec = json.loads(body["revision"]["appSpecContent"]["content"])
        props = next(iter(spec["Resources"][0].values()))["Properties"]
        info = self._deployment(body, props["CurrentVersion"], props["TargetVersion"], body["revision"])
        if self.outcome == "expire-credentials":
            info["status"] = "InProgress"
            self.expired = True
            return {"deploymentId": info["deploymentId"]}
        self.end(info["deploymentId"], self.outcome)
        return {"deploymentId": info["deploymentId"]}

    # -- what CodeDeploy does

    def end(self, deployment_id: str, how: str) -> None:
        """End a deployment as `how` says, moving the alias as CodeDeploy would."""
        info = self.deployments[deployment_id]
        spec = json.loads(info["revision"]["appSpecContent"]["content"])
        props = next(iter(spec["Resources"][0].values()))["Properties"]
        info["completeTime"] = self._tick()
        if how == "succeed":
            self.move_alias(props["Name"], props["Alias"], props["TargetVersion"])
            info["status"] = "Succeeded"
            return
        info["status"] = "Stopped"
        info["errorInformation"] = {"code": "ALARM_ACTIVE", "message": "One or more alarms have been activated"}
        current, target = props["CurrentVersion"], props["TargetVersion"]
        names = (target, current) if self.rollback_names == "good-version" else (current, target)
        rollback_spec = json.dumps({"version": 0.0, "Resources": [{props["Name"]: {
            "Type": "AWS::Lambda::Function",
            "Properties": {**props, "CurrentVersion": names[0], "TargetVersion": names[1]}}}]})
        rollback = self._deployment({"applicationName": info["applicationName"],
                                     "deploymentGroupName": info["deploymentGroupName"]},
                                    names[0], names[1],
                                    {"revisionType": "AppSpecContent",
                                     "appSpecContent": {"content": rollback_spec, "sha256": _sha256(rollback_spec)}},
                                    creator="codeDeployRollback")
        rollback.update(status="Succeeded", completeTime=self._tick(),
                        rollbackInfo={"rollbackTriggeringDeploymentId": deployment_id})
        info["rollbackInfo"] = {"rollbackDeploymentId": rollback["deploymentId"],
                                "rollbackMessage": f"Deployment rolled back by {rollback['deploymentId']}"}
        self.move_alias(props["Name"], props["Alias"], current)

    def restore_credentials(self) -> None:
        """A new `pulumi up` with fresh credentials; meanwhile the deployment ended as `then` says."""
        self.expired = False
        for deployment_id, info in list(self.deployments.items()):
            if info["status"] == "InProgress":
                self.end(deployment_id, self.then)

    def _tick(self) -> datetime:
        self._clock += timedelta(minutes=1)
        return self._clock

    def _deployment(self, body: dict[str, Any], current: str, target: str, revision: dict[str, Any],
                    creator: str = "user") -> dict[str, Any]:
        deployment_id = f"d-STANDIN{next(self._ids):02d}"
        info = {
            "applicationName": body["applicationName"], "deploymentGroupName": body["deploymentGroupName"],
            "deploymentId": deployment_id, "status": "Created", "creator": creator,
            "createTime": self._tick(), "revision": revision, "computePlatform": "Lambda",
            "description": body.get("description", ""),
        }
        self.deployments[deployment_id] = info
        return info


def _sha256(content: str) -> str:
    import hashlib

    return hashlib.sha256(content.encode()).hexdigest()


def _epoch(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()  # the JSON protocol's timestamps
    raise TypeError(value)


class Served:
    """The stand-in on a loopback port, in a thread."""

    def __init__(self, app: CodeDeployStandIn) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
