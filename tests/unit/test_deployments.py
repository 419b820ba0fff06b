"""CodeDeploy releases of the live alias: the AppSpec, waiting, failure reports, status, stop, rollback.

Lambda (the function, its versions, the alias) and CloudWatch metric alarms are moto. moto's
CodeDeploy keeps every deployment in Created, reports no alarm configuration and has neither
StopDeployment nor deployment targets, so CodeDeploy is a real botocore client under a Stubber: its
responses are checked against botocore's model and the calls, in order, must be exactly the
expected ones. moto's DescribeAlarms ignores AlarmTypes (and StateValue next to AlarmNames) and has
no composite alarms; `CloudWatchAsDocumented` answers as CloudWatch documents it. Time is a fake
clock; what CodeDeploy does to the alias while it shifts traffic is scheduled on it.
"""

from __future__ import annotations

import hashlib
import io
import json
import textwrap
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import dill
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from components.delivery.deployments import Deployments, ReleaseFailed
from components.delivery.windows import Window, window_refusal

REGION = "eu-west-1"
APP = "prodready-test"
GROUP = "prodready-test-api"
FUNCTION = "prodready-test-api"
ALIAS = "live"
HOOK = "prodready-test-pre-traffic"
ERRORS_ALARM = "prodready-test-api-errors"
LATENCY_ALARM = "prodready-test-api-latency"
RELEASE_ALARM = "prodready-test-release"  # a composite
WATCHED = [ERRORS_ALARM, LATENCY_ALARM, RELEASE_ALARM]
UNFINISHED = ["Created", "Queued", "InProgress", "Baking", "Ready"]
ENDED = ["Succeeded", "Failed", "Stopped"]
CREATED = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)


def appspec(current: str, target: str, hook: str | None = HOOK) -> str:
    """An AppSpec as CodeDeploy's documentation shows it for Lambda (written out, not generated)."""
    spec: dict[str, Any] = {
        "version": 0.0,
        "Resources": [
            {
                FUNCTION: {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Name": FUNCTION, "Alias": ALIAS, "CurrentVersion": current, "TargetVersion": target,
                    },
                }
            }
        ],
    }
    if hook:
        spec["Hooks"] = [{"BeforeAllowTraffic": hook}]
    return json.dumps(spec)


def deployment(
    deployment_id: str,
    status: str,
    *,
    current: str = "2",
    target: str = "3",
    hook: str | None = HOOK,
    error: tuple[str, str] | None = None,
    rollback: dict[str, str] | None = None,
    creator: str = "user",
    created: datetime = CREATED,
) -> dict[str, Any]:
    """A GetDeployment deploymentInfo of a Lambda deployment with an inline AppSpec."""
    content = appspec(current, target, hook)
    info: dict[str, Any] = {
        "applicationName": APP,
        "deploymentGroupName": GROUP,
        "deploymentConfigName": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
        "deploymentId": deployment_id,
        "revision": {
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
        },
        "status": status,
        "createTime": created,
        "creator": creator,
        "computePlatform": "Lambda",
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
    }
    if status in ("Succeeded", "Failed", "Stopped"):
        info["completeTime"] = created + timedelta(minutes=6)
    if error:
        info["errorInformation"] = {"code": error[0], "message": error[1]}
    if rollback:
        info["rollbackInfo"] = rollback
    return info


