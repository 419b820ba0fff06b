"""`make plan` enforces the pack: violations grouped by policy with URNs, exit 1 on a mandatory one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.plan.__main__ import main
from tools.plan.harness import PROJECT_DIR

# Plans stacks of its own (or runs the program in another process): left out of `make test-fast`.
pytestmark = pytest.mark.slow


def _project(tmp_path: Path, stack: str, policy_config: dict) -> Path:
    """The real project, with its own copy of the stack's policy config."""
    for entry in ("__main__.py", "Pulumi.yaml", f"Pulumi.{stack}.yaml", "components", "app"):
        (tmp_path / entry).symlink_to(PROJECT_DIR / entry)
    pack = tmp_path / "policies"
    (pack / "config").mkdir(parents=True)
    for entry in ("PulumiPolicy.yaml", "__main__.py", "prodready_policy", "requirements.txt"):
        (pack / entry).symlink_to(PROJECT_DIR / "policies" / entry)
    (pack / "config" / f"{stack}.json").write_text(json.dumps(policy_config))
    return tmp_path


def test_committed_stack_plans_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["--stack", "prod", "--out", str(tmp_path / "plan.json")]) == 0
    printed = capsys.readouterr().out
    assert "policy pack prodready-guard@" in printed and "config policies/config/prod.json" in printed
    assert "  ok    alarm-coverage" in printed
    assert printed.rstrip().endswith("policy violations: 0 mandatory, 0 advisory: the deployment may proceed")


def test_mandatory_violation_fails_the_plan_after_writing_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    config = json.loads((PROJECT_DIR / "policies" / "config" / "prod.json").read_text())
    config["alarm-coverage"]["requiredMetrics"]["aws:lambda/function:Function"].append("ClaimedConcurrency")
    config["lambda-active-tracing"] = "advisory"
    config["log-group-retention"]["securityMinDays"] = 400
    project = _project(tmp_path, "prod", config)
    assert main(["--stack", "prod", "--project-dir", str(project)]) == 1
    printed = capsys.readouterr().out
    assert (project / "build" / "plan-prod.json").exists()  # written before the verdict
    assert "  FAIL  alarm-coverage" in printed and "  FAIL  log-group-retention" in printed
    (tracing_row,) = [line for line in printed.splitlines() if line.startswith("  ok    lambda-active-tracing ")]
    assert "advisory" in tracing_row  # the stack's config lowered it
    block = printed[printed.index("[mandatory] alarm-coverage (high)"):]
    assert "$aws:lambda/function:Function::catalog-function-lambda\n" in block
    assert "has no alarm on AWS/Lambda ClaimedConcurrency (FunctionName=catalog-prod-api).  [preview+update]" in block
    # The traffic hooks and the restore-test validation are functions like any other: they lack it too.
    assert "has no alarm on AWS/Lambda ClaimedConcurrency (FunctionName=catalog-prod-pre-traffic)." in block
    assert "has no alarm on AWS/Lambda ClaimedConcurrency (FunctionName=catalog-prod-post-traffic)." in block
    assert "has no alarm on AWS/Lambda ClaimedConcurrency (FunctionName=catalog-prod-restore-check)." in block
    assert "remediation: Add the missing CloudWatch metric alarm" in block
    assert "keeps logs 365 days; the stack requires at least 400." in printed
    assert printed.rstrip().endswith("policy violations: 5 mandatory, 0 advisory: the deployment would be refused")


def test_invalid_policy_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    project = _project(tmp_path, "prod", {"log-group-retention": {"minDays": "thirty"}})
    assert main(["--stack", "prod", "--project-dir", str(project)]) == 2
    assert "log-group-retention: minDays: 'thirty' is not of type 'number'" in capsys.readouterr().err


def test_no_policy_flag_skips_the_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["--stack", "dev", "--out", str(tmp_path / "plan.json"), "--no-policy"]) == 0
    assert "policy pack" not in capsys.readouterr().out


def test_plan_values_reach_the_analyzer_in_the_engines_wire_form():
    from pulumi.runtime import rpc

    from tools.plan.policy import to_wire

    secret = to_wire({"endpoint": {"__secret": "[secret]"}, "n": 1.0})
    assert secret == {"endpoint": {rpc._special_sig_key: rpc._special_secret_sig, "value": "[secret]"}, "n": 1.0}
    asset = to_wire({"__asset": {"path": "app/service/handler.py"}})
    assert asset == {rpc._special_sig_key: rpc._special_asset_sig, "path": "app/service/handler.py"}
    # A map that merely has other keys besides a marker is data, not a marker.
    assert to_wire({"__secret": "x", "other": 1}) == {"__secret": "x", "other": 1}


@pytest.fixture()
def pack_starts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    """What happens in order during `main`: each pack process started, each program run."""
    import tools.plan.__main__ as cli

    events: list[tuple[str, object]] = []

    class RecordedPack(cli.PolicyPackProcess):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            events.append(("pack", self))

    real_run_plan = cli.run_plan

    def recorded_run_plan(*args: object, **kwargs: object) -> object:
        events.append(("program", None))
        return real_run_plan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cli, "PolicyPackProcess", RecordedPack)
    monkeypatch.setattr(cli, "run_plan", recorded_run_plan)
    return events


def test_one_pack_process_started_before_the_program_serves_both_views(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pack_starts: list[tuple[str, object]]
):
    assert main(["--stack", "dev", "--out", str(tmp_path / "plan.json")]) == 0
    assert "views: preview + update" in capsys.readouterr().out
    assert [kind for kind, _ in pack_starts] == ["pack", "program"]
    pack = pack_starts[0][1]
    assert pack.process.returncode == 0, pack.stderr  # type: ignore[attr-defined]  # stopped cleanly


def test_the_pack_process_is_stopped_when_the_config_is_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pack_starts: list[tuple[str, object]]
):
    assert main(["--stack", "nosuchstack"]) == 2  # no stack file: no pack started
    assert pack_starts == []
    project = _project(tmp_path, "prod", {})
    broken = (PROJECT_DIR / "Pulumi.prod.yaml").read_text().replace(
        "  prodready:owner:", "  prodready:logs:\n    retentionDays: 100\n  prodready:owner:")
    (project / "Pulumi.broken.yaml").write_text(broken)
    assert main(["--stack", "broken", "--project-dir", str(project)]) == 2
    assert "invalid configuration for stack 'broken'" in capsys.readouterr().err
    assert [kind for kind, _ in pack_starts] == ["pack", "program"]  # started while the program ran
    assert pack_starts[0][1].process.returncode is not None  # type: ignore[attr-defined]  # and stopped
