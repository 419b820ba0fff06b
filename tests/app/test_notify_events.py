"""Notifications of the nightly drift check: named as a drift check, with its own hint, never as a deployment."""

from __future__ import annotations

import pytest

from tools import notify

RUN = "https://github.com/example-org/prodready/actions/runs/43"


def test_a_failed_drift_check_says_drift_and_where_to_look():
    text = notify.message("prod", "failure", run_url=RUN, commit="0123456789abcdef", event="drift")
    assert text.startswith("prodready prod: drift check FAILED, commit 0123456789ab (the live resources differ")
    assert "`make preview STACK=prod`" in text and text.endswith(RUN)
    assert "deployment" not in text and "CodeDeploy" not in text


def test_a_deployment_is_still_the_default_event():
    assert notify.message("dev", "success") == "prodready dev: deployment succeeded."
    assert notify.message("dev", "cancelled", event="drift") == "prodready dev: drift check was cancelled."


def test_the_command_line_takes_the_event(monkeypatch, capsys):
    monkeypatch.delenv(notify.WEBHOOK_VARIABLE, raising=False)
    assert notify.main(["--event", "drift", "--stack", "dev", "--result", "failure"]) == 0
    assert capsys.readouterr().out.startswith("prodready dev: drift check FAILED (")
    with pytest.raises(SystemExit):
        notify.main(["--event", "release", "--stack", "dev", "--result", "failure"])