def lifecycle(*events: tuple[str, str], diagnostics: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Lifecycle events (name, status); the Failed one carries `diagnostics`."""
    return [
        {
            "lifecycleEventName": name,
            "status": status,
            "startTime": CREATED,
            **({"diagnostics": diagnostics} if status == "Failed" and diagnostics else {}),
        }
        for name, status in events
    ]


class Clock:
    """Monotonic seconds that pass only when the code under test sleeps; runs what is due then."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self._due: list[tuple[float, Callable[[], Any]]] = []

    def __call__(self) -> float:
        return self.now

    def at(self, when: float, action: Callable[[], Any]) -> None:
        self._due.append((when, action))
        self._due.sort(key=lambda item: item[0])

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, "slept for nothing: a busy loop"
        self.slept.append(seconds)
        self.now += seconds
        while self._due and self._due[0][0] <= self.now:
            self._due.pop(0)[1]()


class CloudWatchAsDocumented:
    """moto's CloudWatch, answering DescribeAlarms as AWS documents it.

    AlarmTypes omitted means metric alarms only; StateValue filters also when AlarmNames is given;
    composite alarms (which moto lacks) live in `composites`.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.composites: dict[str, str] = {}  # name -> state
        self.calls: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def describe_alarms(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        kinds = params.get("AlarmTypes") or ["MetricAlarm"]
        names, state = params.get("AlarmNames"), params.get("StateValue")
        answer = self._client.describe_alarms(**params)
        metric = [a for a in answer["MetricAlarms"] if not state or a["StateValue"] == state]
        composite = [
            {"AlarmName": name, "StateValue": value, "AlarmRule": f'ALARM("{ERRORS_ALARM}")'}
            for name, value in self.composites.items()
            if (not names or name in names) and (not state or value == state)
        ]
        return {
            "MetricAlarms": metric if "MetricAlarm" in kinds else [],
            "CompositeAlarms": composite if "CompositeAlarm" in kinds else [],
        }


def function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@dataclass
class World:
    """moto Lambda and CloudWatch, a stubbed CodeDeploy, a fake clock, and Deployments over them."""

    lam: Any
    cloudwatch: CloudWatchAsDocumented
    codedeploy: Any
    stub: Stubber
    clock: Clock
    lines: list[str] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)

    @property
    def deployments(self) -> Deployments:
        return Deployments(
            REGION,
            clients={"lambda": self.lam, "cloudwatch": self.cloudwatch, "codedeploy": self.codedeploy},
            sleep=self.clock.sleep,
            clock=self.clock,
            log=self.lines.append,
            stack="test",
        )

    def route(self, version: str, weights: dict[str, float] | None = None) -> None:
        """Point the alias as CodeDeploy does while it shifts traffic."""
        self.lam.update_alias(
            FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=version,
            RoutingConfig={"AdditionalVersionWeights": weights or {}},
        )

    def alarm(self, name: str, state: str) -> None:
        if name == RELEASE_ALARM:
            self.cloudwatch.composites[name] = state
        else:
            self.cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")

    # -- what CodeDeploy is expected to be asked, in order

    def none_running(self) -> None:
        self.running([])

    def running(self, ids: list[str]) -> None:
        self.stub.add_response(
            "list_deployments", {"deployments": ids},
            {"applicationName": APP, "deploymentGroupName": GROUP, "includeOnlyStatuses": UNFINISHED},
        )

    def history(self, infos: list[dict[str, Any]]) -> None:
        """The group's ended deployments, as the failed-version guard reads them (ListDeployments, then
        BatchGetDeployments)."""
        self.stub.add_response(
            "list_deployments", {"deployments": [info["deploymentId"] for info in infos]},
            {"applicationName": APP, "deploymentGroupName": GROUP, "includeOnlyStatuses": ENDED},
        )
        if infos:
            self.stub.add_response("batch_get_deployments", {"deploymentsInfo": infos},
                                   {"deploymentIds": [info["deploymentId"] for info in infos]})

    def create(self, deployment_id: str, *, checks_history: bool = True,
               history: list[dict[str, Any]] | None = None, **extra: Any) -> None:
        # Before creating, the group's ended releases: none that failed on this version.
        if checks_history:
            self.history(history or [])
        self.stub.add_response(
            "create_deployment", {"deploymentId": deployment_id},
            {"applicationName": APP, "deploymentGroupName": GROUP, "revision": ANY, "description": ANY, **extra},
        )

    def get(self, info: dict[str, Any]) -> None:
        self.stub.add_response("get_deployment", {"deploymentInfo": info}, {"deploymentId": info["deploymentId"]})

    def targets(self, deployment_id: str, events: list[dict[str, Any]]) -> None:
        target_id = f"{FUNCTION}:{ALIAS}"
        self.stub.add_response("list_deployment_targets", {"targetIds": [target_id]}, {"deploymentId": deployment_id})
        self.stub.add_response(
            "batch_get_deployment_targets",
            {
                "deploymentTargets": [
                    {
                        "deploymentTargetType": "LambdaTarget",
                        "lambdaTarget": {
                            "deploymentId": deployment_id,
                            "targetId": target_id,
                            "targetArn": f"arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION}:{ALIAS}",
                            "status": "Failed",
                            "lastUpdatedAt": CREATED,
                            "lifecycleEvents": events,
                            "lambdaFunctionInfo": {"functionName": FUNCTION, "functionAlias": ALIAS,
                                                   "currentVersion": "2", "targetVersion": "3",
                                                   "targetVersionWeight": 0.1},
                        },
                    }
                ]
            },
            {"deploymentId": deployment_id, "targetIds": [target_id]},
        )

    def group(self, *, last_successful: str | None = None, last_attempted: str | None = None,
              alarms: list[str] = WATCHED, enabled: bool = True) -> None:
        info: dict[str, Any] = {
            "applicationName": APP,
            "deploymentGroupName": GROUP,
            "deploymentConfigName": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
            "serviceRoleArn": "arn:aws:iam::123456789012:role/prodready-test-codedeploy",
            "alarmConfiguration": {"enabled": enabled, "ignorePollAlarmFailure": False,
                                   "alarms": [{"name": name} for name in alarms]},
            "autoRollbackConfiguration": {
                "enabled": True,
                "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"],
            },
            "computePlatform": "Lambda",
        }
        for key, deployment_id in (("lastSuccessfulDeployment", last_successful),
                                   ("lastAttemptedDeployment", last_attempted)):
            if deployment_id:
                info[key] = {"deploymentId": deployment_id, "status": "Succeeded", "createTime": CREATED}
        self.stub.add_response(
            "get_deployment_group", {"deploymentGroupInfo": info},
            {"applicationName": APP, "deploymentGroupName": GROUP},
        )

    def stop(self, deployment_id: str, status: str = "Pending") -> None:
        self.stub.add_response(
            "stop_deployment", {"status": status, "statusMessage": "Stop request submitted"},
            {"deploymentId": deployment_id, "autoRollbackEnabled": True},
        )

    def failure_report(self, failed: dict[str, Any], rollback: dict[str, Any], events: list[dict[str, Any]]) -> None:
        """After `failed` ended: its rollback is waited for, then the report reads everything."""
        self.get(rollback)  # waiting for the rollback deployment
        self.get(failed)  # the final word on the failed one
        self.get(rollback)  # the report: rollback status
        self.targets(failed["deploymentId"], events)
        self.group()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="api", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        lam.create_function(FunctionName=FUNCTION, Runtime="python3.12", Role=role, Handler="handler.handler",
                            Code={"ZipFile": function_zip()}, Publish=True)  # version 1
        for release in ("2", "3"):
            lam.update_function_configuration(FunctionName=FUNCTION, Description=f"release {release}")
            lam.publish_version(FunctionName=FUNCTION)
        lam.create_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion="2")
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        for name in (ERRORS_ALARM, LATENCY_ALARM):
            cloudwatch.put_metric_alarm(
                AlarmName=name, Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum", Period=60,
                EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
            )
            cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="test")
        codedeploy = boto3.client("codedeploy", region_name=REGION)
        stub = Stubber(codedeploy)
        world = World(lam, CloudWatchAsDocumented(cloudwatch), codedeploy, stub, Clock())
        world.alarm(RELEASE_ALARM, "OK")
        codedeploy.meta.events.register(
            "provide-client-params.codedeploy.CreateDeployment", lambda params, **_: world.created.append(params)
        )
        with stub:
            yield world
            stub.assert_no_pending_responses()


def release(world: World, target: str = "3", *, timeout: float = 600, hook: str | None = HOOK) -> dict[str, Any]:
    return world.deployments.release(APP, GROUP, FUNCTION, ALIAS, target, hook, f"release of {target}",
                                     timeout_seconds=timeout, poll_seconds=10)


def created_spec(world: World, index: int = 0) -> dict[str, Any]:
    revision = world.created[index]["revision"]
    assert revision["revisionType"] == "AppSpecContent"
    content = revision["appSpecContent"]["content"]
    assert revision["appSpecContent"]["sha256"] == hashlib.sha256(content.encode()).hexdigest()
    return json.loads(content)


# -- the AppSpec


def test_the_appspec_is_codedeploys_lambda_appspec_with_the_hook_before_traffic():
    content = Deployments.app_spec(FUNCTION, ALIAS, "2", "3", HOOK)

    assert json.loads(content) == json.loads(appspec("2", "3"))
    assert Deployments.sha256(content) == hashlib.sha256(content.encode()).hexdigest()
    assert "Hooks" not in json.loads(Deployments.app_spec(FUNCTION, ALIAS, "2", "3", None))
    parsed = Deployments.parse_app_spec(content)
    assert parsed == {"function": FUNCTION, "alias": ALIAS, "current": "2", "target": "3",
                      "hooks": {"BeforeAllowTraffic": HOOK}}


def test_the_appspec_refuses_versions_codedeploy_cannot_shift_between():
    with pytest.raises(ValueError, match=r"current version .* '\$LATEST'"):
        Deployments.app_spec(FUNCTION, ALIAS, "$LATEST", "3", HOOK)


def test_a_yaml_appspec_made_elsewhere_is_read_too():
    content = textwrap.dedent(f"""\
        version: 0.0
        Resources:
          - api:
              Type: AWS::Lambda::Function
              Properties: {{Name: {FUNCTION}, Alias: live, CurrentVersion: "5", TargetVersion: "6"}}
        Hooks:
          - BeforeAllowTraffic: {HOOK}
        """)

    assert Deployments.parse_app_spec(content)["current"] == "5"
    assert Deployments.parse_app_spec("not: [an appspec")["target"] == ""


# -- release


def test_an_alias_already_on_the_target_version_is_left_alone_without_a_deployment(world):
    world.route("3")
    world.history([])  # no release of version 3 through the group: something else put it there

    assert release(world) == {"deploymentId": "", "status": "Unchanged", "liveVersion": "3"}
    assert world.created == []


def test_a_release_creates_a_deployment_and_waits_while_the_traffic_shifts(world):
    world.none_running()
    world.create("d-1")
    world.get(deployment("d-1", "InProgress"))
    world.get(deployment("d-1", "InProgress"))
    world.get(deployment("d-1", "Succeeded"))
    world.clock.at(10, lambda: world.route("2", {"3": 0.1}))
    world.clock.at(20, lambda: world.route("3"))

    result = release(world)

    assert result == {"deploymentId": "d-1", "status": "Succeeded", "liveVersion": "3"}
    assert created_spec(world) == json.loads(appspec("2", "3"))
    assert world.created[0]["description"] == "release of 3"
    assert world.clock.slept == [10, 10]
    assert "deployment d-1: InProgress" in world.lines
    assert "deployment d-1: traffic version 2 90%, version 3 10%" in world.lines
    assert "deployment d-1: Succeeded" in world.lines


def test_a_failed_pre_traffic_hook_names_the_phase_the_rollback_and_the_live_version(world):
    failed = deployment("d-1", "Failed", rollback={"rollbackDeploymentId": "d-2", "rollbackMessage": "Rolled back"},
                        error=("HOOK_EXECUTION_FAILURE", "Lifecycle event BeforeAllowTraffic failed"))
    rollback = deployment("d-2", "Succeeded", current="3", target="2", creator="codeDeployRollback",
                          rollback={"rollbackTriggeringDeploymentId": "d-1"})
    world.none_running()
    world.create("d-1")
    world.get(deployment("d-1", "InProgress"))
    world.get(failed)
    world.failure_report(failed, rollback, lifecycle(
        ("BeforeAllowTraffic", "Failed"), ("AllowTraffic", "Skipped"), ("AfterAllowTraffic", "Skipped"),
        diagnostics={"errorCode": "ScriptFailed", "message": "GET /health/ready answered 503"},
    ))

    with pytest.raises(ReleaseFailed) as raised:
        release(world)

    message = str(raised.value)
    assert message.startswith("deployment d-1 of version 3 Failed")
    assert "error: HOOK_EXECUTION_FAILURE: Lifecycle event BeforeAllowTraffic failed" in message
    assert "failed phase: BeforeAllowTraffic (ScriptFailed: GET /health/ready answered 503)" in message
    assert "alarms in ALARM: none (of 3 watched)" in message
    assert "rolled back: yes, by deployment d-2 (Succeeded)" in message
    assert "live now: version 2" in message
    detail = raised.value.detail
    assert (detail["status"], detail["rolledBack"], detail["liveVersion"]) == ("Failed", True, "2")
    assert detail["failedPhase"]["name"] == "BeforeAllowTraffic"
    assert isinstance(raised.value, RuntimeError)


def test_a_deployment_stopped_by_an_alarm_names_the_alarms_in_alarm(world):
    stopped = deployment("d-1", "Stopped", rollback={"rollbackDeploymentId": "d-2"},
                         error=("ALARM_ACTIVE", f"One or more alarms have been activated: {ERRORS_ALARM}"))
    rollback = deployment("d-2", "Succeeded", current="3", target="2", creator="codeDeployRollback")
    world.none_running()
    world.create("d-1")
    world.get(deployment("d-1", "InProgress"))
    world.get(stopped)
    world.failure_report(stopped, rollback, lifecycle(
        ("BeforeAllowTraffic", "Succeeded"), ("AllowTraffic", "Failed"), ("AfterAllowTraffic", "Skipped"),
    ))

    def alarm_fires() -> None:
        world.alarm(ERRORS_ALARM, "ALARM")
        world.alarm(RELEASE_ALARM, "ALARM")
        world.route("2")  # the rollback

    world.clock.at(10, alarm_fires)

    with pytest.raises(ReleaseFailed) as raised:
        release(world)

    message = str(raised.value)
    assert f"alarms in ALARM: {ERRORS_ALARM}, {RELEASE_ALARM} (of 3 watched)" in message
    assert LATENCY_ALARM not in message
    assert "error: ALARM_ACTIVE" in message
    assert "failed phase: AllowTraffic (no diagnostics)" in message
    assert "rolled back: yes, by deployment d-2" in message
    assert "live now: version 2" in message
    assert world.cloudwatch.calls == [
        {"AlarmNames": WATCHED, "AlarmTypes": ["MetricAlarm", "CompositeAlarm"], "StateValue": "ALARM"}
    ]


def test_a_deployment_that_outlasts_the_timeout_is_stopped_with_rollback(world):
    stopped = deployment("d-1", "Stopped", rollback={"rollbackDeploymentId": "d-2"},
                         error=("MANUAL_STOP", "The deployment was stopped by the user"))
    rollback = deployment("d-2", "Succeeded", current="3", target="2", creator="codeDeployRollback")
    world.none_running()
    world.create("d-1")
    for _ in range(4):  # t = 0, 10, 20, 30
        world.get(deployment("d-1", "InProgress"))
    world.stop("d-1")
    world.get(stopped)
    world.failure_report(stopped, rollback, lifecycle(("BeforeAllowTraffic", "Succeeded"), ("AllowTraffic", "Failed")))
    world.clock.at(10, lambda: world.route("2", {"3": 0.1}))

    with pytest.raises(ReleaseFailed) as raised:
        release(world, timeout=30)

    message = str(raised.value)
    assert message.startswith("deployment d-1 of version 3 timed out after 30s and was stopped with rollback")
    assert "rolled back: yes, by deployment d-2" in message
    assert world.clock.now == 30


def test_a_deployment_already_in_progress_is_waited_for_first(world):
    world.running(["d-0"])
    world.get(deployment("d-0", "InProgress"))
    world.get(deployment("d-0", "Succeeded"))
    world.clock.at(10, lambda: world.route("3"))  # it was this very release, from an interrupted run
    world.history([deployment("d-0", "Succeeded")])

    # Not "Unchanged": the outcome of the deployment an earlier run started is this run's to report.
    assert release(world) == {"deploymentId": "d-0", "status": "Succeeded", "liveVersion": "3"}
    assert f"deployment d-0 of {APP}/{GROUP} is in progress; waiting for it to end first" in world.lines
    assert any(line.startswith(f"{FUNCTION}:{ALIAS} serves version 3: deployment d-0 released it")
               for line in world.lines)


def test_a_deployment_in_progress_that_outlasts_the_timeout_is_named_and_left_alone(world):
    world.running(["d-0"])
    for _ in range(3):  # t = 0, 10, 20
        world.get(deployment("d-0", "InProgress", target="4"))
    world.group()

    with pytest.raises(ReleaseFailed) as raised:
        release(world, timeout=20)

    message = str(raised.value)
    assert "deployment d-0 of prodready-test/prodready-test-api is still InProgress after 20s" in message
    assert "python -m tools.release stop --stack test" in message
    assert world.created == []  # and no StopDeployment: the Stubber would have refused it


def test_a_deployment_started_meanwhile_is_waited_for_and_then_ours_runs(world):
    world.none_running()
    world.history([])
    world.stub.add_client_error("create_deployment", "DeploymentLimitExceededException", "one at a time")
    world.running(["d-0"])  # looked for again after one poll interval
    world.get(deployment("d-0", "Failed", current="2", target="9"))
    world.none_running()
    world.create("d-1")
    world.get(deployment("d-1", "InProgress"))
    world.get(deployment("d-1", "Succeeded"))
    world.clock.at(20, lambda: world.route("3"))

    assert release(world) == {"deploymentId": "d-1", "status": "Succeeded", "liveVersion": "3"}
    assert len(world.created) == 2  # the refused create, then ours
    assert world.clock.slept == [10, 10]


def test_an_alias_left_splitting_traffic_is_refused_before_deploying(world):
    world.route("2", {"3": 0.25})
    world.none_running()

    with pytest.raises(ReleaseFailed, match=r"splits traffic \(version 2 75%, version 3 25%\)") as raised:
        release(world, target="3")

    assert "update-alias" in str(raised.value)
    assert raised.value.detail["status"] == "Refused"


def test_a_success_that_did_not_move_the_alias_is_a_failure(world):
    world.none_running()
    world.create("d-1")
    world.get(deployment("d-1", "Succeeded"))
    world.group()

    with pytest.raises(ReleaseFailed, match="Succeeded, but prodready-test-api:live serves version 2, not version 3"):
        release(world)


def test_without_a_hook_the_appspec_has_none(world):
    world.none_running()
    world.create("d-1")
    world.get(deployment("d-1", "InProgress", hook=None))
    world.get(deployment("d-1", "Succeeded", hook=None))
    world.clock.at(10, lambda: world.route("3"))

    assert release(world, hook=None)["status"] == "Succeeded"
    assert "Hooks" not in created_spec(world)
    assert "deployment d-1: prodready-test-api:live version 2 -> 3, no pre-traffic hook" in world.lines


# -- status


def test_status_reports_the_last_release_through_its_rollback(world):
    failed = deployment("d-1", "Failed", rollback={"rollbackDeploymentId": "d-2"},
                        error=("HOOK_EXECUTION_FAILURE", "hook failed"))
    rollback = deployment("d-2", "Succeeded", current="3", target="2", creator="codeDeployRollback",
                          rollback={"rollbackTriggeringDeploymentId": "d-1"},
                          created=CREATED + timedelta(minutes=7))
    world.none_running()
    world.group(last_attempted="d-2")
    world.stub.add_response("batch_get_deployments", {"deploymentsInfo": [rollback]}, {"deploymentIds": ["d-2"]})
    world.get(failed)
    world.get(rollback)
    world.targets("d-1", lifecycle(("BeforeAllowTraffic", "Failed")))
    world.group(last_attempted="d-2")

    detail = world.deployments.status(APP, GROUP, FUNCTION, ALIAS)

    assert (detail["deploymentId"], detail["status"], detail["inProgress"]) == ("d-1", "Failed", False)
    assert detail["rollback"] == {"deploymentId": "d-2", "status": "Succeeded", "message": ""}
    assert detail["rolledBack"] is True
    assert (detail["currentVersion"], detail["targetVersion"], detail["hook"]) == ("2", "3", HOOK)
    assert detail["routing"] == {"version": "2", "weights": {}}
    assert detail["createTime"] == CREATED.isoformat()
    json.dumps(detail)  # a dynamic resource's outputs, and --json, need plain data


def test_status_of_a_deployment_in_progress_shows_the_traffic_split(world):
    world.route("2", {"3": 0.1})
    world.running(["d-1"])
    world.stub.add_response("batch_get_deployments", {"deploymentsInfo": [deployment("d-1", "InProgress")]},
                            {"deploymentIds": ["d-1"]})
    world.group()

    detail = world.deployments.status(APP, GROUP, FUNCTION, ALIAS)

    assert (detail["status"], detail["inProgress"], detail["failedPhase"], detail["rollback"]) == (
        "InProgress", True, None, None)
    assert "  live now: version 2 90%, version 3 10%" in Deployments.summary(detail)


def test_summary_of_a_rolled_back_detail_without_the_rollback_record():
    lines = Deployments.summary({"deploymentId": "d-1", "status": "Failed", "rolledBack": True, "rollback": None})

    assert "  rolled back: yes" in lines


def test_status_without_any_deployment(world):
    world.none_running()
    world.group()

    assert world.deployments.status(APP, GROUP, FUNCTION, ALIAS) == {
        "deploymentId": "", "status": "None", "liveVersion": "2", "routing": {"version": "2", "weights": {}},
        "inProgress": False,
    }


# -- stop


def test_stop_stops_the_deployment_in_progress_with_rollback(world):
    world.running(["d-1"])
    world.stop("d-1")
    world.get(deployment("d-1", "InProgress"))

    result = world.deployments.stop(APP, GROUP)

    assert result == {"deploymentId": "d-1", "stopStatus": "Pending", "message": "Stop request submitted",
                      "status": "InProgress"}


def test_stop_with_nothing_in_progress_changes_nothing(world):
    world.none_running()

    assert world.deployments.stop(APP, GROUP)["status"] == "NothingInProgress"


# -- rollback


def test_rollback_with_no_successful_deployment_is_refused(world):
    world.none_running()
    world.group()

    with pytest.raises(ReleaseFailed, match="has no successful deployment to undo; name a version with --to-version"):
        world.deployments.rollback(APP, GROUP, FUNCTION, ALIAS)

    assert world.created == []


def test_rollback_returns_to_the_version_the_last_release_replaced_through_the_group(world):
    world.route("3")
    world.none_running()
    world.group(last_successful="d-1")
    world.get(deployment("d-1", "Succeeded", current="2", target="3"))
    world.none_running()
    # The alarms version 3 tripped would stop the return to 2 (and the group would then restore 3): off for it.
    world.create("d-5", overrideAlarmConfiguration={"enabled": False})
    world.get(deployment("d-5", "InProgress", current="3", target="2"))
    world.get(deployment("d-5", "Succeeded", current="3", target="2"))
    world.clock.at(10, lambda: world.route("2"))

    result = world.deployments.rollback(APP, GROUP, FUNCTION, ALIAS)

    assert result == {"deploymentId": "d-5", "status": "Succeeded", "liveVersion": "2", "rolledBackFrom": "3"}
    assert created_spec(world) == json.loads(appspec("3", "2", HOOK))  # the undone release's hook runs again
    assert world.created[0]["deploymentGroupName"] == GROUP  # so the group's alarms watch it
    assert world.created[0]["description"] == "rollback: version 3 -> 2 (undoing d-1)"


def test_rollback_to_a_named_version_can_skip_the_hook_and_shift_at_once(world):
    world.route("3")
    world.none_running()
    world.group(last_successful="d-1")
    world.get(deployment("d-1", "Succeeded", current="2", target="3"))
    world.none_running()
    world.history([])
    world.stub.add_response(
        "create_deployment", {"deploymentId": "d-6"},
        {"applicationName": APP, "deploymentGroupName": GROUP, "revision": ANY, "description": ANY,
         "deploymentConfigName": "CodeDeployDefault.LambdaAllAtOnce"},  # watched by the group's alarms
    )
    world.get(deployment("d-6", "InProgress", current="3", target="1", hook=None))
    world.get(deployment("d-6", "Succeeded", current="3", target="1", hook=None))
    world.clock.at(10, lambda: world.route("1"))

    result = world.deployments.rollback(APP, GROUP, FUNCTION, ALIAS, "1", skip_hook=True,
                                        deployment_config="CodeDeployDefault.LambdaAllAtOnce", watch_alarms=True)

    assert result["liveVersion"] == "1"
    assert created_spec(world) == json.loads(appspec("3", "1", None))


def test_rollback_is_refused_when_the_alias_moved_since_the_last_release(world):
    world.none_running()
    world.group(last_successful="d-1")
    world.get(deployment("d-1", "Succeeded", current="1", target="3"))  # live is 2: it moved since

    with pytest.raises(ReleaseFailed, match="made version 3 live, but prodready-test-api:live serves version 2"):
        world.deployments.rollback(APP, GROUP, FUNCTION, ALIAS)


@pytest.mark.parametrize(("version", "reason"), [("9", "has no version 9"), ("2", "version 2 is already live")])
def test_rollback_to_a_version_that_cannot_be_is_refused(world, version, reason):
    world.none_running()
    world.group()

    with pytest.raises(ReleaseFailed, match=reason):
        world.deployments.rollback(APP, GROUP, FUNCTION, ALIAS, version)


def test_rollback_while_a_deployment_runs_is_refused_in_favour_of_stop(world):
    world.running(["d-1"])

    with pytest.raises(ReleaseFailed, match=r"d-1 .* is in progress; stop it instead"):
        world.deployments.rollback(APP, GROUP, FUNCTION, ALIAS)


# -- the failure as an object


def test_the_exception_keeps_its_detail_through_pickling():
    # An exception whose __init__ takes more than the message loses it in a copy unless it says how.
    again = dill.loads(dill.dumps(ReleaseFailed("failed", {"deploymentId": "d-1"}), recurse=True))

    assert (str(again), again.detail) == ("failed", {"deploymentId": "d-1"})


def test_a_version_whose_last_release_failed_is_not_released_again(world):
    world.none_running()
    failed = deployment("d-7", "Failed", current="2", target="3")
    failed["errorInformation"] = {"code": "ALARM_ACTIVE", "message": "One or more alarms have been activated"}
    world.history([failed])

    with pytest.raises(ReleaseFailed) as refused:
        world.deployments.release(APP, GROUP, FUNCTION, ALIAS, "3", HOOK, "again", 600)

    message = str(refused.value)
    assert message.startswith(f"version 3 of {FUNCTION} was not deployed again: its last release, deployment d-7, "
                              "ended Failed: ALARM_ACTIVE: One or more alarms have been activated.")
    assert "prodready:delivery.retryFailedVersion" in message
    assert refused.value.detail == {"status": "Refused", "deploymentId": "d-7", "liveVersion": "2"}
    assert world.created == []  # nothing was deployed


def test_a_failed_version_is_released_again_when_asked_to(world):
    world.none_running()
    world.create("d-8", checks_history=False)  # no look at the history: straight to the deployment
    world.get(deployment("d-8", "InProgress", target="3"))
    world.get(deployment("d-8", "Succeeded", target="3"))
    world.clock.at(10, lambda: world.route("3"))

    result = world.deployments.release(APP, GROUP, FUNCTION, ALIAS, "3", HOOK, "again", 600, poll_seconds=10,
                                       retry_failed=True)

    assert result == {"deploymentId": "d-8", "status": "Succeeded", "liveVersion": "3"}


@pytest.fixture
def lambda_with_versions(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "lambda.amazonaws.com"}}]}))
        lam = boto3.client("lambda", region_name=REGION)
        lam.create_function(FunctionName="fn", Runtime="python3.13", Role=role["Role"]["Arn"], Handler="h.h",
                            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})
        for n in range(1, 7):
            lam.update_function_configuration(FunctionName="fn", Description=f"change {n}")
            lam.publish_version(FunctionName="fn")
        yield lam


def _versions(lam: Any) -> list[str]:
    return [v["Version"] for v in lam.list_versions_by_function(FunctionName="fn")["Versions"]]


def test_old_versions_are_pruned_but_the_newest_and_any_an_alias_uses_stay(lambda_with_versions):
    lam = lambda_with_versions
    assert _versions(lam) == ["$LATEST", "1", "2", "3", "4", "5", "6"]
    # A rollback alias still on 2, and a weighted one that sends a share to 1.
    lam.create_alias(FunctionName="fn", Name="live", FunctionVersion="2")
    lam.create_alias(FunctionName="fn", Name="canary", FunctionVersion="6",
                     RoutingConfig={"AdditionalVersionWeights": {"1": 0.1}})
    lines: list[str] = []
    deployments = Deployments(REGION, clients={"lambda": lam}, log=lines.append)

    assert deployments.prune_versions("fn", keep=3) == ["3"]
    assert _versions(lam) == ["$LATEST", "1", "2", "4", "5", "6"]
    assert lines == ["fn: deleted versions 3 (keeping the 3 newest and any an alias uses)"]


def test_nothing_to_prune_deletes_nothing(lambda_with_versions):
    deployments = Deployments(REGION, clients={"lambda": lambda_with_versions}, log=lambda line: None)
    assert deployments.prune_versions("fn", keep=10) == []
    assert len(_versions(lambda_with_versions)) == 7


# -- day 2: what CodeDeploy may report after a failure, credentials that run out, versions not ready


def rollback_of(failed_id: str, deployment_id: str, *, current: str, target: str) -> dict[str, Any]:
    """CodeDeploy's automatic rollback of `failed_id`: a deployment of its own (creator codeDeployRollback).
    AWS does not document which versions its AppSpec names, so tests give it either way round."""
    info = deployment(deployment_id, "Succeeded", current=current, target=target, creator="codeDeployRollback",
                      created=CREATED + timedelta(minutes=7))
    info["rollbackInfo"] = {"rollbackTriggeringDeploymentId": failed_id}
    return info


@pytest.mark.parametrize(
    "rollback",
    [
        rollback_of("d-7", "d-8", current="3", target="2"),  # names the version it returned to
        rollback_of("d-7", "d-8", current="2", target="3"),  # or repeats the failed release's revision
    ],
    ids=["rollback-targets-the-good-version", "rollback-repeats-the-failed-revision"],
)
def test_a_failed_version_stays_refused_whichever_deployment_codedeploy_reports_last(world, rollback):
    world.none_running()
    failed = deployment("d-7", "Stopped", current="2", target="3", error=("ALARM_ACTIVE", "alarms"))
    world.history([rollback, failed])  # the rollback is the group's newest deployment

    with pytest.raises(ReleaseFailed) as refused:
        world.deployments.release(APP, GROUP, FUNCTION, ALIAS, "3", HOOK, "again", 600)

    assert refused.value.detail["deploymentId"] == "d-7"
    assert world.created == []


def test_a_failed_version_stays_refused_after_other_releases_succeeded(world):
    world.none_running()
    failed = deployment("d-7", "Failed", current="2", target="3", error=("HEALTH_CONSTRAINTS", "hook failed"))
    later = deployment("d-9", "Succeeded", current="2", target="4", created=CREATED + timedelta(days=2))
    world.history([later, failed])

    with pytest.raises(ReleaseFailed, match="its last release, deployment d-7, ended Failed: HEALTH_CONSTRAINTS"):
        world.deployments.release(APP, GROUP, FUNCTION, ALIAS, "3", HOOK, "again", 600)


def test_a_version_whose_retry_succeeded_is_no_longer_refused(world):
    world.none_running()
    failed = deployment("d-7", "Failed", current="2", target="3")
    retried = deployment("d-8", "Succeeded", current="2", target="3", created=CREATED + timedelta(hours=1))
    world.create("d-10", history=[failed, retried])
    world.get(deployment("d-10", "InProgress", target="3"))
    world.get(deployment("d-10", "Succeeded", target="3"))
    world.clock.at(10, lambda: world.route("3"))

    assert release(world)["deploymentId"] == "d-10"


class ExpiredWhileWaiting:
    """CodeDeploy's client once the caller's session has ended: every call is refused."""

    def __init__(self, client: Any, after_calls: int) -> None:
        self._client, self._left = client, after_calls

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**params: Any) -> Any:
            from botocore.exceptions import ClientError

            if self._left <= 0:
                raise ClientError({"Error": {"Code": "ExpiredTokenException",
                                             "Message": "The security token included in the request is expired"}},
                                  name)
            self._left -= 1
            return method(**params)

        return call


def test_credentials_that_expire_while_waiting_name_the_deployment_and_what_comes_next(world):
    world.none_running()
    world.create("d-1")
    world.get(deployment("d-1", "InProgress"))
    deployments = world.deployments
    # list (in progress), list + (no) batch for the history, create, one GetDeployment: then expired.
    deployments._clients["codedeploy"] = ExpiredWhileWaiting(world.codedeploy, after_calls=4)

    with pytest.raises(ReleaseFailed) as raised:
        deployments.release(APP, GROUP, FUNCTION, ALIAS, "3", HOOK, "release", 3600, poll_seconds=10)

    message = str(raised.value)
    assert message.startswith("deployment d-1 of version 3 was started, then `pulumi up` lost its AWS credentials "
                              "while waiting for it (ExpiredTokenException)")
    assert "`python -m tools.release status --stack test`" in message
    assert "The next `pulumi up` takes up its outcome" in message
    assert raised.value.detail == {"status": "Unknown", "deploymentId": "d-1", "liveVersion": "2"}


def test_other_errors_while_waiting_are_not_taken_for_expired_credentials(world):
    world.none_running()
    world.create("d-1")
    world.stub.add_client_error("get_deployment", "ThrottlingException", "slow down")

    with pytest.raises(Exception, match="ThrottlingException") as raised:
        release(world)
    assert not isinstance(raised.value, ReleaseFailed)


class LambdaStates:
    """moto's Lambda, with the State GetFunctionConfiguration reports for one version scripted."""

    def __init__(self, client: Any, version: str, states: list[tuple[str, str]]) -> None:
        self._client, self._version, self._states = client, version, list(states)
        self.asked = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_function_configuration(self, **params: Any) -> dict[str, Any]:
        answer = dict(self._client.get_function_configuration(**params))
        if params.get("Qualifier") == self._version:
            self.asked += 1
            state, reason = self._states.pop(0) if len(self._states) > 1 else self._states[0]
            answer.update(State=state, **({"StateReasonCode": reason} if reason else {}))
        return answer


