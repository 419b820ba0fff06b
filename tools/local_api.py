"""The function, served locally over an embedded DynamoDB fake; no AWS account needed.

A moto server on a loopback port stands in for DynamoDB, with the table created from the same
key schema the stack uses. An HTTP server on 127.0.0.1 (Werkzeug's, threaded, HTTP/1.1 keep-alive)
does what API Gateway does in front of the function: it answers CORS preflights from the API's CORS
rules, checks tokens as the JWT authorizer does (`tools.local_auth`), turns each request into the
HTTP API (payload 2.0) event the deployed API would send, calls the real handler, and turns its
result back into an HTTP response.

The function's own output (JSON logs, EMF lines) goes to stdout unchanged, framed by
START/END/REPORT lines like the Lambda runtime's; the server's own messages go to stderr through
`logging`, so the two never interleave.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import logging
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from werkzeug.serving import DechunkedInput, ThreadedWSGIServer, WSGIRequestHandler

REPO_ROOT = Path(__file__).resolve().parents[1]
APP_DIR = REPO_ROOT / "app"
LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_TABLE = "prodready-items-local"
DEFAULT_IDEMPOTENCY_TABLE = "prodready-idempotency-local"
READY_MARKER = "prodready local API ready at "
SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 10.0
# A connection that sends nothing for this long (idle keep-alive, or a body that stops short of
# its Content-Length) is answered 408 or closed, so no client can hold a thread forever.
SOCKET_TIMEOUT_S = 5.0
# After an error answer, how long (and how much) the server still reads before it closes.
LINGER_S = 0.5
LINGER_MAX_BYTES = 1024 * 1024

ACCOUNT_ID = "123456789012"
FUNCTION_NAME = "prodready-local"
FUNCTION_TIMEOUT_S = 30.0
# HTTP API refuses payloads above 10 MB; refusing them here keeps local behaviour honest.
MAX_BODY_BYTES = 10 * 1024 * 1024
# The methods an HTTP API route can name; anything else is not implemented.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Served by the app when OPENAPI_ENABLED=true, and public locally.
DOCS_PATHS = re.compile(r"/openapi\.json|/docs(/.*)?")
JWKS_PATH = "/.well-known/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"
# Headers describing the connection, never passed on from a function's response.
_HOP_BY_HOP = frozenset({"connection", "content-length", "keep-alive", "transfer-encoding", "upgrade"})

logger = logging.getLogger("tools.local_api")

Handler = Callable[[dict[str, Any], Any], Any]
Headers = Sequence[tuple[str, str]]


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


# --- HTTP request <-> payload 2.0 event ------------------------------------------------------


def _api_request_id() -> str:
    # API Gateway request ids look like "JKJaXmPLvHcESHA=": base64 of 10 random bytes.
    return base64.b64encode(secrets.token_bytes(10)).decode()


def _trace_header(now: float) -> str:
    return f"Root=1-{int(now):08x}-{secrets.token_hex(12)}"


def split_target(target: str) -> tuple[str, str]:
    """The path and raw query string of a request target (origin form, or absolute form)."""
    if not target.startswith("/"):
        # Absolute form ("http://host/path?q"): only proxies send it, but it is valid HTTP/1.1.
        split = urlsplit(target)
        return split.path or "/", split.query
    # Not urlsplit: it would read "//a/b" as a host "a" and the path "/b".
    path, _, query = target.partition("?")
    return path.partition("#")[0] or "/", query.partition("#")[0]


def resolve_route(method: str, path: str, *, preflight_route: bool = True) -> tuple[str, dict[str, str] | None]:
    """The route key API Gateway picks for a request, with its path parameters.

    A route of `service.routes` if one matches; else an OPTIONS request goes to the preflight
    route (`OPTIONS /{proxy+}`, which outranks `$default`; the stack creates it only with CORS
    configured: `preflight_route`); else the catch-all `$default`.
    """
    # Deferred: the app directory is on sys.path only once a server (or a test) put it there.
    from service.routes import CATCH_ALL_ROUTE, PREFLIGHT_ROUTE
    from service.routing import match_route

    matched = match_route(method, path)
    if matched:
        return matched.route_key, matched.path_parameters or None
    if preflight_route and method.upper() == "OPTIONS" and path.strip("/"):
        return PREFLIGHT_ROUTE, {"proxy": path.lstrip("/")}
    return CATCH_ALL_ROUTE, None


def build_event(
    *,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    source_ip: str,
    now: float | None = None,
    authorizer: Mapping[str, Any] | None = None,
    preflight_route: bool = True,
) -> dict[str, Any]:
    """The HTTP API payload 2.0 event for one HTTP request (`target` is path plus query).

    `authorizer` is what the JWT authorizer passes on (`{"jwt": {"claims": ..., "scopes": ...}}`);
    it goes to `requestContext.authorizer`, where API Gateway puts it, and only when given.
    `preflight_route`: whether the API has the `OPTIONS /{proxy+}` route (see `resolve_route`).
    """
    now = time.time() if now is None else now
    path, raw_query = split_target(target)
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
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value

    route_key, path_parameters = resolve_route(method, path, preflight_route=preflight_route)
    host = merged.get("host", LOOPBACK)
    request_context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": "local",
        "domainName": host,
        "domainPrefix": host.split(".")[0],
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": merged.get("user-agent", ""),
        },
        "requestId": _api_request_id(),
        "routeKey": route_key,
        "stage": "$default",
        "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now * 1000),
    }
    if authorizer is not None:
        request_context["authorizer"] = dict(authorizer)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": request_context,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
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


def _json_result(status: int, payload: Mapping[str, Any], headers: Headers = ()) -> HttpResult:
    return HttpResult(
        status, [("Content-Type", "application/json"), *headers], json.dumps(payload, separators=(",", ":")).encode()
    )


def to_http(result: Any) -> HttpResult:
    """The HTTP response API Gateway makes of a payload 2.0 function result."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Payload 2.0 treats anything without a statusCode as a 200 JSON body.
        return HttpResult(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    raw_body = result.get("body") or ""
    body = base64.b64decode(raw_body) if result.get("isBase64Encoded") else str(raw_body).encode()
    headers = [
        (str(name), str(value))
        for name, value in (result.get("headers") or {}).items()
        if str(name).lower() not in _HOP_BY_HOP
    ]
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


# --- CORS, as API Gateway applies an HTTP API's CORS configuration ---------------------------
#
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html: "If you
# configure CORS for an API, API Gateway automatically sends a response to preflight OPTIONS
# requests, even if there isn't an OPTIONS route configured for your API. For a CORS request, API
# Gateway adds the configured CORS headers to the response from an integration." "If you configure
# CORS for an API, API Gateway ignores CORS headers returned from your backend integration." "To
# return CORS headers, your request must contain an origin header. For the OPTIONS method, your
# request must contain an origin header and an Access-Control-Request-Method header."


def header_value(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The first value of header `name` (any case), or None."""
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


def is_preflight(method: str, headers: Headers) -> bool:
    """A CORS preflight: OPTIONS with both Origin and Access-Control-Request-Method."""
    return (
        method.upper() == "OPTIONS"
        and header_value(headers, "origin") is not None
        and header_value(headers, "access-control-request-method") is not None
    )


def _allowed_origin(rules: Any, origin: str | None) -> str | None:
    if origin is None:
        return None
    if origin in rules.allow_origins:
        return origin
    return "*" if "*" in rules.allow_origins else None


def preflight_result(rules: Any, headers: Headers) -> HttpResult:
    """API Gateway's own answer to a preflight, from the CORS rules (`components.service.http_api.CorsRules`).

    From an origin the rules do not allow, the answer is the same 204 without any
    Access-Control-Allow-* header: the documentation does not say; that is observed behaviour.
    """
    origin = _allowed_origin(rules, header_value(headers, "origin"))
    if origin is None:
        return HttpResult(204, [], b"")
    allowed = {name.lower() for name in rules.allow_headers}
    requested = [
        name.strip().lower()
        for name in (header_value(headers, "access-control-request-headers") or "").split(",")
        if name.strip()
    ]
    granted = [name for name in requested if name in allowed or "*" in allowed]
    result = [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", ",".join(rules.allow_methods)),
        ("Access-Control-Max-Age", str(rules.max_age_seconds)),
    ]
    if granted:
        result.append(("Access-Control-Allow-Headers", ",".join(granted)))
    return HttpResult(204, result, b"")


def with_cors(rules: Any, request_headers: Headers, result: HttpResult) -> HttpResult:
    """A response with the function's CORS headers replaced by the configured ones."""
    kept = [(name, value) for name, value in result.headers if not name.lower().startswith("access-control-")]
    origin = _allowed_origin(rules, header_value(request_headers, "origin"))
    if origin is not None:
        kept.append(("Access-Control-Allow-Origin", origin))
        if rules.expose_headers:
            kept.append(("Access-Control-Expose-Headers", ",".join(rules.expose_headers)))
    return HttpResult(result.status, kept, result.body)


# --- what API Gateway does in front of the function, as a WSGI app ---------------------------


class LocalGateway:
    """The WSGI app: preflights, the JWT authorizer, the event mapping, the function's answer.

    `authorize(headers, route_key)` returns a `tools.local_auth.AuthDecision`-like object; `cors`
    is a `components.service.http_api.CorsRules` or None (CORS off); `jwks()` is the issuer's key set.
    """

    def __init__(
        self,
        invoker: Invoker,
        *,
        authorize: Callable[[Headers, str], Any],
        cors: Any = None,
        jwks: Callable[[], dict[str, Any]] | None = None,
        issuer: str = "",
    ) -> None:
        self.invoker = invoker
        self.authorize = authorize
        self.cors = cors
        self.jwks = jwks
        self.issuer = issuer

    def respond(self, *, method: str, target: str, headers: Headers, body: bytes, source_ip: str) -> HttpResult:
        """The response API Gateway (and behind it, the function) gives to one request."""
        method = method.upper()
        if self.cors is not None and is_preflight(method, headers):
            return preflight_result(self.cors, headers)
        result = self._route(method, target, headers, body, source_ip)
        return with_cors(self.cors, headers, result) if self.cors is not None else result

    def _route(self, method: str, target: str, headers: Headers, body: bytes, source_ip: str) -> HttpResult:
        path, _ = split_target(target)
        if method in {"GET", "HEAD"} and self.jwks is not None and path in {JWKS_PATH, DISCOVERY_PATH}:
            return self._issuer_document(path, headers)
        route_key, _ = resolve_route(method, path, preflight_route=self.cors is not None)
        authorizer = None
        if not (method in {"GET", "HEAD"} and DOCS_PATHS.fullmatch(path)):
            decision = self.authorize(headers, route_key)
            if not decision.allowed:
                logger.debug("%s %s refused %d: %s", method, path, decision.status, decision.reason)
                return _json_result(decision.status, decision.body, [("WWW-Authenticate", decision.www_authenticate)])
            authorizer = decision.authorizer
        event = build_event(
            method=method,
            target=target,
            headers=headers,
            body=body,
            source_ip=source_ip,
            authorizer=authorizer,
            preflight_route=self.cors is not None,
        )
        return self.invoker.invoke(event)

    def _issuer_document(self, path: str, headers: Headers) -> HttpResult:
        assert self.jwks is not None
        if path == JWKS_PATH:
            return _json_result(200, self.jwks())
        from tools.local_auth import openid_configuration

        base = f"http://{header_value(headers, 'host') or LOOPBACK}"
        return _json_result(200, openid_configuration(base + JWKS_PATH, self.issuer))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # The request handler passes the raw header list: WSGI's environ would join repeated
        # Cookie headers with commas and drop names with underscores.
        headers = environ.get("prodready.headers")
        if headers is None:
            headers = [
                (key[5:].replace("_", "-").lower(), value) for key, value in environ.items() if key.startswith("HTTP_")
            ]
            if environ.get("CONTENT_TYPE"):
                headers.append(("content-type", environ["CONTENT_TYPE"]))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        target = environ.get("RAW_URI") or environ.get("PATH_INFO", "/")
        try:
            result = self.respond(
                method=environ["REQUEST_METHOD"],
                target=target,
                headers=headers,
                body=body,
                source_ip=environ.get("REMOTE_ADDR", LOOPBACK),
            )
        except Exception:
            logger.exception("the local gateway failed on %s %s", environ["REQUEST_METHOD"], target)
            result = _json_result(500, {"message": "Internal Server Error"})
        try:
            phrase = HTTPStatus(result.status).phrase
        except ValueError:
            phrase = "Unknown"
        start_response(f"{result.status} {phrase}", [*result.headers, ("Content-Length", str(len(result.body)))])
        return [result.body]


# --- the HTTP server: Werkzeug's, with strict framing and keep-alive -------------------------


@dataclass(frozen=True)
class BodyFraming:
    """How a request's body is delimited, or why the request must be refused (and closed)."""

    length: int | None = None
    """Exact body length (Content-Length); None with `chunked` or an error."""
    chunked: bool = False
    error_status: int | None = None
    error: str = ""


def request_framing(
    content_lengths: Sequence[str], transfer_encodings: Sequence[str], max_body_bytes: int = MAX_BODY_BYTES
) -> BodyFraming:
    """The framing of a request from its Content-Length and Transfer-Encoding header values.

    Refuses, as RFC 9112 section 6.3 allows, anything two parties could read differently: both
    headers at once, more than one Content-Length (even equal ones), a length that is not a plain
    decimal number, a transfer coding other than one `chunked`.
    """
    if content_lengths and transfer_encodings:
        return BodyFraming(error_status=400, error="both Content-Length and Transfer-Encoding are set")
    if transfer_encodings:
        codings = [coding.strip().lower() for value in transfer_encodings for coding in value.split(",")]
        if codings == ["chunked"]:
            return BodyFraming(chunked=True)
        if all(coding == "chunked" for coding in codings):
            return BodyFraming(error_status=400, error="chunked is applied more than once")
        unknown = next(coding for coding in codings if coding != "chunked")
        return BodyFraming(error_status=501, error=f"transfer coding {unknown!r} is not supported")
    if len(content_lengths) > 1:
        return BodyFraming(error_status=400, error="more than one Content-Length header")
    if not content_lengths:
        return BodyFraming(length=0)
    raw = content_lengths[0].strip()
    if not raw.isascii() or not raw.isdigit():
        return BodyFraming(error_status=400, error=f"Content-Length {raw!r} is not a non-negative integer")
    length = int(raw)
    if length > max_body_bytes:
        return BodyFraming(error_status=413, error=f"the body ({length} bytes) exceeds {max_body_bytes} bytes")
    return BodyFraming(length=length)


class _RequestRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _RequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler with HTTP/1.1 keep-alive, strict framing and JSON errors.

    Werkzeug's own `run_wsgi` closes every connection, since it cannot tell where a body it did
    not read ends; this one reads each body exactly (or refuses and closes) before the app runs,
    so the next request on the connection starts where this one ended.
    """

    protocol_version = "HTTP/1.1"
    # socketserver.StreamRequestHandler applies both to each accepted socket: a read timeout, and
    # TCP_NODELAY, without which Nagle's algorithm holds back every small keep-alive response
    # until the client's delayed ACK (about 40 ms).
    timeout = SOCKET_TIMEOUT_S
    disable_nagle_algorithm = True
    # Buffer each response, so that status line, headers and body leave in one write (one
    # packet for a small response) when http.server flushes after the request.
    wbufsize = 64 * 1024
    max_body_bytes = MAX_BODY_BYTES

    def run_wsgi(self) -> None:
        try:
            if self.command not in HTTP_METHODS:
                raise _RequestRefused(501, f"method {self.command} is not supported")
            body = self._read_body()
        except _RequestRefused as refused:
            self.send_error(refused.status, str(refused))
            return
        environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["wsgi.input_terminated"] = True
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["prodready.headers"] = list(self.headers.items())
        reply: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            reply["status"], reply["headers"] = status, headers
            return lambda data: None

        chunks = self.server.app(environ, start_response)
        payload = b"".join(chunks)
        code, _, phrase = reply["status"].partition(" ")
        self.send_response(int(code), phrase)
        for name, value in reply["headers"]:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and payload:
            self.wfile.write(payload)
        self.wfile.flush()

    def _read_body(self) -> bytes:
        framing = request_framing(
            self.headers.get_all("Content-Length") or [],
            self.headers.get_all("Transfer-Encoding") or [],
            self.max_body_bytes,
        )
        if framing.error_status is not None:
            raise _RequestRefused(framing.error_status, framing.error)
        try:
            if framing.chunked:
                return self._read_chunked()
            body = self.rfile.read(framing.length) if framing.length else b""
        except TimeoutError:
            raise _RequestRefused(408, f"the request body did not arrive within {self.timeout:g} s") from None
        if len(body) != framing.length:
            raise _RequestRefused(400, f"the body ended after {len(body)} of {framing.length} bytes")
        return body

    def _read_chunked(self) -> bytes:
        # typeshed types the request's binary stream as BufferedIOBase, which is not nominally an IO[bytes].
        reader = DechunkedInput(self.rfile)  # type: ignore[arg-type]
        parts: list[bytes] = []
        size = 0
        try:
            while chunk := reader.read(64 * 1024):
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise _RequestRefused(413, f"the chunked body exceeds {self.max_body_bytes} bytes")
                parts.append(chunk)
        except (TimeoutError, ConnectionError):
            raise
        except OSError as exc:
            raise _RequestRefused(400, f"malformed chunked body: {exc}") from None
        return b"".join(parts)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Every error the server itself answers: a JSON `{"message": ...}`, then close."""
        status = HTTPStatus(code)
        text = f"{status.phrase}: {message}" if message else status.phrase
        logger.info("%s %.200s -> %d %s", self.command or "-", getattr(self, "path", "-"), code, text)
        self.close_connection = True
        # http.server answers a request line it cannot parse in HTTP/0.9 form: a bare body without
        # status line or headers. No client of an HTTP API speaks 0.9; answer in 1.1 like the rest.
        if self.request_version == "HTTP/0.9":
            self.request_version = self.protocol_version
        body = json.dumps({"message": text}).encode()
        self.send_response(code, status.phrase)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in {204, 304}:
            self.wfile.write(body)
        self.wfile.flush()
        self._lingering_close()

    def _lingering_close(self) -> None:
        # Closing with unread request bytes in the kernel's buffer sends a reset, which can make
        # the client drop the error response before reading it; so stop writing, then discard
        # what the client still sends for a moment (RFC 9112 section 9.6).
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER_S)
            drained = 0
            while drained < LINGER_MAX_BYTES and (data := self.connection.recv(64 * 1024)):
                drained += len(data)
        except OSError:
            pass

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        logger.debug("client %s went away: %r", self.client_address, error)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The function's "request completed" line is the access log; this is for debugging only.
        logger.debug('"%s" %s', getattr(self, "requestline", ""), code)

    def log_error(self, format: str, *args: Any) -> None:
        # http.server reports idle keep-alive timeouts here: routine, not a problem.
        logger.debug(format, *args)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)


