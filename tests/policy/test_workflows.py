"""The CI workflows that run the pack for users: schema-valid, OIDC only, policy pack on every stack."""

from __future__ import annotations

import json
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
DEPENDABOT = PROJECT_DIR / ".github" / "dependabot.yml"


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
    assert {p.name for p in workflows} >= {"preview.yml", "deploy.yml", "drift.yml"}
    result = _validate("vendor.github-workflows", *workflows)
    assert result.returncode == 0, result.stdout + result.stderr
    result = _validate("vendor.github-actions", SETUP_ACTION)
    assert result.returncode == 0, result.stdout + result.stderr
    result = _validate("vendor.dependabot", DEPENDABOT)
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
    # A team token (bounded by the team's stack permissions) when the job names a team, else an organization token.
    assert pulumi_auth["with"]["requested-token-type"] == (
        "${{ inputs.pulumi-team != '' && 'urn:pulumi:token-type:access_token:team' "
        "|| 'urn:pulumi:token-type:access_token:organization' }}")
    assert pulumi_auth["with"]["scope"] == (
        "${{ inputs.pulumi-team != '' && format('team:{0}', inputs.pulumi-team) || '' }}")
    # Every job that reaches the cloud may mint an OIDC token, and only those.
    for path in WORKFLOWS.glob("*.yml"):
        document = _load(path)
        assert document["permissions"] == {"contents": "read"}, path.name
        for name, job in document["jobs"].items():
            uses_cloud = bool(_steps(job, "./.github/actions/pulumi-setup"))
            assert (job.get("permissions", {}).get("id-token") == "write") == uses_cloud, (path.name, name)


MATRIX_FROM = "${{{{ fromJSON(needs.{job}.outputs.{output}) }}}}"
STACKS_STEP = 'venv/bin/python -m tools.stacks --github >> "$GITHUB_OUTPUT"'
PREVIEW_ROLE = "${{ vars[format('AWS_PREVIEW_ROLE_ARN_{0}', matrix.variable_suffix)] }}"


def _github_outputs() -> dict[str, list[dict[str, Any]]]:
    """What `python -m tools.stacks --github` gives the workflows, parsed."""
    completed = subprocess.run([sys.executable, "-m", "tools.stacks", "--github"], cwd=PROJECT_DIR,
                               capture_output=True, text=True, check=True)
    return {key: json.loads(value) for key, _, value in (line.partition("=") for line in
                                                          completed.stdout.splitlines())}


def _stacks_step_feeds(job: dict[str, Any], outputs: dict[str, str]) -> None:
    (step,) = [step for step in job["steps"] if step.get("run") == STACKS_STEP]
    assert step["id"] == "stacks"
    for name, output in outputs.items():
        assert job["outputs"][name] == f"${{{{ steps.stacks.outputs.{output} }}}}"


def test_the_stacks_come_from_their_files_in_release_order():
    outputs = _github_outputs()
    assert [entry["stack"] for entry in outputs["all"]] == list(COMMITTED_STACKS) == ["dev", "staging", "prod"]
    assert [entry["stack"] for entry in outputs["unapproved"]] == ["dev", "staging"]
    assert [entry["stack"] for entry in outputs["approved"]] == ["prod"]
    for entry in outputs["all"]:
        assert (PROJECT_DIR / entry["policy_config"]).exists(), entry
        assert entry["variable_suffix"] == entry["stack"].upper()


