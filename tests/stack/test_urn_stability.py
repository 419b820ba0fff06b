"""No refactor replaces a deployed resource: every URN a committed stack owned is still produced or aliased.

The golden lists hold what the committed stacks registered before components/ was regrouped (see the
header of each file). A URN that disappears means Pulumi deletes that resource and creates a new one,
which for the table or the log groups means data lost in someone's prod.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi.runtime.proto import alias_pb2

from tests.conftest import COMMITTED_STACKS
from tools.plan.harness import Plan, RecordingMonitor

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _golden(stack: str) -> list[str]:
    lines = (GOLDEN / f"urns-{stack}.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def _retired() -> dict[str, str]:
    retired = {}
    for line in (GOLDEN / "retired.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            urn, _, reason = line.partition("\t")
            assert reason.strip(), f"retired URN without a reason: {urn}"
            retired[urn] = reason
    return retired


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_every_golden_urn_is_still_produced_or_aliased(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    known = {r.urn for r in plan.resources} | {alias for r in plan.resources for alias in r.aliases}
    missing = [urn for urn in _golden(stack) if urn not in known and urn not in _retired()]
    assert missing == [], f"stack {stack} would delete and recreate: {missing}"


def test_golden_lists_are_the_committed_stacks_of_their_time() -> None:
    # The lists must describe real stacks, not be emptied to make the test above pass.
    for stack, minimum in (("dev", 80), ("prod", 110)):
        urns = _golden(stack)
        assert len(urns) >= minimum, stack
        assert all(urn.startswith(f"urn:pulumi:{stack}::prodready::") for urn in urns), stack
        assert any(urn.endswith("$aws:dynamodb/table:Table::catalog-table-dynamodb") for urn in urns), stack


class _Request:
    def __init__(self, aliases: list[alias_pb2.Alias], parent: str = "", type_: str = "t:m:R", name: str = "r"):
        self.aliases, self.parent, self.type, self.name = aliases, parent, type_, name


def test_aliases_resolve_to_the_urns_the_engine_would_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi

    monkeypatch.setattr(pulumi, "get_stack", lambda: "dev")
    monkeypatch.setattr(pulumi, "get_project", lambda: "prodready")
    monitor = RecordingMonitor.__new__(RecordingMonitor)
    parent = "urn:pulumi:dev::prodready::prodready:service:ServerlessService::catalog"
    old_parent = "urn:pulumi:dev::prodready::prodready:table:Table::catalog-table"
    request = _Request(
        [
            alias_pb2.Alias(urn="urn:pulumi:dev::prodready::aws:x/y:Z::given"),
            alias_pb2.Alias(spec=alias_pb2.Alias.Spec(name="old-name")),
            alias_pb2.Alias(spec=alias_pb2.Alias.Spec(noParent=True)),
            alias_pb2.Alias(spec=alias_pb2.Alias.Spec(parentUrn=old_parent, type="aws:a/b:Old")),
        ],
        parent=parent,
        type_="aws:dynamodb/table:Table",
        name="catalog-table-dynamodb",
    )
    assert monitor.alias_urns(request) == sorted([
        "urn:pulumi:dev::prodready::aws:x/y:Z::given",
        "urn:pulumi:dev::prodready::prodready:service:ServerlessService$aws:dynamodb/table:Table::old-name",
        "urn:pulumi:dev::prodready::aws:dynamodb/table:Table::catalog-table-dynamodb",
        "urn:pulumi:dev::prodready::prodready:table:Table$aws:a/b:Old::catalog-table-dynamodb",
    ])
