"""Post-deploy smoke test: health, authorization, then a create-get-update-delete round trip.

    python -m tools.smoke --url https://abc123.execute-api.eu-west-1.amazonaws.com --token "$TOKEN"
    pulumi stack output --json | python -m tools.smoke --outputs -     # reads `apiUrl`, gets tokens
    python -m tools.smoke --local    # starts the local server on a free port, stops it after

Health routes are called without a token; item calls carry a token with the write scope (reads
the read-only token, when there is one). With --outputs and no --token, it gets both tokens itself
from the stack's Cognito token endpoint (client credentials; the client secret is read with
cognito-idp DescribeUserPoolClient and never printed or stored). --local mints local tokens.

Prints one PASS/FAIL/SKIP line per check and a final RESULT line; exits 0 only if none failed.
The item it creates is deleted again, also when a check in between fails.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

READ_SCOPE_NAME = "items.read"
WRITE_SCOPE_NAME = "items.write"
# Cognito user pool ids are "<region>_<id>".
_USER_POOL_ID = re.compile(r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)_[0-9A-Za-z]+")
AUTH_OUTPUTS = ("tokenUrl", "authClientId", "authScopes", "userPoolId")


@dataclass(frozen=True)
class HttpReply:
    """One HTTP exchange as the smoke test saw it."""

    status: int
    headers: dict[str, str]
    body: Any
    elapsed_ms: float


class CheckFailed(Exception):
    """A check's expectation did not hold."""


class TokenError(Exception):
    """No token could be obtained; the message never contains a secret."""


@dataclass(frozen=True)
class Tokens:
    """Bearer tokens for the item calls: `write` carries the write scope, `read` only the read one."""

    write: str | None = None
    read: str | None = None

    def __repr__(self) -> str:
        # Tokens are credentials: never in a traceback or a log line.
        return f"Tokens(write={'set' if self.write else None}, read={'set' if self.read else None})"


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

    def skip(self, name: str, reason: str) -> None:
        self._record(Outcome(name, "SKIP", reason))

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


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def run_smoke(
    base_url: str,
    *,
    token: str | None = None,
    read_token: str | None = None,
    timeout_s: float = 10.0,
    out: TextIO | None = None,
) -> bool:
    """Run every check against `base_url`; True if none failed.

    `token` is sent on every item call (it needs the write scope); `read_token`, a token with the
    read scope only, on the reads and for the check that it cannot write.
    """
    run = SmokeRun(base_url, timeout_s, out or sys.stdout)
    correlation_id = f"smoke-{uuid.uuid4()}"
    state: dict[str, Any] = {}
    writer = _bearer(token)
    reader = _bearer(read_token or token)
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

    def refused_write(headers: dict[str, str]) -> HttpReply:
        reply = run.call("POST", "/items", body={"name": "smoke: must be refused", "price": 1}, headers=headers)
        if reply.status == 201 and isinstance(reply.body, dict) and "id" in reply.body:
            state.setdefault("strays", []).append(reply.body["id"])
        return reply

    def no_token() -> tuple[str, HttpReply]:
        reply = refused_write({})
        expect_status(reply, 401)
        return "401 without a token", reply

    def read_only() -> tuple[str, HttpReply]:
        reply = refused_write(reader)
        expect_status(reply, 403)
        return "403 with the read scope only", reply

    def create() -> tuple[str, HttpReply]:
        payload = {"name": "smoke test item", "price": 12.5, "description": correlation_id}
        reply = run.call("POST", "/items", body=payload, headers={"X-Correlation-ID": correlation_id, **writer})
        expect_status(reply, 201)
        expect(reply.headers.get("x-correlation-id") == correlation_id, "correlation id not echoed")
        item = reply.body
        expect(item.get("version") == 1 and item.get("price") == 12.5, f"unexpected item: {item}")
        state["item"] = item
        return f"id {item['id']}", reply

    def get() -> tuple[str, HttpReply]:
        reply = run.call("GET", f"/items/{state['item']['id']}", headers=reader)
        expect_status(reply, 200)
        expect(reply.body == state["item"], f"read back differs: {reply.body}")
        return "read back what was written", reply

    def listing() -> tuple[str, HttpReply]:
        reply = run.call("GET", "/items?limit=5", headers=reader)
        expect_status(reply, 200)
        expect(isinstance(reply.body.get("items"), list) and "next_token" in reply.body, "not a page of items")
        return f"{len(reply.body['items'])} item(s) on the first page", reply

    def update() -> tuple[str, HttpReply]:
        item = state["item"]
        payload = {"name": "smoke test item (updated)", "price": 13, "version": item["version"]}
        reply = run.call("PUT", f"/items/{item['id']}", body=payload, headers=writer)
        expect_status(reply, 200)
        expect(reply.body.get("version") == item["version"] + 1, f"version not incremented: {reply.body}")
        state["item"] = reply.body
        return f"version {reply.body['version']}", reply

    def stale_update() -> tuple[str, HttpReply]:
        payload = {"name": "lost update", "price": 1, "version": 1}
        reply = run.call("PUT", f"/items/{state['item']['id']}", body=payload, headers=writer)
        expect_status(reply, 409)
        return "stale version refused", reply

    def invalid() -> tuple[str, HttpReply]:
        reply = run.call("POST", "/items", body={"name": "bad", "price": -1}, headers=writer)
        expect_status(reply, 400)
        fields = [detail.get("field") for detail in reply.body["error"].get("details", [])]
        expect(fields == ["price"], f"error does not name the price field: {reply.body}")
        return "400 naming the price field", reply

    def delete() -> tuple[str, HttpReply]:
        reply = run.call("DELETE", f"/items/{state['item']['id']}", headers=writer)
        expect_status(reply, 204)
        state["deleted"] = True
        return "deleted", reply

    def gone() -> tuple[str, HttpReply]:
        reply = run.call("GET", f"/items/{state['item']['id']}", headers=reader)
        expect_status(reply, 404)
        return "404 after delete", reply

    try:
        run.check("GET /health/live", live)
        run.check("GET /health/ready", ready)
        run.check("POST /items without a token", no_token)
        if read_token:
            run.check("POST /items with a read-only token", read_only)
        else:
            run.skip("POST /items with a read-only token", "no read-only token (--read-token, or --outputs)")
        run.check("POST /items", create)
        run.check("GET /items/{id}", get)
        run.check("GET /items", listing)
        run.check("PUT /items/{id}", update)
        run.check("PUT /items/{id} with a stale version", stale_update)
        run.check("POST /items with an invalid body", invalid)
        run.check("DELETE /items/{id}", delete)
        run.check("GET /items/{id} after delete", gone)
    finally:
        # Leave no smoke data behind in a real table, whatever failed (also writes that should
        # have been refused but were not).
        leftovers = list(state.get("strays", []))
        if "item" in state and not state.get("deleted"):
            leftovers.append(state["item"]["id"])
        for item_id in leftovers:
            try:
                run.call("DELETE", f"/items/{item_id}", headers=writer)
            except (urllib.error.URLError, OSError):
                print(f"  note: could not delete smoke item {item_id}", file=run.out)

    passed = sum(outcome.verdict == "PASS" for outcome in run.outcomes)
    verdict = "FAIL" if run.failed else "PASS"
    skipped = sum(outcome.verdict == "SKIP" for outcome in run.outcomes)
    if skipped and not run.failed:
        print(f"  note: {skipped} check(s) skipped", file=run.out)
    print(f"RESULT: {verdict} ({passed}/{len(run.outcomes)} checks passed)", file=run.out, flush=True)
    return not run.failed