def test_pull_requests_preview_every_stack_with_the_policy_pack():
    document = _load(WORKFLOWS / "preview.yml")
    assert list(document["on"]) == ["pull_request"]
    _stacks_step_feeds(document["jobs"]["checks"], {"stacks": "all"})
    job = document["jobs"]["preview"]
    assert job["strategy"]["matrix"]["include"] == MATRIX_FROM.format(job="checks", output="stacks")
    # The costs job feeds the comment only: the previews need the checks to have passed, not the costs.
    assert job["needs"] == ["checks", "costs"]
    assert job["if"] == "${{ !cancelled() && needs.checks.result == 'success' }}"
    assert "${{ matrix.stack }}" in job["concurrency"]["group"]
    (setup,) = _steps(job, "./.github/actions/pulumi-setup")
    assert setup["with"]["role-to-assume"] == PREVIEW_ROLE  # read-only
    # The action installs the CLI only; the preview itself is a script, so its text survives a refusal.
    (cli,) = _steps(job, "pulumi/actions@")
    assert "command" not in cli["with"]
    (preview,) = [step for step in job["steps"] if step.get("id") == "preview"]
    assert preview["env"]["STACK"].endswith("/prodready/${{ matrix.stack }}")
    assert preview["env"]["POLICY_CONFIG"] == "${{ matrix.policy_config }}"
    script = preview["run"]
    assert script.startswith("set -o pipefail\n")  # the pack's refusal fails the step through the pipe
    assert '--policy-pack policies --policy-pack-config "$POLICY_CONFIG"' in script
    assert '--stack "$STACK"' in script and '| tee "$PREVIEW_FILE"' in script


