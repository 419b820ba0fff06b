"""A CodeDeploy lifecycle hook of the API function: read the deployment, send the function API Gateway's
events, judge the answers, report to CodeDeploy.

CodeDeploy invokes a hook with `{"DeploymentId": ..., "LifecycleEventHookExecutionId": ...}`. The hook
reads the deployment's AppSpec to learn which function, alias and version are being released, invokes
the function with the HTTP API payload 2.0 events API Gateway would send, and reports the outcome with
PutLifecycleEventHookExecutionStatus. Two stages use it:

- BeforeAllowTraffic (`pre_traffic`) invokes the version under test directly: the alias still points
  at the old one;
- AfterAllowTraffic (`post_traffic`) invokes the alias, which now sends every request to the new
  version; Lambda's `ExecutedVersion` must be that version, or the check fails.

`Succeeded` only when every check ran and passed; anything that could not be checked (the deployment
or its AppSpec unreadable, no time left, an error in the hook itself) is `Failed`, and CodeDeploy
rolls the release back. If the report itself cannot be sent the handler raises: CodeDeploy then fails
the deployment when its hour without a status runs out, which is slow but never passes an unchecked
version.

Every check writes one log line (`<stage> check`: `check`, `result`, `status`, `duration_ms`,
`version`) and the invocation ends with one summary line (`<stage> result`).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import urlencode

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

SUCCEEDED = "Succeeded"
FAILED = "Failed"

DEFAULT_READ_SCOPE = "items.read"
EXCERPT_CHARS = 500

# A hook has a 60 s budget (its function timeout). Each call is bounded so that the checks and the
# report fit in it: a wait of minutes on one stuck connection would cost the report.
CONNECT_TIMEOUT_S = 2
CODEDEPLOY_READ_TIMEOUT_S = 5
# Above the API function's usual answer time, cold start included; a version that needs more than this
# for a health check or a short read is not ready to take traffic anyway.
LAMBDA_READ_TIMEOUT_S = 10
# CodeDeploy calls are retried (standard mode: throttling and transient errors, with backoff): the
# report is the one call that must get through.
CODEDEPLOY_ATTEMPTS = 3
CODEDEPLOY_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_S,
    read_timeout=CODEDEPLOY_READ_TIMEOUT_S,
    retries={"mode": "standard", "total_max_attempts": CODEDEPLOY_ATTEMPTS},
)
# One retry for an invoke (a throttle, a dropped connection); the checks are reads, so invoking twice
# is harmless.
LAMBDA_ATTEMPTS = 2
LAMBDA_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_S,
    read_timeout=LAMBDA_READ_TIMEOUT_S,
    retries={"mode": "standard", "total_max_attempts": LAMBDA_ATTEMPTS},
)
# A check starts only if it and the report, each with all its attempts timing out, still fit in the
# time left (24 s + 24 s of the 60): otherwise it counts as failed (not run) and the report goes out
# while it still can. A report that missed the function's timeout would leave CodeDeploy waiting an hour.
CHECK_RESERVE_MS = LAMBDA_ATTEMPTS * (CONNECT_TIMEOUT_S + LAMBDA_READ_TIMEOUT_S) * 1000
REPORT_RESERVE_MS = CODEDEPLOY_ATTEMPTS * (CONNECT_TIMEOUT_S + CODEDEPLOY_READ_TIMEOUT_S) * 1000 + 3000

# AppSpec versions are positive integers, as strings; anything else ($LATEST, an alias) would check
# something other than the version being released.
_VERSION = re.compile(r"[1-9][0-9]*")
_LAMBDA_RESOURCE_TYPE = "AWS::Lambda::Function"
_SOURCE_IP = "127.0.0.1"
# The token the claims would come from lives an hour, as Cognito access tokens do by default.
_TOKEN_LIFETIME_S = 3600


class AppSpecError(ValueError):
    """The deployment's AppSpec cannot be read, or names no single function version."""


@dataclass(frozen=True)
class Stage:
    """One lifecycle hook: its name in logs and events, and what it invokes."""

    name: str
    """`pre-traffic` or `post-traffic`: log messages, correlation ids, the caller's identity."""
    through_alias: bool
    """False: invoke the version under test itself; True: invoke the alias and require that it ran
    the version under test."""

    @property
    def caller(self) -> str:
        """Subject and client id of the claims an authorized check carries."""
        return f"codedeploy-{self.name}"

    @property
    def host(self) -> str:
        # A reserved name (RFC 2606): the hook does not know the API's, and its events say they are not real.
        return f"{self.name}.invalid"

    @property
    def user_agent(self) -> str:
        return f"prodready-{self.name}"


