"""The local server: HTTP requests become API Gateway v2 events for the real handler."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tools.local_api import (
    SOCKET_TIMEOUT_S,
    build_event,
    local_environment,
    make_local_server,
    request_framing,
    to_http,
)
from tools.local_auth import mint_token
from tools.serve import _port_from_environment

ITEM_ID = "3f1c2a9e-6b7d-4e8f-9a0b-1c2d3e4f5a6b"
# Long enough for the server's socket timeout to fire first; a hang shows up as socket.timeout.
CLIENT_TIMEOUT_S = SOCKET_TIMEOUT_S + 10


@pytest.fixture(scope="module")
def write_token() -> str:
    return mint_token(["items.read", "items.write"])


@pytest.fixture(scope="module")
def read_token() -> str:
    return mint_token(["items.read"])


def call(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    token: str | None = None,
):
    data = body.encode() if isinstance(body, str) else (json.dumps(body).encode() if body is not None else None)
    all_headers = {
        **({"Content-Type": "application/json"} if data is not None else {}),
        **(headers or {}),
        **({"Authorization": f"Bearer {token}"} if token else {}),
    }
    request = urllib.request.Request(base_url + path, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, reply_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, reply_headers, raw = error.code, error.headers, error.read()
    return status, reply_headers, (json.loads(raw) if raw else None)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def exchange(url: str, data: bytes, timeout_s: float = CLIENT_TIMEOUT_S, *, must_close: bool = True) -> bytes:
    """Send raw bytes on a new connection; everything the server sends until it closes.

    With `must_close=False`, a server that keeps the connection open is no error: what it sent
    within `timeout_s` is returned.
    """
    with socket.create_connection(("127.0.0.1", port_of(url)), timeout=timeout_s) as connection:
        connection.sendall(data)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except TimeoutError:
            if must_close:
                raise
        return received


def responses_in(raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """The HTTP/1.1 responses in a byte stream (each framed by its Content-Length)."""
    found = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", 0))
        found.append((int(lines[0].split()[1]), headers, rest[:length]))
        raw = rest[length:]
    return found


def item_names(url: str, token: str) -> list[str]:
    status, _, listed = call(url, "GET", "/items?limit=100", token=token)
    assert status == 200
    return [item["name"] for item in listed["items"]]


# --- the served API, end to end ------------------------------------------------------------


def test_the_server_listens_on_loopback_only(served_api):
    assert served_api.url.startswith("http://127.0.0.1:")


def test_health_endpoints_answer_without_a_token(served_api):
    live_status, _, live = call(served_api.url, "GET", "/health/live")
    ready_status, _, ready = call(served_api.url, "GET", "/health/ready")

    assert (live_status, live["status"]) == (200, "pass")
    assert (ready_status, ready["status"]) == (200, "pass")
    assert ready["checks"]["dynamodb"]["status"] == "pass"


def test_an_item_round_trip_works_over_http(served_api, write_token):
    url = served_api.url
    status, headers, created = call(
        url, "POST", "/items", {"name": "Teapot", "price": 30, "description": "1 l"}, token=write_token
    )
    assert status == 201
    assert headers["Location"] == f"/items/{created['id']}"

    assert call(url, "GET", f"/items/{created['id']}", token=write_token)[2] == created
    listed = call(url, "GET", "/items?limit=100", token=write_token)[2]
    assert created["id"] in [item["id"] for item in listed["items"]]

    status, _, updated = call(
        url, "PUT", f"/items/{created['id']}", {"name": "Teapot", "price": 28, "version": 1}, token=write_token
    )
    assert (status, updated["version"], updated["price"]) == (200, 2, 28)
    assert (
        call(url, "PUT", f"/items/{created['id']}", {"name": "Old", "price": 1, "version": 1}, token=write_token)[0]
        == 409
    )

    assert call(url, "DELETE", f"/items/{created['id']}", token=write_token)[0] == 204
    assert call(url, "GET", f"/items/{created['id']}", token=write_token)[0] == 404


def test_an_idempotent_create_is_replayed_from_the_local_idempotency_table(served_api, write_token):
    key = {"Idempotency-Key": "local-server-replay-0001"}
    body = {"name": "Kettle", "price": 19.5}
    first = call(served_api.url, "POST", "/items", body, headers=key, token=write_token)
    again = call(served_api.url, "POST", "/items", body, headers=key, token=write_token)
    assert first[0] == again[0] == 201
    assert again[2] == first[2]  # the same item, not a second one
    other = call(served_api.url, "POST", "/items", {"name": "Other", "price": 1}, headers=key, token=write_token)
    assert other[0] == 422  # the key was used with another body


def test_errors_come_back_as_json(served_api, write_token):
    assert call(served_api.url, "POST", "/items", "{broken", token=write_token)[0] == 400
    assert call(served_api.url, "GET", "/nowhere", token=write_token)[0] == 404
    status, headers, _ = call(served_api.url, "PATCH", "/items", token=write_token)
    assert status == 405
    assert headers["Allow"] == "GET, POST"


def test_requests_without_a_valid_token_are_refused_before_the_function(served_api, read_token):
    assert call(served_api.url, "POST", "/items", {"name": "x", "price": 1})[:1] == (401,)
    status, headers, body = call(served_api.url, "POST", "/items", {"name": "x", "price": 1}, token=read_token)
    assert (status, body) == (403, {"message": "Forbidden"})
    assert 'error="insufficient_scope"' in headers["WWW-Authenticate"]
    assert call(served_api.url, "GET", "/nowhere")[:1] == (401,)
    assert call(served_api.url, "GET", "/items", token="garbage")[2] == {"message": "Unauthorized"}


# Status with: no token, read token, write token (written out from the route table's intent).
SERVED_MATRIX = {
    ("GET", "/health/live"): (200, 200, 200),
    ("GET", "/items"): (401, 200, 403),
    ("POST", "/items"): (401, 403, None),
    ("GET", f"/items/{ITEM_ID}"): (401, None, 403),
    ("PUT", f"/items/{ITEM_ID}"): (401, 403, None),
    ("DELETE", f"/items/{ITEM_ID}"): (401, 403, None),
    ("GET", "/nowhere"): (401, None, None),
}


@pytest.mark.parametrize(("method", "path"), sorted(SERVED_MATRIX))
def test_the_real_server_authorizes_each_route(served_api, method, path):
    read, write = mint_token(["items.read"]), mint_token(["items.write"])
    body = {"name": "matrix", "price": 1, "version": 1} if method in {"POST", "PUT"} else None

    statuses = [call(served_api.url, method, path, body, token=token)[0] for token in (None, read, write)]

    for got, expected in zip(statuses, SERVED_MATRIX[(method, path)], strict=True):
        # None: authorized, so whatever the function answers (201, 404, ...), never 401 or 403.
        assert got == expected if expected is not None else got not in {401, 403}, statuses


def test_the_function_logs_only_requests_it_was_invoked_for(served_api, read_token, write_token):
    marks = {kind: f"auth-{kind}-{uuid.uuid4().hex[:8]}" for kind in ("none", "read", "write")}
    for kind, token in (("none", None), ("read", read_token), ("write", write_token)):
        call(served_api.url, "POST", "/items", {"name": "logged", "price": 1}, {"X-Correlation-ID": marks[kind]}, token)

    completed = wait_for_completed(served_api, marks["write"])
    assert completed["route"] == "POST /items"
    logged = served_api.output()
    assert marks["none"] not in logged
    assert marks["read"] not in logged


def wait_for_completed(server: Any, correlation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while correlation_id not in server.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    logged = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    completed = [
        line
        for line in logged
        if line.get("correlation_id") == correlation_id and line.get("message") == "request completed"
    ]
    assert len(completed) == 1, completed
    return completed[0]


def test_the_correlation_id_header_is_echoed(served_api):
    _, headers, _ = call(served_api.url, "GET", "/health/live", headers={"X-Correlation-ID": "local-check-1"})

    assert headers["X-Correlation-ID"] == "local-check-1"


def test_the_function_output_is_printed_as_in_lambda(served_api):
    call(served_api.url, "GET", "/health/live", headers={"X-Correlation-ID": "printed-1"})

    completed = wait_for_completed(served_api, "printed-1")
    assert completed["route"] == "GET /health/live"
    lines = served_api.output().splitlines()
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(line.startswith("START RequestId: ") for line in lines)
    assert any(line.startswith("REPORT RequestId: ") and "Duration:" in line for line in lines)
    assert any("_aws" in line for line in logged), "the cold start EMF document is printed too"


def test_the_issuer_documents_are_published(served_api, read_token):
    _, _, discovery = call(served_api.url, "GET", "/.well-known/openid-configuration")
    status, _, key_set = call(served_api.url, "GET", "/.well-known/jwks.json")

    assert status == 200
    assert discovery["jwks_uri"] == served_api.url + "/.well-known/jwks.json"
    assert discovery["issuer"] == "https://issuer.prodready.localhost"
    import jwt

    key = jwt.PyJWK(key_set["keys"][0]).key
    assert jwt.decode(read_token, key, algorithms=["RS256"])["scope"] == "items.read"


# --- CORS, as API Gateway answers for the API's CORS configuration -------------------------

ALLOWED_ORIGIN = "http://localhost:3000"


def preflight(url: str, origin: str, correlation_id: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port_of(url), timeout=10)
    connection.request(
        "OPTIONS",
        "/items",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type, Authorization, X-Unlisted",
            "X-Correlation-ID": correlation_id,
        },
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_a_preflight_from_an_allowed_origin_is_answered_without_the_function_or_a_token(served_api):
    mark = f"preflight-{uuid.uuid4().hex[:8]}"

    response = preflight(served_api.url, ALLOWED_ORIGIN, mark)

    assert response.status == 204
    assert response.getheader("Access-Control-Allow-Origin") == ALLOWED_ORIGIN
    assert set(response.getheader("Access-Control-Allow-Methods").split(",")) == {
        "DELETE",
        "GET",
        "OPTIONS",
        "POST",
        "PUT",
    }
    assert response.getheader("Access-Control-Allow-Headers") == "content-type,authorization"
    assert response.getheader("Access-Control-Max-Age") == "300"
    time.sleep(0.2)
    assert mark not in served_api.output(), "the function was not invoked"


def test_a_preflight_from_another_origin_gets_no_allow_headers(served_api):
    response = preflight(served_api.url, "https://evil.example", f"preflight-{uuid.uuid4().hex[:8]}")

    assert response.status == 204
    assert [name for name, _ in response.getheaders() if name.lower().startswith("access-control-")] == []


def test_cors_headers_are_added_to_responses_for_an_allowed_origin_only(served_api):
    _, allowed, _ = call(served_api.url, "GET", "/health/live", headers={"Origin": ALLOWED_ORIGIN})
    _, other, _ = call(served_api.url, "GET", "/health/live", headers={"Origin": "https://evil.example"})
    _, refused, _ = call(served_api.url, "GET", "/items", headers={"Origin": ALLOWED_ORIGIN})

    assert allowed["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert allowed["Access-Control-Expose-Headers"] == "location,retry-after,x-correlation-id"
    assert other["Access-Control-Allow-Origin"] is None
    assert refused["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN, "a browser can read the 401 too"


# --- HTTP framing and connection handling ---------------------------------------------------


def test_a_chunked_body_is_never_read_as_a_second_request(served_api, write_token):
    name = f"smuggled-{uuid.uuid4().hex[:8]}"
    payload = json.dumps({"name": name, "price": 1}).encode()
    smuggled = (
        b"POST /items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + write_token.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload
    )
    # The smuggled request right after the headers (not valid chunked encoding), then again
    # as the data of a well-formed chunk.
    raw_body = (
        b"POST /items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + write_token.encode() + b"\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + smuggled
    )
    chunk_body = (
        b"POST /items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + write_token.encode() + b"\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + f"{len(smuggled):x}".encode()
        + b"\r\n"
        + smuggled
        + b"\r\n0\r\n\r\n"
    )

    first = responses_in(exchange(served_api.url, raw_body, 3.0, must_close=False))
    second = responses_in(exchange(served_api.url, chunk_body, 3.0, must_close=False))

    assert name not in item_names(served_api.url, write_token), "the smuggled request was executed"
    assert [status for status, _, _ in first] == [400]
    assert json.loads(first[0][2])["message"].startswith("Bad Request: malformed chunked body")
    # Decoded and handed to the function as the body of the first request, which is no item.
    assert [status for status, _, _ in second] == [400]
    assert name not in item_names(served_api.url, write_token)
    assert first[0][1]["connection"] == "close"


def test_a_chunked_body_is_decoded_for_the_function(served_api, write_token):
    name = f"chunked-{uuid.uuid4().hex[:8]}"
    payload = json.dumps({"name": name, "price": 3}).encode()
    chunks = b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (payload[:10], payload[10:]))
    request = (
        b"POST /items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + write_token.encode() + b"\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + chunks
        + b"0\r\n\r\n"
    )

    ((status, _, body),) = responses_in(exchange(served_api.url, request))

    assert status == 201
    assert json.loads(body)["name"] == name


@pytest.mark.parametrize(
    ("lengths", "message"),
    [
        ((b"5", b"5"), "more than one Content-Length header"),
        ((b"5", b"6"), "more than one Content-Length header"),
        ((b"5, 5",), "Content-Length '5, 5' is not a non-negative integer"),
        ((b"-1",), "Content-Length '-1' is not a non-negative integer"),
        ((b"+5",), "Content-Length '+5' is not a non-negative integer"),
        ((b"five",), "Content-Length 'five' is not a non-negative integer"),
    ],
)
def test_ambiguous_or_invalid_content_length_is_400_and_closes(served_api, write_token, lengths, message):
    headers = b"".join(b"Content-Length: " + value + b"\r\n" for value in lengths)
    request = b"POST /items HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\nhello"

    replies = responses_in(exchange(served_api.url, request))

    assert [(status, json.loads(body)) for status, _, body in replies] == [
        (400, {"message": f"Bad Request: {message}"})
    ]
    assert replies[0][1]["connection"] == "close"
    assert replies[0][1]["content-type"] == "application/json"


def test_content_length_with_transfer_encoding_is_400(served_api):
    request = b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"

    ((status, headers, body),) = responses_in(exchange(served_api.url, request))

    assert (status, headers["connection"]) == (400, "close")
    assert json.loads(body) == {"message": "Bad Request: both Content-Length and Transfer-Encoding are set"}


def test_a_body_shorter_than_its_content_length_times_out_while_others_are_served(served_api):
    with socket.create_connection(("127.0.0.1", port_of(served_api.url)), timeout=CLIENT_TIMEOUT_S) as stalled:
        stalled.sendall(b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nhello")

        # While that connection waits for 45 more bytes, the server keeps answering.
        assert call(served_api.url, "GET", "/health/live")[0] == 200

        received = b""
        while chunk := stalled.recv(65536):  # socket.timeout here would mean the server hangs
            received += chunk
    ((status, headers, body),) = responses_in(received)
    assert (status, headers["connection"], headers["content-type"]) == (408, "close", "application/json")
    assert json.loads(body)["message"].startswith("Request Timeout: ")


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"BREW /items HTTP/1.1\r\nHost: x\r\n\r\n", 501),
        (b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /health/live HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", 431),
        (b"GET /health/live HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(120)) + b"\r\n", 431),
        (b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 10485761\r\n\r\n", 413),
        (b"GET /health/live HTTP/9.9\r\n\r\n", 505),
        (b"GARBAGE\r\n\r\n", 400),
    ],
)
def test_errors_the_server_produces_itself_are_json(served_api, request_bytes, status):
    ((got, headers, body),) = responses_in(exchange(served_api.url, request_bytes))

    assert got == status
    assert headers["content-type"] == "application/json"
    assert isinstance(json.loads(body)["message"], str)


def test_keep_alive_serves_many_requests_on_one_connection(served_api):
    connection = http.client.HTTPConnection("127.0.0.1", port_of(served_api.url), timeout=10)
    ports = set()
    for _ in range(20):
        connection.request("GET", "/health/live")
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())["status"]) == (200, "pass")
        assert response.getheader("Connection") is None
        ports.add(connection.sock.getsockname()[1])
    connection.close()

    assert len(ports) == 1, "every request went over the same connection"


def test_pipelined_requests_are_answered_in_order(served_api):
    request = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Correlation-ID: pipe-%d\r\n%s\r\n"
    data = request % (1, b"") + request % (2, b"") + request % (3, b"Connection: close\r\n")

    replies = responses_in(exchange(served_api.url, data))

    assert [headers["x-correlation-id"] for _, headers, _ in replies] == ["pipe-1", "pipe-2", "pipe-3"]


def test_concurrent_connections_are_all_served(served_api, read_token):
    results: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port_of(served_api.url), timeout=20)
        for _ in range(5):
            connection.request("GET", "/items?limit=1", headers={"Authorization": f"Bearer {read_token}"})
            response = connection.getresponse()
            response.read()
            with lock:
                results.append(response.status)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert results == [200] * 40


def test_server_messages_go_to_stderr_and_never_into_the_functions_output(served_api):
    exchange(served_api.url, b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx")
    # A client that resets the connection before reading its response.
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", port_of(served_api.url))) as rude:
            rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            rude.sendall(b"GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
    call(served_api.url, "GET", "/health/live", headers={"X-Correlation-ID": "after-rude"})
    wait_for_completed(served_api, "after-rude")

    stdout_lines = served_api.output().splitlines()[1:]  # the first line is the ready line
    for line in stdout_lines:
        assert line.startswith(("START RequestId: ", "END RequestId: ", "REPORT RequestId: ")) or json.loads(line)
    errors = served_api.errors()
    assert "400 Bad Request: more than one Content-Length header" in errors
    assert "Traceback" not in errors
    assert "Traceback" not in served_api.output()


# --- the server on its own, in process -------------------------------------------------------


@pytest.fixture
def probe_server() -> Iterator[str]:
    """The local HTTP server around an app that reports on the socket it was called on."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        connection = environ["werkzeug.socket"]
        report = {
            "nodelay": connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
            "timeout": connection.gettimeout(),
            "body": environ["wsgi.input"].read().decode(),
        }
        payload = json.dumps(report).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]

    server = make_local_server(app, socket_timeout_s=1.0, max_body_bytes=64)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_accepted_sockets_have_nagle_off_and_a_timeout(probe_server):
    status, _, report = call(probe_server, "POST", "/", "hi")

    assert status == 200
    assert report["nodelay"] != 0
    assert report["timeout"] == 1.0
    assert report["body"] == "hi"