def test_pull_requests_get_one_preview_comment_with_changes_verdict_and_cost():
    document = _load(WORKFLOWS / "preview.yml")
    job = document["jobs"]["preview"]
    (preview,) = [step for step in job["steps"] if step.get("id") == "preview"]
    # The one comment is tools.pr_comment's; it reads the preview's text from the file the step tees it to
    # (a file: a large diff does not fit one environment variable).
    (comment,) = [step for step in job["steps"] if step.get("run") == "python3 -m tools.pr_comment"]
    assert comment["env"]["PREVIEW_FILE"] == preview["env"]["PREVIEW_FILE"] == "${{ runner.temp }}/preview.txt"
    (summary,) = [step for step in job["steps"] if step.get("name") == "Preview in the job summary"]
    assert summary["env"]["PREVIEW_FILE"] == preview["env"]["PREVIEW_FILE"]
    assert summary["if"] == "${{ !cancelled() && steps.preview.outcome != 'skipped' }}"
    assert comment["env"]["OUTCOME"] == "${{ steps.preview.outcome }}"
    assert comment["env"]["COSTS"] == "${{ needs.costs.outputs.costs }}"
    assert comment["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    # It reports a failed preview too, and never fails the job itself.
    assert comment["if"] == "${{ !cancelled() && steps.preview.outcome != 'skipped' }}"
    assert comment["continue-on-error"] is True
    # Writing the comment is the one write permission of the job's token.
    assert {k: v for k, v in job["permissions"].items() if v == "write"} == {
        "id-token": "write", "pull-requests": "write"}
    costs = document["jobs"]["costs"]
    assert costs["outputs"]["costs"] == "${{ steps.costs.outputs.costs }}"
    (base,) = [s for s in _steps(costs, "actions/checkout@") if "ref" in s.get("with", {})]
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert "tools.cost_change --before build/base --after build --github" in costs["steps"][-1]["run"]
    assert "permissions" not in costs  # the workflow's contents: read


def test_main_deploys_in_release_order_approved_stacks_last_one_update_per_stack_at_a_time():
    document = _load(WORKFLOWS / "deploy.yml")
    assert document["on"]["push"] == {"branches": ["main"]}
    jobs = document["jobs"]
    _stacks_step_feeds(jobs["checks"], {"unapproved": "unapproved", "approved": "approved"})
    assert jobs["up"]["needs"] == "checks"
    assert jobs["up-approved"]["needs"] == ["checks", "up", "preview-approved"]
    for name, output in (("up", "unapproved"), ("up-approved", "approved")):
        job = jobs[name]
        # One stack after another, in the order of the list; a failure stops the ones after it.
        assert job["strategy"]["matrix"]["include"] == MATRIX_FROM.format(job="checks", output=output)
        assert job["strategy"]["max-parallel"] == 1 and job["strategy"]["fail-fast"] is True
        assert job["environment"] == "${{ matrix.stack }}"
        assert job["concurrency"] == {"group": "pulumi-${{ matrix.stack }}", "cancel-in-progress": False}
        (up,) = _steps(job, "pulumi/actions@")
        assert up["with"]["command"] == "up"
        assert up["with"]["stack-name"].endswith("/prodready/${{ matrix.stack }}")
        assert up["with"]["policyPacks"] == "policies"
        assert up["with"]["policyPackConfigs"] == "${{ matrix.policy_config }}"
    assert jobs["up"]["if"] == "needs.checks.outputs.unapproved != '[]'"
    # The approved stacks follow `up` when it succeeded or was skipped (no unapproved stack), never a failure.
    assert jobs["up-approved"]["if"] == jobs["preview-approved"]["if"] == (
        "${{ !failure() && !cancelled() && needs.checks.outputs.approved != '[]' }}")


@pytest.mark.parametrize("workflow", ["preview.yml", "deploy.yml"])
def test_offline_checks_gate_the_cloud_jobs(workflow: str):
    jobs = _load(WORKFLOWS / workflow)["jobs"]
    assert [step.get("run") for step in jobs["checks"]["steps"] if "run" in step] == [".ci/run", STACKS_STEP]


def test_each_stack_is_smoke_tested_after_its_update_and_reported_whatever_happened():
    jobs = _load(WORKFLOWS / "deploy.yml")["jobs"]
    for name in ("up", "up-approved"):
        steps = jobs[name]["steps"]
        (up,) = [i for i, step in enumerate(steps) if str(step.get("uses", "")).startswith("pulumi/actions@")]
        smoke = next(i for i, step in enumerate(steps) if "tools.smoke --outputs -" in step.get("run", ""))
        notify = next(i for i, step in enumerate(steps) if "tools.notify" in step.get("run", ""))
        # The smoke test runs only if the update (and its release) succeeded, against that stack's outputs.
        assert up < smoke < notify and "if" not in steps[smoke], name
        assert steps[smoke]["env"]["STACK"].endswith("/prodready/${{ matrix.stack }}")
        assert steps[smoke]["shell"] == "bash" and '-s "$STACK"' in steps[smoke]["run"]
        # The notification runs whatever happened, with the job's result and the optional webhook secret.
        assert steps[notify]["if"] == "always()"
        assert steps[notify]["env"]["DEPLOY_WEBHOOK_URL"] == "${{ secrets.DEPLOY_WEBHOOK_URL }}"
        assert steps[notify]["env"]["RESULT"] == "${{ job.status }}"
        assert steps[notify]["env"]["STACK_NAME"] == "${{ matrix.stack }}"
        assert '--stack "$STACK_NAME" --result "$RESULT"' in steps[notify]["run"]
    # The approved stacks wait for every other stack's job as a whole: its update and its smoke test.
    assert "up" in jobs["up-approved"]["needs"]


# --- Supply chain and hygiene: what a security review of the pipeline checks ---------------------------

_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
_PINNED = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")
_VERSION_COMMENT = re.compile(r"^\s+#\s+v\d+\.\d+\.\d+$")


def _pipeline_files() -> list[Path]:
    return [*sorted(WORKFLOWS.glob("*.yml")), SETUP_ACTION]


def _all_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.name, name, job) for path in sorted(WORKFLOWS.glob("*.yml"))
            for name, job in _load(path)["jobs"].items()]


def _all_steps() -> list[tuple[str, dict[str, Any]]]:
    steps = [(f"{path}:{name}", step) for path, name, job in _all_jobs() for step in job.get("steps", [])]
    return steps + [(SETUP_ACTION.name, step) for step in yaml.safe_load(SETUP_ACTION.read_text())["runs"]["steps"]]


def unpinned_uses(text: str) -> list[str]:
    """The `uses:` lines of a workflow or action that are neither local nor a full commit SHA with its
    release tag in a comment (`owner/repo@<40 hex>  # vX.Y.Z`)."""
    found = []
    for line in text.splitlines():
        match = _USES.match(line)
        if not match or match["ref"].startswith("./"):
            continue
        if not (_PINNED.match(match["ref"]) and _VERSION_COMMENT.match(match["rest"])):
            found.append(line.strip())
    return found


