"""Who a resource policy lets do what: a small reader for the topic and key policies under test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Grant:
    principal: str
    """`Service:<name>`, `AWS:<arn or *>` or `*`."""
    actions: frozenset[str]
    resources: frozenset[str]
    conditions: dict[str, Any]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def grants(document: dict[str, Any]) -> list[Grant]:
    """Every principal an Allow statement names, with that statement's actions, resources and conditions.

    NotAction, NotPrincipal and NotResource are reported as principal `*` with their text, so that a
    check for anything broader than intended sees them.
    """
    found: list[Grant] = []
    for statement in _as_list(document.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        actions = frozenset(str(a) for a in _as_list(statement.get("Action")))
        resources = frozenset(str(r) for r in _as_list(statement.get("Resource")))
        conditions = statement.get("Condition") or {}
        if {"NotAction", "NotPrincipal", "NotResource"} & set(statement):
            found.append(Grant("*", frozenset({"Not*"}), resources, conditions))
            continue
        principal = statement.get("Principal")
        if principal == "*":
            found.append(Grant("*", actions, resources, conditions))
            continue
        for kind, names in (principal or {}).items():
            for name in _as_list(names):
                found.append(Grant(f"{kind}:{name}", actions, resources, conditions))
    return found


def can(document: dict[str, Any], principal: str, action: str, resource: str, source_account: str) -> bool:
    """Whether `principal` may do `action` on `resource` when acting for `source_account`
    (the only condition these policies use: StringEquals aws:SourceAccount)."""
    for grant in grants(document):
        if grant.principal not in (principal, "*", "AWS:*"):
            continue
        if not any(_matches(pattern, action) for pattern in grant.actions):
            continue
        if not any(_matches(pattern, resource) for pattern in grant.resources):
            continue
        required = grant.conditions.get("StringEquals", {}).get("aws:SourceAccount")
        other = {k: v for k, v in grant.conditions.items() if k != "StringEquals"}
        if other or (required is not None and source_account not in _as_list(required)):
            continue
        return True
    return False


def _matches(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.lower().startswith(pattern[:-1].lower())
    return pattern.lower() == value.lower()


def wildcard_findings(document: dict[str, Any]) -> list[str]:
    """What the policy pack's iam-no-wildcards rule finds in an identity policy, with its default allow-list.

    The pack is the one judge of IAM documents; program tests ask it rather than keep a second copy.
    """
    from prodready_policy.security import RESOURCELESS_ACTIONS
    from prodready_policy.security import wildcard_findings as pack_findings

    return pack_findings(document, frozenset(RESOURCELESS_ACTIONS))
