"""Tagging: every taggable AWS resource carries the owner tags, through default tags or its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from pulumi_policy import ResourceValidationPolicy, Severity

from prodready_policy.base import Config, PolicySpec, resource_policy, string_list
from prodready_policy.values import ResourceView, get, is_unknown, provider_default_tags

TAGGABLE_TYPES_FILE = Path(__file__).with_name("taggable_types.json")


@cache
def taggable_types() -> frozenset[str]:
    """Type tokens the pulumi-aws SDK tags (generated from the SDK by tools/gen_taggable_types.py)."""
    return frozenset(json.loads(TAGGABLE_TYPES_FILE.read_text())["types"])


def is_taggable(type_token: str) -> bool:
    return type_token in taggable_types()


REQUIRED_TAGS = PolicySpec(
    name="required-tags",
    description=(
        "Requires every taggable AWS resource to carry the required tag keys with non-empty values "
        "(its own tags merged over its provider's default tags), and an Environment tag from the "
        "allowed set."
    ),
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Tag through the explicit aws provider's default_tags (aws.Provider(..., default_tags=...)) and "
        "pass that provider to every resource (opts providers=[provider] on the top component); give a "
        "resource its own `tags` only to add or override keys. A resource on a second provider (e.g. a "
        "us-east-1 provider) needs the same default tags on that provider."
    ),
    config_properties={
        "requiredKeys": string_list(
            "Tag keys every taggable resource must carry with a non-empty value.",
            ["Project", "Environment", "Service", "Owner", "CostCenter", "ManagedBy"],
        ),
        "environmentKey": {"type": "string", "default": "Environment",
                           "description": "Tag key whose value must be one of allowedEnvironments."},
        "allowedEnvironments": string_list(
            "Values the environment tag may take; empty: the stack's own name (read from the resource's URN), "
            "so one config serves every stack of a profile and a stack cannot carry another's name.", []),
    },
)


def check_required_tags(resource: ResourceView, config: Config) -> Iterator[str]:
    defaults = provider_default_tags(resource.provider_props)
    own = get(resource.props, "tags", default={})
    if is_unknown(defaults) or is_unknown(own):
        # Preview before the tag values exist: the update will be checked with the real values.
        return
    effective = {**defaults, **(own if isinstance(own, dict) else {})}
    missing = [key for key in config["requiredKeys"] if key not in effective]
    empty = [
        key for key in config["requiredKeys"]
        if key in effective and not is_unknown(effective[key]) and not str(effective[key] or "").strip()
    ]
    if missing:
        yield (
            f"{resource.type} '{resource.name}' is missing required tag(s) {', '.join(missing)} "
            f"(effective tags: {', '.join(sorted(effective)) or 'none'})."
        )
    if empty:
        yield f"{resource.type} '{resource.name}' has empty value(s) for tag(s) {', '.join(empty)}."
    env_key = config["environmentKey"]
    environment = effective.get(env_key)
    allowed = list(config["allowedEnvironments"]) or [stack_of(resource.urn)]
    if environment is not None and not is_unknown(environment) and str(environment).strip() \
            and environment not in allowed:
        yield (
            f"{resource.type} '{resource.name}' has {env_key}={environment!r}; allowed: {', '.join(allowed)}."
        )


def stack_of(urn: str) -> str:
    """The stack a URN belongs to: `urn:pulumi:<stack>::<project>::<type>::<name>`."""
    return urn.split("::", 1)[0].rsplit(":", 1)[-1]


def policies() -> list[ResourceValidationPolicy]:
    return [resource_policy(REQUIRED_TAGS, is_taggable, check_required_tags)]
