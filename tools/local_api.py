"""The function, served locally over an embedded DynamoDB fake; no AWS account needed.

A moto server on a loopback port stands in for DynamoDB, with the table created from the same
key schema the stack uses. An HTTP server on 127.0.0.1 turns each request into the API Gateway
HTTP API (payload 2.0) event the deployed API would send, calls the real handler, and turns its
result back into an HTTP response, as API Gateway does. The function's own output (JSON logs,
EMF lines) goes to stdout unchanged, framed by START/END/REPORT lines like the Lambda runtime's.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
APP_DIR = REPO_ROOT / "app"
LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_TABLE = "prodready-items-local"
READY_MARKER = "prodready local API ready at "
SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 10.0

ACCOUNT_ID = "123456789012"
FUNCTION_NAME = "prodready-local"
FUNCTION_TIMEOUT_S = 30.0
# HTTP API refuses payloads above 10 MB; refusing them here keeps local behaviour honest.
MAX_BODY_BYTES = 10 * 1024 * 1024

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LocalLambdaContext:
    """The attributes of the Lambda context object that the function and Powertools read."""

    aws_request_id: str
    function_name: str = FUNCTION_NAME
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    region: str = "us-east-1"
    log_group_name: str = f"/aws/lambda/{FUNCTION_NAME}"
    log_stream_name: str = "local"
    deadline: float = field(default_factory=lambda: time.monotonic() + FUNCTION_TIMEOUT_S)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def _api_request_id() -> str:
    # API Gateway request ids look like "JKJaXmPLvHcESHA=": base64 of 10 random bytes.
    return base64.b64encode(secrets.token_bytes(10)).decode()


def _trace_header(now: float) -> str:
    return f"Root=1-{int(now):08x}-{secrets.token_hex(12)}"


def build_event(
    *,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    source_ip: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The HTTP API payload 2.0 event for one HTTP request (`target` is path plus query)."""
    # Deferred: the app directory is on sys.path only once a server (or a test) put it there.
    from service.routing import match_route

    now = time.time() if now is None else now
    split = urlsplit(target)
    path = split.path or "/"
    method = method.upper()

    # Payload 2.0 lower-cases header names, joins repeated headers with commas, and moves
    # cookies out of the headers into their own list.
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    merged.setdefault("x-forwarded-for", source_ip)
    merged.setdefault("x-forwarded-proto", "http")
    merged.setdefault("x-amzn-trace-id", _trace_header(now))

    query: dict[str, str] = {}
    for name, value in parse_qsl(split.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value

    matched = match_route(method, path)
    route_key = matched.route_key if matched else "$default"
    request_id = _api_request_id()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": split.query,
        "headers": merged,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": merged.get("host", LOOPBACK),
            "domainPrefix": merged.get("host", LOOPBACK).split(".")[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if matched and matched.path_parameters:
        event["pathParameters"] = matched.path_parameters
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


@dataclass(frozen=True)
class HttpResult:
    """An HTTP response as API Gateway would send it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _json_result(status: int, payload: Mapping[str, Any]) -> HttpResult:
    return HttpResult(status, [("Content-Type", "application/json")], json.dumps(payload).encode())


def to_http(result: Any) -> HttpResult:
    """The HTTP response API Gateway makes of a payload 2.0 function result."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Payload 2.0 treats anything without a statusCode as a 200 JSON body.
        return HttpResult(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    raw_body = result.get("body") or ""
    body = base64.b64decode(raw_body) if result.get("isBase64Encoded") else str(raw_body).encode()
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    return HttpResult(int(result["statusCode"]), headers, body)


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Invoker:
    """Calls the handler one event at a time, as one Lambda execution environment does."""

    def __init__(self, handler: Handler, region: str) -> None:
        self.handler = handler
        self.region = region
        self._lock = threading.Lock()

    def invoke(self, event: dict[str, Any]) -> HttpResult:
        context = LocalLambdaContext(aws_request_id=str(uuid.uuid4()), region=self.region)
        with self._lock:
            _emit(f"START RequestId: {context.aws_request_id} Version: $LATEST")
            started = time.perf_counter()
            try:
                result = to_http(self.handler(event, context))
            except Exception as exc:
                # What the runtime reports for an unhandled error; API Gateway answers 500.
                error = {"errorMessage": str(exc), "errorType": type(exc).__name__, "requestId": context.aws_request_id}
                _emit(json.dumps(error))
                result = _json_result(500, {"message": "Internal Server Error"})
            duration_ms = (time.perf_counter() - started) * 1000.0
            _emit(f"END RequestId: {context.aws_request_id}")
            _emit(f"REPORT RequestId: {context.aws_request_id}\tDuration: {duration_ms:.2f} ms")
        return result


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "prodready-local"
    invoker: Invoker  # set on the subclass that LocalApi creates

    def _serve(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._reply(_json_result(411, {"message": "Length Required"}))
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            self._reply(_json_result(400, {"message": "Bad Request"}))
            return
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._reply(_json_result(413, {"message": "Request Entity Too Large"}))
            return
        body = self.rfile.read(length) if length else b""
        event = build_event(
            method=self.command,
            target=self.path,
            headers=self.headers.items(),
            body=body,
            source_ip=self.client_address[0],
        )
        self._reply(self.invoker.invoke(event))

    def _reply(self, result: HttpResult) -> None:
        self.send_response(result.status)
        for name, value in result.headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(result.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(result.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        # The function's own "request completed" log line is the access log.
        return


def local_environment(dynamodb_endpoint: str, base: Mapping[str, str]) -> dict[str, str]:
    """Environment the function runs with locally: the component's variables, local values.

    Credentials and endpoint are forced so that a developer's real AWS credentials can never be
    used; the rest keeps any value already set, so a variable can be tried out locally.
    """
    environment = {
        "TABLE_NAME": base.get("TABLE_NAME") or DEFAULT_TABLE,
        "POWERTOOLS_SERVICE_NAME": base.get("POWERTOOLS_SERVICE_NAME") or "prodready-api",
        "POWERTOOLS_METRICS_NAMESPACE": base.get("POWERTOOLS_METRICS_NAMESPACE") or "Prodready/Local",
        "POWERTOOLS_LOG_LEVEL": base.get("POWERTOOLS_LOG_LEVEL") or "INFO",
        "POWERTOOLS_LOGGER_LOG_EVENT": base.get("POWERTOOLS_LOGGER_LOG_EVENT") or "false",
        "SERVICE_VERSION": base.get("SERVICE_VERSION") or "0.0.0-local",
        "ENVIRONMENT": base.get("ENVIRONMENT") or "local",
        # No X-Ray daemon locally.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
    }
    if base.get("POWERTOOLS_LOGGER_SAMPLE_RATE"):
        environment["POWERTOOLS_LOGGER_SAMPLE_RATE"] = base["POWERTOOLS_LOGGER_SAMPLE_RATE"]
    return environment


def create_table(client: Any, table_name: str, ttl_attribute: str | None = None) -> None:
    """Create the items table as the stack defines it (hash key from `service.schema`)."""
    from service.schema import TABLE_HASH_KEY

    client.create_table(
        TableName=table_name,
        AttributeDefinitions=[{"AttributeName": TABLE_HASH_KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": TABLE_HASH_KEY, "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    if ttl_attribute:
        client.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
        )


class LocalApi:
    """DynamoDB fake plus HTTP front end; `start()` returns the API's URL."""

    def __init__(self, port: int = DEFAULT_PORT) -> None:
        self.port = port
        self.url = ""
        self.table_name = ""
        self.dynamodb_endpoint = ""
        self._moto: Any = None
        self._http: ThreadingHTTPServer | None = None

    def start(self) -> str:
        from moto.server import ThreadedMotoServer

        # moto's embedded werkzeug server would print an access line per DynamoDB call.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._moto = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
        self._moto.start()
        host, moto_port = self._moto.get_host_and_port()
        self.dynamodb_endpoint = f"http://{host}:{moto_port}"

        environment = local_environment(self.dynamodb_endpoint, os.environ)
        os.environ.update(environment)
        self.table_name = environment["TABLE_NAME"]
        if str(APP_DIR) not in sys.path:
            sys.path.insert(0, str(APP_DIR))

        import boto3

        create_table(
            boto3.client("dynamodb", region_name=environment["AWS_REGION"]),
            self.table_name,
            os.environ.get("TABLE_TTL_ATTRIBUTE") or None,
        )
        # Imported only now: the handler reads its environment at import, as it does at cold start.
        handler_module = importlib.import_module("service.handler")
        invoker = Invoker(handler_module.lambda_handler, environment["AWS_REGION"])
        request_handler = type("RequestHandler", (_RequestHandler,), {"invoker": invoker})
        self._http = ThreadingHTTPServer((LOOPBACK, self.port), request_handler)
        self._http.daemon_threads = True
        self.url = f"http://{LOOPBACK}:{self._http.server_address[1]}"
        return self.url

    def serve_forever(self) -> None:
        assert self._http is not None, "start() first"
        self._http.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self._http is not None:
            self._http.server_close()
            self._http = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None


class ServerStartError(RuntimeError):
    """The local server process did not report ready."""


@dataclass(frozen=True)
class LocalServerProcess:
    """A running `python -m tools.serve`: its URL and where its output goes."""

    url: str
    log_path: Path

    def output(self) -> str:
        """Everything the server (and so the function) has printed so far."""
        return self.log_path.read_text()


@contextmanager
def local_server(timeout_s: float = SERVER_START_TIMEOUT_S) -> Iterator[LocalServerProcess]:
    """Run `python -m tools.serve` on a free loopback port until the block ends."""
    with tempfile.TemporaryDirectory(prefix="prodready-local-") as scratch:
        log_path = Path(scratch) / "server.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tools.serve"],
                cwd=REPO_ROOT,
                env={**os.environ, "PORT": "0"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            yield LocalServerProcess(_wait_for_url(process, log_path, timeout_s), log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=SERVER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=SERVER_STOP_TIMEOUT_S)


def _wait_for_url(process: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in log_path.read_text().splitlines():
            if line.startswith(READY_MARKER):
                return line[len(READY_MARKER) :].split()[0]
        if process.poll() is not None:
            break
        time.sleep(0.1)
    tail = "\n".join(log_path.read_text().splitlines()[-20:])
    raise ServerStartError(f"the local server did not become ready:\n{tail}")