def _read_outputs(source: str) -> dict[str, Any]:
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    outputs = json.loads(text)
    if not isinstance(outputs, dict):
        raise SystemExit("the stack outputs are not a JSON object (`pulumi stack output --json`)")
    return outputs


def _url_from_outputs(outputs: Mapping[str, Any]) -> str:
    url = outputs.get("apiUrl")
    if not isinstance(url, str) or not url:
        raise SystemExit("the stack outputs have no `apiUrl`")
    return url


def region_of_user_pool(user_pool_id: str) -> str:
    """The region in a user pool id (`eu-west-1_AbC123` -> `eu-west-1`)."""
    matched = _USER_POOL_ID.fullmatch(user_pool_id)
    if not matched:
        raise TokenError(f"user pool id {user_pool_id!r} is not <region>_<id>; pass --region")
    return matched["region"]


def client_secret(user_pool_id: str, client_id: str, region: str, cognito: Any = None) -> str:
    """The app client's secret, read with cognito-idp DescribeUserPoolClient (kept in memory only)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    client = cognito if cognito is not None else boto3.client("cognito-idp", region_name=region)
    try:
        described = client.describe_user_pool_client(UserPoolId=user_pool_id, ClientId=client_id)
    except (ClientError, BotoCoreError) as exc:
        raise TokenError(f"cannot read app client {client_id} of user pool {user_pool_id}: {exc}") from None
    secret = described["UserPoolClient"].get("ClientSecret")
    if not secret:
        raise TokenError(f"app client {client_id} of user pool {user_pool_id} has no secret")
    return str(secret)


def client_credentials_token(
    token_url: str, client_id: str, secret: str, scopes: Sequence[str], *, timeout_s: float = 10.0
) -> str:
    """An access token from a Cognito token endpoint, client-credentials grant.

    As https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html documents: a
    form-encoded POST with `grant_type=client_credentials` and the scopes, the client authenticated
    with HTTP Basic (`client_id:client_secret`).
    """
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": " ".join(scopes)}).encode()
    request = urllib.request.Request(
        token_url,
        data=form,
        method="POST",
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            raw = response.read()
    except urllib.error.HTTPError as error:
        # Cognito's error bodies ({"error": "invalid_client"}) name the problem, never the secret.
        detail = error.read().decode(errors="replace")[:200].replace(secret, "[secret]")
        raise TokenError(f"the token endpoint {token_url} answered {error.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise TokenError(f"the token endpoint {token_url} is unreachable: {exc}") from None
    try:
        access_token = json.loads(raw)["access_token"]
    except (ValueError, KeyError, TypeError):
        raise TokenError(f"the token endpoint {token_url} returned no access_token") from None
    return str(access_token)


def tokens_from_outputs(
    outputs: Mapping[str, Any], *, region: str | None = None, timeout_s: float = 10.0, cognito: Any = None
) -> Tokens:
    """A write token (every scope) and a read-only token (the read scope) for the stack's app client."""
    missing = [name for name in AUTH_OUTPUTS if not outputs.get(name)]
    if missing:
        raise TokenError(f"the stack outputs have no {', '.join(f'`{name}`' for name in missing)}; pass --token")
    scopes = outputs["authScopes"]
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise TokenError(f"`authScopes` must be a list of scope strings, got {scopes!r}")
    read_scopes = [scope for scope in scopes if scope.rsplit("/", 1)[-1] == READ_SCOPE_NAME]
    if not any(scope.rsplit("/", 1)[-1] == WRITE_SCOPE_NAME for scope in scopes) or not read_scopes:
        raise TokenError(f"`authScopes` {scopes} lack a {READ_SCOPE_NAME} or {WRITE_SCOPE_NAME} scope")
    user_pool_id, client_id, token_url = outputs["userPoolId"], outputs["authClientId"], outputs["tokenUrl"]
    secret = client_secret(user_pool_id, client_id, region or region_of_user_pool(user_pool_id), cognito)
    write = client_credentials_token(token_url, client_id, secret, scopes, timeout_s=timeout_s)
    read = client_credentials_token(token_url, client_id, secret, read_scopes, timeout_s=timeout_s)
    return Tokens(write=write, read=read)


