"""Each default lives in one place: a model's field default, or the profile that sets it, never both.

A field default every profile overrides never applies (a second, dead place for the fact), and a profile
value equal to its field's default says the same thing twice (empty defaults, the absence of a value,
excepted); either way a change of one would silently
disagree with the other.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from components.config import PROFILES, StackConfig


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The settings model a field holds (directly or as `X | None`), not one in a dict or list."""
    if typing.get_origin(annotation) in (dict, list, tuple):
        return None
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _leaves(model: type[BaseModel], path: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, field) of every leaf of the config models."""
    for name, info in model.model_fields.items():
        key = f"{path}{info.alias or name}"
        inner = _model_in(info.annotation)
        if inner is not None:
            yield from _leaves(inner, f"{key}.")
        else:
            yield key, info


def _value(profile: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    current: Any = profile
    for part in key.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


def _same(value: Any, default: Any) -> bool:
    return value == default or (isinstance(default, tuple) and list(default) == value)


def doubly_set() -> list[str]:
    """Field defaults every profile overrides, and profile values equal to their field's default."""
    found = []
    for key, info in _leaves(StackConfig):
        if info.is_required():
            continue
        default = info.get_default(call_default_factory=True)
        given = {name: _value(profile, key) for name, profile in PROFILES.items()}
        # An empty default (no per-route limits, say) is the absence of a value, not a second one.
        if all(present for present, _ in given.values()) and default not in ({}, (), [], None):
            found.append(f"{key}: its default {default!r} is overridden by every profile")
        found += [f"{key}: profile {name} repeats the default {default!r}"
                  for name, (present, value) in given.items() if present and _same(value, default)]
    return found


def test_each_default_is_set_once() -> None:
    assert doubly_set() == []


def test_the_check_finds_a_default_set_twice(monkeypatch: Any) -> None:
    monkeypatch.setitem(PROFILES["dev"], "table", {"billingMode": "PAY_PER_REQUEST"})
    monkeypatch.setitem(PROFILES["prod"], "lambda", {**PROFILES["prod"]["lambda"], "logLevel": "WARNING"})
    monkeypatch.setitem(PROFILES["dev"], "lambda", {**PROFILES["dev"]["lambda"], "logLevel": "DEBUG"})
    assert doubly_set() == [
        "lambda.logLevel: its default 'INFO' is overridden by every profile",
        "table.billingMode: profile dev repeats the default 'PAY_PER_REQUEST'",
    ]
