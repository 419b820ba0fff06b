"""The post-deploy smoke test, against the local server and against broken APIs."""

from __future__ import annotations

import io
import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tools.smoke import http, main, run_smoke


def test_the_smoke_test_passes_against_the_local_server(served_api):
    out = io.StringIO()

    passed = run_smoke(served_api.url, out=out)

    report = out.getvalue().splitlines()
    assert passed, "\n".join(report)
    checks = [line for line in report if line.startswith("  ")]
    assert len(checks) == 10
    assert all(line.strip().startswith("PASS") for line in checks)
    assert report[-1] == "RESULT: PASS (10/10 checks passed)"


def test_the_smoke_test_leaves_no_item_behind(served_api):
    assert run_smoke(served_api.url, out=io.StringIO())

    listed = http(served_api.url, "GET", "/items?limit=100").body
    assert [item for item in listed["items"] if item["name"].startswith("smoke test item")] == []


class _Canned(BaseHTTPRequestHandler):
    """An API whose readiness check fails: what a broken deployment looks like."""

    def do_GET(self) -> None:
        status, body = {
            "/health/live": (200, {"status": "pass", "version": "9.9.9"}),
            "/health/ready": (503, {"status": "fail", "checks": {"dynamodb": {"status": "fail"}}}),
        }.get(self.path, (404, {"message": "Not Found"}))
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def broken_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_failing_check_fails_the_run_and_skips_the_rest(broken_api):
    out = io.StringIO()

    passed = run_smoke(broken_api, out=out)

    report = out.getvalue().splitlines()
    assert not passed
    assert report[1].strip().startswith("PASS")
    assert report[2].strip().startswith("FAIL")
    assert "expected HTTP 200, got 503" in report[2]
    assert all(line.strip().startswith("SKIP") for line in report[3:-1])
    assert report[-1].startswith("RESULT: FAIL (1/10")


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

    exit_code = main(["--outputs", str(outputs)])

    assert exit_code == 1
    assert f"smoke test against {broken_api}" in capsys.readouterr().out


def test_local_mode_starts_and_stops_its_own_server(capsys):
    exit_code = main(["--local"])

    out = capsys.readouterr().out
    assert exit_code == 0, out
    assert "RESULT: PASS" in out
    port = int(re.search(r"smoke test against http://127\.0\.0\.1:(\d+)", out).group(1))
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
