"""The CodeDeploy traffic hooks' test bench: a stubbed CodeDeploy, a Lambda that runs the real API handler.

CodeDeploy is a real botocore client under a Stubber: its responses are checked against botocore's
model, and the report must be exactly the expected call. Lambda is a fake client whose `invoke`
validates its parameters against the same model and runs `service.handler.lambda_handler` (over moto
DynamoDB, as the other app tests do) for the published version it was given, or for the version an
alias routes to, answering as Lambda does: the function's result with `ExecutedVersion`, or its error
document with `FunctionError` when the handler raises.
"""

from __future__ import annotations

import io
import json
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import Stubber
from botocore.validate import validate_parameters
from catalog_testkit import REGION, FakeLambdaContext, json_lines

DEPLOYMENT_ID = "d-4Q7EXAMPLE"
EXECUTION_ID = "eyJkZXBsb3ltZW50SWQiOiJkLTRRN0VYQU1QTEUifQ=="
FUNCTION = "prodready-dev-api"
ACCOUNT = "123456789012"
HOOK_EVENT = {"DeploymentId": DEPLOYMENT_ID, "LifecycleEventHookExecutionId": EXECUTION_ID}


def appspec(target_version: str = "7", current_version: str = "6", alias: str | None = "live") -> str:
    """The AppSpec a release of the API function carries (both hooks, as a prod release has them)."""
    properties = {"Name": FUNCTION, "CurrentVersion": current_version, "TargetVersion": target_version}
    if alias is not None:
        properties["Alias"] = alias
    return json.dumps(
        {
            "version": 0.0,
            "Resources": [{"api": {"Type": "AWS::Lambda::Function", "Properties": properties}}],
            "Hooks": [
                {"BeforeAllowTraffic": "prodready-dev-pre-traffic"},
                {"AfterAllowTraffic": "prodready-dev-post-traffic"},
            ],
        }
    )


def deployment(content: str | None = None, revision: dict[str, Any] | None = None) -> dict[str, Any]:
    """A GetDeployment response for a Lambda deployment with an inline (AppSpecContent) revision."""
    if revision is None:
        revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": content or appspec()}}
    return {
        "deploymentInfo": {
            "applicationName": "prodready-dev",
            "deploymentGroupName": "prodready-dev-api",
            "deploymentConfigName": "CodeDeployDefault.LambdaAllAtOnce",
            "deploymentId": DEPLOYMENT_ID,
            "revision": revision,
            "status": "InProgress",
            "createTime": datetime(2025, 3, 12, 10, 15, 30, tzinfo=UTC),
            "creator": "user",
            "computePlatform": "Lambda",
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        }
    }


class HookContext(FakeLambdaContext):
    """A hook's own context: its 60 s budget, or what is left of it."""

    def __init__(self, remaining_ms: int = 60_000, name: str = "prodready-dev-pre-traffic") -> None:
        super().__init__(
            function_name=name,
            invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            log_group_name=f"/aws/lambda/{name}",
        )
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class FakeLambda:
    """Lambda's Invoke for the API function: its published `versions`, and `aliases` routing to one."""

    app: ModuleType
    versions: tuple[str, ...] = ("6", "7")
    aliases: dict[str, str] = field(default_factory=lambda: {"live": "7"})
    calls: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    _input_shape: Any = field(
        default_factory=lambda: (
            botocore.session.get_session().get_service_model("lambda").operation_model("Invoke").input_shape
        )
    )

    def invoke(self, **params: Any) -> dict[str, Any]:
        validate_parameters(params, self._input_shape)
        self.calls.append({name: value for name, value in params.items() if name != "Payload"})
        qualifier = params.get("Qualifier")
        version = self.aliases.get(qualifier, qualifier if qualifier in self.versions else None)
        if params["FunctionName"] != FUNCTION or version is None:
            error = {"Code": "ResourceNotFoundException", "Message": f"Function not found: {params['FunctionName']}"}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 404}}, "Invoke")
        # Through JSON both ways, as Lambda passes the payload and the result.
        event = json.loads(params["Payload"])
        self.events.append(event)
        context = FakeLambdaContext(
            function_version=version,
            invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}:{qualifier}",
        )
        # Invoke's response: "ExecutedVersion: The version of the function that executed" (for an alias,
        # the version it resolved to).
        response: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": version}
        try:
            result: Any = self.app.lambda_handler(event, context)
        except Exception as exc:
            # Lambda's document for an unhandled exception of a Python function.
            result = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "requestId": context.aws_request_id,
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }
            response["FunctionError"] = "Unhandled"
        body = json.dumps(result).encode()
        return {**response, "Payload": StreamingBody(io.BytesIO(body), len(body))}


@dataclass
class Hook:
    """A hook module wired to a stubbed CodeDeploy and the fake Lambda; its log lines collected."""

    module: ModuleType
    codedeploy: Stubber
    lambda_: FakeLambda
    log: io.StringIO

    @property
    def stage(self) -> str:
        return self.module.STAGE.name

    def expect_deployment(self, response: dict[str, Any] | None = None) -> None:
        self.codedeploy.add_response("get_deployment", response or deployment(), {"deploymentId": DEPLOYMENT_ID})

    def expect_report(self, status: str) -> None:
        self.codedeploy.add_response(
            "put_lifecycle_event_hook_execution_status",
            {"lifecycleEventHookExecutionId": EXECUTION_ID},
            {"deploymentId": DEPLOYMENT_ID, "lifecycleEventHookExecutionId": EXECUTION_ID, "status": status},
        )

    def run(self, context: HookContext | None = None) -> dict[str, Any]:
        with self.codedeploy:
            summary = self.module.lambda_handler(dict(HOOK_EVENT), context or HookContext())
            self.codedeploy.assert_no_pending_responses()
        return summary

    def lines(self, message: str) -> list[dict[str, Any]]:
        return [line for line in json_lines(self.log.getvalue()) if line.get("message") == message]

    def check_line(self, check: str) -> dict[str, Any]:
        matching = [line for line in self.lines(f"{self.stage} check") if line["check"] == check]
        assert len(matching) == 1, self.log.getvalue()
        return matching[0]


@contextmanager
def wired(module: ModuleType, app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hook]:
    """`module`'s hook with its clients replaced (through the module's own names) and its log captured."""
    codedeploy = botocore.session.get_session().create_client(
        "codedeploy", region_name=REGION, config=module.CODEDEPLOY_CONFIG
    )
    fake_lambda = FakeLambda(app)
    monkeypatch.setattr(module, "codedeploy_client", lambda: codedeploy)
    monkeypatch.setattr(module, "lambda_client", lambda: fake_lambda)
    log = io.StringIO()
    previous = module.logger.registered_handler.setStream(log)
    try:
        yield Hook(module, Stubber(codedeploy), fake_lambda, log)
    finally:
        module.logger.registered_handler.setStream(previous)
