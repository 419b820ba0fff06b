"""Deployment notifications: the message, the webhook POST, and an absent or failing webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from tools import notify

RUN = "https://github.com/example-org/prodready/actions/runs/42"


def test_the_message_names_stack_result_version_and_run():
    assert notify.message("prod", "success", run_url=RUN, version="8", commit="0123456789abcdef") == (
        f"prodready prod: deployment succeeded, live version 8, commit 0123456789ab. {RUN}")
    failed = notify.message("dev", "failure")
    assert failed.startswith("prodready dev: deployment FAILED (the run says which step failed")
    assert "python -m tools.release status" in failed


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]], list[int]]]:
    received: list[dict[str, Any]] = []
    answer = [200]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"type": self.headers["Content-Type"], "body": json.loads(body)})
            self.send_response(answer[0])
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received, answer
    server.shutdown()


def test_send_posts_the_text_as_json(webhook):
    url, received, _ = webhook
    assert notify.send(url, "prodready prod: deployment succeeded.") == 200
    assert received == [{"type": "application/json", "body": {"text": "prodready prod: deployment succeeded."}}]


def test_without_a_webhook_it_prints_and_succeeds(monkeypatch, capsys):
    monkeypatch.delenv(notify.WEBHOOK_VARIABLE, raising=False)
    assert notify.main(["--stack", "dev", "--result", "success"]) == 0
    assert "DEPLOY_WEBHOOK_URL is not set: not sent" in capsys.readouterr().out


def test_a_refusing_webhook_exits_1_without_printing_the_url(monkeypatch, capsys, webhook):
    url, received, answer = webhook
    answer[0] = 403
    monkeypatch.setenv(notify.WEBHOOK_VARIABLE, "https://hooks.example.com/secret-token")
    real_send = notify.send
    # The https URL from the environment, delivered to the local webhook instead.
    monkeypatch.setattr(notify, "send", lambda _url, text: real_send(url, text))
    assert notify.main(["--stack", "prod", "--result", "failure"]) == 1
    err = capsys.readouterr().err
    assert "the webhook refused the notification: 403" in err and "secret-token" not in err
    assert received[0]["body"]["text"].startswith("prodready prod: deployment FAILED")


def test_a_plain_http_webhook_is_refused(monkeypatch, capsys):
    monkeypatch.setenv(notify.WEBHOOK_VARIABLE, "http://hooks.example.com/x")
    assert notify.main(["--stack", "prod", "--result", "success"]) == 1
    assert "must be an https:// URL" in capsys.readouterr().err