def test_every_action_is_pinned_to_a_commit_with_its_version():
    for path in _pipeline_files():
        text = path.read_text()
        assert "uses:" in text
        assert unpinned_uses(text) == [], path.name


def test_the_pin_check_does_reject_tags_branches_short_shas_and_missing_versions():
    sha = "3d3c42e5aac5ba805825da76410c181273ba90b1"
    assert unpinned_uses(f"      - uses: actions/checkout@{sha}  # v7.0.1\n      - uses: ./.github/actions/x") == []
    for bad in ["actions/checkout@v7", "actions/checkout@main", f"actions/checkout@{sha[:12]}  # v7.0.1",
                f"actions/checkout@{sha}", f"actions/checkout@{sha}  # latest"]:
        assert unpinned_uses(f"      - uses: {bad}") == [f"- uses: {bad}"], bad


def test_the_same_action_is_pinned_to_the_same_commit_everywhere():
    pins: dict[str, set[str]] = {}
    for path in _pipeline_files():
        for line in path.read_text().splitlines():
            match = _USES.match(line)
            if match and not match["ref"].startswith("./"):
                action, _, sha = match["ref"].partition("@")
                pins.setdefault(action, set()).add(f"{sha} {match['rest'].strip()}")
    assert {action for action, refs in pins.items() if len(refs) > 1} == set()
    assert {"actions/checkout", "actions/setup-python", "pulumi/actions"} <= set(pins)


def test_dependabot_proposes_action_and_lock_updates_after_a_cooldown():
    document = yaml.safe_load(DEPENDABOT.read_text())
    updates = {entry["package-ecosystem"]: entry for entry in document["updates"]}
    assert set(updates) == {"github-actions", "pip"}
    # The composite action's pins are not in .github/workflows: Dependabot must be told where it is.
    assert set(updates["github-actions"]["directories"]) == {"/", "/.github/actions/pulumi-setup"}
    assert set(updates["pip"]["directories"]) == {"/", "/policies"}
    for entry in updates.values():
        assert entry["cooldown"]["default-days"] >= 7


def test_checkouts_keep_no_credentials_and_no_expression_is_expanded_inside_a_script():
    checkouts = 0
    for where, step in _all_steps():
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            checkouts += 1
            assert step.get("with", {}).get("persist-credentials") is False, where
        # An expression inside `run:` is pasted into the script before the shell sees it (injection);
        # values reach scripts as environment variables.
        assert "${{" not in step.get("run", ""), where
    assert checkouts >= 5


def test_every_job_has_a_timeout_and_deploy_jobs_outlast_their_longest_release():
    from components.config import load_stack_config
    from components.delivery.documents import release_timeout_seconds
    from tools.plan.harness import stack_config

    per_stack = "${{ matrix.timeout_minutes }}"
    for workflow, name, job in _all_jobs():
        timeout = job.get("timeout-minutes")
        if timeout == per_stack:  # from tools.stacks, checked below
            assert "tools.stacks" in json.dumps(_load(WORKFLOWS / workflow)["jobs"]["checks"]), (workflow, name)
            continue
        assert isinstance(timeout, int) and 0 < timeout <= 60, (workflow, name)
    jobs = _load(WORKFLOWS / "deploy.yml")["jobs"]
    assert jobs["up"]["timeout-minutes"] == jobs["up-approved"]["timeout-minutes"] == per_stack
    for entry in _github_outputs()["all"]:
        raw, _ = stack_config(entry["stack"])
        release_minutes = release_timeout_seconds(load_stack_config(entry["stack"], raw).delivery) / 60
        # The update around the release (resources before it, version pruning after) and the smoke test,
        # within GitHub's 6 hours for a job.
        assert release_minutes + 20 <= entry["timeout_minutes"] <= 360, entry