class _ThreadedServer(ThreadedWSGIServer):
    """Werkzeug's threaded server; a client that disconnects is no error worth a traceback."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            logger.debug("client %s went away: %r", client_address, error)
            return
        logger.error("error serving %s", client_address, exc_info=True)


def make_local_server(
    app: Callable[..., Iterable[bytes]],
    host: str = LOOPBACK,
    port: int = 0,
    *,
    socket_timeout_s: float = SOCKET_TIMEOUT_S,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> ThreadedWSGIServer:
    """A threaded HTTP/1.1 server for `app` on `host:port` (0: any free port)."""
    handler = type(
        "RequestHandler", (_RequestHandler,), {"timeout": socket_timeout_s, "max_body_bytes": max_body_bytes}
    )
    return _ThreadedServer(host, port, app, handler=handler)


# --- the local stack: DynamoDB fake, environment, server -------------------------------------


def local_environment(dynamodb_endpoint: str, base: Mapping[str, str]) -> dict[str, str]:
    """Environment the function runs with locally: the component's variables, local values.

    Credentials and endpoint are forced so that a developer's real AWS credentials can never be
    used; the rest keeps any value already set, so a variable can be tried out locally.
    """
    environment = {
        "TABLE_NAME": base.get("TABLE_NAME") or DEFAULT_TABLE,
        "IDEMPOTENCY_TABLE_NAME": base.get("IDEMPOTENCY_TABLE_NAME") or DEFAULT_IDEMPOTENCY_TABLE,
        "POWERTOOLS_SERVICE_NAME": base.get("POWERTOOLS_SERVICE_NAME") or "prodready-api",
        "POWERTOOLS_METRICS_NAMESPACE": base.get("POWERTOOLS_METRICS_NAMESPACE") or "Prodready/Local",
        "POWERTOOLS_LOG_LEVEL": base.get("POWERTOOLS_LOG_LEVEL") or "INFO",
        "POWERTOOLS_LOGGER_LOG_EVENT": base.get("POWERTOOLS_LOGGER_LOG_EVENT") or "false",
        "SERVICE_VERSION": base.get("SERVICE_VERSION") or "0.0.0-local",
        "ENVIRONMENT": base.get("ENVIRONMENT") or "local",
        # The API description and its docs page are served locally (never in a deployed stack).
        "OPENAPI_ENABLED": base.get("OPENAPI_ENABLED") or "true",
        # No X-Ray daemon locally.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
    }
    # The stack sets these from config; locally the function's defaults apply unless one is set.
    for optional in ("POWERTOOLS_LOGGER_SAMPLE_RATE", "IDEMPOTENCY_TTL_SECONDS", "MAX_REQUEST_BODY_BYTES"):
        if base.get(optional):
            environment[optional] = base[optional]
    return environment


def cors_origins(base: Mapping[str, str]) -> tuple[str, ...]:
    """The allowed CORS origins: `CORS_ORIGINS` (comma separated; empty turns CORS off), else dev's."""
    raw = base.get("CORS_ORIGINS")
    if raw is not None:
        return tuple(origin.strip() for origin in raw.split(",") if origin.strip())
    from tools.plan.harness import committed_config

    return tuple(committed_config("dev").api.cors_origins)


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