def test_the_body_limit_applies_to_chunked_bodies_too(probe_server):
    chunk = b"x" * 40
    request = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + (b"28\r\n" + chunk + b"\r\n") * 2

    ((status, headers, _),) = responses_in(exchange(probe_server, request + b"0\r\n\r\n"))

    assert (status, headers["connection"]) == (413, "close")


def test_an_idle_keep_alive_connection_is_closed_after_the_timeout(probe_server):
    with socket.create_connection(("127.0.0.1", port_of(probe_server)), timeout=CLIENT_TIMEOUT_S) as idle:
        assert idle.recv(1) == b"", "closed without a response"


# --- translation between HTTP and the payload 2.0 event ------------------------------------


def test_build_event_shapes_a_payload_2_event():
    event = build_event(
        method="put",
        target=f"/items/{ITEM_ID}?tag=a&tag=b&empty=",
        headers=[("Content-Type", "application/json"), ("X-Multi", "1"), ("x-multi", "2"), ("Cookie", "a=1; b=2")],
        body=b'{"name": "x"}',
        source_ip="127.0.0.1",
        now=1741774530.0,
    )

    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "PUT /items/{id}"
    assert event["rawPath"] == f"/items/{ITEM_ID}"
    assert event["rawQueryString"] == "tag=a&tag=b&empty="
    assert event["queryStringParameters"] == {"tag": "a,b", "empty": ""}
    assert event["pathParameters"] == {"id": ITEM_ID}
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["x-multi"] == "1,2"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["requestContext"]["http"]["method"] == "PUT"
    assert event["requestContext"]["timeEpoch"] == 1741774530000
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["requestId"]
    assert "authorizer" not in event["requestContext"]
    assert event["body"] == '{"name": "x"}'
    assert event["isBase64Encoded"] is False


