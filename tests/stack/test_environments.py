"""Environments as data: a stack is its file. A new one plans with no other file changed, is tagged and
budgeted under its own name, and takes its defaults, protections and policy config from its profile."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import COMMITTED_STACKS
from tools.plan.harness import PROJECT_DIR, Plan
from tools.stacks import committed_stacks

SKIP = shutil.ignore_patterns(".git", "venv", ".venv", "build", "__pycache__", ".pytest_cache", ".benchmarks")


def _taggable_environment_tags(plan: Plan) -> set[str]:
    """The Environment tag of every AWS provider of the plan (the tags every taggable resource gets)."""
    found = set()
    for provider in plan.resources:
        if provider.type == "pulumi:providers:aws":
            tags = provider.inputs["defaultTags"]
            found.add((json.loads(tags) if isinstance(tags, str) else tags)["tags"]["Environment"])
    return found


def test_the_committed_stacks_are_the_stack_files_in_release_order() -> None:
    files = sorted(p.name.split(".")[1] for p in PROJECT_DIR.glob("Pulumi.*.yaml"))
    assert sorted(COMMITTED_STACKS) == files
    stacks = committed_stacks()
    assert [s.stack for s in stacks] == ["dev", "staging", "prod"]
    assert [(s.profile, s.approval) for s in stacks] == [("dev", False), ("prod", False), ("prod", True)]
    assert {s.stack: s.policy_config for s in stacks}["staging"] == "policies/config/prod.json"


def test_staging_has_prod_s_protections_under_its_own_name(plans: dict[str, Plan]) -> None:
    staging, prod = plans["staging"], plans["prod"]
    assert _taggable_environment_tags(staging) == {"staging"}
    (budget,) = staging.of_type("aws:budgets/budget:Budget")
    assert budget.inputs["name"] == "catalog-staging-monthly"
    assert {"tags": {"key": "Environment", "matchOptions": ["EQUALS"], "values": ["staging"]}} in \
        budget.inputs["filterExpression"]["ands"]
    assert budget.inputs["limitAmount"] == "100.00"
    (table,) = [t for t in staging.of_type("aws:dynamodb/table:Table") if t.name == "catalog-table-dynamodb"]
    assert table.inputs["deletionProtectionEnabled"] is True and table.protect
    # Prod's shape, less what only the account's owner stack has (cost allocation tags, billing alarm).
    assert not staging.of_type("pulumi-python:dynamic/prodready:CostAllocationTags")
    assert len(staging.resources) > 0.9 * len(prod.resources)


@pytest.mark.slow
def test_a_fourth_stack_copied_from_staging_plans_with_no_other_file_changed(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, project, ignore=SKIP)
    (project / "Pulumi.qa.yaml").write_text((project / "Pulumi.staging.yaml").read_text())

    completed = subprocess.run([sys.executable, "-m", "tools.plan", "--stack", "qa"], cwd=project,
                               capture_output=True, text=True, timeout=600, check=False)

    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "policy violations: 0 mandatory" in completed.stdout
    plan = json.loads((project / "build" / "plan-qa.json").read_text())
    (provider,) = [r for r in plan["resources"] if r["type"] == "pulumi:providers:aws" and r["name"] == "aws"]
    assert json.loads(provider["inputs"]["defaultTags"])["tags"]["Environment"] == "qa"
    assert any(r["inputs"].get("name") == "catalog-qa-monthly" for r in plan["resources"]
               if r["type"] == "aws:budgets/budget:Budget")


def stack_file_repeats(stack: str, project_dir: Path = PROJECT_DIR) -> list[str]:
    """The leaves of a stack file equal to what its profile gives anyway (the profile's values over the
    models' defaults), as `<file>: <key> repeats ...`."""
    import yaml

    from components.config import NAMESPACE, profile_of
    from tools.config_reference import profile_values

    name = f"Pulumi.{stack}.yaml"
    config = yaml.safe_load((project_dir / name).read_text())["config"]
    effective = profile_values()[profile_of(stack, config)]

    def repeated(value: Any, given: Any, key: str) -> list[str]:
        if isinstance(value, dict) and isinstance(given, dict):
            return [leaf for k, v in value.items() if k in given for leaf in repeated(v, given[k], f"{key}.{k}")]
        return [f"{name}: {key} repeats its profile's value {given!r}"] if value == given else []

    return [leaf for key, value in config.items() if key.startswith(f"{NAMESPACE}:")
            and key.split(":", 1)[1] not in ("profile", "service", "owner", "costCenter")
            and key.split(":", 1)[1] in effective
            for leaf in repeated(value, effective[key.split(":", 1)[1]], key)]


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_every_stack_file_holds_only_what_differs_from_its_profile(stack: str) -> None:
    assert stack_file_repeats(stack) == []


def test_a_repeated_leaf_is_named_with_its_file(tmp_path: Path) -> None:
    text = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()
    (tmp_path / "Pulumi.prod.yaml").write_text(text.replace(
        "  prodready:table:\n", "  prodready:table:\n    billingMode: PAY_PER_REQUEST\n").replace(
        "  prodready:cost:\n", "  prodready:cost:\n    anomalyFrequency: IMMEDIATE\n"))
    assert stack_file_repeats("prod", tmp_path) == [
        "Pulumi.prod.yaml: prodready:table.billingMode repeats its profile's value 'PAY_PER_REQUEST'",
        "Pulumi.prod.yaml: prodready:cost.anomalyFrequency repeats its profile's value 'IMMEDIATE'",
    ]


def test_every_aws_provider_of_a_prod_profile_stack_refuses_other_accounts(plans: dict[str, Plan]) -> None:
    for stack in ("staging", "prod"):
        providers = [r for r in plans[stack].resources if r.type == "pulumi:providers:aws"]
        assert len(providers) >= 2, stack  # the stack's region's, and the copy region's or us-east-1's
        for provider in providers:
            allowed = provider.inputs.get("allowedAccountIds")
            assert json.loads(allowed) if isinstance(allowed, str) else allowed, (stack, provider.name)


def test_one_stack_s_policy_config_does_not_depend_on_the_other_stack_files(tmp_path: Path) -> None:
    from tools.stacks import policy_config_path

    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  prodready:tabel: {}\n")
    assert policy_config_path("dev", tmp_path) == tmp_path / "policies" / "config" / "dev.json"
    with pytest.raises(FileNotFoundError, match=r"no stack file Pulumi\.qa\.yaml"):
        policy_config_path("qa", tmp_path)


def test_a_stack_name_becomes_a_valid_variable_name_suffix(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", project / "Pulumi.yaml")
    (project / "Pulumi.eu-prod-2.yaml").write_text((PROJECT_DIR / "Pulumi.staging.yaml").read_text())
    (stack,) = committed_stacks(project)
    assert (stack.stack, stack.variable_suffix) == ("eu-prod-2", "EU_PROD_2")
