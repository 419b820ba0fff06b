"""Who a resource policy lets do what: a small reader for the topic and key policies under test."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
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


def can(
    document: dict[str, Any], principal: str, action: str, resource: str, context: Mapping[str, str] | str
) -> bool:
    """Whether `principal` may do `action` on `resource` given the request's condition keys (`context`; a
    string is shorthand for `{"aws:SourceAccount": <it>}`). Every condition of a statement must hold."""
    keys = {"aws:SourceAccount": context} if isinstance(context, str) else dict(context)
    for grant in grants(document):
        if grant.principal not in (principal, "*", "AWS:*"):
            continue
        if not any(_matches(pattern, action) for pattern in grant.actions):
            continue
        # A statement without a Resource (a role's trust policy) is about the resource it is attached to.
        if grant.resources and not any(_matches(pattern, resource) for pattern in grant.resources):
            continue
        if all(_condition_holds(operator, key, expected, keys)
               for operator, pairs in grant.conditions.items() for key, expected in pairs.items()):
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


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, str]) -> bool:
    value = context.get(key)
    if value is None:
        return False
    patterns = [str(p) for p in _as_list(expected)]
    if operator in ("StringEquals", "ArnEquals"):
        return value in patterns
    if operator in ("StringLike", "ArnLike"):
        return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)
    raise NotImplementedError(f"condition operator {operator} is not modelled here")


def allows(document: dict[str, Any], principal: str, action: str, context: dict[str, str] | None = None) -> bool:
    """Whether a key policy's Allow statements let `principal` do `action` on the key (resource `*`), given
    the request's condition keys (`kms:ViaService`, `kms:CallerAccount`, `kms:EncryptionContext:...`).
    Every condition of a statement must hold; a key the request does not carry fails its condition."""
    for statement in _as_list(document.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        grant_principals = statement.get("Principal")
        names = ["*"] if grant_principals == "*" else [
            f"{kind}:{name}" for kind, values in (grant_principals or {}).items() for name in _as_list(values)
        ]
        if principal not in names and "*" not in names and "AWS:*" not in names:
            continue
        if not any(_matches(pattern, action) for pattern in _as_list(statement.get("Action"))):
            continue
        conditions = statement.get("Condition") or {}
        if all(
            _condition_holds(operator, key, expected, context or {})
            for operator, pairs in conditions.items()
            for key, expected in pairs.items()
        ):
            return True
    return False


def identity_allows(document: dict[str, Any], action: str, resource: str) -> bool:
    """Whether an identity policy's Allow statements (no conditions) let its holder do `action` on `resource`."""
    return any(
        statement.get("Effect") == "Allow"
        and not statement.get("Condition")
        and any(_matches(pattern, action) for pattern in _as_list(statement.get("Action")))
        and any(_matches(pattern, resource) for pattern in _as_list(statement.get("Resource")))
        for statement in _as_list(document.get("Statement"))
    )