def create_idempotency_table(client: Any, table_name: str) -> None:
    """Create the idempotency table as the stack defines it (Powertools' key and TTL attribute)."""
    from components.service.service import IDEMPOTENCY_HASH_KEY, IDEMPOTENCY_TTL_ATTRIBUTE

    client.create_table(
        TableName=table_name,
        AttributeDefinitions=[{"AttributeName": IDEMPOTENCY_HASH_KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": IDEMPOTENCY_HASH_KEY, "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    client.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": IDEMPOTENCY_TTL_ATTRIBUTE}
    )


class LocalApi:
    """DynamoDB fake plus HTTP front end; `start()` returns the API's URL."""

    def __init__(self, port: int = DEFAULT_PORT, *, socket_timeout_s: float = SOCKET_TIMEOUT_S) -> None:
        self.port = port
        self.socket_timeout_s = socket_timeout_s
        self.url = ""
        self.table_name = ""
        self.dynamodb_endpoint = ""
        self.cors_origins: tuple[str, ...] = ()
        self._moto: Any = None
        self._http: ThreadedWSGIServer | None = None

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
        from service.routes import ROUTE_KEYS

        from components.service.http_api import cors_rules
        from tools import local_auth

        dynamodb = boto3.client("dynamodb", region_name=environment["AWS_REGION"])
        create_table(dynamodb, self.table_name, os.environ.get("TABLE_TTL_ATTRIBUTE") or None)
        create_idempotency_table(dynamodb, environment["IDEMPOTENCY_TABLE_NAME"])
        self.cors_origins = cors_origins(os.environ)
        # Created now, not on the first request: `python -m tools.token` may run at the same time.
        local_auth.signing_key()
        authorizer = local_auth.local_authorizer()
        # Imported only now: the handler reads its environment at import, as it does at cold start.
        handler_module = importlib.import_module("service.handler")
        gateway = LocalGateway(
            Invoker(handler_module.lambda_handler, environment["AWS_REGION"]),
            authorize=authorizer.authorize,
            cors=cors_rules(self.cors_origins, ROUTE_KEYS),
            jwks=local_auth.jwks,
            issuer=local_auth.LOCAL_ISSUER,
        )
        self._http = make_local_server(gateway, LOOPBACK, self.port, socket_timeout_s=self.socket_timeout_s)
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
    """The process's stdout: the ready line, then the function's output."""
    stderr_path: Path | None = None
    """The process's stderr: the server's own messages."""

    def output(self) -> str:
        """Everything the function (and the ready line) has printed on stdout so far."""
        return self.log_path.read_text()

    def errors(self) -> str:
        """Everything the server has logged on stderr so far."""
        return self.stderr_path.read_text() if self.stderr_path is not None else ""


@contextmanager
def local_server(
    timeout_s: float = SERVER_START_TIMEOUT_S, *, environment: Mapping[str, str] | None = None
) -> Iterator[LocalServerProcess]:
    """Run `python -m tools.serve` on a free loopback port until the block ends.

    `environment` adds to (or overrides) the variables the server process inherits.
    """
    with tempfile.TemporaryDirectory(prefix="prodready-local-") as scratch:
        log_path = Path(scratch) / "server.log"
        stderr_path = Path(scratch) / "server.err"
        with log_path.open("w") as log, stderr_path.open("w") as errors:
            process = subprocess.Popen(
                [sys.executable, "-m", "tools.serve"],
                cwd=REPO_ROOT,
                env={**os.environ, **(environment or {}), "PORT": "0"},
                stdout=log,
                stderr=errors,
            )
        try:
            url = _wait_for_url(process, log_path, stderr_path, timeout_s)
            yield LocalServerProcess(url, log_path, stderr_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=SERVER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=SERVER_STOP_TIMEOUT_S)


def _wait_for_url(process: subprocess.Popen[bytes], log_path: Path, stderr_path: Path, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in log_path.read_text().splitlines():
            if line.startswith(READY_MARKER):
                return line[len(READY_MARKER) :].split()[0]
        if process.poll() is not None:
            break
        time.sleep(0.1)
    tail = "\n".join((log_path.read_text() + stderr_path.read_text()).splitlines()[-20:])
    raise ServerStartError(f"the local server did not become ready:\n{tail}")