@dataclass(frozen=True)
class Target:
    """The function version a deployment releases, from its AppSpec."""

    function_name: str
    alias: str | None
    current_version: str | None
    target_version: str

    @property
    def qualified_name(self) -> str:
        return f"{self.function_name}:{self.target_version}"


BodyCheck = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class Check:
    """One request to send, the status it must answer and what its body must show."""

    name: str
    route_key: str
    path: str
    query: Mapping[str, str]
    expected_status: int
    scopes: tuple[str, ...] | None
    """The scopes the caller's token carries; None for a public route (no authorizer runs)."""
    body: BodyCheck | None = None
    """Why the decoded JSON body is wrong, or None when it is right; None checks the status only."""

    @property
    def method(self) -> str:
        return self.route_key.split(" ", 1)[0]


@dataclass(frozen=True)
class CheckResult:
    """What one check found; `reason` says why it failed (None when it passed)."""

    check: str
    passed: bool
    duration_ms: float
    status_code: int | None = None
    function_error: str | None = None
    error_type: str | None = None
    excerpt: str | None = None
    reason: str | None = None
    executed_version: str | None = None


# --- clients ------------------------------------------------------------------------------------


# Created on first use and kept for warm invocations. botocore directly, as the API function does:
# boto3 adds nothing these calls need, and not importing it shortens the cold start.
@cache
def codedeploy_client() -> Any:
    return botocore.session.get_session().create_client(
        "codedeploy", region_name=os.environ.get("AWS_REGION"), config=CODEDEPLOY_CONFIG
    )


@cache
def lambda_client() -> Any:
    return botocore.session.get_session().create_client(
        "lambda", region_name=os.environ.get("AWS_REGION"), config=LAMBDA_CONFIG
    )


# --- the deployment -----------------------------------------------------------------------------


def with_app_spec(codedeploy: Any, deployment: Mapping[str, Any]) -> Mapping[str, Any]:
    """The GetDeployment answer with its AppSpec content filled in.

    CodeDeploy returns a deployment's revision without its content ("The content property of the
    appSpecContent object in the returned revision is always null. Use GetApplicationRevision and the
    sha256 property", CodeDeploy API reference, GetDeployment), so it is fetched by its hash.
    """
    info = deployment.get("deploymentInfo")
    if not isinstance(info, Mapping):
        return deployment
    revision = info.get("revision")
    if not isinstance(revision, Mapping) or revision.get("revisionType") not in ("AppSpecContent", "String"):
        return deployment
    key = "appSpecContent" if revision.get("revisionType") == "AppSpecContent" else "string"
    holder = revision.get(key)
    if not isinstance(holder, Mapping) or holder.get("content") or not holder.get("sha256"):
        return deployment
    answer = codedeploy.get_application_revision(
        applicationName=info.get("applicationName"),
        revision={"revisionType": revision["revisionType"], key: {"sha256": holder["sha256"]}},
    )
    content = ((answer.get("revision") or {}).get(key) or {}).get("content")
    return {**deployment, "deploymentInfo": {**info, "revision": {**revision, key: {**holder, "content": content}}}}


