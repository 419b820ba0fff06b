"""`python -m tools.release`: names from the stack outputs or flags, reports, exit codes.

As in tests/unit/test_deployments.py: Lambda and CloudWatch are moto, CodeDeploy a real botocore
client under a Stubber (moto's CodeDeploy neither progresses nor stops deployments), time a fake
clock. The Pulumi CLI is a stand-in script on PATH that prints the outputs it was given.
"""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from catalog_testkit import REGION
from moto import mock_aws

from components.delivery.deployments import Deployments
from tools.release import main

APP = "prodready-dev"
GROUP = "prodready-dev-api"
FUNCTION = "prodready-dev-api"
HOOK = "prodready-dev-pre-traffic"
ALARM = "prodready-dev-api-errors"
UNFINISHED = ["Created", "Queued", "InProgress", "Baking", "Ready"]
CREATED = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)
OUTPUTS = {
    "releaseApplication": APP,
    "releaseDeploymentGroup": GROUP,
    "functionName": FUNCTION,
    "liveAlias": "live",
    "region": REGION,
    "apiUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com",
}
FLAGS = ["--application", APP, "--group", GROUP, "--function", FUNCTION, "--region", REGION]


def deployment(deployment_id: str, status: str, *, current: str = "2", target: str = "3",
               rollback: dict[str, str] | None = None, creator: str = "user") -> dict[str, Any]:
    content = json.dumps({
        "version": 0.0,
        "Resources": [{FUNCTION: {"Type": "AWS::Lambda::Function", "Properties": {
            "Name": FUNCTION, "Alias": "live", "CurrentVersion": current, "TargetVersion": target}}}],
        "Hooks": [{"BeforeAllowTraffic": HOOK}],
    })
    info: dict[str, Any] = {
        "applicationName": APP, "deploymentGroupName": GROUP, "deploymentId": deployment_id, "status": status,
        "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": content}},
        "createTime": CREATED, "creator": creator, "computePlatform": "Lambda",
    }
    if status == "Failed":
        info["errorInformation"] = {"code": "HOOK_EXECUTION_FAILURE", "message": "BeforeAllowTraffic failed"}
    if rollback:
        info["rollbackInfo"] = rollback
    return info


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.due: list[tuple[float, Any]] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        for when, action in [item for item in self.due if item[0] <= self.now]:
            self.due.remove((when, action))
            action()


@dataclass
class Cloud:
    lam: Any
    cloudwatch: Any
    codedeploy: Any
    stub: Stubber
    clock: Clock = field(default_factory=Clock)
    progress: list[str] = field(default_factory=list)

    def factory(self, region: str) -> Deployments:
        assert region == REGION
        return Deployments(region, clients={"lambda": self.lam, "cloudwatch": self.cloudwatch,
                                            "codedeploy": self.codedeploy},
                           sleep=self.clock.sleep, clock=self.clock, log=self.progress.append)

    def route(self, version: str) -> None:
        self.lam.update_alias(FunctionName=FUNCTION, Name="live", FunctionVersion=version,
                              RoutingConfig={"AdditionalVersionWeights": {}})

    def running(self, ids: list[str]) -> None:
        self.stub.add_response(
            "list_deployments", {"deployments": ids},
            {"applicationName": APP, "deploymentGroupName": GROUP, "includeOnlyStatuses": UNFINISHED},
        )

    def group(self, **last: str) -> None:
        info: dict[str, Any] = {"applicationName": APP, "deploymentGroupName": GROUP, "computePlatform": "Lambda",
                                "alarmConfiguration": {"enabled": True, "alarms": [{"name": ALARM}]}}
        for key, deployment_id in last.items():
            info[key] = {"deploymentId": deployment_id, "status": "Succeeded", "createTime": CREATED}
        self.stub.add_response("get_deployment_group", {"deploymentGroupInfo": info},
                               {"applicationName": APP, "deploymentGroupName": GROUP})

    def get(self, info: dict[str, Any]) -> None:
        self.stub.add_response("get_deployment", {"deploymentInfo": info}, {"deploymentId": info["deploymentId"]})

    def targets(self, deployment_id: str) -> None:
        self.stub.add_response("list_deployment_targets", {"targetIds": ["t-1"]}, {"deploymentId": deployment_id})
        self.stub.add_response("batch_get_deployment_targets", {"deploymentTargets": [{
            "deploymentTargetType": "LambdaTarget",
            "lambdaTarget": {"targetId": "t-1", "lifecycleEvents": [
                {"lifecycleEventName": "BeforeAllowTraffic", "status": "Failed",
                 "diagnostics": {"errorCode": "ScriptFailed", "message": "health check answered 503"}}]},
        }]}, {"deploymentId": deployment_id, "targetIds": ["t-1"]})

    def last_release_failed_and_rolled_back(self) -> None:
        failed = deployment("d-1", "Failed", rollback={"rollbackDeploymentId": "d-2"})
        rollback = deployment("d-2", "Succeeded", current="3", target="2", creator="codeDeployRollback",
                              rollback={"rollbackTriggeringDeploymentId": "d-1"})
        rollback["createTime"] = CREATED + timedelta(minutes=7)
        self.running([])
        self.group(lastAttemptedDeployment="d-2")
        self.stub.add_response("batch_get_deployments", {"deploymentsInfo": [rollback]}, {"deploymentIds": ["d-2"]})
        self.get(failed)
        self.get(rollback)
        self.targets("d-1")
        self.group()


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with mock_aws():
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="api", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("handler.py", "def handler(event, context):\n    return {}\n")
        lam.create_function(FunctionName=FUNCTION, Runtime="python3.12", Role=role, Handler="handler.handler",
                            Code={"ZipFile": archive.getvalue()}, Publish=True)
        for release in ("2", "3"):
            lam.update_function_configuration(FunctionName=FUNCTION, Description=f"release {release}")
            lam.publish_version(FunctionName=FUNCTION)
        lam.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="2")
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        cloudwatch.put_metric_alarm(AlarmName=ALARM, Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum",
                                    Period=60, EvaluationPeriods=1, Threshold=1,
                                    ComparisonOperator="GreaterThanOrEqualToThreshold")
        codedeploy = boto3.client("codedeploy", region_name=REGION)
        with Stubber(codedeploy) as stub:
            yield Cloud(lam, cloudwatch, codedeploy, stub)
            stub.assert_no_pending_responses()


