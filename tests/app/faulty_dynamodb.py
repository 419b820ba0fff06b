"""A DynamoDB endpoint that misbehaves on purpose: a proxy in front of a moto server.

Each request is forwarded to moto unless a fault matches it (by operation and table), for its first
`times` matches:

- `stall_before`: holds the request `seconds` without forwarding it, then closes the connection
  (nothing was stored; the client times out or sees the connection close);
- `store_then_stall`: forwards it (moto applies the write), then holds the answer `seconds` and closes
  the connection without sending it (stored, but the client cannot know);
- `slow`: forwards it, then answers after `seconds` (a slow DynamoDB: the write lands, the answer is late).

The client meets these as botocore meets real network faults: ReadTimeoutError when `seconds` is past
its read timeout, ConnectionClosedError otherwise.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULT_KINDS = ("stall_before", "store_then_stall", "slow")


@dataclass
class Fault:
    """A fault for the first `times` requests matching `operation` ("*" for any) and `table` (if given)."""

    kind: str
    operation: str
    table: str | None = None
    seconds: float = 0.5
    times: int = 1
    seen: int = 0

    def matches(self, operation: str, table: str | None) -> bool:
        if self.operation not in ("*", operation) or (self.table is not None and table != self.table):
            return False
        if self.seen >= self.times:
            return False
        self.seen += 1
        return True


@dataclass
class FaultyDynamoDB:
    """The proxy's endpoint and the faults it applies (add to `faults` at any time)."""

    endpoint: str
    faults: list[Fault] = field(default_factory=list)
    log: list[tuple[str, str | None, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault_for(self, operation: str, table: str | None) -> Fault | None:
        with self.lock:
            fault = next((fault for fault in self.faults if fault.matches(operation, table)), None)
            self.log.append((operation, table, fault.kind if fault else "pass"))
            return fault


@contextlib.contextmanager
def faulty_dynamodb(upstream: str) -> Iterator[FaultyDynamoDB]:
    """A proxy on a free loopback port in front of the DynamoDB endpoint `upstream` (http://host:port)."""
    host, port = upstream.removeprefix("http://").split(":")
    state: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            operation = (self.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
            try:
                table = json.loads(body or b"{}").get("TableName")
            except ValueError:
                table = None
            fault = state["proxy"].fault_for(operation, table)
            if fault is not None and fault.kind == "stall_before":
                time.sleep(fault.seconds)
                self.close_connection = True
                return
            upstream_connection = http.client.HTTPConnection(host, int(port), timeout=10)
            headers = {name: value for name, value in self.headers.items() if name.lower() != "host"}
            upstream_connection.request("POST", self.path, body=body, headers=headers)
            reply = upstream_connection.getresponse()
            payload = reply.read()
            upstream_connection.close()
            if fault is not None:
                time.sleep(fault.seconds)
                if fault.kind == "store_then_stall":
                    self.close_connection = True
                    return
            self.send_response(reply.status)
            for name, value in reply.getheaders():
                if name.lower() not in {"content-length", "transfer-encoding", "connection", "date", "server"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["proxy"] = FaultyDynamoDB(endpoint=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["proxy"]
    finally:
        server.shutdown()
        server.server_close()