def test_python_comes_from_python_version_and_pip_and_plugins_are_cached():
    setups = [(where, step) for where, step in _all_steps()
              if str(step.get("uses", "")).startswith("actions/setup-python@")]
    assert len(setups) >= 3
    for where, step in setups:
        assert step["with"]["python-version-file"] == ".python-version", where
        assert "python-version" not in step["with"], where
        assert step["with"]["cache"] == "pip", where
        # The cache key follows the locks the job installs.
        assert "requirements" in step["with"]["cache-dependency-path"], where
    (plugins,) = [step for _, step in _all_steps() if str(step.get("uses", "")).startswith("actions/cache@")]
    assert plugins["with"]["path"] == "~/.pulumi/plugins"
    assert "hashFiles('requirements.txt')" in plugins["with"]["key"]


def test_the_setup_action_installs_the_hashed_locks_only():
    (install,) = [step for step in yaml.safe_load(SETUP_ACTION.read_text())["runs"]["steps"] if "run" in step]
    lines = [line.strip() for line in install["run"].splitlines() if "pip install" in line]
    assert lines == [
        "venv/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements.txt",
        "policies/venv/bin/python -m pip install --quiet --require-hashes --no-deps -r policies/requirements.txt",
    ]


def test_the_pulumi_cli_is_the_release_of_the_locked_sdk():
    (sdk,) = re.findall(r"^pulumi==(\S+)", (PROJECT_DIR / "requirements.txt").read_text(), flags=re.M)
    runs = [(where, step) for where, step in _all_steps() if str(step.get("uses", "")).startswith("pulumi/actions@")]
    assert len(runs) == 5  # up, preview for the approval, up approved, the PR previews, the drift checks
    for where, step in runs:
        assert str(step["with"]["pulumi-version"]) == sdk, where
    # What a developer is told to install.
    for doc in ("README.md", "docs/ci.md"):
        assert set(re.findall(r"CLI\b[^\n]*? v(\d+\.\d+\.\d+)", (PROJECT_DIR / doc).read_text())) == {sdk}, doc


def test_no_workflow_can_be_called_from_another_repository():
    # .github/zizmor.yml keeps `./` local action references on this ground.
    for path in WORKFLOWS.glob("*.yml"):
        assert "workflow_call" not in _load(path)["on"], path.name


def test_approved_stacks_are_previewed_with_the_pack_into_the_summary_before_their_approval():
    jobs = _load(WORKFLOWS / "deploy.yml")["jobs"]
    preview = jobs["preview-approved"]
    assert preview["needs"] == ["checks", "up"] and "environment" not in preview  # runs before any approval
    assert preview["strategy"]["matrix"]["include"] == MATRIX_FROM.format(job="checks", output="approved")
    assert "preview-approved" in jobs["up-approved"]["needs"]
    assert jobs["up-approved"]["environment"] == "${{ matrix.stack }}"
    (setup,) = _steps(preview, "./.github/actions/pulumi-setup")
    assert setup["with"]["role-to-assume"] == PREVIEW_ROLE  # read-only
    (run,) = _steps(preview, "pulumi/actions@")
    assert run["with"]["command"] == "preview"
    assert run["with"]["stack-name"].endswith("/prodready/${{ matrix.stack }}")
    assert run["with"]["policyPacks"] == "policies"
    assert run["with"]["policyPackConfigs"] == "${{ matrix.policy_config }}"
    assert run["with"]["comment-on-summary"] is True