def read_target(deployment: Mapping[str, Any]) -> Target:
    """The function version a GetDeployment response releases, from the AppSpec in its revision.

    GetDeployment returns `deploymentInfo.revision`, a RevisionLocation (botocore's codedeploy service
    model): for `revisionType` `AppSpecContent` the AppSpec is `appSpecContent.content`, for the legacy
    `String` it is `string.content` ("For Lambda deployments, the revision is the same as the AppSpec
    file"). S3 and GitHub revisions only point elsewhere, so they are refused. Only JSON is read: the
    hooks ship without a YAML parser.
    """
    info = deployment.get("deploymentInfo")
    revision = info.get("revision") if isinstance(info, Mapping) else None
    if not isinstance(revision, Mapping):
        raise AppSpecError("the deployment has no revision")
    revision_type = revision.get("revisionType")
    if revision_type == "AppSpecContent":
        holder = revision.get("appSpecContent")
    elif revision_type == "String":
        holder = revision.get("string")
    else:
        raise AppSpecError(f"revision type {revision_type!r} carries no AppSpec content")
    content = holder.get("content") if isinstance(holder, Mapping) else None
    if not isinstance(content, str) or not content.strip():
        raise AppSpecError("the revision's AppSpec content is empty")
    try:
        appspec = json.loads(content)
    except ValueError as exc:
        raise AppSpecError(f"the AppSpec is not JSON ({exc.__class__.__name__}: {exc})") from None

    resources = appspec.get("Resources") if isinstance(appspec, dict) else None
    if not isinstance(resources, list):
        raise AppSpecError("the AppSpec has no Resources list")
    # Each entry maps a logical name to a resource: [{"<name>": {"Type": ..., "Properties": ...}}].
    functions = [
        resource
        for entry in resources
        if isinstance(entry, dict)
        for resource in entry.values()
        if isinstance(resource, dict) and resource.get("Type") == _LAMBDA_RESOURCE_TYPE
    ]
    if len(functions) != 1:
        raise AppSpecError(f"expected one {_LAMBDA_RESOURCE_TYPE} resource, found {len(functions)}")
    properties = functions[0].get("Properties")
    if not isinstance(properties, dict):
        raise AppSpecError("the function resource has no Properties")
    name = properties.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise AppSpecError("the function resource has no Name")
    target_version = _version(properties.get("TargetVersion"))
    if target_version is None:
        raise AppSpecError(f"TargetVersion {properties.get('TargetVersion')!r} is not a published version number")
    alias = properties.get("Alias")
    return Target(
        function_name=name.strip(),
        alias=alias.strip() if isinstance(alias, str) and alias.strip() else None,
        current_version=_version(properties.get("CurrentVersion")),
        target_version=target_version,
    )


def _version(value: Any) -> str | None:
    # Written as strings; a number is accepted, as a JSON AppSpec can hold one.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and _VERSION.fullmatch(value) else None


# --- the events ---------------------------------------------------------------------------------


def read_scope() -> str:
    """The read scope the API's tokens carry: `READ_SCOPE`, else the routes' unprefixed name.

    The scope as the API's tokens carry it (with the resource server's prefix in Cognito mode, e.g.
    `catalog/items.read`); the default is `service.routes.READ_SCOPE`, which a hook cannot import. The
    function does not check scopes itself (API Gateway does), so the value is for fidelity and the logs.
    """
    return os.environ.get("READ_SCOPE", "").strip() or DEFAULT_READ_SCOPE


def _api_request_id() -> str:
    # API Gateway request ids look like "JKJaXmPLvHcESHA=": 16 characters, base64 of 11 bytes.
    return base64.b64encode(secrets.token_bytes(11)).decode()