def test_an_inactive_snapstart_version_is_refused_before_any_deployment_saying_how_to_wake_it(world):
    world.none_running()
    world.history([])
    world.lam = LambdaStates(world.lam, "3", [("Inactive", "Idle")])

    with pytest.raises(ReleaseFailed) as refused:
        release(world)

    message = str(refused.value)
    assert message.startswith(f"version 3 of {FUNCTION} was not deployed: Lambda reports it Inactive (Idle)")
    assert f"aws lambda invoke --function-name {FUNCTION} --qualifier 3" in message
    assert refused.value.detail["state"] == "Inactive" and world.created == []


def test_a_pending_version_is_waited_for_until_active(world):
    world.none_running()
    world.create("d-1")
    world.get(deployment("d-1", "Succeeded"))
    world.lam = LambdaStates(world.lam, "3", [("Pending", "Creating"), ("Pending", "Creating"), ("Active", "")])
    world.clock.at(20, lambda: world.route("3"))

    assert release(world)["status"] == "Succeeded"
    assert world.lam.asked == 3 and world.clock.slept[:2] == [10, 10]


def test_the_appspec_runs_the_post_traffic_hook_after_all_traffic_moved():
    spec = json.loads(Deployments.app_spec(FUNCTION, ALIAS, "2", "3", HOOK, "prodready-test-post-traffic"))
    # As CodeDeploy's AppSpec reference for Lambda lists them: one entry per hook, in their order.
    assert spec["Hooks"] == [{"BeforeAllowTraffic": HOOK}, {"AfterAllowTraffic": "prodready-test-post-traffic"}]


