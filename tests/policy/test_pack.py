"""The pack as the engine sees it: metadata over gRPC, per-stack config, the preview view of a plan."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from prodready_policy.pack import PACK_NAME

from tests.conftest import COMMITTED_STACKS
from tests.policy.builders import StackBuilder
from tools.plan.harness import PROJECT_DIR, committed_config
from tools.plan.policy import (
    POLICY_PACK_DIR,
    UNKNOWN,
    PolicyConfigError,
    PolicyPackProcess,
    load_policy_config,
    parse_policy_config,
    preview_view,
    reconcile_config,
)
from tools.stacks import policy_config_path


def test_plugin_and_analyzer_info(policy_pack: PolicyPackProcess):
    assert policy_pack.plugin_info().version == "1.21.0"  # pulumi-policy, as pinned
    info = policy_pack.info()
    assert info.name == PACK_NAME
    # As the engine does: PulumiPolicy.yaml's version wins over the SDK's placeholder.
    assert info.version == yaml.safe_load((POLICY_PACK_DIR / "PulumiPolicy.yaml").read_text())["version"]
    assert len(info.policies) == 21


def test_every_policy_is_documented_mandatory_and_configurable(policy_pack: PolicyPackProcess):
    for policy in policy_pack.info().policies:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", policy.name), policy.name
        assert policy.description.startswith(("Requires ", "Prohibits ")), policy.name
        assert policy.enforcement_level == "mandatory", policy.name
        assert policy.severity in {"low", "medium", "high", "critical"}, policy.name
        assert len(policy.remediation_steps) > 40, policy.name
        assert policy.config_schema, policy.name
        for key, schema in policy.config_schema.items():
            assert ("default" in schema and schema.get("description")) or schema.get("type") == "object", (
                policy.name, key)


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_each_committed_stack_has_a_valid_policy_config(stack: str, policy_pack: PolicyPackProcess):
    path = policy_config_path(stack)
    assert path.exists(), f"no policy config for stack {stack}"
    reconciled = reconcile_config(policy_pack.info(), load_policy_config(path))
    assert set(reconciled) == {p.name for p in policy_pack.info().policies}


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_policy_config_agrees_with_the_stack_file(stack: str, policy_pack: PolicyPackProcess):
    """The pack's thresholds are the stack's promises: its own config must sit inside them."""
    config = committed_config(stack)
    reconciled = reconcile_config(policy_pack.info(), load_policy_config(policy_config_path(stack)))
    props = {name: entry["properties"] for name, entry in reconciled.items()}
    # One config per profile: the Environment tag must be the stack's own name, read from each URN.
    assert props["required-tags"]["allowedEnvironments"] == [] and config.environment == stack
    assert set(props["required-tags"]["requiredKeys"]) <= set(config.tags)
    retention = props["log-group-retention"]
    assert retention["minDays"] <= config.logs.retention_days <= retention["maxDays"]
    assert retention["securityMinDays"] <= config.logs.access_log_retention_days <= retention["maxDays"]
    protection = props["dynamodb-data-protection"]
    assert protection["requirePointInTimeRecovery"] <= config.data_protection.point_in_time_recovery
    assert protection["requireDeletionProtection"] <= config.data_protection.deletion_protection
    if config.environment == "prod":
        assert protection["requirePointInTimeRecovery"] and protection["requireDeletionProtection"]
        assert retention["securityMinDays"] >= 90
    throttling = props["api-route-throttling"]
    assert config.api.throttling_rate_limit <= throttling["maxRateLimit"]
    assert config.api.throttling_burst_limit <= throttling["maxBurstLimit"]


def test_reconcile_applies_defaults_all_and_policy_levels(policy_pack: PolicyPackProcess):
    info = policy_pack.info()
    given = parse_policy_config({"all": "advisory", "lambda-active-tracing": "disabled",
                                 "log-group-retention": {"enforcementLevel": "mandatory", "maxDays": 60}})
    result = reconcile_config(info, given)
    assert result["required-tags"]["enforcementLevel"] == "advisory"
    assert result["lambda-active-tracing"]["enforcementLevel"] == "disabled"
    assert result["log-group-retention"] == {
        "enforcementLevel": "mandatory",
        "properties": {**result["log-group-retention"]["properties"], "maxDays": 60},
    }
    assert result["log-group-retention"]["properties"]["securityMinDays"] == 90  # schema default kept


@pytest.mark.parametrize("document, problem", [
    ({"log-group-retention": {"minDays": "seven"}}, "log-group-retention: minDays: 'seven' is not of type 'number'"),
    ({"no-such-policy": {"x": 1}}, "no-such-policy: no such policy"),
    ({"required-tags": "sometimes"}, "'sometimes' is not a valid enforcement level"),
    ({"alarm-coverage": {"requiredMetrics": {"aws:s3/bucket:Bucket": ["x"]}}},
     "Additional properties are not allowed"),
])
def test_invalid_policy_config_is_refused_with_the_policy_named(document, problem, policy_pack: PolicyPackProcess):
    with pytest.raises(PolicyConfigError, match=re.escape(problem)):
        reconcile_config(policy_pack.info(), parse_policy_config(document))


def test_config_files_are_plain_json_objects():
    for path in sorted((POLICY_PACK_DIR / "config").glob("*.json")):
        assert isinstance(json.loads(path.read_text()), dict), path
        assert path.stem in COMMITTED_STACKS, f"{path.name} configures a stack without a Pulumi.{path.stem}.yaml"


def test_pack_does_not_import_the_program_or_pulumi_aws():
    """Under the engine the pack runs from policies/ with its own venv: only pulumi and pulumi-policy."""
    for path in POLICY_PACK_DIR.rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(from|import) (components|tools|app|pulumi_aws)\b", text, re.M), path
    pins = [line for line in (POLICY_PACK_DIR / "requirements.in").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert pins == ["pulumi==3.272.0", "pulumi-policy==1.21.0"]
    # Its hashed lock (what the engine installs) adds only their own dependencies, never the program's.
    lock = (POLICY_PACK_DIR / "requirements.txt").read_text()
    assert "pulumi==3.272.0 \\" in lock and "pulumi-policy==1.21.0 \\" in lock
    assert "pulumi-aws" not in lock and "boto" not in lock
    assert Path(PROJECT_DIR / "requirements-dev.in").read_text().count("-r policies/requirements.in") == 1


# -- the preview view ---------------------------------------------------------------------------


def test_preview_view_makes_computed_values_and_what_derives_from_them_unknown():
    stack = StackBuilder()
    table = stack.table("items")
    stack.add("aws:iam/rolePolicy:RolePolicy", "policy", {
        "role": "r",
        "policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem",
                                             "Resource": "arn:aws:dynamodb:eu-west-1:123456789012:table/items"}]}),
    }, deps={"policy": [table]})
    stack.add("aws:lambda/function:Function", "fn", {"name": "fn", "environment": {"variables": {"TABLE": "items"}}},
              deps={"environment": [table]})
    preview = preview_view(stack.plan())
    by_name = {r.name: r for r in preview.resources}
    assert by_name["items-table"].outputs["arn"] == UNKNOWN  # computed on create
    assert by_name["items-table"].outputs["name"] == "items"  # an input: known
    assert by_name["policy"].inputs["policy"] == UNKNOWN  # built from the table's ARN
    assert by_name["fn"].inputs["environment"] == {"variables": {"TABLE": "items"}}  # from the table's input
    assert by_name["aws"].outputs["defaultTags"] == stack.plan().resources[0].inputs["defaultTags"]
    assert preview.preview is True


def test_the_pack_process_starts_like_the_engine_starts_it_and_stops_cleanly():
    with PolicyPackProcess(POLICY_PACK_DIR, stack="prod", dry_run=False) as pack:
        assert pack.process.args[1:5] == ["-u", "-m", "pulumi.policy", "127.0.0.1:0"]
        assert pack.process.args[5] == "." and Path(pack.pack_dir) == POLICY_PACK_DIR
        assert pack.info().name == PACK_NAME
    assert pack.process.returncode == 0, pack.stderr
    assert pack.stderr == ""


_START_AND_STOP = """
import json, os, time
from tools.plan.policy import PolicyPackProcess
pack = PolicyPackProcess(stack="prod", dry_run=False)
pack.info()
started = time.perf_counter()
pack.close()
print(json.dumps({"pid": pack.process.pid, "returncode": pack.process.returncode,
                  "stop_seconds": time.perf_counter() - started, "stderr": pack.stderr}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("sigint", ["default", "ignored"])
def test_the_pack_process_stops_cleanly_when_sigint_is_ignored(sigint: str, capsys: pytest.CaptureFixture[str]):
    """A plan run as a background job (`make plan &`, nohup) inherits an ignored SIGINT, and so does the
    pack it starts: the harness stops it with SIGTERM then, which the pack treats as SIGINT."""
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint == "ignored" else None
    result = subprocess.run([sys.executable, "-c", _START_AND_STOP], cwd=PROJECT_DIR, capture_output=True, text=True,
                            preexec_fn=ignore, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    stopped = json.loads(result.stdout)
    assert stopped["returncode"] == 0, stopped["stderr"]  # a clean stop, not the kill after the timeout
    assert stopped["stderr"] == ""
    assert not Path(f"/proc/{stopped['pid']}").exists()  # reaped: no process, no zombie
    with capsys.disabled():  # measured, never asserted
        print(f"\n  pack stop with SIGINT {sigint}: {stopped['stop_seconds']:.2f} s")