def api_event(
    check: Check, *, stage: Stage, account_id: str, deployment_id: str, now: float | None = None
) -> dict[str, Any]:
    """The HTTP API payload 2.0 event API Gateway would send for `check`.

    Shaped as API Gateway delivers it: lower-case header names, `rawQueryString` next to
    `queryStringParameters` (left out when empty), a fresh `requestId` per event, stage `$default`, and
    for an authorized route `requestContext.authorizer.jwt` with the claims as strings and the route's
    scopes the token carried. There is no `authorization` header: there is no token, and the function
    reads the authorizer's context, not the header. `x-correlation-id` ties the API's log lines of the
    check to this deployment and stage.
    """
    now = time.time() if now is None else now
    query = dict(check.query)
    host = stage.host
    headers = {
        "accept": "application/json",
        "host": host,
        "user-agent": stage.user_agent,
        "x-amzn-trace-id": f"Root=1-{int(now):08x}-{secrets.token_hex(12)}",
        "x-correlation-id": f"{stage.name}:{deployment_id}:{check.name}",
        "x-forwarded-for": _SOURCE_IP,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    request_context: dict[str, Any] = {
        "accountId": account_id,
        "apiId": host.split(".")[0],
        "domainName": host,
        "domainPrefix": host.split(".")[0],
        "http": {
            "method": check.method,
            "path": check.path,
            "protocol": "HTTP/1.1",
            "sourceIp": _SOURCE_IP,
            "userAgent": stage.user_agent,
        },
        "requestId": _api_request_id(),
        "routeKey": check.route_key,
        "stage": "$default",
        "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now * 1000),
    }
    if check.scopes is not None:
        issued_at = int(now)
        request_context["authorizer"] = {
            "jwt": {
                # API Gateway passes every claim as a string.
                "claims": {
                    "sub": stage.caller,
                    "client_id": stage.caller,
                    "token_use": "access",
                    "scope": " ".join(check.scopes),
                    "iat": str(issued_at),
                    "exp": str(issued_at + _TOKEN_LIFETIME_S),
                    "jti": secrets.token_hex(16),
                },
                "scopes": list(check.scopes),
            }
        }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": check.route_key,
        "rawPath": check.path,
        "rawQueryString": urlencode(query),
        "headers": headers,
        "requestContext": request_context,
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    return event


# --- the verdicts -------------------------------------------------------------------------------


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error") or {}
        code, message = error.get("Code", "ClientError"), error.get("Message")
        return f"{code}: {message}" if message else str(code)
    return f"{type(exc).__name__}: {exc}"


def evaluate(
    check: Check, response: Mapping[str, Any], duration_ms: float, expected_version: str | None = None
) -> CheckResult:
    """The verdict on one Invoke response (its `Payload` already read into bytes).

    With `expected_version`, the response's `ExecutedVersion` (the version an alias resolved to) must
    be it: an alias that still routes to another version has not released this one.
    """
    raw = response.get("Payload") or b""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    executed = response.get("ExecutedVersion")
    executed = str(executed) if executed is not None else None
    try:
        payload: Any = json.loads(text) if text else None
    except ValueError:
        payload = None

    def failed(reason: str, **fields: Any) -> CheckResult:
        return CheckResult(check.name, False, duration_ms, executed_version=executed, reason=reason, **fields)

    if expected_version is not None and executed != expected_version:
        return failed(f"the alias ran version {executed}, not version {expected_version} under release")
    function_error = response.get("FunctionError")
    if function_error:
        # Lambda's error document: {"errorMessage", "errorType", "requestId", "stackTrace"}.
        error_type = payload.get("errorType") if isinstance(payload, dict) else None
        message = payload.get("errorMessage") if isinstance(payload, dict) else None
        excerpt = _excerpt(str(message) if message is not None else text)
        return failed(
            f"function error {function_error} ({error_type or 'unknown type'}): {excerpt}",
            function_error=str(function_error),
            error_type=str(error_type) if error_type is not None else None,
            excerpt=excerpt,
        )
    status = payload.get("statusCode") if isinstance(payload, dict) else None
    if not isinstance(status, int) or isinstance(status, bool):
        excerpt = _excerpt(text)
        return failed(f"the response has no statusCode: {excerpt}", excerpt=excerpt)
    body = payload.get("body")
    if status != check.expected_status:
        excerpt = _excerpt(body if isinstance(body, str) else json.dumps(body))
        return failed(f"status {status}, expected {check.expected_status}: {excerpt}", status_code=status,
                      excerpt=excerpt)
    if check.body is not None:
        try:
            document: Any = json.loads(body) if isinstance(body, str) else body
        except ValueError:
            document = None
        problem = check.body(document)
        if problem is not None:
            excerpt = _excerpt(body if isinstance(body, str) else json.dumps(body))
            return failed(f"{problem}: {excerpt}", status_code=status, excerpt=excerpt)
    return CheckResult(check.name, True, duration_ms, status_code=status, executed_version=executed)


def run_check(
    client: Any, target: Target, check: Check, event: Mapping[str, Any], *, through_alias: bool
) -> CheckResult:
    """Invoke the target version (or the alias, which must run it) with `event` and judge the answer;
    a failed call fails the check."""
    qualifier = target.alias if through_alias else target.target_version
    started = time.perf_counter()
    try:
        response = client.invoke(
            FunctionName=target.function_name,
            Qualifier=qualifier,
            InvocationType="RequestResponse",
            Payload=json.dumps(event, separators=(",", ":")).encode(),
        )
        payload = response.get("Payload")
        response = {**response, "Payload": payload.read() if payload is not None else b""}
    except (ClientError, BotoCoreError) as exc:
        return CheckResult(check.name, False, _elapsed_ms(started), reason=f"invoke failed: {_describe(exc)}")
    return evaluate(check, response, _elapsed_ms(started), target.target_version if through_alias else None)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)


# --- the hook -----------------------------------------------------------------------------------