def test_pruning_keeps_the_version_a_release_replaced_even_behind_newer_failed_ones(lambda_with_versions):
    lam = lambda_with_versions
    # 2 was live until 6 was released; 3, 4 and 5 failed their releases and serve nothing.
    lam.create_alias(FunctionName="fn", Name="live", FunctionVersion="6")
    deployments = Deployments(REGION, clients={"lambda": lam}, log=lambda line: None)

    assert deployments.prune_versions("fn", keep=3, also_keep=("2",)) == ["1", "3"]
    assert _versions(lam) == ["$LATEST", "2", "4", "5", "6"]


# -- change windows and the error-budget freeze

TUE_THU_2_TO_4 = (Window(("Tue", "Wed", "Thu"), 2, 4),)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("moment", "admitted"), [
    ("2026-12-08T01:59:59", False),  # Tuesday, a second before the window opens
    ("2026-12-08T02:00:00", True),   # Tuesday, as it opens
    ("2026-12-10T03:59:59", True),   # Thursday, the last second
    ("2026-12-10T04:00:00", False),  # Thursday, as it closes
    ("2026-12-11T03:00:00", False),  # Friday, inside the hours: never on Friday
    ("2026-12-07T03:00:00", False),  # Monday
])
def test_a_window_admits_its_days_from_its_start_hour_up_to_its_end_hour(moment: str, admitted: bool) -> None:
    refusal = window_refusal(TUE_THU_2_TO_4, _at(moment))
    assert (refusal is None) == admitted
    if not admitted:
        assert "outside the release windows (Tue-Thu 02:00-04:00 UTC)" in refusal
        assert "prodready:delivery.outsideWindow: true" in refusal
    # The override lets any moment through; no window at all means any time.
    assert window_refusal(TUE_THU_2_TO_4, _at(moment), override=True) is None
    assert window_refusal((), _at(moment)) is None


