"""The live alias: only CodeDeploy moves it, whatever else changes in the program or the provider.

Under `ignore_changes` the engine replaces an ignored input by its old *input* value (the Pulumi docs,
"Resource option: ignoreChanges") and the AWS provider's update sends the alias's version and routing in
full: if anything else about the alias changed, UpdateAlias would point it back at the version it was
created with. So every input UpdateAlias can change is ignored, and what remains can only replace it.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import pulumi_aws as aws
import pytest

from components.service.function import ALIAS_OWNED_BY_DEPLOYMENTS
from tools.plan.harness import Plan

# Inputs of aws.lambda_.Alias that identify it: a change replaces the alias (ForceNew in the provider's
# schema), never updates it.
IDENTITY = {"functionName", "name", "region"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _alias_inputs() -> set[str]:
    parameters = inspect.signature(aws.lambda_.AliasArgs.__init__).parameters
    return {_camel(name) for name in parameters if name not in ("self", "__self__")}


def test_every_input_updatealias_could_change_is_left_to_deployments() -> None:
    # A provider upgrade that adds an updatable input fails here until it is ignored too.
    inputs = _alias_inputs()
    assert inputs >= set(ALIAS_OWNED_BY_DEPLOYMENTS), "ignored names must be the provider's input names"
    assert inputs - IDENTITY == set(ALIAS_OWNED_BY_DEPLOYMENTS)


def engine_goal(olds: dict[str, Any], news: dict[str, Any], ignore_changes: list[str]) -> dict[str, Any]:
    """The inputs the engine sends the provider: the program's, each ignored one reset to its old value, or
    removed where the old inputs have none (the engine's PropertyPath.Reset)."""
    goal = dict(news)
    for key in ignore_changes:
        if key in olds:
            goal[key] = olds[key]
        else:
            goal.pop(key, None)
    return goal


@pytest.mark.parametrize(
    "change",
    [
        {"description": "a new description"},  # an edit of our code
        {"functionVersion": "9"},  # every code change publishes a version
        {"routingConfig": {"additionalVersionWeights": {"9": 0.5}}},
        {"description": "", "routingConfig": None},  # a provider upgrade defaulting fields differently
    ],
)
def test_no_change_of_the_program_reaches_the_alias(prod_plan: Plan, change: dict[str, Any]) -> None:
    (alias,) = prod_plan.of_type("aws:lambda/alias:Alias")
    olds = dict(alias.inputs)
    goal = engine_goal(olds, {**olds, **change}, alias.ignore_changes)
    # Nothing differs from the state, so the provider is sent no update: the version serving stays.
    assert goal == olds


def test_the_created_alias_starts_at_the_function_s_published_version(prod_plan: Plan) -> None:
    (alias,) = prod_plan.of_type("aws:lambda/alias:Alias")
    assert re.fullmatch(r"\d+", str(alias.inputs["functionVersion"]))
    assert sorted(alias.ignore_changes) == sorted(ALIAS_OWNED_BY_DEPLOYMENTS)