def test_build_event_marks_unrouted_requests_default_and_encodes_binary_bodies():
    event = build_event(method="POST", target="/upload", headers=[], body=b"\xff\xfe", source_ip="127.0.0.1")

    assert event["routeKey"] == "$default"
    assert "pathParameters" not in event
    assert "queryStringParameters" not in event
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe"


def test_build_event_routes_other_options_requests_to_the_preflight_route():
    event = build_event(method="OPTIONS", target="/items/abc", headers=[], body=b"", source_ip="127.0.0.1")

    assert event["routeKey"] == "OPTIONS /{proxy+}"
    assert event["pathParameters"] == {"proxy": "items/abc"}


def test_build_event_keeps_a_path_that_starts_with_two_slashes():
    event = build_event(method="GET", target="//items?x=1", headers=[], body=b"", source_ip="127.0.0.1")

    assert (event["rawPath"], event["rawQueryString"]) == ("//items", "x=1")


def test_to_http_follows_the_payload_2_response_format():
    result = to_http(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "Connection": "close", "Transfer-Encoding": "chunked"},
            "cookies": ["s=1; HttpOnly"],
            "body": base64.b64encode(b"{}").decode(),
            "isBase64Encoded": True,
        }
    )

    assert result.status == 201
    assert ("Set-Cookie", "s=1; HttpOnly") in result.headers
    assert result.body == b"{}"
    assert [name for name, _ in result.headers] == ["Content-Type", "Set-Cookie"], "no hop-by-hop headers"