def hook_ids(event: Mapping[str, Any]) -> tuple[str, str]:
    deployment_id = event.get("DeploymentId")
    execution_id = event.get("LifecycleEventHookExecutionId")
    if not isinstance(deployment_id, str) or not deployment_id or not isinstance(execution_id, str) or not execution_id:
        # Nothing can be reported without both; raising makes the invocation's failure visible.
        raise ValueError("not a CodeDeploy lifecycle hook event: DeploymentId or LifecycleEventHookExecutionId missing")
    return deployment_id, execution_id


def account_id(context: Any) -> str:
    # The API runs in the hook's account; its ARN is arn:aws:lambda:<region>:<account>:function:<name>.
    parts = str(getattr(context, "invoked_function_arn", "")).split(":")
    return parts[4] if len(parts) > 4 and parts[4] else "000000000000"


@dataclass(frozen=True)
class Hook:
    """A stage with what it calls; the handler module passes its own names, resolved per invocation."""

    stage: Stage
    logger: Any
    """The handler's Powertools Logger."""
    codedeploy: Callable[[], Any]
    lambda_: Callable[[], Any]
    read_target: Callable[[Mapping[str, Any]], Target]
    checks: Callable[[], Sequence[Check]]

    def _log_check(self, result: CheckResult, target: Target) -> None:
        fields = {
            "check": result.check,
            "result": "pass" if result.passed else "fail",
            "status": result.status_code,
            "duration_ms": result.duration_ms,
            "version": target.target_version,
            "function": target.function_name,
        }
        if self.stage.through_alias:
            fields.update(alias=target.alias, executed_version=result.executed_version)
        if result.passed:
            self.logger.info(f"{self.stage.name} check", extra=fields)
        else:
            fields.update(function_error=result.function_error, error_type=result.error_type, reason=result.reason)
            self.logger.warning(f"{self.stage.name} check", extra=fields)

    def _run_checks(self, deployment_id: str, context: Any) -> tuple[Target | None, list[CheckResult], str | None]:
        """The target and each check's result, or the reason nothing could be checked."""
        try:
            target = self.read_target(with_app_spec(self.codedeploy(), self.codedeploy().get_deployment(
                deploymentId=deployment_id)))
        except (ClientError, BotoCoreError) as exc:
            return None, [], f"GetDeployment failed: {_describe(exc)}"
        except AppSpecError as exc:
            return None, [], f"the AppSpec is unreadable: {exc}"
        if self.stage.through_alias and target.alias is None:
            return target, [], "the AppSpec is unreadable: the function resource names no Alias"
        results: list[CheckResult] = []
        for check in self.checks():
            if context.get_remaining_time_in_millis() < CHECK_RESERVE_MS + REPORT_RESERVE_MS:
                result = CheckResult(check.name, False, 0.0, reason="not run: too little of the hook's time left")
            else:
                event = api_event(check, stage=self.stage, account_id=account_id(context), deployment_id=deployment_id)
                result = run_check(self.lambda_(), target, check, event, through_alias=self.stage.through_alias)
            self._log_check(result, target)
            results.append(result)
        return target, results, None

    def report(self, deployment_id: str, execution_id: str, status: str) -> None:
        """Tell CodeDeploy the hook's outcome; raises when that fails (see the module's docstring)."""
        self.codedeploy().put_lifecycle_event_hook_execution_status(
            deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id, status=status
        )

    def handle(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        deployment_id, execution_id = hook_ids(event)
        try:
            target, results, problem = self._run_checks(deployment_id, context)
        except Exception:
            # A bug here must fail the deployment now, not when CodeDeploy's hour without a status ends.
            self.logger.exception(f"{self.stage.name} checks crashed")
            target, results, problem = None, [], "the hook failed before finishing its checks"
        failed = [result.check for result in results if not result.passed]
        if problem is None and not results:
            problem = "no check ran"
        status = SUCCEEDED if problem is None and not failed else FAILED
        summary: dict[str, Any] = {
            "deployment_id": deployment_id,
            "status": status,
            "function": target.function_name if target else None,
            "alias": target.alias if target else None,
            "current_version": target.current_version if target else None,
            "version": target.target_version if target else None,
            "checks_passed": [result.check for result in results if result.passed],
            "checks_failed": failed,
            "reason": problem,
        }
        if status == SUCCEEDED:
            self.logger.info(f"{self.stage.name} result", extra=summary)
        else:
            self.logger.warning(f"{self.stage.name} result", extra=summary)
        self.report(deployment_id, execution_id, status)
        return {**summary, "checks": [asdict(result) for result in results]}
