"""The components as a library: examples/inventory composes them with its own routes, table and settings,
and plans offline like prodready itself, passing the policy pack."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.plan.harness import PROJECT_DIR, Plan, run_plan
from tools.plan.policy import POLICY_PACK_DIR, run_policy_pack

# Plans stacks of its own (or runs the program in another process): left out of `make test-fast`.
pytestmark = pytest.mark.slow

EXAMPLE = PROJECT_DIR / "examples" / "inventory"


@pytest.fixture(scope="module")
def inventory() -> Plan:
    return run_plan("dev", project_dir=EXAMPLE)


def test_the_second_service_has_its_own_routes_table_and_names(inventory: Plan) -> None:
    assert all(r.urn.startswith("urn:pulumi:dev::inventory::") for r in inventory.resources)
    routes = sorted(r.inputs["routeKey"] for r in inventory.of_type("aws:apigatewayv2/route:Route"))
    assert "GET /stock/{sku}" in routes and "PUT /stock/{sku}" in routes
    assert not [k for k in routes if "/items" in k]
    (table,) = [t for t in inventory.of_type("aws:dynamodb/table:Table") if t.name == "inventory-table-dynamodb"]
    assert table.inputs["hashKey"] == "sku"
    (function,) = [f for f in inventory.of_type("aws:lambda/function:Function") if f.name.startswith("inventory-")]
    assert function.inputs["handler"] == "inventory.handler.handler"
    assert inventory.of_type("prodready:delivery:SafeDelivery") and inventory.of_type(
        "prodready:monitoring:ServiceMonitoring")


def test_the_second_service_passes_the_policy_pack(inventory: Plan) -> None:
    report = run_policy_pack(inventory, config_path=POLICY_PACK_DIR / "config" / "dev.json")
    assert [(v.policy, v.urn, v.message) for v in report.mandatory] == []


def test_components_import_nothing_of_prodready_s_program_or_app() -> None:
    for path in (PROJECT_DIR / "components").rglob("*.py"):
        text = path.read_text()
        for forbidden in ("from app", "import app", "from tools", "from policies", "import __main__"):
            assert f"\n{forbidden}" not in text, f"{path.relative_to(PROJECT_DIR)} imports {forbidden}"


def test_the_example_is_self_contained() -> None:
    files = {p.relative_to(EXAMPLE).as_posix() for p in Path(EXAMPLE).rglob("*") if p.is_file()}
    assert {"Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py", "requirements.txt", "app/inventory/handler.py"} <= files