@pytest.fixture
def pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `pulumi` on PATH that prints OUTPUTS (or fails for stack `gone`) and records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(tmp_path / 'args.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        "if sys.argv[-1] == 'gone':\n"
        "    print(\"error: no stack named 'gone' found\", file=sys.stderr)\n"
        "    sys.exit(255)\n"
        f"print({json.dumps(json.dumps(OUTPUTS))})\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return tmp_path / "args.json"


def test_without_names_or_a_stack_it_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["status"])

    assert exited.value.code == 2
    assert "missing --application, --group, --function (or --stack STACK" in capsys.readouterr().err


def test_names_come_from_the_stack_outputs(cloud, pulumi, capsys):
    cloud.route("3")
    cloud.running([])
    cloud.group(lastAttemptedDeployment="d-1")
    cloud.stub.add_response("batch_get_deployments", {"deploymentsInfo": [deployment("d-1", "Succeeded")]},
                            {"deploymentIds": ["d-1"]})
    cloud.group()

    code = main(["status", "--stack", "dev"], factory=cloud.factory)

    out = capsys.readouterr().out.splitlines()
    assert code == 0, out
    assert json.loads(pulumi.read_text()) == ["stack", "output", "--json", "-s", "dev"]
    assert out[0] == f"release of {FUNCTION}:live (application {APP}, group {GROUP}, {REGION})"
    assert out[1].startswith("deployment d-1 Succeeded: version 2 -> 3 (created by user 2025-03-12T10:00:00")
    assert "  live now: version 3" in out
    assert out[-1] == "RESULT: OK"


def test_a_stack_the_pulumi_cli_cannot_read_is_a_usage_error(pulumi, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["status", "--stack", "gone"])

    assert exited.value.code == 2
    assert "`pulumi stack output -s gone` failed: error: no stack named 'gone' found" in capsys.readouterr().err


