"""Resource type tokens: written once in components/types.py, the pack's copy agrees, and no module repeats one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prodready_policy import types as pack_types

from components import types
from tools.plan.mocks import _resource_classes

ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r'"(aws:[a-z0-9]+/[A-Za-z0-9]+:[A-Za-z0-9]+|prodready:[a-z_]+:[A-Za-z]+)"')


def _tokens(module: object) -> dict[str, str]:
    return {name: value for name, value in vars(module).items() if name.isupper() and isinstance(value, str)}


def test_the_packs_tokens_are_the_programs() -> None:
    pack, program = _tokens(pack_types), _tokens(types)

    assert pack, "the pack's types module defines its tokens"
    assert {name: program.get(name) for name in pack} == pack


def test_every_aws_token_is_a_resource_of_the_pinned_provider() -> None:
    known = _resource_classes()

    unknown = sorted(token for token in _tokens(types).values() if token.startswith("aws:") and token not in known)

    assert unknown == []


def test_each_token_has_one_name() -> None:
    values = list(_tokens(types).values())

    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"prodready:[a-z_]+:[A-Z][A-Za-z]+", v) for v in values if v.startswith("prodready:"))


@pytest.mark.parametrize("where", ["components", "policies/prodready_policy", "tools/plan/cost.py",
                                   "tools/plan/report.py", "tools/report.py"])
def test_no_module_writes_a_token_of_its_own(where: str) -> None:
    path = ROOT / where
    files = [path] if path.is_file() else sorted(path.rglob("*.py"))
    written = {
        f"{file.relative_to(ROOT)}: {token}"
        for file in files if file.name != "types.py"
        for token in TOKEN.findall(file.read_text(encoding="utf-8"))
    }

    assert written == set(), "use the constant of components/types.py (prodready_policy/types.py in the pack)"
