"""Property values as the engine delivers them, made safe to reason about.

During `pulumi preview` any input or output that depends on a resource not created yet is
*unknown*: on the wire it is a sentinel string, and the SDK's proxy raises `UnknownValueError` when
a policy touches it (which the SDK turns into an advisory "can't run policy during preview"). Rules
here never touch proxies directly: `plain()` copies a property tree into ordinary dicts and lists
with every unknown replaced by the `UNKNOWN` marker, so each rule decides explicitly what an unknown
means for it. Numbers arrive as floats (protobuf Struct has only doubles); `number()` accepts both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any

from pulumi_policy.proxy import UnknownValueError

# The engine marshals every unknown as the string sentinel; the typed ones exist in the SDK and are
# accepted too, so a value from any source is recognised.
UNKNOWN_SENTINELS: frozenset[str] = frozenset(
    {
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string (what the engine sends for every unknown)
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class _Unknown:
    """A value that is not known until the resources it depends on exist."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"

    def __bool__(self) -> bool:
        # Truthiness of an unknown is a bug waiting to happen; make it loud.
        raise TypeError("an unknown value has no truth value; test it with is_unknown() first")


UNKNOWN: Any = _Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN or (isinstance(value, str) and value in UNKNOWN_SENTINELS)


def plain(value: Any) -> Any:
    """A copy of a property tree as dicts, lists and scalars, unknowns replaced by `UNKNOWN`.

    Works on the SDK's unknown-checking proxies (which raise on access) and on plain data alike.
    """
    if isinstance(value, str):
        return UNKNOWN if value in UNKNOWN_SENTINELS else value
    if value is None or isinstance(value, bool | int | float) or value is UNKNOWN:
        return value
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key in value:
            try:
                item = value[key]
            except UnknownValueError:
                result[str(key)] = UNKNOWN
                continue
            result[str(key)] = plain(item)
        return result
    if isinstance(value, Sequence):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                item = value[index]
            except UnknownValueError:
                items.append(UNKNOWN)
                continue
            items.append(plain(item))
        return items
    # Assets and archives: rules never look inside them.
    return value


def get(data: Any, *path: str | int, default: Any = None) -> Any:
    """`data[path[0]][path[1]]...` on plain data; `UNKNOWN` if any step is unknown, else default."""
    current = data
    for key in path:
        if is_unknown(current):
            return UNKNOWN
        if isinstance(key, int):
            if not isinstance(current, list) or not -len(current) <= key < len(current):
                return default
            current = current[key]
        else:
            if not isinstance(current, Mapping) or key not in current:
                return default
            current = current[key]
        if current is None:
            return default
    return UNKNOWN if is_unknown(current) else current


def number(value: Any) -> float | Any | None:
    """A wire number as float (ints and floats alike), `UNKNOWN`, or None when absent/not a number."""
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def json_value(value: Any) -> Any:
    """A JSON-typed input (policy documents, provider object inputs) as data; `UNKNOWN` stays unknown.

    Raises ValueError for text that is not JSON, so rules can report it.
    """
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, str):
        return plain(json.loads(value))
    return value


def provider_default_tags(provider_props: Any) -> dict[str, Any] | Any:
    """The aws provider's default tags, from its inputs as the engine sends them.

    The SDK sends object-typed provider inputs as JSON text (`defaultTags: "{\"tags\": {...}}"`);
    older engines or other SDKs send the object. Returns `UNKNOWN` when not known at preview.
    """
    raw = get(provider_props, "defaultTags")
    if raw is None:
        return {}
    try:
        parsed = json_value(raw)
    except ValueError:
        return {}
    if is_unknown(parsed):
        return UNKNOWN
    tags = get(parsed, "tags")
    if is_unknown(tags):
        return UNKNOWN
    return dict(tags) if isinstance(tags, dict) else {}


class PlainProps(Mapping[str, Any]):
    """A resource's top-level properties, each made plain (see `plain`) only when first read.

    Stack rules look at a handful of properties of a few resource types; converting every property of
    every resource up front would cost as much as the rules themselves on a large stack.
    """

    def __init__(self, raw: Any) -> None:
        self._raw: Any = raw if isinstance(raw, Mapping) else {}
        self._converted: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._converted:
            try:
                value = self._raw[key]
            except UnknownValueError:
                value = UNKNOWN
            self._converted[key] = plain(value)
        return self._converted[key]

    @cached_property
    def _keys(self) -> frozenset[str]:
        # Iterating the SDK's proxy yields keys without reading values (reading an unknown raises;
        # even `in` reads the value through Mapping.__contains__).
        return frozenset(iter(self._raw))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._raw)


class ResourceView:
    """A resource as a rule sees it: URN links instead of SDK objects, props made plain on first use."""

    def __init__(
        self,
        urn: str,
        type: str,
        name: str,
        raw_props: Any,
        dependencies: Sequence[str] = (),
        property_dependencies: Mapping[str, Sequence[str]] | None = None,
        parent: str | None = None,
        raw_provider_props: Any = None,
        *,
        sdk_resource: Any = None,
    ) -> None:
        self.urn = urn
        self.type = type
        self.name = name
        self.raw_props = raw_props
        self.parent = parent
        self.raw_provider_props = raw_provider_props
        self._dependencies = tuple(dependencies)
        self._property_dependencies = property_dependencies or {}
        # The SDK links dependencies as objects; their URNs are read only for the few resources a
        # rule asks about.
        self._sdk_resource = sdk_resource

    def __repr__(self) -> str:
        return f"ResourceView({self.type} {self.urn})"

    @cached_property
    def props(self) -> PlainProps:
        return PlainProps(self.raw_props)

    @cached_property
    def provider_props(self) -> PlainProps:
        return PlainProps(self.raw_provider_props)

    @cached_property
    def dependencies(self) -> tuple[str, ...]:
        if self._sdk_resource is not None:
            return tuple(dep.urn for dep in self._sdk_resource.dependencies)
        return self._dependencies

    @cached_property
    def property_dependencies(self) -> Mapping[str, tuple[str, ...]]:
        if self._sdk_resource is not None:
            return {key: tuple(dep.urn for dep in deps)
                    for key, deps in self._sdk_resource.property_dependencies.items()}
        return {key: tuple(urns) for key, urns in self._property_dependencies.items()}

    def sources(self, *keys: str) -> tuple[str, ...]:
        """URNs the given properties were computed from; all dependencies if the engine gave none."""
        found: list[str] = []
        for key in keys:
            found.extend(self.property_dependencies.get(key) or ())
        return tuple(found) if found else self.dependencies


def from_policy_resources(resources: Iterable[Any]) -> list[ResourceView]:
    """Adapt the SDK's `PolicyResource` objects (linked by object) to URN-linked `ResourceView`s."""
    adapted: list[ResourceView] = []
    for resource in resources:
        provider = resource.provider
        adapted.append(
            ResourceView(
                resource.urn,
                resource.resource_type,
                resource.name,
                resource.props,
                parent=resource.parent.urn if resource.parent is not None else None,
                raw_provider_props=provider.props if provider is not None else None,
                sdk_resource=resource,
            )
        )
    return adapted