def test_flags_alone_need_no_pulumi_cli(cloud, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi here
    cloud.running([])
    cloud.group()

    code = main(["status", *FLAGS, "--alias", "live", "--stack", "dev"], factory=cloud.factory)

    assert code == 0
    assert "no deployment yet; live now: version 2" in capsys.readouterr().out


def test_status_of_a_rolled_back_release_exits_1_and_says_why(cloud, capsys):
    cloud.last_release_failed_and_rolled_back()

    code = main(["status", *FLAGS], factory=cloud.factory)

    out = capsys.readouterr().out
    assert code == 1
    assert "deployment d-1 Failed: version 2 -> 3" in out
    assert "failed phase: BeforeAllowTraffic (ScriptFailed: health check answered 503)" in out
    assert "rolled back: yes, by deployment d-2 (Succeeded)" in out
    assert out.splitlines()[-1] == "RESULT: FAILED (rolled back)"


def test_status_as_json(cloud, capsys):
    cloud.last_release_failed_and_rolled_back()

    code = main(["status", *FLAGS, "--json"], factory=cloud.factory)

    detail = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (detail["deploymentId"], detail["rolledBack"], detail["liveVersion"]) == ("d-1", True, "2")
    assert detail["alarms"] == {"enabled": True, "watched": [ALARM], "inAlarm": []}


def test_stop_waits_for_the_rollback_and_reports_it(cloud, capsys):
    cloud.running(["d-1"])
    cloud.stub.add_response("stop_deployment", {"status": "Pending"},
                            {"deploymentId": "d-1", "autoRollbackEnabled": True})
    cloud.get(deployment("d-1", "InProgress"))
    cloud.get(deployment("d-1", "InProgress"))
    stopped = deployment("d-1", "Stopped", rollback={"rollbackDeploymentId": "d-2"})
    rollback = deployment("d-2", "Succeeded", current="3", target="2", creator="codeDeployRollback")
    cloud.get(stopped)
    cloud.get(rollback)
    cloud.get(stopped)
    cloud.get(rollback)
    cloud.targets("d-1")
    cloud.group()

    code = main(["stop", *FLAGS, "--poll", "5"], factory=cloud.factory)

    out = capsys.readouterr().out
    assert code == 0
    assert "stop requested for deployment d-1 (Pending)" in out
    assert "rolled back: yes, by deployment d-2 (Succeeded)" in out
    assert out.splitlines()[-1] == "RESULT: OK (stopped)"
    assert cloud.clock.now == 5


def test_stop_with_nothing_in_progress_is_fine(cloud, capsys):
    cloud.running([])

    assert main(["stop", *FLAGS], factory=cloud.factory) == 0
    assert "no deployment in progress: nothing to stop" in capsys.readouterr().out


def test_rollback_with_nothing_to_roll_back_to_exits_1(cloud, capsys):
    cloud.running([])
    cloud.group()

    code = main(["rollback", *FLAGS], factory=cloud.factory)

    out = capsys.readouterr().out
    assert code == 1
    assert f"nothing rolled back: {APP}/{GROUP} has no successful deployment to undo" in out
    assert out.splitlines()[-1] == "RESULT: FAILED"


def test_rollback_shifts_back_through_codedeploy(cloud, capsys):
    cloud.route("3")
    cloud.running([])
    cloud.group(lastSuccessfulDeployment="d-1")
    cloud.get(deployment("d-1", "Succeeded"))
    cloud.running([])
    # Before deploying, the group's ended releases: none of version 2 that failed.
    cloud.stub.add_response("list_deployments", {"deployments": []},
                            {"applicationName": APP, "deploymentGroupName": GROUP,
                             "includeOnlyStatuses": ["Succeeded", "Failed", "Stopped"]})
    # Without --watch-alarms the group's alarms are off for the rollback, as AWS recommends.
    cloud.stub.add_response("create_deployment", {"deploymentId": "d-5"},
                            {"applicationName": APP, "deploymentGroupName": GROUP, "revision": ANY,
                             "description": ANY, "overrideAlarmConfiguration": {"enabled": False}})
    cloud.get(deployment("d-5", "InProgress", current="3", target="2"))
    cloud.get(deployment("d-5", "Succeeded", current="3", target="2"))
    cloud.clock.due.append((10, lambda: cloud.route("2")))

    code = main(["rollback", *FLAGS, "--json"], factory=cloud.factory)

    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"deploymentId": "d-5", "status": "Succeeded", "liveVersion": "2",
                                                   "rolledBackFrom": "3"}
    assert "rolling back prodready-dev-api:live from version 3 to 2 (undoing d-1)" in cloud.progress


def test_a_refused_aws_call_exits_1(cloud, capsys):
    cloud.running([])
    cloud.group()

    code = main(["status", *FLAGS[:-4], "--function", "no-such-function", "--region", REGION],
                factory=cloud.factory)

    assert code == 1
    assert "status failed: An error occurred (ResourceNotFoundException)" in capsys.readouterr().err


@pytest.mark.parametrize("flags", [["--poll", "0"], ["--timeout", "-1"]])
def test_bad_timings_are_usage_errors(flags, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["stop", *FLAGS, *flags])

    assert exited.value.code == 2
