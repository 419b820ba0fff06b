"""The post-deploy smoke test, against the local server and against broken APIs."""

from __future__ import annotations

import base64
import io
import json
import re
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tools.local_auth import mint_token
from tools.smoke import http, main, run_smoke

CHECKS = 12


@pytest.fixture(scope="module")
def write_token() -> str:
    return mint_token(["items.read", "items.write"])


@pytest.fixture(scope="module")
def read_token() -> str:
    return mint_token(["items.read"])


def checks_of(report: list[str]) -> list[str]:
    return [line for line in report if line.startswith("  ") and not line.startswith("  note:")]


def test_the_smoke_test_passes_against_the_local_server(served_api, write_token, read_token):
    out = io.StringIO()

    passed = run_smoke(served_api.url, token=write_token, read_token=read_token, out=out)

    report = out.getvalue().splitlines()
    assert passed, "\n".join(report)
    checks = checks_of(report)
    assert len(checks) == CHECKS
    assert all(line.strip().startswith("PASS") for line in checks)
    assert "POST /items without a token" in checks[2] and "401" in checks[2]
    assert "POST /items with a read-only token" in checks[3] and "403" in checks[3]
    assert report[-1] == f"RESULT: PASS ({CHECKS}/{CHECKS} checks passed)"


def test_without_a_read_only_token_that_check_is_skipped_with_the_reason(served_api, write_token):
    out = io.StringIO()

    passed = run_smoke(served_api.url, token=write_token, out=out)

    report = out.getvalue().splitlines()
    assert passed, "\n".join(report)
    skipped = [line for line in checks_of(report) if line.strip().startswith("SKIP")]
    assert len(skipped) == 1
    assert "POST /items with a read-only token" in skipped[0]
    assert "no read-only token" in skipped[0]
    assert report[-1] == f"RESULT: PASS ({CHECKS - 1}/{CHECKS} checks passed)"


def test_the_smoke_test_leaves_no_item_behind(served_api, write_token, read_token):
    assert run_smoke(served_api.url, token=write_token, read_token=read_token, out=io.StringIO())

    listed = http(served_api.url, "GET", "/items?limit=100", headers={"Authorization": f"Bearer {read_token}"}).body
    assert [item for item in listed["items"] if item["name"].startswith(("smoke test item", "smoke:"))] == []


class _JsonServer(BaseHTTPRequestHandler):
    """A stand-in HTTP server answering JSON, quietly."""

    def _send(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: object) -> None:
        return


class _Canned(_JsonServer):
    """An API whose readiness check fails: what a broken deployment looks like."""

    def do_GET(self) -> None:
        status, body = {
            "/health/live": (200, {"status": "pass", "version": "9.9.9"}),
            "/health/ready": (503, {"status": "fail", "checks": {"dynamodb": {"status": "fail"}}}),
        }.get(self.path, (404, {"message": "Not Found"}))
        self._send(status, body)

    def do_POST(self) -> None:
        # No authorizer: writes without any token succeed.
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(201, {"id": "x", "version": 1, "price": 12.5})


class _HealthyButOpen(_Canned):
    deleted: list[str] = []

    def do_DELETE(self) -> None:
        self.deleted.append(self.path)
        self._send(204, {})

    def do_GET(self) -> None:
        if self.path == "/health/ready":
            self._send(200, {"status": "pass", "checks": {"dynamodb": {"status": "pass", "latency_ms": 1}}})
        else:
            super().do_GET()


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[tuple[str, ThreadingHTTPServer]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def broken_api() -> Iterator[str]:
    for url, _ in _serve(_Canned):
        yield url


@pytest.fixture
def open_api() -> Iterator[str]:
    _HealthyButOpen.deleted = []
    for url, _ in _serve(_HealthyButOpen):
        yield url


def test_a_failing_check_fails_the_run_and_skips_the_rest(broken_api):
    out = io.StringIO()

    passed = run_smoke(broken_api, token="t", out=out)

    report = out.getvalue().splitlines()
    assert not passed
    assert report[1].strip().startswith("PASS")
    assert report[2].strip().startswith("FAIL")
    assert "expected HTTP 200, got 503" in report[2]
    assert all(line.strip().startswith("SKIP") for line in report[3:-1])
    assert report[-1].startswith(f"RESULT: FAIL (1/{CHECKS}")


def test_an_api_that_accepts_writes_without_a_token_fails(open_api):
    out = io.StringIO()

    passed = run_smoke(open_api, token="t", read_token="r", out=out)

    checks = checks_of(out.getvalue().splitlines())
    assert not passed
    assert checks[2].strip().startswith("FAIL")
    assert "POST /items without a token" in checks[2]
    assert "expected HTTP 401, got 201" in checks[2]
    assert _HealthyButOpen.deleted == ["/items/x"], "the write that went through is deleted again"


def test_an_unreachable_api_fails_with_the_reason():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    out = io.StringIO()

    passed = run_smoke(f"http://127.0.0.1:{closed_port}", timeout_s=2, out=out)

    assert not passed
    assert "no response" in out.getvalue()


def test_the_url_can_come_from_the_stack_outputs(broken_api, tmp_path, capsys):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"apiUrl": broken_api, "dashboardUrl": "https://example.invalid"}))

    exit_code = main(["--outputs", str(outputs), "--token", "given"])

    assert exit_code == 1
    assert f"smoke test against {broken_api}" in capsys.readouterr().out