def test_the_approval_summary_has_the_cost_change_since_the_deployed_commit():
    job = _load(WORKFLOWS / "deploy.yml")["jobs"]["preview-approved"]
    steps = job["steps"]
    (preview,) = _steps(job, "pulumi/actions@")
    (deployed,) = [s for s in steps if s.get("id") == "deployed"]
    (base,) = [s for s in _steps(job, "actions/checkout@") if "ref" in s.get("with", {})]
    (cost,) = [s for s in steps if "tools.cost_change --before" in s.get("run", "")]
    # After the preview (whose CLI it uses, and whose summary comes first), in this order.
    assert steps.index(preview) < steps.index(deployed) < steps.index(base) < steps.index(cost)
    # The base is the commit of the stack's newest successful update, from its own history.
    assert "pulumi stack history --json" in deployed["run"] and "-s \"$STACK\"" in deployed["run"]
    assert "tools.cost_change --deployed-commit >> \"$GITHUB_OUTPUT\"" in deployed["run"]
    assert deployed["env"]["STACK"] == "${{ vars.PULUMI_ORG }}/prodready/${{ matrix.stack }}"
    assert deployed["shell"] == "bash"  # -o pipefail: a failed history read leaves no base commit
    assert base["with"]["ref"] == "${{ steps.deployed.outputs.commit }}"
    assert base["if"] == "steps.deployed.outputs.commit != ''"
    assert base["with"]["path"] == "build/base-src"
    # Both estimates by tools.plan, compared by tools.cost_change (the pull requests' comparison), into the
    # job's summary.
    assert cost["env"] == {"STACK_NAME": "${{ matrix.stack }}", "SINCE": "${{ steps.deployed.outputs.commit }}"}
    assert 'venv/bin/python -m tools.plan --stack "$STACK_NAME" --no-policy' in cost["run"]
    assert '--out "../base/plan-$STACK_NAME.json"' in cost["run"]
    assert ('tools.cost_change --before build/base --after build --summary "$STACK_NAME"' in cost["run"]
            and '--since "$SINCE" >> "$GITHUB_STEP_SUMMARY"' in cost["run"])
    # Information only: never in the way of the approval.
    assert all(s["continue-on-error"] is True for s in (deployed, base, cost))
    # No permission beyond the preview's: the history is read with the preview's Pulumi token.
    assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_drift_is_checked_nightly_per_stack_with_the_pack_and_reported():
    document = _load(WORKFLOWS / "drift.yml")
    assert [entry["cron"] for entry in document["on"]["schedule"]] and "workflow_dispatch" in document["on"]
    _stacks_step_feeds(document["jobs"]["stacks"], {"all": "all"})
    job = document["jobs"]["drift"]
    assert job["needs"] == "stacks"
    assert job["strategy"]["matrix"]["include"] == MATRIX_FROM.format(job="stacks", output="all")
    assert job["strategy"]["fail-fast"] is False
    # Read-only roles: a drift check never needs a deploy role.
    (setup,) = _steps(job, "./.github/actions/pulumi-setup")
    assert setup["with"]["role-to-assume"] == PREVIEW_ROLE
    (run,) = _steps(job, "pulumi/actions@")
    assert run["with"]["command"] == "preview"
    assert run["with"]["refresh"] is True and run["with"]["expect-no-changes"] is True
    assert run["with"]["policyPacks"] == "policies"
    assert run["with"]["policyPackConfigs"] == "${{ matrix.policy_config }}"
    assert run["with"]["comment-on-summary"] is True
    (notify,) = [step for step in job["steps"] if "tools.notify" in step.get("run", "")]
    assert "failure()" in notify["if"] and "--event drift" in notify["run"]
    assert notify["env"]["DEPLOY_WEBHOOK_URL"] == "${{ secrets.DEPLOY_WEBHOOK_URL }}"


def test_read_only_jobs_ask_for_the_preview_team_token_and_deploy_jobs_do_not():
    seen = {"preview": 0, "deploy": 0}
    for path in WORKFLOWS.glob("*.yml"):
        for name, job in _load(path)["jobs"].items():
            for step in _steps(job, "./.github/actions/pulumi-setup"):
                inputs = step["with"]
                if inputs["role-to-assume"] == PREVIEW_ROLE:
                    seen["preview"] += 1
                    assert inputs.get("pulumi-team") == "${{ vars.PULUMI_PREVIEW_TEAM }}", (path.name, name)
                else:
                    seen["deploy"] += 1
                    assert "pulumi-team" not in inputs, (path.name, name)
    # PR previews, the prod preview before the approval and the drift check; the two deploy jobs.
    assert seen == {"preview": 3, "deploy": 2}
