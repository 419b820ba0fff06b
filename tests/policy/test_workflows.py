"""The CI workflows that run the pack for users: schema-valid, OIDC only, policy pack on every stack."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import COMMITTED_STACKS
from tools.plan.harness import PROJECT_DIR

WORKFLOWS = PROJECT_DIR / ".github" / "workflows"
SETUP_ACTION = PROJECT_DIR / ".github" / "actions" / "pulumi-setup" / "action.yml"


def _validate(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    # check-jsonschema's vendored schemas: no network needed.
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, paths)],
        capture_output=True, text=True, check=False,
    )


def _load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the bare key `on` as True.
    if True in document:
        document["on"] = document.pop(True)
    return document


def _steps(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job.get("steps", []) if str(step.get("uses", "")).startswith(action)]


def test_workflows_and_the_setup_action_are_schema_valid():
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    assert {p.name for p in workflows} >= {"preview.yml", "deploy.yml"}
    result = _validate("vendor.github-workflows", *workflows)
    assert result.returncode == 0, result.stdout + result.stderr
    result = _validate("vendor.github-actions", SETUP_ACTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_does_reject_a_broken_workflow(tmp_path: Path):
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  build:\n    steps:\n      - run: make\n")
    result = _validate("vendor.github-workflows", broken)
    assert result.returncode == 1 and "'runs-on' is a required property" in result.stdout


def test_credentials_come_from_oidc_only():
    texts = {path.name: path.read_text() for path in [*WORKFLOWS.glob("*.yml"), SETUP_ACTION]}
    for name, text in texts.items():
        assert "aws-access-key-id" not in text and "aws-secret-access-key" not in text, name
        # The one stored secret is the optional notification webhook; AWS and Pulumi credentials come from OIDC.
        assert set(re.findall(r"secrets\.[A-Za-z_]+", text)) <= {"secrets.DEPLOY_WEBHOOK_URL"}, name
    setup = yaml.safe_load(SETUP_ACTION.read_text())["runs"]["steps"]
    (aws,) = [s for s in setup if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")]
    assert aws["with"]["role-to-assume"] == "${{ inputs.role-to-assume }}"
    (pulumi_auth,) = [s for s in setup if str(s.get("uses", "")).startswith("pulumi/auth-actions@")]
    assert pulumi_auth["with"]["requested-token-type"].startswith("urn:pulumi:token-type:access_token:")
    # Every job that reaches the cloud may mint an OIDC token, and only those.
    for path in WORKFLOWS.glob("*.yml"):
        document = _load(path)
        assert document["permissions"] == {"contents": "read"}, path.name
        for name, job in document["jobs"].items():
            uses_cloud = bool(_steps(job, "./.github/actions/pulumi-setup"))
            assert (job.get("permissions", {}).get("id-token") == "write") == uses_cloud, (path.name, name)


def test_pull_requests_preview_every_stack_with_the_policy_pack():
    document = _load(WORKFLOWS / "preview.yml")
    assert list(document["on"]) == ["pull_request"]
    job = document["jobs"]["preview"]
    assert [entry["stack"] for entry in job["strategy"]["matrix"]["include"]] == list(COMMITTED_STACKS)
    assert job["needs"] == "checks"
    assert "${{ matrix.stack }}" in job["concurrency"]["group"]
    (preview,) = _steps(job, "pulumi/actions@")
    assert preview["with"]["command"] == "preview"
    assert preview["with"]["stack-name"].endswith("/prodready/${{ matrix.stack }}")
    assert preview["with"]["policyPacks"] == "policies"
    assert preview["with"]["policyPackConfigs"] == "policies/config/${{ matrix.stack }}.json"
    for stack in COMMITTED_STACKS:
        assert (PROJECT_DIR / "policies" / "config" / f"{stack}.json").exists()


def test_main_deploys_dev_then_prod_behind_approval_one_update_per_stack_at_a_time():
    document = _load(WORKFLOWS / "deploy.yml")
    assert document["on"]["push"] == {"branches": ["main"]}
    jobs = document["jobs"]
    assert jobs["up-dev"]["needs"] == "checks" and jobs["up-prod"]["needs"] == "up-dev"
    for stack in COMMITTED_STACKS:
        job = jobs[f"up-{stack}"]
        assert job["environment"] == stack
        assert job["concurrency"] == {"group": f"pulumi-{stack}", "cancel-in-progress": False}
        (up,) = _steps(job, "pulumi/actions@")
        assert up["with"]["command"] == "up"
        assert up["with"]["stack-name"].endswith(f"/prodready/{stack}")
        assert up["with"]["policyPacks"] == "policies"
        assert up["with"]["policyPackConfigs"] == f"policies/config/{stack}.json"


@pytest.mark.parametrize("workflow", ["preview.yml", "deploy.yml"])
def test_offline_checks_gate_the_cloud_jobs(workflow: str):
    jobs = _load(WORKFLOWS / workflow)["jobs"]
    assert [step.get("run") for step in jobs["checks"]["steps"] if "run" in step] == [".ci/run"]


def test_each_stack_is_smoke_tested_after_its_update_and_reported_whatever_happened():
    jobs = _load(WORKFLOWS / "deploy.yml")["jobs"]
    for stack in COMMITTED_STACKS:
        steps = jobs[f"up-{stack}"]["steps"]
        names = [step.get("name") or step.get("uses") for step in steps]
        up = names.index("pulumi/actions@v6")
        smoke = next(i for i, step in enumerate(steps) if "tools.smoke --outputs -" in step.get("run", ""))
        notify = next(i for i, step in enumerate(steps) if "tools.notify" in step.get("run", ""))
        # The smoke test runs only if the update (and its release) succeeded, against that stack's outputs.
        assert up < smoke < notify and "if" not in steps[smoke], stack
        assert f"/prodready/{stack}" in steps[smoke]["run"] and steps[smoke]["shell"] == "bash"
        # The notification runs whatever happened, with the job's result and the optional webhook secret.
        assert steps[notify]["if"] == "always()"
        assert steps[notify]["env"]["DEPLOY_WEBHOOK_URL"] == "${{ secrets.DEPLOY_WEBHOOK_URL }}"
        assert f"--stack {stack} --result \"${{{{ job.status }}}}\"" in steps[notify]["run"]
    # prod waits for dev's job as a whole: its update and its smoke test.
    assert jobs["up-prod"]["needs"] == "up-dev"
