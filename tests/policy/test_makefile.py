"""The Makefile's first screen and its cloud targets: a bare `make` lists every target, and `make preview`
and `make up` never run the engine without the policy pack and the stack's policy config."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import COMMITTED_STACKS
from tools.plan.harness import PROJECT_DIR
from tools.stacks import committed_stacks

MAKEFILE = (PROJECT_DIR / "Makefile").read_text()
# Steps other targets run, not meant to be called.
INTERNAL = {"python-version", "pulumi-ready", "stack-named"}


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=PROJECT_DIR, capture_output=True, text=True,
                          check=False, timeout=60)


def _phony() -> set[str]:
    (line,) = re.findall(r"^\.PHONY: (.*)$", MAKEFILE, flags=re.M)
    return set(line.split())


def test_a_bare_make_and_make_help_list_every_target_on_one_line_each():
    bare, help_ = _make(), _make("help")
    assert bare.returncode == 0 and bare.stdout == help_.stdout
    listed = [line.split()[0] for line in bare.stdout.splitlines()[1:]]
    assert sorted(listed) == sorted(_phony() - INTERNAL)
    for line in bare.stdout.splitlines()[1:]:
        assert len(line.split(maxsplit=1)) == 2, line  # a name and its description
    assert "STACK" in bare.stdout.splitlines()[0]


def test_the_first_run_says_what_it_installs_and_how_long():
    # -W: as if the lock had just changed, so the venv is (dry-)rebuilt.
    lines = _make("-n", "-W", "requirements-dev.txt", "plan").stdout.splitlines()
    (said,) = [i for i, line in enumerate(lines) if line.startswith("echo \"First run")]
    assert "requirements-dev.txt" in lines[said] and "about a minute" in lines[said]
    # It is said before pip starts.
    assert said < next(i for i, line in enumerate(lines) if "pip install" in line)


@pytest.mark.slow
@pytest.mark.parametrize("stack", COMMITTED_STACKS)
@pytest.mark.parametrize("command", ["preview", "up"])
def test_preview_and_up_always_carry_the_pack_and_the_stacks_config(command: str, stack: str):
    result = _make("-n", command, f"STACK={stack}")
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith(f"pulumi {command}")]
    # The stack's policy config is its profile's, as tools.stacks names it.
    assert line.endswith(f" --stack {stack} --policy-pack policies --policy-pack-config "
                         f'"$(venv/bin/python -m tools.stacks --policy-config {stack})"')
    named = subprocess.run([sys.executable, "-m", "tools.stacks", "--policy-config", stack], cwd=PROJECT_DIR,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert named == next(s.policy_config for s in committed_stacks() if s.stack == stack)
    assert (PROJECT_DIR / named).exists()


def test_up_needs_the_stack_named():
    result = _make("up")
    assert result.returncode != 0
    assert "make up STACK=<one of: dev prod staging" in result.stdout
    assert "pulumi" not in result.stdout.replace("make up deploys", "")


def test_a_stack_without_a_stack_file_is_refused_before_pulumi_runs():
    recipe = MAKEFILE[MAKEFILE.index("pulumi-ready:"):MAKEFILE.index("## preview:")]
    assert "-m tools.stacks --policy-config $(STACK) >/dev/null ||" in recipe
    # What that check runs, for a stack without a file:
    result = subprocess.run([sys.executable, "-m", "tools.stacks", "--policy-config", "qa"], cwd=PROJECT_DIR,
                            capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "no stack file Pulumi.qa.yaml" in result.stderr
