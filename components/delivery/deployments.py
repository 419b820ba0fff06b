"""Releases of the API function through CodeDeploy: start one, watch it, explain it, stop it, undo it.

The live alias moves only by CodeDeploy deployments of the stack's deployment group, so that the
pre-traffic hook, the traffic shifting and the release alarms apply to every change of what serves
traffic. `Deployments` drives those deployments; the release resource calls it inside `pulumi up`
and `python -m tools.release` is the operator's way to it.

The release resource is a dynamic provider: the engine runs it in a process of its own, which imports
this module (the state holds a reference to the provider class, see `components.dynamic`). boto3 and
botocore are imported where used, so that a process that never calls AWS does not pay for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from components.delivery.windows import Window, freeze_refusal, window_refusal


class ReleaseFailed(RuntimeError):
    """A release did not bring the target version live, or was refused before it started.

    The message says why, for a person; `detail` holds the same facts as a dict (the fields of
    `Deployments.status`), for a program.
    """

    def __init__(self, message: str, detail: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.detail: dict[str, Any] = dict(detail or {})

    def __reduce__(self) -> tuple[Any, ...]:
        # The default reduction would call __init__ with the message only and lose the detail.
        return (type(self), (str(self), self.detail))


class Deployments:
    """CodeDeploy (compute platform Lambda) deployments of one function alias, in one region.

    `clients` maps "codedeploy", "lambda" and "cloudwatch" to boto3 clients (tests inject stubbed
    or moto-backed ones); missing ones are created on first use. `sleep` and `clock` (seconds,
    monotonic) are injectable so that waiting can be simulated; `log` receives progress lines and
    defaults to standard error.
    """

    # CodeDeploy's DeploymentStatus values (botocore model), split by whether they can still change.
    IN_PROGRESS = ("Created", "Queued", "InProgress", "Baking", "Ready")
    TERMINAL = ("Succeeded", "Failed", "Stopped")
    # After a deployment fails or is stopped, CodeDeploy rolls back with a deployment of its own;
    # the report waits this long for both to end so that "live now" is what serves traffic.
    SETTLE_SECONDS = 300.0
    ALARM_TYPES = ("MetricAlarm", "CompositeAlarm")
    DESCRIBE_ALARMS_BATCH = 100  # DescribeAlarms takes at most 100 AlarmNames
    TARGETS_BATCH = 25  # BatchGetDeploymentTargets returns at most 25 targets
    # Creators of the deployments CodeDeploy (or CloudFormation) makes to undo another (botocore model,
    # DeploymentCreator): they are not releases of their target.
    ROLLBACK_CREATORS = ("codeDeployRollback", "CloudFormationRollback")
    BATCH_GET_DEPLOYMENTS = 25  # BatchGetDeployments takes at most 25 ids
    # What AWS answers when the caller's temporary credentials ran out (STS session, SSO, OIDC role).
    EXPIRED_CREDENTIALS = ("ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired")
    # Lambda function states (GetFunctionConfiguration State) a version can be invoked in.
    READY_STATE = "Active"

    def __init__(
        self,
        region: str,
        *,
        clients: Mapping[str, Any] | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        log: Callable[[str], None] | None = None,
        stack: str = "",
    ) -> None:
        self.region = region
        self.stack = stack
        self._clients: dict[str, Any] = dict(clients or {})
        # AppSpec contents by their sha256: a revision never changes, and CodeDeploy answers deployments
        # without theirs (see _spec_of).
        self._app_specs: dict[str, str] = {}
        self._sleep = sleep
        self._clock = clock
        self._log_line = log

    # -- plumbing

    def release_gate(
        self, windows: Sequence[Window] = (), *, outside_window: bool = False, freeze_alarms: Sequence[str] = (),
        ignore_freeze: bool = False, now: Callable[[], datetime] | None = None,
    ) -> Callable[[], str | None]:
        """What `release` asks before it deploys: the change windows at this moment (`now`, the wall clock
        by default), then the error-budget freeze (the availability burn-rate alarms in ALARM now, read with
        DescribeAlarms)."""

        def gate() -> str | None:
            moment = now() if now is not None else datetime.now(UTC)
            refusal = window_refusal(windows, moment, outside_window)
            if refusal or not freeze_alarms or ignore_freeze:
                return refusal
            # A handful of composites (one per burn-rate row): one call, under DescribeAlarms' 100 names.
            page = self.client("cloudwatch").describe_alarms(
                AlarmNames=list(freeze_alarms)[:100], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
            burning = [alarm["AlarmName"] for alarm in (*page.get("MetricAlarms", []), *page.get("CompositeAlarms", []))
                       if alarm.get("StateValue") == "ALARM"]
            return freeze_refusal(sorted(burning))

        return gate

    def command(self, verb: str) -> str:
        """The operator's command for this stack (`status`, `stop`, `rollback`)."""
        return f"python -m tools.release {verb} --stack {self.stack or '<stack>'}"

    @classmethod
    def credentials_expired(cls, error: BaseException) -> bool:
        """Whether `error` says the caller's AWS credentials ran out (or can no longer be refreshed)."""
        if cls._error_code(error) in cls.EXPIRED_CREDENTIALS:
            return True
        # botocore raises these without a service answer when a refresh of the credentials fails.
        return type(error).__name__ in ("NoCredentialsError", "TokenRetrievalError", "CredentialRetrievalError",
                                         "UnauthorizedSSOTokenError", "SSOTokenLoadError")

    def client(self, service: str) -> Any:
        """The boto3 client for `service` ("codedeploy", "lambda" or "cloudwatch") in this region."""
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.client(service, region_name=self.region)
        return self._clients[service]

    def _now(self) -> float:
        if self._clock is not None:
            return self._clock()
        import time

        return time.monotonic()

    def _pause(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._sleep is not None:
            self._sleep(seconds)
            return
        import time

        time.sleep(seconds)

    def log(self, line: str) -> None:
        """Send one progress line to the injected `log`, or to standard error."""
        if self._log_line is not None:
            self._log_line(line)
            return
        import sys

        print(line, file=sys.stderr, flush=True)

    @staticmethod
    def _error_code(error: BaseException) -> str:
        response = getattr(error, "response", None) or {}
        return str(response.get("Error", {}).get("Code", ""))

    @staticmethod
    def _when(value: Any) -> str:
        return value.isoformat() if hasattr(value, "isoformat") else str(value or "")

    # -- the alias

    def alias_routing(self, function: str, alias: str) -> dict[str, Any]:
        """What the alias routes to: {"version": "3", "weights": {"4": 0.1}} while traffic shifts.

        `weights` holds the alias's additional versions and the share of traffic each gets (0..1);
        the rest goes to `version`. It is empty when one version serves everything.
        """
        described = self.client("lambda").get_alias(FunctionName=function, Name=alias)
        weights = (described.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        return {"version": str(described["FunctionVersion"]), "weights": {str(k): float(v) for k, v in weights.items()}}

    def live_version(self, function: str, alias: str) -> str:
        """The version the alias points at (the one taking all traffic unless it is weighted)."""
        return str(self.alias_routing(function, alias)["version"])

    def prune_versions(self, function: str, keep: int, also_keep: tuple[str, ...] = ()) -> list[str]:
        """Delete published versions of `function` beyond the `keep` newest, except any an alias points
        at (or weights) and those in `also_keep`: each version is stored, and with SnapStart its snapshot
        is billed while it exists. The newest ones stay for a rollback; so does `also_keep`, the version a
        release replaced, which is the rollback target even when failed versions are newer. Returns the
        versions deleted."""
        lam = self.client("lambda")
        versions: list[int] = []
        for page in lam.get_paginator("list_versions_by_function").paginate(FunctionName=function):
            versions += [int(v["Version"]) for v in page.get("Versions", []) if str(v.get("Version")).isdigit()]
        referenced: set[int] = {int(v) for v in also_keep if str(v).isdigit()}
        for page in lam.get_paginator("list_aliases").paginate(FunctionName=function):
            for alias in page.get("Aliases", []):
                weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
                used = [str(alias.get("FunctionVersion")), *map(str, weights)]
                referenced |= {int(v) for v in used if v.isdigit()}
        newest = set(sorted(versions)[-keep:]) if keep > 0 else set()
        deleted = []
        for version in sorted(set(versions) - newest - referenced):
            lam.delete_function(FunctionName=function, Qualifier=str(version))
            deleted.append(str(version))
        if deleted:
            self.log(f"{function}: deleted versions {', '.join(deleted)} (keeping the {keep} newest and any an alias "
                     f"uses)")
        return deleted

    @staticmethod
    def traffic(routing: Mapping[str, Any]) -> str:
        """A routing (from `alias_routing`) for people: "version 4" or "version 3 90%, version 4 10%"."""
        weights = routing.get("weights") or {}
        if not weights:
            return f"version {routing.get('version')}"
        shares = [(routing.get("version"), 1.0 - sum(weights.values())), *sorted(weights.items())]
        return ", ".join(f"version {version} {round(share * 100, 1):g}%" for version, share in shares)

    # -- the AppSpec

    @staticmethod
    def app_spec(
        function: str, alias: str, current: str, target: str, hook: str | None, after_hook: str | None = None
    ) -> str:
        """The AppSpec (JSON) that shifts `alias` of `function` from `current` to `target`.

        With a `hook`, CodeDeploy invokes that function as BeforeAllowTraffic before any traffic
        moves; with an `after_hook`, as AfterAllowTraffic once all traffic has moved. Either fails the
        deployment (and so rolls it back) unless it reports Succeeded.
        """
        import json

        for name, version in (("current", current), ("target", target)):
            if not str(version).isdigit():
                # CodeDeploy shifts between published versions only ($LATEST cannot be one).
                raise ValueError(f"the {name} version must be a published version number, got {version!r}")
        spec: dict[str, Any] = {
            "version": 0.0,
            "Resources": [
                {
                    function: {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Name": function,
                            "Alias": alias,
                            "CurrentVersion": str(current),
                            "TargetVersion": str(target),
                        },
                    }
                }
            ],
        }
        hooks = [{event: name} for event, name in (("BeforeAllowTraffic", hook), ("AfterAllowTraffic", after_hook))
                 if name]
        if hooks:
            spec["Hooks"] = hooks
        return json.dumps(spec, indent=2)

    @staticmethod
    def sha256(content: str) -> str:
        """The hex SHA-256 of an AppSpec, as CreateDeployment's appSpecContent.sha256 takes it."""
        import hashlib

        return hashlib.sha256(content.encode("utf-8")).hexdigest()

    @staticmethod
    def parse_app_spec(content: str) -> dict[str, Any]:
        """The function, alias, versions and hooks of a Lambda AppSpec (JSON, or YAML if PyYAML is there).

        Returns {"function", "alias", "current", "target", "hooks": {event: function}}; values it
        cannot find are "" (the AppSpec of a deployment made elsewhere may be shaped differently).
        """
        import json

        try:
            spec = json.loads(content)
        except ValueError:
            try:
                import yaml

                spec = yaml.safe_load(content)
            except Exception:  # unreadable is an answer here ("" everywhere), not an error
                spec = None
        parsed: dict[str, Any] = {"function": "", "alias": "", "current": "", "target": "", "hooks": {}}
        if not isinstance(spec, dict):
            return parsed
        for resource in spec.get("Resources") or []:
            for entry in (resource or {}).values() if isinstance(resource, dict) else []:
                properties = (entry or {}).get("Properties") or {}
                if entry.get("Type") == "AWS::Lambda::Function":
                    parsed.update(
                        function=str(properties.get("Name", "")),
                        alias=str(properties.get("Alias", "")),
                        current=str(properties.get("CurrentVersion", "")),
                        target=str(properties.get("TargetVersion", "")),
                    )
        for hook in spec.get("Hooks") or []:
            if isinstance(hook, dict):
                parsed["hooks"].update({str(k): str(v) for k, v in hook.items()})
        return parsed

    def _spec_of(self, info: Mapping[str, Any]) -> dict[str, Any]:
        """The AppSpec of a deployment (GetDeployment's or BatchGetDeployments' deploymentInfo), parsed.

        CodeDeploy returns a deployment's revision without its content: "The content property of the
        appSpecContent object in the returned revision is always null. Use GetApplicationRevision and the
        sha256 property of the returned appSpecContent object" (CodeDeploy API reference, GetDeployment).
        So the content is fetched by its hash, once per revision.
        """
        revision = info.get("revision") or {}
        holder = revision.get("appSpecContent") or revision.get("string") or {}
        content = holder.get("content")
        if not content and holder.get("sha256") and info.get("applicationName"):
            content = self._app_spec_content(str(info["applicationName"]), str(revision.get("revisionType")),
                                             str(holder["sha256"]))
        return self.parse_app_spec(content) if content else self.parse_app_spec("")

    def _app_spec_content(self, application: str, revision_type: str, sha256: str) -> str:
        cache = self._app_specs
        if sha256 not in cache:
            key = "string" if revision_type == "String" else "appSpecContent"
            answer = self.client("codedeploy").get_application_revision(
                applicationName=application,
                revision={"revisionType": revision_type or "AppSpecContent", key: {"sha256": sha256}},
            )
            cache[sha256] = str(((answer.get("revision") or {}).get(key) or {}).get("content") or "")
        return cache[sha256]

    # -- CodeDeploy reads

    def in_progress(self, application: str, group: str) -> list[str]:
        """Ids of the group's deployments that have not ended (CodeDeploy runs one at a time)."""
        return self._deployment_ids(application, group, self.IN_PROGRESS)

    def _deployment_ids(self, application: str, group: str, statuses: tuple[str, ...]) -> list[str]:
        codedeploy = self.client("codedeploy")
        ids: list[str] = []
        token = None
        while True:
            page = codedeploy.list_deployments(
                applicationName=application,
                deploymentGroupName=group,
                includeOnlyStatuses=list(statuses),
                **({"nextToken": token} if token else {}),
            )
            ids += page.get("deployments", [])
            token = page.get("nextToken")
            if not token:
                return ids

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        """GetDeployment's deploymentInfo."""
        return dict(self.client("codedeploy").get_deployment(deploymentId=deployment_id)["deploymentInfo"])

    def failed_phase(self, deployment_id: str) -> dict[str, Any] | None:
        """The first lifecycle event (BeforeAllowTraffic, AllowTraffic, ...) that failed, with its diagnostics."""
        from botocore.exceptions import ClientError

        codedeploy = self.client("codedeploy")
        try:
            target_ids: list[str] = []
            token = None
            while True:
                page = codedeploy.list_deployment_targets(
                    deploymentId=deployment_id, **({"nextToken": token} if token else {})
                )
                target_ids += page.get("targetIds", [])
                token = page.get("nextToken")
                if not token:
                    break
            targets: list[dict[str, Any]] = []
            for start in range(0, len(target_ids), self.TARGETS_BATCH):
                batch = target_ids[start : start + self.TARGETS_BATCH]
                described = codedeploy.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=batch)
                targets += described.get("deploymentTargets", [])
        except ClientError as error:
            # A deployment that never started has no targets (DeploymentNotStartedException).
            return {"name": "", "status": "", "errorCode": "", "message": f"no lifecycle events: {error}"}
        for target in targets:
            for event in (target.get("lambdaTarget") or {}).get("lifecycleEvents", []):
                if event.get("status") == "Failed":
                    diagnostics = event.get("diagnostics") or {}
                    return {
                        "name": event.get("lifecycleEventName", ""),
                        "status": "Failed",
                        "errorCode": diagnostics.get("errorCode", ""),
                        "message": diagnostics.get("message", ""),
                    }
        return None

    def alarms(self, application: str, group: str) -> dict[str, Any]:
        """The group's alarms: {"enabled", "watched": [names], "inAlarm": [names in ALARM now]}."""
        codedeploy = self.client("codedeploy")
        described = codedeploy.get_deployment_group(applicationName=application, deploymentGroupName=group)
        configuration = described["deploymentGroupInfo"].get("alarmConfiguration") or {}
        names = [alarm["name"] for alarm in configuration.get("alarms", []) if alarm.get("name")]
        in_alarm: list[str] = []
        cloudwatch = self.client("cloudwatch")
        for start in range(0, len(names), self.DESCRIBE_ALARMS_BATCH):
            batch = names[start : start + self.DESCRIBE_ALARMS_BATCH]
            token = None
            while True:
                page = cloudwatch.describe_alarms(
                    AlarmNames=batch,
                    # Without AlarmTypes, DescribeAlarms returns metric alarms only.
                    AlarmTypes=list(self.ALARM_TYPES),
                    StateValue="ALARM",
                    **({"NextToken": token} if token else {}),
                )
                for kind in ("MetricAlarms", "CompositeAlarms"):
                    # The state is checked again: the filter is the service's, the claim is ours.
                    in_alarm += [a["AlarmName"] for a in page.get(kind, []) if a.get("StateValue") == "ALARM"]
                token = page.get("NextToken")
                if not token:
                    break
        return {"enabled": bool(configuration.get("enabled")), "watched": names, "inAlarm": sorted(set(in_alarm))}

    def _rollback_of(self, info: Mapping[str, Any]) -> dict[str, Any] | None:
        rollback = info.get("rollbackInfo") or {}
        rollback_id = rollback.get("rollbackDeploymentId")
        if not rollback_id and not rollback.get("rollbackMessage"):
            return None
        status = self.deployment(rollback_id)["status"] if rollback_id else ""
        return {"deploymentId": rollback_id or "", "status": status, "message": rollback.get("rollbackMessage", "")}

    def describe(
        self, info: Mapping[str, Any], application: str, group: str, function: str, alias: str
    ) -> dict[str, Any]:
        """Everything an operator needs about one deployment (GetDeployment's deploymentInfo).

        Keys: deploymentId, status, creator, description, createTime, completeTime, currentVersion,
        targetVersion, hook, error {code, message} or None, failedPhase {name, errorCode, message}
        or None, alarms {enabled, watched, inAlarm}, rollback {deploymentId, status, message} or
        None, rolledBack, rollbackOf (the deployment a rollback deployment undid) or "",
        liveVersion, routing.
        """
        spec = self._spec_of(info)
        error = info.get("errorInformation") or {}
        status = str(info.get("status", ""))
        failed = status in ("Failed", "Stopped")
        rollback = self._rollback_of(info) if failed else None
        routing = self.alias_routing(function, alias)
        return {
            "deploymentId": info.get("deploymentId", ""),
            "status": status,
            "creator": info.get("creator", ""),
            "description": info.get("description", ""),
            "createTime": self._when(info.get("createTime")),
            "completeTime": self._when(info.get("completeTime")),
            "currentVersion": spec["current"],
            "targetVersion": spec["target"],
            "hook": spec["hooks"].get("BeforeAllowTraffic", ""),
            "afterHook": spec["hooks"].get("AfterAllowTraffic", ""),
            "error": {"code": error.get("code", ""), "message": error.get("message", "")} if error else None,
            "failedPhase": self.failed_phase(str(info["deploymentId"])) if failed else None,
            "alarms": self.alarms(application, group),
            "rollback": rollback,
            "rolledBack": bool(rollback and rollback["status"] == "Succeeded"),
            "rollbackOf": (info.get("rollbackInfo") or {}).get("rollbackTriggeringDeploymentId", ""),
            "liveVersion": routing["version"],
            "routing": routing,
        }

    @classmethod
    def summary(cls, detail: Mapping[str, Any]) -> list[str]:
        """`describe`'s detail as lines for people: what ran, why it failed, what serves traffic now."""
        lines: list[str] = []
        if detail.get("deploymentId"):
            versions = ""
            if detail.get("currentVersion") or detail.get("targetVersion"):
                versions = f": version {detail.get('currentVersion') or '?'} -> {detail.get('targetVersion') or '?'}"
            by = f" by {detail['creator']}" if detail.get("creator") else ""
            lines.append(f"deployment {detail['deploymentId']} {detail.get('status')}{versions} (created{by} "
                         f"{detail.get('createTime') or '?'})")
        if detail.get("rollbackOf"):
            lines.append(f"  this deployment rolled back {detail['rollbackOf']}")
        error = detail.get("error")
        if error and (error.get("code") or error.get("message")):
            lines.append(f"  error: {error.get('code')}: {error.get('message')}")
        phase = detail.get("failedPhase")
        if phase:
            code = f"{phase.get('errorCode')}: " if phase.get("errorCode") else ""
            name = phase.get("name") or "(unknown)"
            lines.append(f"  failed phase: {name} ({code}{phase.get('message') or 'no diagnostics'})")
        alarms = detail.get("alarms")
        if alarms is not None:
            watched = alarms.get("watched") or []
            if not watched:
                lines.append("  alarms: the deployment group watches none")
            elif alarms.get("inAlarm"):
                lines.append(f"  alarms in ALARM: {', '.join(alarms['inAlarm'])} (of {len(watched)} watched)")
            else:
                lines.append(f"  alarms in ALARM: none (of {len(watched)} watched)")
            if watched and not alarms.get("enabled"):
                lines.append("  note: the group's alarm configuration is disabled; alarms do not stop deployments")
        if detail.get("status") in ("Failed", "Stopped"):
            rollback = detail.get("rollback")
            if detail.get("rolledBack"):
                # A detail read back (a stored output, --json) may say so without the rollback's record.
                by = f", by deployment {rollback['deploymentId']} (Succeeded)" if rollback else ""
                lines.append(f"  rolled back: yes{by}")
            elif rollback and rollback.get("deploymentId"):
                lines.append(f"  rolled back: not yet, deployment {rollback['deploymentId']} is {rollback['status']}"
                             + (f" ({rollback['message']})" if rollback.get("message") else ""))
            elif rollback:
                lines.append(f"  rolled back: no ({rollback.get('message')})")
            else:
                lines.append("  rolled back: no rollback recorded")
        if detail.get("routing"):
            lines.append(f"  live now: {cls.traffic(detail['routing'])}")
        return lines

    # -- waiting

    def _watch(
        self, deployment_id: str, function: str, alias: str, deadline: float, poll_seconds: float
    ) -> dict[str, Any]:
        """Poll a deployment until it ends or `deadline` passes; logs status and traffic changes."""
        status = None
        traffic = None
        while True:
            info = self.deployment(deployment_id)
            if info["status"] != status:
                status = info["status"]
                self.log(f"deployment {deployment_id}: {status}")
            if status in self.TERMINAL:
                return info
            shifted = self.traffic(self.alias_routing(function, alias))
            if shifted != traffic:
                if traffic is not None or "%" in shifted:
                    self.log(f"deployment {deployment_id}: traffic {shifted}")
                traffic = shifted
            remaining = deadline - self._now()
            if remaining <= 0:
                return info
            self._pause(min(poll_seconds, remaining))

    def _settle(self, info: dict[str, Any], function: str, alias: str, poll_seconds: float) -> dict[str, Any]:
        """Wait (a bounded time) for a failed or stopped deployment, then for its rollback, to end."""
        deployment_id = str(info["deploymentId"])
        until = self._now() + self.SETTLE_SECONDS
        if info["status"] not in self.TERMINAL:
            info = self._watch(deployment_id, function, alias, until, poll_seconds)
        rollback_id = (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
        if info["status"] in self.TERMINAL and rollback_id:
            self.log(f"deployment {deployment_id}: rolling back with deployment {rollback_id}")
            self._watch(rollback_id, function, alias, until, poll_seconds)
            info = self.deployment(deployment_id)  # its rollbackInfo message is final now
        return info

    def _stop(self, deployment_id: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            stopped = self.client("codedeploy").stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
        except ClientError as error:
            if self._error_code(error) != "DeploymentAlreadyCompletedException":
                raise
            return {"stopStatus": "AlreadyCompleted", "message": str(error)}
        return {"stopStatus": stopped.get("status", ""), "message": stopped.get("statusMessage", "")}

    def _failure(
        self, headline: str, info: Mapping[str, Any], application: str, group: str, function: str, alias: str
    ) -> ReleaseFailed:
        detail = self.describe(info, application, group, function, alias)
        return ReleaseFailed("\n".join([headline, *self.summary(detail)]), detail)

    # -- operations

    def release(
        self,
        application: str,
        group: str,
        function: str,
        alias: str,
        target_version: str,
        hook_function: str | None,
        description: str,
        timeout_seconds: float,
        poll_seconds: float = 10,
        *,
        deployment_config: str | None = None,
        watch_alarms: bool = True,
        retry_failed: bool = False,
        after_hook_function: str | None = None,
        gate: Callable[[], str | None] | None = None,
    ) -> dict[str, Any]:
        """Make `target_version` the live version of `alias` through a deployment of `group`.

        Returns {"deploymentId", "status", "liveVersion"}: status "Succeeded" once the deployment
        shifted all traffic, or when the alias already serves `target_version` because a deployment of
        the group made it so (one an earlier, interrupted run started: its id is returned, so nothing
        is reported as unchanged that changed); "Unchanged" (and no id) when it serves it otherwise. A
        deployment of the group already under way is waited for first (it may be an
        automatic rollback, or the same release from an interrupted run); if it outlasts the
        timeout, this fails naming it, and leaves it alone, since it is not ours to stop.

        Raises ReleaseFailed when the deployment fails or is stopped (the message names the error,
        the lifecycle phase that failed, the alarms in ALARM, the rollback and the version live
        now), and when it outlasts `timeout_seconds`: it is then stopped with rollback first.
        `deployment_config` overrides the group's traffic shifting for this deployment only;
        `watch_alarms=False` turns the group's alarm polling off for it (overrideAlarmConfiguration),
        for a return to a known-good version while the alarms the bad one tripped are still in ALARM.

        A version whose last release through the group failed or was stopped is not deployed again
        (ReleaseFailed, "Refused") unless `retry_failed`: a failed update keeps the previous target
        in Pulumi's state, so every later `pulumi up`, even one that changes nothing else, would
        otherwise send the same bad version to a canary again.

        `gate` is asked just before a deployment would start (never when the alias already serves the
        target): a reason it returns refuses the release (ReleaseFailed, "Refused"), nothing deployed.
        """
        from botocore.exceptions import ClientError

        target = str(target_version)
        deadline = self._now() + timeout_seconds
        while True:
            routing = self.alias_routing(function, alias)
            if routing["version"] == target and not routing["weights"]:
                return self._already_live(application, group, function, alias, target)
            running = self.in_progress(application, group)
            if running:
                other = running[0]
                self.log(f"deployment {other} of {application}/{group} is in progress; waiting for it to end first")
                info = self._watch(other, function, alias, deadline, poll_seconds)
                if info["status"] not in self.TERMINAL:
                    raise self._failure(
                        f"version {target} was not deployed: deployment {other} of {application}/{group} is still "
                        f"{info['status']} after {timeout_seconds:g}s. Wait for it, or stop it (it rolls back) with "
                        f"`{self.command('stop')}`, then run again.",
                        info, application, group, function, alias,
                    )
                continue  # it may have moved the alias: look again
            if routing["weights"]:
                # CodeDeploy refuses to deploy an alias that splits traffic (a deployment stopped
                # without rollback leaves it so); which version should win is a person's call.
                raise ReleaseFailed(
                    f"version {target} was not deployed: {function}:{alias} splits traffic "
                    f"({self.traffic(routing)}) and no deployment is in progress. Point the alias at one "
                    f"version (aws lambda update-alias --function-name {function} --name {alias} "
                    f"--function-version {routing['version']} --routing-config AdditionalVersionWeights={{}}), "
                    f"then run again.",
                    {"status": "Refused", "liveVersion": routing["version"], "routing": routing},
                )
            if not retry_failed:
                self._refuse_a_failed_version(application, group, function, target, routing["version"])
            reason = gate() if gate is not None else None
            if reason:
                raise ReleaseFailed(f"version {target} of {function} was not deployed: {reason}",
                                    {"status": "Refused", "liveVersion": routing["version"]})
            self._ready(function, target, routing["version"], deadline, poll_seconds)
            content = self.app_spec(function, alias, routing["version"], target, hook_function, after_hook_function)
            try:
                created = self.client("codedeploy").create_deployment(
                    applicationName=application,
                    deploymentGroupName=group,
                    revision={
                        "revisionType": "AppSpecContent",
                        "appSpecContent": {"content": content, "sha256": self.sha256(content)},
                    },
                    description=description,
                    **({"deploymentConfigName": deployment_config} if deployment_config else {}),
                    **({} if watch_alarms else {"overrideAlarmConfiguration": {"enabled": False}}),
                )
            except ClientError as error:
                # Another deployment started between the look and the create: wait for it.
                if self._error_code(error) != "DeploymentLimitExceededException" or self._now() >= deadline:
                    raise
                self._pause(min(poll_seconds, deadline - self._now()))
                continue
            break

        deployment_id = created["deploymentId"]
        hooked = f", pre-traffic hook {hook_function}" if hook_function else ", no pre-traffic hook"
        if after_hook_function:
            hooked += f", post-traffic hook {after_hook_function}"
        self.log(f"deployment {deployment_id}: {function}:{alias} version {routing['version']} -> {target}{hooked}")
        try:
            return self._conclude(deployment_id, application, group, function, alias, target, deadline,
                                  timeout_seconds, poll_seconds)
        except ReleaseFailed:
            raise
        except Exception as error:
            if not self.credentials_expired(error):
                raise
            raise ReleaseFailed(
                f"deployment {deployment_id} of version {target} was started, then `pulumi up` lost its AWS "
                f"credentials while waiting for it ({self._error_code(error) or type(error).__name__}). CodeDeploy "
                f"carries on without it: `{self.command('status')}` shows how it ends. The next `pulumi up` takes up "
                f"its outcome: it records version {target} as live if the deployment succeeded, and fails naming "
                f"it if it was rolled back. A release must fit in the deploy credentials' lifetime: see "
                f"delivery.maxReleaseMinutes.",
                {"status": "Unknown", "deploymentId": deployment_id, "liveVersion": routing["version"]},
            ) from None

    def _conclude(
        self, deployment_id: str, application: str, group: str, function: str, alias: str, target: str,
        deadline: float, timeout_seconds: float, poll_seconds: float,
    ) -> dict[str, Any]:
        """Wait for our deployment to end and say how: its result, or ReleaseFailed with the story."""
        info = self._watch(deployment_id, function, alias, deadline, poll_seconds)
        headline = f"deployment {deployment_id} of version {target} {info['status']}"
        if info["status"] not in self.TERMINAL:
            self.log(f"deployment {deployment_id}: not done after {timeout_seconds:g}s; stopping it with rollback")
            stopped = self._stop(deployment_id)
            info = self._settle(info, function, alias, poll_seconds)
            headline = (f"deployment {deployment_id} of version {target} timed out after {timeout_seconds:g}s and "
                        f"was stopped with rollback (stop: {stopped['stopStatus']}); it is {info['status']} now")
        elif info["status"] != "Succeeded":
            info = self._settle(info, function, alias, poll_seconds)
        if info["status"] != "Succeeded":
            raise self._failure(headline, info, application, group, function, alias)
        live = self.alias_routing(function, alias)
        if live["version"] != target or live["weights"]:
            # CodeDeploy's word is not the point; what the API invokes is.
            raise self._failure(
                f"deployment {deployment_id} Succeeded, but {function}:{alias} serves {self.traffic(live)}, "
                f"not version {target} alone",
                info, application, group, function, alias,
            )
        return {"deploymentId": deployment_id, "status": "Succeeded", "liveVersion": target}

    def deployments_of(self, application: str, group: str, statuses: tuple[str, ...]) -> list[dict[str, Any]]:
        """deploymentInfo of every deployment of the group in `statuses` (ListDeployments, then
        BatchGetDeployments 25 at a time); ListDeployments documents no order, so neither does this."""
        codedeploy = self.client("codedeploy")
        ids = self._deployment_ids(application, group, statuses)
        infos: list[dict[str, Any]] = []
        for start in range(0, len(ids), self.BATCH_GET_DEPLOYMENTS):
            batch = ids[start : start + self.BATCH_GET_DEPLOYMENTS]
            infos += codedeploy.batch_get_deployments(deploymentIds=batch).get("deploymentsInfo", [])
        return infos

    @classmethod
    def is_rollback(cls, info: Mapping[str, Any]) -> bool:
        """Whether a deployment undoes another (CodeDeploy's automatic rollback): not a release of its target."""
        triggered_by = (info.get("rollbackInfo") or {}).get("rollbackTriggeringDeploymentId")
        return bool(triggered_by) or info.get("creator") in cls.ROLLBACK_CREATORS

    def releases_of(self, application: str, group: str, function: str, version: str) -> list[dict[str, Any]]:
        """The group's ended releases of `version` of `function`, newest first (rollbacks excluded)."""
        ended = self.deployments_of(application, group, self.TERMINAL)
        mine = [info for info in ended if not self.is_rollback(info)
                and (spec := self._spec_of(info))["function"] == function and spec["target"] == str(version)]
        return sorted(mine, key=lambda info: str(self._when(info.get("createTime"))), reverse=True)

    def _refuse_a_failed_version(self, application: str, group: str, function: str, target: str, live: str) -> None:
        """Raise when the newest release of `target` of `function` through the group failed or was stopped.

        Read from the group's history, not from its lastAttemptedDeployment: CodeDeploy's rollback is a
        deployment too, and AWS does not document whether that field then names the release or its
        rollback; other releases may also have come since. A later success of the same version (a retry
        that worked) lifts the refusal.
        """
        releases = self.releases_of(application, group, function, target)
        if not releases or releases[0].get("status") not in ("Failed", "Stopped"):
            return
        failed = releases[0]
        error = failed.get("errorInformation") or {}
        why = f": {error.get('code')}: {error.get('message')}" if error.get("code") else ""
        raise ReleaseFailed(
            f"version {target} of {function} was not deployed again: its last release, deployment "
            f"{failed['deploymentId']}, ended {failed['status']}{why}. A failed release is not repeated by a later "
            f"update: publish a fixed version (any code or configuration change), or set "
            f"prodready:delivery.retryFailedVersion to true to release this one again "
            f"(`{self.command('status')}` says why it failed).",
            {"status": "Refused", "deploymentId": failed["deploymentId"], "liveVersion": live},
        )

    def _already_live(self, application: str, group: str, function: str, alias: str, target: str) -> dict[str, Any]:
        """The result when the alias serves `target` before we deploy: say which deployment made it so."""
        for info in self.releases_of(application, group, function, target)[:1]:
            if info.get("status") == "Succeeded":
                self.log(f"{function}:{alias} serves version {target}: deployment {info['deploymentId']} released "
                         f"it (started {self._when(info.get('createTime'))}, by an earlier run)")
                return {"deploymentId": str(info["deploymentId"]), "status": "Succeeded", "liveVersion": target}
        self.log(f"{function}:{alias} already serves version {target}; nothing to deploy")
        return {"deploymentId": "", "status": "Unchanged", "liveVersion": target}

    def _ready(self, function: str, version: str, live: str, deadline: float, poll_seconds: float) -> None:
        """Wait until `version` can be invoked, or raise saying why it cannot.

        A version is Pending while Lambda prepares it (a SnapStart snapshot is taken then), and a SnapStart
        version not invoked for 14 days becomes Inactive: a hook that invokes it then fails with
        SnapStartNotReadyException, and traffic shifted to it cannot be served (Lambda developer guide,
        "Lambda function states" and "Improving startup performance with Lambda SnapStart").
        """
        lam = self.client("lambda")
        while True:
            configuration = lam.get_function_configuration(FunctionName=function, Qualifier=str(version))
            state = str(configuration.get("State") or self.READY_STATE)
            if state == self.READY_STATE:
                return
            reason = ": ".join(str(part) for part in (configuration.get("StateReasonCode"),
                                                       configuration.get("StateReason")) if part)
            if state != "Pending" or self._now() >= deadline:
                waited = "" if state != "Pending" else " after waiting for it"
                if state == "Failed":
                    raise ReleaseFailed(
                        f"version {version} of {function} was not deployed: Lambda reports it Failed"
                        f"{f' ({reason})' if reason else ''}: it cannot be invoked. Publish a new version (any code "
                        f"or configuration change) after fixing the cause.",
                        {"status": "Refused", "liveVersion": live, "state": state},
                    )
                raise ReleaseFailed(
                    f"version {version} of {function} was not deployed: Lambda reports it {state}{waited}"
                    f"{f' ({reason})' if reason else ''}. An Inactive version becomes Active again after an "
                    f"invocation (`aws lambda invoke --function-name {function} --qualifier {version} "
                    f"--payload '{{}}' /dev/null`, which fails while Lambda restores it); run again once "
                    f"`aws lambda get-function-configuration --function-name {function} --qualifier {version} "
                    f"--query State` says Active.",
                    {"status": "Refused", "liveVersion": live, "state": state},
                )
            self.log(f"{function} version {version} is {state}; waiting for it to become Active")
            self._pause(min(poll_seconds, max(deadline - self._now(), 0)))

    def last_release(self, application: str, group: str) -> dict[str, Any] | None:
        """The deploymentInfo of the group's latest deployment that was not a rollback, or None.

        ListDeployments documents no order, so "latest" is by createTime: the one in progress if
        any, else the group's lastAttemptedDeployment. A rollback deployment stands for the
        deployment it undid, whose detail then reports the rollback.
        """
        codedeploy = self.client("codedeploy")
        candidates = self.in_progress(application, group)
        if not candidates:
            group_info = codedeploy.get_deployment_group(applicationName=application, deploymentGroupName=group)
            last = (group_info["deploymentGroupInfo"].get("lastAttemptedDeployment") or {}).get("deploymentId")
            candidates = [last] if last else []
        if not candidates:
            return None
        infos = codedeploy.batch_get_deployments(deploymentIds=candidates).get("deploymentsInfo", [])
        if not infos:
            return None
        newest = max(infos, key=lambda info: str(self._when(info.get("createTime"))))
        undone = (newest.get("rollbackInfo") or {}).get("rollbackTriggeringDeploymentId")
        return self.deployment(undone) if undone else dict(newest)

    def status(self, application: str, group: str, function: str, alias: str) -> dict[str, Any]:
        """The group's last release (see `last_release`) as `describe` details it, plus `inProgress`.

        With no deployment yet: {"deploymentId": "", "status": "None", "liveVersion", "routing"}.
        """
        info = self.last_release(application, group)
        if info is None:
            routing = self.alias_routing(function, alias)
            return {"deploymentId": "", "status": "None", "liveVersion": routing["version"], "routing": routing,
                    "inProgress": False}
        detail = self.describe(info, application, group, function, alias)
        detail["inProgress"] = detail["status"] in self.IN_PROGRESS
        return detail

    def stop(
        self,
        application: str,
        group: str,
        *,
        function: str | None = None,
        alias: str | None = None,
        wait_seconds: float = 0,
        poll_seconds: float = 10,
    ) -> dict[str, Any]:
        """Stop the group's deployment in progress, with rollback to the version it replaces.

        Returns {"deploymentId", "stopStatus" (Pending/Succeeded from StopDeployment), "message",
        "status"}; {"deploymentId": "", "status": "NothingInProgress"} when none runs. Given the
        function and alias and `wait_seconds`, waits that long for the deployment to end and
        returns `describe`'s detail of it instead (with stopStatus).
        """
        running = self.in_progress(application, group)
        if not running:
            self.log(f"no deployment of {application}/{group} is in progress")
            return {"deploymentId": "", "status": "NothingInProgress", "stopStatus": "", "message": ""}
        result: dict[str, Any] = {}
        for deployment_id in running:  # one at a time per group; stop all if CodeDeploy ever disagrees
            stopped = self._stop(deployment_id)
            self.log(f"deployment {deployment_id}: stop requested with rollback ({stopped['stopStatus']})")
            result = {"deploymentId": deployment_id, **stopped, "status": self.deployment(deployment_id)["status"]}
        if function and alias and wait_seconds > 0:
            info = self._watch(result["deploymentId"], function, alias, self._now() + wait_seconds, poll_seconds)
            rollback_id = (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
            if rollback_id and info["status"] in self.TERMINAL:
                self._watch(rollback_id, function, alias, self._now() + wait_seconds, poll_seconds)
                info = self.deployment(result["deploymentId"])
            detail = self.describe(info, application, group, function, alias)
            return {**detail, "stopStatus": result["stopStatus"], "message": result["message"]}
        return result

    def rollback(
        self,
        application: str,
        group: str,
        function: str,
        alias: str,
        to_version: str | None = None,
        *,
        hook_function: str | None = None,
        skip_hook: bool = False,
        timeout_seconds: float = 1800,
        poll_seconds: float = 10,
        deployment_config: str | None = None,
        watch_alarms: bool = False,
    ) -> dict[str, Any]:
        """Undo the last successful release: shift `alias` back to the version it replaced.

        The version is the CurrentVersion of the group's last successful deployment, provided its
        TargetVersion is the one live now (otherwise something else moved the alias since, and
        this refuses); `to_version` names one instead. It goes through the same deployment group,
        like any release, but by default with the group's alarms off for it: CodeDeploy's API reference
        (CreateDeployment, overrideAlarmConfiguration) recommends exactly this for a return to a
        revision known to work, since the alarms the bad version tripped would otherwise stop the
        rollback, and the group's rollback-on-alarm would then restore the bad version. Turning
        alarms off for a deployment needs codedeploy:UpdateDeploymentGroup as well as
        CreateDeployment; `watch_alarms=True` keeps them on. It runs the
        same pre-traffic hook as the deployment it undoes (the old version must still pass against
        today's data), or `hook_function`; `skip_hook` deploys without one, for when the hook
        itself is what is broken. `deployment_config` can shift faster than the group would
        (e.g. CodeDeployDefault.LambdaAllAtOnce).

        Returns `release`'s result plus "rolledBackFrom"; raises ReleaseFailed when there is
        nothing to roll back to, when a deployment is in progress (stop it instead: stopping rolls
        back), or when the rollback deployment fails.
        """
        from botocore.exceptions import ClientError

        def refuse(reason: str) -> ReleaseFailed:
            return ReleaseFailed(f"nothing rolled back: {reason}",
                                 {"status": "Refused", "liveVersion": live["version"], "routing": live})

        live = self.alias_routing(function, alias)
        running = self.in_progress(application, group)
        if running:
            raise refuse(f"deployment {running[0]} of {application}/{group} is in progress; stop it instead "
                         f"(`{self.command('stop')}`), which rolls it back")
        undone: dict[str, Any] = {}
        group_info = self.client("codedeploy").get_deployment_group(
            applicationName=application, deploymentGroupName=group
        )["deploymentGroupInfo"]
        last_good = (group_info.get("lastSuccessfulDeployment") or {}).get("deploymentId")
        if last_good:
            undone = self.deployment(last_good)
        spec = self._spec_of(undone) if undone else self.parse_app_spec("")
        if to_version is None:
            if not last_good:
                raise refuse(f"{application}/{group} has no successful deployment to undo; name a version with "
                             f"--to-version")
            if spec["target"] != live["version"] or live["weights"]:
                raise refuse(f"the last successful deployment {last_good} made version {spec['target'] or '?'} live, "
                             f"but {function}:{alias} serves {self.traffic(live)}; name a version with --to-version")
            if not spec["current"] or spec["current"] == spec["target"]:
                raise refuse(f"the last successful deployment {last_good} records no earlier version to return to; "
                             f"name a version with --to-version")
            to_version = spec["current"]
        to_version = str(to_version)
        if not to_version.isdigit():
            raise refuse(f"--to-version must be a published version number, got {to_version!r}")
        if to_version == live["version"] and not live["weights"]:
            raise refuse(f"version {to_version} is already live on {function}:{alias}")
        try:
            self.client("lambda").get_function(FunctionName=function, Qualifier=to_version)
        except ClientError as error:
            if self._error_code(error) != "ResourceNotFoundException":
                raise
            raise refuse(f"{function} has no version {to_version}") from None
        hook = None if skip_hook else (hook_function or spec["hooks"].get("BeforeAllowTraffic") or None)
        after_hook = None if skip_hook else (spec["hooks"].get("AfterAllowTraffic") or None)
        undoing = f" (undoing {last_good})" if last_good and spec["target"] == live["version"] else ""
        self.log(f"rolling back {function}:{alias} from version {live['version']} to {to_version}{undoing}")
        result = self.release(
            application, group, function, alias, to_version, hook,
            f"rollback: version {live['version']} -> {to_version}{undoing}", timeout_seconds, poll_seconds,
            deployment_config=deployment_config, watch_alarms=watch_alarms, after_hook_function=after_hook,
        )
        return {**result, "rolledBackFrom": live["version"]}
