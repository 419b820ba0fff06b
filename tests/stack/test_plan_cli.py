"""`make plan` end to end: each committed stack file yields a plan file; bad config yields none."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from tests.conftest import COMMITTED_STACKS
from tools.plan.__main__ import main
from tools.plan.harness import PROJECT_DIR
from tools.plan.mocks import inspect_props

# Plans stacks of its own (or runs the program in another process): left out of `make test-fast`.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_committed_stack_plans_to_a_documented_file(stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / f"plan-{stack}.json"
    thresholds = gc.get_threshold()
    assert main(["--stack", stack, "--out", str(out)]) == 0
    assert gc.get_threshold() == thresholds  # the run's collector tuning does not outlive it
    printed = capsys.readouterr().out
    assert f"pulumi:pulumi:Stack  prodready-{stack}" in printed
    assert "prodready:service:ServerlessService  catalog" in printed
    document = json.loads(out.read_text())
    assert document["formatVersion"] == 1 and document["stack"] == stack and document["project"] == "prodready"
    resources = document["resources"]
    urns = {r["urn"] for r in resources}
    for resource in resources:
        assert set(resource) >= {"urn", "type", "name", "custom", "id", "parent", "provider", "inputs", "outputs",
                                 "dependencies", "propertyDependencies", "options"}, resource["urn"]
        assert resource["urn"].startswith(f"urn:pulumi:{stack}::prodready::"), resource["urn"]
        assert all(dep in urns for dep in resource["dependencies"]), resource["urn"]
        if resource["type"].startswith("pulumi-python:dynamic/"):
            # The engine's default dynamic provider runs it; its provider code is summarised, not recorded.
            assert resource["inputs"]["__provider"].startswith("<serialized provider: "), resource["urn"]
        elif resource["custom"] and not resource["type"].startswith("pulumi:providers:"):
            assert resource["provider"] and resource["provider"].rsplit("::", 1)[0] in urns, resource["urn"]
    # Machine paths never leak into the plan: assets are relative to the project.
    assert str(PROJECT_DIR) not in out.read_text()


def test_prod_plan_has_the_service_components_with_children_all_tagged(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    assert main(["--stack", "prod", "--out", str(out)]) == 0
    resources = json.loads(out.read_text())["resources"]
    by_urn = {r["urn"]: r for r in resources}
    components = {"prodready:table:Table": 2, "prodready:function:Function": 1, "prodready:http_api:HttpApi": 1,
                  "prodready:auth:ApiAuth": 1}
    service_urn = next(r["urn"] for r in resources if r["type"] == "prodready:service:ServerlessService")
    service_nodes = [r for r in resources if r["type"] in components and r["parent"] == service_urn]
    for component, count in components.items():
        assert len([r for r in service_nodes if r["type"] == component]) == count, component
    for node in service_nodes:
        component = node["type"]
        assert by_urn[node["parent"]]["type"] == "prodready:service:ServerlessService"
        children = [r for r in resources if r["parent"] == node["urn"]]
        assert children, component
        for child in children:
            if "tags" in inspect_props(child["type"]):
                assert child["outputs"]["tagsAll"]["Environment"] == "prod", child["urn"]
                assert child["outputs"]["tagsAll"]["ManagedBy"] == "pulumi", child["urn"]


def _project_with_stack(tmp_path: Path, stack: str, text: str) -> Path:
    for entry in ("__main__.py", "Pulumi.yaml", "components", "app"):
        (tmp_path / entry).symlink_to(PROJECT_DIR / entry)
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(text)
    return tmp_path


def test_invalid_config_exits_non_zero_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    stack_file = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()
    broken = stack_file.replace(
        "prodready:owner:", "prodready:ownr: nobody\n  prodready:logs:\n    retentionDays: 100\n  prodready:owner:")
    project = _project_with_stack(tmp_path, "broken", broken)
    assert main(["--stack", "broken", "--project-dir", str(project)]) == 2
    err = capsys.readouterr().err
    assert "invalid configuration for stack 'broken'" in err
    assert "prodready:ownr: unknown config key" in err
    assert "prodready:logs.retentionDays: 100 is not a retention CloudWatch Logs accepts" in err
    assert not (project / "build").exists()


def test_unknown_stack_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "qa", "--out", "/dev/null"]) == 2
    assert "no stack file Pulumi.qa.yaml; stacks here: dev, prod, staging" in capsys.readouterr().err