def local_tokens() -> Tokens:
    """Tokens the local server accepts, minted with the local signing key."""
    from tools.local_auth import mint_token

    return Tokens(write=mint_token([READ_SCOPE_NAME, WRITE_SCOPE_NAME]), read=mint_token([READ_SCOPE_NAME]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.smoke",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="base URL of the deployed API (the `apiUrl` stack output)")
    target.add_argument("--outputs", help="`pulumi stack output --json` file, or - for stdin")
    target.add_argument("--local", action="store_true", help="start the local server and test it")
    parser.add_argument("--token", help="bearer token with the write scope, for the item calls")
    parser.add_argument("--read-token", help="bearer token with only the read scope (checks it cannot write)")
    parser.add_argument("--region", help="region of the user pool (default: from its id)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    args = parser.parse_args(argv)
    if args.url and not args.token:
        parser.error("--url needs --token (a token with the write scope); or use --outputs")
    if args.read_token and not args.token:
        parser.error("--read-token needs --token too")

    if args.local:
        # Only the local run needs the local server's dependencies (dev requirements): a deployed stack is
        # smoke-tested with the runtime requirements alone, as the deploy workflow does.
        from tools.local_api import ServerStartError, local_server

        tokens = Tokens(args.token, args.read_token) if args.token else local_tokens()
        try:
            with local_server() as server:
                return _run(server.url, tokens, args.timeout)
        except ServerStartError as exc:
            print(f"RESULT: FAIL ({exc})")
            return 1
    if args.url:
        return _run(args.url, Tokens(args.token, args.read_token), args.timeout)
    outputs = _read_outputs(args.outputs)
    url = _url_from_outputs(outputs)
    if args.token:
        return _run(url, Tokens(args.token, args.read_token), args.timeout)
    try:
        tokens = tokens_from_outputs(outputs, region=args.region, timeout_s=args.timeout)
    except TokenError as exc:
        print(f"smoke test against {url}\nRESULT: FAIL (no token: {exc})", flush=True)
        return 1
    print(f"tokens: write and read-only from {outputs['tokenUrl']} (client {outputs['authClientId']})", flush=True)
    return _run(url, tokens, args.timeout)


def _run(url: str, tokens: Tokens, timeout_s: float) -> int:
    return 0 if run_smoke(url, token=tokens.write, read_token=tokens.read, timeout_s=timeout_s) else 1


if __name__ == "__main__":
    sys.exit(main())