def test_a_window_must_have_days_and_ordered_hours() -> None:
    with pytest.raises(ValueError, match="days"):
        Window(("Friday",), 2, 4)
    with pytest.raises(ValueError, match="startHour < endHour"):
        Window(("Tue",), 4, 4)
    assert str(Window(("Sat", "Mon"), 22, 24)) == "Mon,Sat 22:00-24:00 UTC"


def _gated_release(world: World, **gate: Any) -> dict[str, Any]:
    deployments = world.deployments
    return deployments.release(APP, GROUP, FUNCTION, ALIAS, "3", HOOK, "release of 3", 600, poll_seconds=10,
                               gate=deployments.release_gate(**gate))


def test_outside_every_window_a_release_is_refused_before_anything_is_deployed(world):
    world.none_running()
    world.history([])  # the failed-version guard reads it before the gate

    with pytest.raises(ReleaseFailed) as refused:
        _gated_release(world, windows=TUE_THU_2_TO_4, now=lambda: _at("2026-12-11T03:00:00"))  # a Friday

    message = str(refused.value)
    assert message.startswith(f"version 3 of {FUNCTION} was not deployed: it is Fri 03:00 UTC, outside the release "
                              "windows (Tue-Thu 02:00-04:00 UTC)")
    assert "prodready:delivery.outsideWindow" in message and "tools.release rollback" in message
    assert refused.value.detail == {"status": "Refused", "liveVersion": "2"}
    assert world.created == []


