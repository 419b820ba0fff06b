"""The function's DynamoDB grant is exactly what the app calls: no more (least privilege), no less."""

from __future__ import annotations

import ast
from pathlib import Path

from components.iam import ITEM_ACTIONS

APP = Path(__file__).resolve().parents[2] / "app" / "service"


def _dynamodb_calls() -> set[str]:
    """`self.client.<operation>(...)` calls in the app, as IAM action names."""
    calls: set[str] = set()
    for source in APP.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "client"
            ):
                operation = "".join(part.capitalize() for part in node.func.attr.split("_"))
                calls.add(f"dynamodb:{operation}")
    return calls


def test_grant_equals_the_calls_the_app_makes() -> None:
    calls = _dynamodb_calls()
    assert calls, "found no DynamoDB calls: the scan no longer matches the repository's shape"
    assert calls == set(ITEM_ACTIONS)
