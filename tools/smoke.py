"""Post-deploy smoke test: health endpoints, then a create-get-update-delete round trip.

    python -m tools.smoke --url https://abc123.execute-api.eu-west-1.amazonaws.com
    pulumi stack output --json | python -m tools.smoke --outputs -     # reads `apiUrl`
    python -m tools.smoke --local    # starts the local server on a free port, stops it after

Prints one PASS/FAIL/SKIP line per check and a final RESULT line; exits 0 only if all passed.
The item it creates is deleted again, also when a check in between fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tools.local_api import ServerStartError, local_server


@dataclass(frozen=True)
class HttpReply:
    """One HTTP exchange as the smoke test saw it."""

    status: int
    headers: dict[str, str]
    body: Any
    elapsed_ms: float


class CheckFailed(Exception):
    """A check's expectation did not hold."""


def http(
    base_url: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 10.0,
) -> HttpReply:
    """Send one request; any status is a reply, only transport errors raise."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url.rstrip("/") + path, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status, reply_headers, raw = response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        status, reply_headers, raw = error.code, dict(error.headers.items()), error.read()
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return HttpReply(status, {name.lower(): value for name, value in reply_headers.items()}, parsed, elapsed_ms)


def expect(condition: bool, message: str) -> None:
    """Fail the current check with `message` unless `condition` holds."""
    if not condition:
        raise CheckFailed(message)


def expect_status(reply: HttpReply, status: int) -> None:
    """Fail unless the reply has `status`, showing the body that came instead."""
    expect(reply.status == status, f"expected HTTP {status}, got {reply.status}: {json.dumps(reply.body)[:300]}")


@dataclass
class Outcome:
    """The result of one check."""

    name: str
    verdict: str  # PASS, FAIL or SKIP
    detail: str
    elapsed_ms: float | None = None


@dataclass
class SmokeRun:
    """Runs checks in order; after the first failure the remaining ones are skipped."""

    base_url: str
    timeout_s: float = 10.0
    out: TextIO = field(default_factory=lambda: sys.stdout)
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(outcome.verdict == "FAIL" for outcome in self.outcomes)

    def call(self, method: str, path: str, **kwargs: Any) -> HttpReply:
        return http(self.base_url, method, path, timeout_s=self.timeout_s, **kwargs)

    def check(self, name: str, step: Callable[[], tuple[str, HttpReply]]) -> None:
        if self.failed:
            self._record(Outcome(name, "SKIP", "an earlier check failed"))
            return
        try:
            detail, reply = step()
        except CheckFailed as exc:
            self._record(Outcome(name, "FAIL", str(exc)))
        except (urllib.error.URLError, OSError) as exc:
            self._record(Outcome(name, "FAIL", f"no response: {exc}"))
        except (KeyError, TypeError, AttributeError) as exc:
            self._record(Outcome(name, "FAIL", f"unexpected response shape: {exc!r}"))
        else:
            self._record(Outcome(name, "PASS", detail, reply.elapsed_ms))

    def _record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        timing = f"{outcome.elapsed_ms:8.1f} ms" if outcome.elapsed_ms is not None else " " * 11
        print(f"  {outcome.verdict:<4}  {outcome.name:<38} {timing}  {outcome.detail}", file=self.out, flush=True)


def run_smoke(base_url: str, *, timeout_s: float = 10.0, out: TextIO | None = None) -> bool:
    """Run every check against `base_url`; True if all passed."""
    run = SmokeRun(base_url, timeout_s, out or sys.stdout)
    correlation_id = f"smoke-{uuid.uuid4()}"
    state: dict[str, Any] = {}
    print(f"smoke test against {base_url} (correlation id {correlation_id})", file=run.out, flush=True)

    def live() -> tuple[str, HttpReply]:
        reply = run.call("GET", "/health/live")
        expect_status(reply, 200)
        expect(isinstance(reply.body, dict) and reply.body.get("status") == "pass", f"status is not pass: {reply.body}")
        return f"version {reply.body.get('version')}", reply

    def ready() -> tuple[str, HttpReply]:
        reply = run.call("GET", "/health/ready")
        expect_status(reply, 200)
        dynamodb = (reply.body.get("checks") or {}).get("dynamodb") or {}
        expect(dynamodb.get("status") == "pass", f"dynamodb check is not pass: {dynamodb}")
        return f"dynamodb {dynamodb.get('latency_ms')} ms", reply

    def create() -> tuple[str, HttpReply]:
        payload = {"name": "smoke test item", "price": 12.5, "description": correlation_id}
        reply = run.call("POST", "/items", body=payload, headers={"X-Correlation-ID": correlation_id})
        expect_status(reply, 201)
        expect(reply.headers.get("x-correlation-id") == correlation_id, "correlation id not echoed")
        item = reply.body
        expect(item.get("version") == 1 and item.get("price") == 12.5, f"unexpected item: {item}")
        state["item"] = item
        return f"id {item['id']}", reply

    def get() -> tuple[str, HttpReply]:
        reply = run.call("GET", f"/items/{state['item']['id']}")
        expect_status(reply, 200)
        expect(reply.body == state["item"], f"read back differs: {reply.body}")
        return "read back what was written", reply

    def listing() -> tuple[str, HttpReply]:
        reply = run.call("GET", "/items?limit=5")
        expect_status(reply, 200)
        expect(isinstance(reply.body.get("items"), list) and "next_token" in reply.body, "not a page of items")
        return f"{len(reply.body['items'])} item(s) on the first page", reply

    def update() -> tuple[str, HttpReply]:
        item = state["item"]
        payload = {"name": "smoke test item (updated)", "price": 13, "version": item["version"]}
        reply = run.call("PUT", f"/items/{item['id']}", body=payload)
        expect_status(reply, 200)
        expect(reply.body.get("version") == item["version"] + 1, f"version not incremented: {reply.body}")
        state["item"] = reply.body
        return f"version {reply.body['version']}", reply

    def stale_update() -> tuple[str, HttpReply]:
        payload = {"name": "lost update", "price": 1, "version": 1}
        reply = run.call("PUT", f"/items/{state['item']['id']}", body=payload)
        expect_status(reply, 409)
        return "stale version refused", reply

    def invalid() -> tuple[str, HttpReply]:
        reply = run.call("POST", "/items", body={"name": "bad", "price": -1})
        expect_status(reply, 400)
        fields = [detail.get("field") for detail in reply.body["error"].get("details", [])]
        expect(fields == ["price"], f"error does not name the price field: {reply.body}")
        return "400 naming the price field", reply

    def delete() -> tuple[str, HttpReply]:
        reply = run.call("DELETE", f"/items/{state['item']['id']}")
        expect_status(reply, 204)
        state["deleted"] = True
        return "deleted", reply

    def gone() -> tuple[str, HttpReply]:
        reply = run.call("GET", f"/items/{state['item']['id']}")
        expect_status(reply, 404)
        return "404 after delete", reply

    try:
        run.check("GET /health/live", live)
        run.check("GET /health/ready", ready)
        run.check("POST /items", create)
        run.check("GET /items/{id}", get)
        run.check("GET /items", listing)
        run.check("PUT /items/{id}", update)
        run.check("PUT /items/{id} with a stale version", stale_update)
        run.check("POST /items with an invalid body", invalid)
        run.check("DELETE /items/{id}", delete)
        run.check("GET /items/{id} after delete", gone)
    finally:
        if "item" in state and not state.get("deleted"):
            # Leave no smoke data behind in a real table, whatever failed.
            try:
                run.call("DELETE", f"/items/{state['item']['id']}")
            except (urllib.error.URLError, OSError):
                print(f"  note: could not delete smoke item {state['item']['id']}", file=run.out)

    passed = sum(outcome.verdict == "PASS" for outcome in run.outcomes)
    verdict = "FAIL" if run.failed else "PASS"
    print(f"RESULT: {verdict} ({passed}/{len(run.outcomes)} checks passed)", file=run.out, flush=True)
    return not run.failed


def _url_from_outputs(source: str) -> str:
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    outputs = json.loads(text)
    url = outputs.get("apiUrl") if isinstance(outputs, dict) else None
    if not isinstance(url, str) or not url:
        raise SystemExit("the stack outputs have no `apiUrl`")
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.smoke", description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="base URL of the deployed API (the `apiUrl` stack output)")
    target.add_argument("--outputs", help="`pulumi stack output --json` file, or - for stdin")
    target.add_argument("--local", action="store_true", help="start the local server and test it")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    args = parser.parse_args(argv)

    if args.local:
        try:
            with local_server() as server:
                return 0 if run_smoke(server.url, timeout_s=args.timeout) else 1
        except ServerStartError as exc:
            print(f"RESULT: FAIL ({exc})")
            return 1
    url = args.url or _url_from_outputs(args.outputs)
    return 0 if run_smoke(url, timeout_s=args.timeout) else 1


if __name__ == "__main__":
    sys.exit(main())