def test_to_http_treats_a_result_without_status_code_as_a_json_body():
    result = to_http({"hello": "world"})

    assert (result.status, json.loads(result.body)) == (200, {"hello": "world"})


@pytest.mark.parametrize(
    ("content_lengths", "transfer_encodings", "expected"),
    [
        ([], [], (0, False, None)),
        (["12"], [], (12, False, None)),
        (["0"], [], (0, False, None)),
        ([], ["chunked"], (None, True, None)),
        ([], ["Chunked"], (None, True, None)),
        (["12"], ["chunked"], (None, False, 400)),
        (["1", "1"], [], (None, False, 400)),
        (["-1"], [], (None, False, 400)),
        (["1e3"], [], (None, False, 400)),
        (["١٢"], [], (None, False, 400)),
        (["10485761"], [], (None, False, 413)),
        ([], ["chunked", "chunked"], (None, False, 400)),
        ([], ["gzip"], (None, False, 501)),
        ([], ["chunked, identity"], (None, False, 501)),
    ],
)
def test_request_framing(content_lengths, transfer_encodings, expected):
    framing = request_framing(content_lengths, transfer_encodings)

    assert (framing.length, framing.chunked, framing.error_status) == expected


def test_the_local_environment_never_uses_real_credentials_or_endpoints():
    env = local_environment("http://127.0.0.1:5555", {"AWS_ACCESS_KEY_ID": "AKIAREAL", "TABLE_NAME": "mine"})

    assert env["AWS_ACCESS_KEY_ID"] == "local"
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:5555"
    assert env["TABLE_NAME"] == "mine"
    assert env["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert env["OPENAPI_ENABLED"] == "true"


def test_port_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    assert _port_from_environment() == 8080
    monkeypatch.setenv("PORT", "9001")
    assert _port_from_environment() == 9001
    monkeypatch.setenv("PORT", "http")
    with pytest.raises(SystemExit):
        _port_from_environment()