def test_inside_a_window_or_with_the_override_the_release_goes_ahead(world):
    for moment, override in (("2026-12-08T02:00:00", False), ("2026-12-11T03:00:00", True)):
        world.route("2")
        world.none_running()
        world.create("d-1")
        world.get(deployment("d-1", "InProgress"))
        world.get(deployment("d-1", "Succeeded"))
        world.clock.at(world.clock.now + 10, lambda: world.route("3"))
        result = _gated_release(world, windows=TUE_THU_2_TO_4, outside_window=override,
                                now=lambda moment=moment: _at(moment))
        assert result["status"] == "Succeeded"
    assert len(world.created) == 2


def test_a_burning_error_budget_freezes_releases_unless_ignored(world):
    world.alarm(RELEASE_ALARM, "ALARM")  # a composite, as the availability burn-rate pairs are
    world.none_running()
    world.history([])
    with pytest.raises(ReleaseFailed, match=rf"releases are frozen: .*\({RELEASE_ALARM} in ALARM\)") as refused:
        _gated_release(world, freeze_alarms=[RELEASE_ALARM, ERRORS_ALARM])
    assert "prodready:delivery.ignoreErrorBudget" in str(refused.value)
    assert world.created == []

    world.alarm(RELEASE_ALARM, "OK")
    world.none_running()
    world.create("d-1")
    world.get(deployment("d-1", "InProgress"))
    world.get(deployment("d-1", "Succeeded"))
    world.clock.at(10, lambda: world.route("3"))
    assert _gated_release(world, freeze_alarms=[RELEASE_ALARM, ERRORS_ALARM])["status"] == "Succeeded"


def test_an_ignored_freeze_does_not_even_read_the_alarms(world):
    world.alarm(RELEASE_ALARM, "ALARM")
    calls = len(world.cloudwatch.calls)
    world.none_running()
    world.create("d-1")
    world.get(deployment("d-1", "InProgress"))
    world.get(deployment("d-1", "Succeeded"))
    world.clock.at(10, lambda: world.route("3"))
    assert _gated_release(world, freeze_alarms=[RELEASE_ALARM], ignore_freeze=True)["status"] == "Succeeded"
    assert len(world.cloudwatch.calls) == calls
