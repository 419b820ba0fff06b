"""Shared fixtures: plans of the committed stacks, run once per session under the Pulumi mocks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from tools.plan.harness import Plan, PlannedResource, run_plan
from tools.stacks import committed_stacks

# Every `Pulumi.<stack>.yaml` of the project, in release order: a new stack file is tested everywhere.
COMMITTED_STACKS = tuple(s.stack for s in committed_stacks())


def service_function(plan: Plan) -> PlannedResource:
    """The service's Lambda function (the stack has others: the pre-traffic hook)."""
    (function,) = [f for f in plan.of_type("aws:lambda/function:Function") if f.name == "catalog-function-lambda"]
    return function


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Each `plan_with` call plans a stack of its own (the committed ones are planned once per session).
    for item in items:
        if "plan_with" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def plans() -> dict[str, Plan]:
    """The plan of every committed `Pulumi.<stack>.yaml`, exactly as committed."""
    return {stack: run_plan(stack) for stack in COMMITTED_STACKS}


@pytest.fixture(scope="session")
def dev_plan(plans: dict[str, Plan]) -> Plan:
    return plans["dev"]


@pytest.fixture(scope="session")
def prod_plan(plans: dict[str, Plan]) -> Plan:
    return plans["prod"]


@pytest.fixture()
def plan_with() -> Callable[..., Plan]:
    """Plan a committed stack with some raw config replaced: `plan_with("dev", {"prodready:x": ...})`.

    A value of None removes the key; structured values may be given as dicts/lists.
    """

    def _run(stack: str, overrides: Mapping[str, Any] | None = None) -> Plan:
        return run_plan(stack, config_overrides=overrides)

    return _run


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """A moto server on a loopback port, for the tools and providers that run in a process of their own."""
    from moto.server import ThreadedMotoServer

    # One access line per API call would drown the output of a failing test.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
