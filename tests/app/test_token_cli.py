"""`python -m tools.token`: one line, a bearer token the local authorizer accepts."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

from tools.local_auth import LOCAL_AUDIENCE, LOCAL_ISSUER, authorize
from tools.token import main

REPO_ROOT = Path(__file__).resolve().parents[2]


def _printed_token(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1, f"exactly one line, got {out!r}"
    return out.strip()


def test_the_printed_token_is_accepted_for_its_scopes_only(capsys):
    read = _printed_token(capsys, ["--scope", "items.read"])
    both = _printed_token(capsys, ["--scope", "items.read", "--scope", "items.write"])

    assert authorize({"Authorization": f"Bearer {read}"}, "GET /items").status == 200
    assert authorize({"Authorization": f"Bearer {read}"}, "POST /items").status == 403
    assert authorize({"Authorization": f"Bearer {both}"}, "POST /items").status == 200


def test_lifetime_and_subject_end_up_in_the_claims(capsys):
    before = int(time.time())
    token = _printed_token(capsys, ["--scope", "items.write", "--lifetime", "120", "--subject", "ci-bot"])

    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "ci-bot"
    assert claims["exp"] - claims["iat"] == 120
    assert claims["iat"] >= before
    assert (claims["iss"], claims["client_id"], claims["scope"]) == (LOCAL_ISSUER, LOCAL_AUDIENCE, "items.write")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scope", "items.delete"], "unknown scope 'items.delete'; valid scopes: items.read, items.write"),
        (["--scope", "items.read", "--scope", "catalog/items.read"], "unknown scope 'catalog/items.read'"),
        ([], "the following arguments are required: --scope"),
        (["--scope", "items.read", "--lifetime", "0"], "--lifetime must be positive, got 0"),
        (["--scope", "items.read", "--lifetime", "soon"], "--lifetime must be a whole number of seconds, got 'soon'"),
    ],
)
def test_bad_arguments_exit_2_naming_what_is_wrong(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)

    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""


def test_it_runs_as_a_module():
    done = subprocess.run(
        [sys.executable, "-m", "tools.token", "--scope", "items.read"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert authorize({"authorization": done.stdout.strip()}, "GET /items/{id}").status == 200
