"""Helpers for the app tests: event fixtures, a Lambda context, captured output."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HERE = Path(__file__).parent
REPO_ROOT = HERE.parents[1]
EVENTS_DIR = HERE / "events"
FIXTURE_ITEM_ID = "3f1c2a9e-6b7d-4e8f-9a0b-1c2d3e4f5a6b"
REGION = "eu-west-1"
TABLE_NAME = "prodready-items-test"
IDEMPOTENCY_TABLE_NAME = "prodready-idempotency-test"

# The environment the Function component sets, with test values.
APP_ENV = {
    "TABLE_NAME": TABLE_NAME,
    "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY_TABLE_NAME,
    "IDEMPOTENCY_TTL_SECONDS": "3600",
    "MAX_REQUEST_BODY_BYTES": "65536",
    "POWERTOOLS_SERVICE_NAME": "catalog",
    "POWERTOOLS_METRICS_NAMESPACE": "Prodready/Test",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "SERVICE_VERSION": "1.4.2",
    "ENVIRONMENT": "dev",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of the API Gateway v2 event fixture `events/<name>.json`."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text())


def for_item(event: dict[str, Any], item_id: str) -> dict[str, Any]:
    """The event aimed at another item id (path, raw path and path parameter)."""
    event = copy.deepcopy(event)
    path = f"/items/{item_id}"
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"id": item_id}
    return event


def with_body(event: dict[str, Any], body: Any) -> dict[str, Any]:
    """The event with another body: a string as is, anything else as JSON."""
    event = copy.deepcopy(event)
    event["body"] = body if isinstance(body, str) or body is None else json.dumps(body)
    return event


def with_query(event: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
    """The event with another query string."""
    event = copy.deepcopy(event)
    event["rawQueryString"] = urlencode(params)
    if params:
        event["queryStringParameters"] = dict(params)
    else:
        event.pop("queryStringParameters", None)
    return event


def with_headers(event: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """The event with extra (or replaced) headers, lower-cased like payload 2.0."""
    event = copy.deepcopy(event)
    event["headers"].update({name.lower(): value for name, value in headers.items()})
    return event


def with_claims(event: dict[str, Any], claims: dict[str, str], scopes: list[str] | None = None) -> dict[str, Any]:
    """The event as API Gateway's JWT authorizer passes it on: the token's claims (as strings), its scopes."""
    event = copy.deepcopy(event)
    event["requestContext"]["authorizer"] = {"jwt": {"claims": dict(claims), "scopes": scopes}}
    return event


@dataclass
class FakeLambdaContext:
    """The context attributes Powertools reads."""

    aws_request_id: str = "6f1f2c3d-0000-4000-8000-00000000c0de"
    function_name: str = "prodready-dev-api"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:prodready-dev-api"
    log_group_name: str = "/aws/lambda/prodready-dev-api"
    log_stream_name: str = "2025/03/12/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of `text` parsed as JSON; fails on a line that is not JSON."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass
class Invocation:
    """One handler call: the raw response and what the function wrote."""

    response: dict[str, Any]
    logs: list[dict[str, Any]]
    emf: list[dict[str, Any]]
    headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.headers = self.response.get("headers") or {}

    @property
    def status(self) -> int:
        return int(self.response["statusCode"])

    @property
    def body(self) -> Any:
        raw = self.response.get("body")
        return json.loads(raw) if raw else None

    def log(self, message: str) -> dict[str, Any]:
        """The one log line with this message."""
        matching = [line for line in self.logs if line.get("message") == message]
        assert len(matching) == 1, f"expected one {message!r} log line, got {len(matching)}: {self.logs}"
        return matching[0]

    def metric_names(self) -> list[str]:
        """Names of the metrics in the EMF documents, in order."""
        return [m["Name"] for doc in self.emf for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]


EMF_SCHEMA = json.loads((Path(__file__).parent / "emf_schema.json").read_text())


def assert_valid_emf(document: dict[str, Any]) -> None:
    """Fail unless `document` is a valid embedded metric format document.

    The schema covers the structure; the rest are the specification's rules about target
    members: every dimension key names a string member of the root node, every metric a number
    or an array of at most 100 numbers.
    """
    import jsonschema

    jsonschema.validate(document, EMF_SCHEMA)
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for key in dimension_set:
                assert isinstance(document.get(key), str) and document[key], f"dimension {key} has no string value"
        for metric in directive["Metrics"]:
            value = document.get(metric["Name"])
            values = value if isinstance(value, list) else [value]
            assert values and len(values) <= 100, f"metric {metric['Name']} has {len(values)} values"
            assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values), (
                f"metric {metric['Name']} value {value!r} is not numeric"
            )


def run_fresh(
    tmp_path: Path,
    env: dict[str, str],
    events: list[dict[str, Any]],
    drop: tuple[str, ...] = (),
    script: str = "fresh_handler.py",
) -> list[dict[str, Any]]:
    """Invoke the handler with `events` in a new interpreter (`fresh_handler.py`, or `script` that runs
    it); its output lines.

    For settings Powertools or the handler read once at import. `env` goes on top of APP_ENV;
    `drop` removes variables from the result.
    """
    paths = []
    for index, event in enumerate(events):
        path = tmp_path / f"event-{index}.json"
        path.write_text(json.dumps(event))
        paths.append(str(path))
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))},
        **APP_ENV,
        **env,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "app"), str(HERE)]),
    }
    for name in drop:
        environment.pop(name, None)
    completed = subprocess.run(
        [sys.executable, str(HERE / script), *paths],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json_lines(completed.stdout)


def function_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the function wrote (logs and EMF), without the responses `fresh_handler.py` prints."""
    return [line for line in lines if "response_status" not in line]


def responses(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The responses `fresh_handler.py` printed, in order."""
    return [line for line in lines if "response_status" in line]