def test_a_url_needs_a_token(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--url", "http://127.0.0.1:9"])

    assert exited.value.code == 2
    assert "--url needs --token" in capsys.readouterr().err


def test_outputs_without_the_auth_outputs_and_no_token_fail_naming_them(broken_api, tmp_path, capsys):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"apiUrl": broken_api, "tokenUrl": "https://auth.example.invalid/oauth2/token"}))

    exit_code = main(["--outputs", str(outputs)])

    out = capsys.readouterr().out
    assert exit_code == 1
    assert "RESULT: FAIL (no token: the stack outputs have no `authClientId`, `authScopes`, `userPoolId`" in out


def test_local_mode_starts_and_stops_its_own_server(capsys):
    exit_code = main(["--local"])

    out = capsys.readouterr().out
    assert exit_code == 0, out
    assert f"RESULT: PASS ({CHECKS}/{CHECKS} checks passed)" in out
    port = int(re.search(r"smoke test against http://127\.0\.0\.1:(\d+)", out).group(1))
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


# --- tokens from the stack's Cognito app client ------------------------------------------------


class _TokenEndpoint(_JsonServer):
    """Cognito's /oauth2/token for one app client; mints local tokens the local server accepts."""

    client_id = ""
    secret = ""
    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
        self.requests.append({"form": form, "content_type": self.headers["Content-Type"]})
        if self.headers.get("Authorization") != expected:
            return self._send(400, {"error": "invalid_client"})
        if form.get("grant_type") != ["client_credentials"]:
            return self._send(400, {"error": "unsupported_grant_type"})
        scopes = form["scope"][0].split()
        token = mint_token([scope.split("/", 1)[1] for scope in scopes])
        return self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})


@pytest.fixture
def cognito_stack(tmp_path, served_api) -> Iterator[dict[str, Any]]:
    """moto's Cognito with the API's resource server and a client-credentials app client."""
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name="eu-west-1")
        pool_id = cognito.create_user_pool(PoolName="catalog-dev")["UserPool"]["Id"]
        cognito.create_resource_server(
            UserPoolId=pool_id,
            Identifier="catalog",
            Name="catalog",
            Scopes=[
                {"ScopeName": "items.read", "ScopeDescription": "read items"},
                {"ScopeName": "items.write", "ScopeDescription": "write items"},
            ],
        )
        client = cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="smoke",
            GenerateSecret=True,
            AllowedOAuthFlows=["client_credentials"],
            AllowedOAuthScopes=["catalog/items.read", "catalog/items.write"],
            AllowedOAuthFlowsUserPoolClient=True,
        )["UserPoolClient"]
        endpoint = type(
            "Endpoint",
            (_TokenEndpoint,),
            {"client_id": client["ClientId"], "secret": client["ClientSecret"], "requests": []},
        )
        for url, _ in _serve(endpoint):
            outputs = {
                "apiUrl": served_api.url,
                "tokenUrl": f"{url}/oauth2/token",
                "authClientId": client["ClientId"],
                "authScopes": ["catalog/items.read", "catalog/items.write"],
                "userPoolId": pool_id,
            }
            path = tmp_path / "outputs.json"
            path.write_text(json.dumps(outputs))
            yield {"path": path, "secret": client["ClientSecret"], "endpoint": endpoint, "cognito": cognito}


def test_tokens_come_from_the_token_endpoint_with_the_client_secret(cognito_stack, capsys):
    exit_code = main(["--outputs", str(cognito_stack["path"])])

    captured = capsys.readouterr()
    assert exit_code == 0, captured.out
    assert f"RESULT: PASS ({CHECKS}/{CHECKS} checks passed)" in captured.out
    requests = cognito_stack["endpoint"].requests
    assert [request["form"] for request in requests] == [
        {"grant_type": ["client_credentials"], "scope": ["catalog/items.read catalog/items.write"]},
        {"grant_type": ["client_credentials"], "scope": ["catalog/items.read"]},
    ]
    assert {request["content_type"] for request in requests} == {"application/x-www-form-urlencoded"}
    assert cognito_stack["secret"] not in captured.out + captured.err


def test_a_refused_client_fails_without_showing_the_secret(cognito_stack, capsys):
    cognito_stack["endpoint"].secret = "the-endpoint-expects-another-secret"

    exit_code = main(["--outputs", str(cognito_stack["path"])])

    captured = capsys.readouterr()
    assert exit_code == 1
    assert "RESULT: FAIL (no token: the token endpoint" in captured.out
    assert "answered 400" in captured.out and "invalid_client" in captured.out
    assert cognito_stack["secret"] not in captured.out + captured.err


def test_an_unknown_app_client_fails_naming_it(cognito_stack, capsys, tmp_path):
    outputs = json.loads(cognito_stack["path"].read_text())
    outputs["authClientId"] = "no-such-client"
    path = tmp_path / "other.json"
    path.write_text(json.dumps(outputs))

    exit_code = main(["--outputs", str(path)])

    out = capsys.readouterr().out
    assert exit_code == 1
    assert "cannot read app client no-such-client of user pool" in out
