"""api-edge over the analyzer interface on a planned prod stack with a custom domain: quiet as planned, and
firing once the API answers on its execute-api endpoint again."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.policy.builders import mutate
from tests.policy.conftest import only
from tests.stack.edge_stack import with_domain, with_front
from tools.plan.harness import Plan, PlannedResource, run_plan
from tools.plan.policy import PolicyReport

# Plans stacks of its own (or runs the program in another process): left out of `make test-fast`.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def domain_plan() -> Plan:
    return run_plan("prod", config_overrides=with_domain("prod"))


def test_the_planned_domain_passes_the_whole_pack(domain_plan: Plan, analyze: Callable[..., PolicyReport]) -> None:
    assert analyze(domain_plan).violations == []


def test_an_api_left_open_beside_its_domain_is_refused(domain_plan: Plan,
                                                       analyze: Callable[..., PolicyReport]) -> None:
    def reopen(api: PlannedResource) -> None:
        api.inputs["disableExecuteApiEndpoint"] = api.outputs["disableExecuteApiEndpoint"] = False

    opened = mutate(domain_plan, "::catalog-http-gateway", reopen)
    (violation,) = only(analyze(opened), "api-edge")
    assert violation.urn.endswith("::catalog-http-gateway") and "execute-api endpoint" in violation.message


def test_the_planned_front_passes_and_fires_without_its_rate_rules(analyze: Callable[..., PolicyReport]) -> None:
    plan = run_plan("prod", config_overrides=with_front("prod"))
    assert analyze(plan).violations == []

    def no_rate_rules(acl: PlannedResource) -> None:
        for props in (acl.inputs, acl.outputs):
            props["rules"] = [r for r in props["rules"] if "rateBasedStatement" not in r["statement"]]

    (violation,) = only(analyze(mutate(plan, "::catalog-edge-acl", no_rate_rules)), "api-edge")
    assert violation.urn.endswith("::catalog-edge-acl") and "no rate-based rule" in violation.message
