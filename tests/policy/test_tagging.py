"""required-tags: effective tags = provider default tags (JSON text on the wire) + the resource's own."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest
from prodready_policy.tagging import REQUIRED_TAGS, TAGGABLE_TYPES_FILE, check_required_tags, taggable_types
from prodready_policy.values import ResourceView

from tests.policy.builders import TAGS, UNKNOWN, StackBuilder
from tests.policy.conftest import summary

CONFIG = REQUIRED_TAGS.effective_config({"allowedEnvironments": ["dev"]})


def _view(tags: object = None, default_tags: object = TAGS, type_: str = "aws:sns/topic:Topic") -> ResourceView:
    provider = {"region": "eu-west-1"}
    if default_tags is not None:
        provider["defaultTags"] = (
            default_tags if isinstance(default_tags, str) else json.dumps({"tags": default_tags})
        )
    props = {"name": "t"} if tags is None else {"name": "t", "tags": tags}
    return ResourceView("urn:x", type_, "t", props, raw_provider_props=provider)


def test_provider_default_tags_alone_satisfy_the_policy():
    assert list(check_required_tags(_view(), CONFIG)) == []


def test_default_tags_as_an_object_are_read_too():
    provider_object = {"region": "eu-west-1", "defaultTags": {"tags": TAGS}}
    view = ResourceView("urn:x", "aws:sns/topic:Topic", "t", {}, raw_provider_props=provider_object)
    assert list(check_required_tags(view, CONFIG)) == []


def test_own_tags_fill_in_what_default_tags_lack():
    partial = {k: v for k, v in TAGS.items() if k != "Owner"}
    assert list(check_required_tags(_view({"Owner": "team"}, partial), CONFIG)) == []


def test_missing_key_is_named():
    partial = {k: v for k, v in TAGS.items() if k != "CostCenter"}
    (message,) = check_required_tags(_view(None, partial), CONFIG)
    assert "missing required tag(s) CostCenter" in message


def test_resource_tag_overrides_default_and_empty_value_is_a_violation():
    (message,) = check_required_tags(_view({"Owner": "  "}), CONFIG)
    assert "empty value(s) for tag(s) Owner" in message


def test_environment_outside_the_allowed_set():
    (message,) = check_required_tags(_view({"Environment": "staging"}), CONFIG)
    assert "Environment='staging'" in message and "allowed: dev" in message


@pytest.mark.parametrize(("stack", "environment", "fires"), [
    ("staging", "staging", False), ("staging", "prod", True), ("prod", "staging", True), ("qa", "qa", False)])
def test_without_a_list_the_environment_tag_must_be_the_stack_s_own_name(stack, environment, fires):
    config = REQUIRED_TAGS.effective_config({})
    urn = f"urn:pulumi:{stack}::prodready::aws:sns/topic:Topic::t"
    view = ResourceView(urn, "aws:sns/topic:Topic", "t", {"name": "t"},
                        raw_provider_props={"region": "eu-west-1",
                                            "defaultTags": json.dumps({"tags": {**TAGS, "Environment": environment}})})
    messages = list(check_required_tags(view, config))
    assert bool(messages) is fires
    if fires:
        assert messages == [f"aws:sns/topic:Topic 't' has Environment={environment!r}; allowed: {stack}."]


def test_no_provider_default_tags_and_no_own_tags_reports_every_key():
    (message,) = check_required_tags(_view(None, None), CONFIG)
    assert all(key in message for key in TAGS)


@pytest.mark.parametrize(
    "tags, default_tags",
    [(UNKNOWN, TAGS), (None, UNKNOWN), ({"Owner": UNKNOWN}, {k: v for k, v in TAGS.items() if k != "Owner"})],
    ids=["own-tags-unknown", "default-tags-unknown", "one-value-unknown"],
)
def test_unknown_tags_at_preview_are_not_violations(tags, default_tags):
    assert list(check_required_tags(_view(tags, default_tags), CONFIG)) == []


def test_taggability_comes_from_the_sdk_registry():
    types = taggable_types()
    assert {"aws:lambda/function:Function", "aws:sns/topic:Topic", "aws:cloudwatch/metricAlarm:MetricAlarm",
            "aws:cloudwatch/logGroup:LogGroup", "aws:dynamodb/table:Table"} <= types
    # No tags input at all, or tags that are not AWS resource tags.
    assert not {"aws:lambda/permission:Permission", "aws:kms/alias:Alias", "aws:cloudwatch/dashboard:Dashboard",
                "aws:autoscaling/group:Group", "aws:sns/topicSubscription:TopicSubscription"} & types


def test_taggable_types_file_is_from_the_pinned_sdk():
    document = json.loads(TAGGABLE_TYPES_FILE.read_text())
    # The lock's entry: `pulumi-aws==X \` with its hashes on the lines after.
    pinned = next(line.split("==")[1].split()[0] for line in Path("requirements.txt").read_text().splitlines()
                  if line.startswith("pulumi-aws=="))
    assert document["source"]["version"] == pinned == metadata.version("pulumi-aws"), (
        "pulumi-aws changed: run python -m tools.gen_taggable_types"
    )
    assert document["types"] == sorted(set(document["types"]))


@pytest.mark.slow
def test_taggable_types_file_matches_the_installed_sdk():
    from tools.gen_taggable_types import document, render

    assert TAGGABLE_TYPES_FILE.read_text() == render(document()), "run python -m tools.gen_taggable_types"


# -- through the pack, as the engine calls it ---------------------------------------------------


def test_through_the_pack_provider_default_tags_are_read_from_the_analyze_request(analyze):
    stack = StackBuilder()
    stack.add("aws:sns/topic:Topic", "tagged", {"name": "tagged", "kmsMasterKeyId": "alias/alerts"})
    second = stack.provider("east", {k: v for k, v in TAGS.items() if k != "Owner"}, region="us-east-1")
    stack.add("aws:sns/topic:Topic", "east-topic", {"name": "east", "kmsMasterKeyId": "alias/alerts"},
              provider=second)
    stack.add("aws:kms/alias:Alias", "not-taggable", {"name": "alias/x", "targetKeyId": "k"})
    report = analyze(stack.plan(), config={"required-tags": {"allowedEnvironments": ["dev"]}})
    assert [v for v in summary(report) if v[0] == "required-tags"] == [
        ("required-tags", "east-topic",
         "aws:sns/topic:Topic 'east-topic' is missing required tag(s) Owner (effective tags: CostCenter, "
         "Environment, ManagedBy, Project, Service)."),
    ]


def test_through_the_pack_unknown_tags_at_preview_are_quiet(analyze):
    stack = StackBuilder(tags={k: v for k, v in TAGS.items() if k != "Owner"})
    stack.add("aws:sns/topic:Topic", "t", {"name": "t", "kmsMasterKeyId": "alias/a", "tags": {"Owner": UNKNOWN}})
    report = analyze(stack.plan(), config={})
    assert [v for v in report.violations if v.policy == "required-tags"] == []
