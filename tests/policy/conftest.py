"""Policy-pack fixtures: one pack process per session, driven over gRPC like the engine drives it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tools.plan.harness import Plan
from tools.plan.policy import POLICY_PACK_DIR, PolicyPackProcess, PolicyReport, Violation, run_policy_pack


@pytest.fixture(scope="session")
def policy_pack() -> Iterator[PolicyPackProcess]:
    """The shipped pack (`policies/__main__.py`), started once as the engine starts it."""
    with PolicyPackProcess(POLICY_PACK_DIR) as pack:
        yield pack


@pytest.fixture(scope="session")
def analyze(policy_pack: PolicyPackProcess) -> Callable[..., PolicyReport]:
    """Run the pack on a plan: `analyze(plan, views=("update",), config={...} | path)`.

    `config` may be a policy config file path or a dict in the file's format; by default the
    stack's committed `policies/config/<stack>.json`.
    """

    def _run(plan: Plan, views: tuple[str, ...] = ("update",), config: Path | dict[str, Any] | None = None
             ) -> PolicyReport:
        if isinstance(config, Path):
            return run_policy_pack(plan, config_path=config, views=views, pack=policy_pack)
        return run_policy_pack(plan, config=config, views=views, pack=policy_pack)

    return _run


def only(report: PolicyReport, policy: str) -> list[Violation]:
    return [v for v in report.violations if v.policy == policy]


def summary(report: PolicyReport) -> list[tuple[str, str, str]]:
    """(policy, resource name, message) of each violation, for readable assertions."""
    return sorted((v.policy, v.urn.rsplit("::", 1)[-1], v.message) for v in report.violations)
