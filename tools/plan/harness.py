"""Run the real `__main__.py` for a stack under Pulumi's runtime mocks and record every registration.

The program, the SDK and the committed `Pulumi.<stack>.yaml` are the real ones; only the engine is
replaced. The recording monitor keeps what the engine would see for each resource (type, name,
parent, provider, inputs in camelCase wire form, dependencies, options), which is what the plan
JSON, the policy pack and the cost estimate are built from.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import runpy
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.config import StackConfig, load_stack_config
from tools.plan.mocks import EngineMocks

PROJECT_DIR = Path(__file__).resolve().parents[2]
FORMAT_VERSION = 1
SECRET_PLACEHOLDER = "[secret]"
# libyaml's parser where PyYAML was built with it: the stack and project files are read on every plan.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SIG_KEY = pulumi.runtime.rpc._special_sig_key
_SECRET_SIG = pulumi.runtime.rpc._special_secret_sig


DYNAMIC_PROVIDER_KEY = "__provider"


def _summarise_provider(props: Any) -> Any:
    """A dynamic resource's serialized provider (pickled code, tens of kilobytes of base64) recorded by its
    size and digest: a plan shows whether it changed, not its bytes."""
    if isinstance(props, dict) and isinstance(props.get(DYNAMIC_PROVIDER_KEY), str):
        blob = props[DYNAMIC_PROVIDER_KEY]
        digest = hashlib.sha256(blob.encode()).hexdigest()[:16]
        return {**props, DYNAMIC_PROVIDER_KEY: f"<serialized provider: {len(blob)} base64 characters, sha256 {digest}>"}
    return props


@dataclass
class PlannedResource:
    """One registration, as the engine receives it (see docs/plan-format.md)."""

    urn: str
    type: str
    name: str
    custom: bool
    id: str | None
    parent: str | None
    provider: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    """URNs this resource was known by before (its `aliases` option, resolved as the engine does)."""

    @property
    def provider_urn(self) -> str | None:
        return self.provider.rsplit("::", 1)[0] if self.provider else None

    def to_json(self) -> dict[str, Any]:
        """The plan file's form of the resource; shares its values (JSON data already), copies nothing."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "id": self.id,
            "parent": self.parent,
            "provider": self.provider,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "aliases": self.aliases,
            "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies,
            "options": {
                "protect": self.protect,
                "retainOnDelete": self.retain_on_delete,
                "deleteBeforeReplace": self.delete_before_replace,
                "ignoreChanges": self.ignore_changes,
            },
        }


@dataclass
class Plan:
    project: str
    stack: str
    config: dict[str, Any]
    resources: list[PlannedResource]
    outputs: dict[str, Any]
    preview: bool = False

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def by_urn(self) -> dict[str, PlannedResource]:
        return {r.urn: r for r in self.resources}

    def one(self, type_token: str) -> PlannedResource:
        found = self.of_type(type_token)
        if len(found) != 1:
            raise AssertionError(f"expected one {type_token} in stack {self.stack}, found {len(found)}")
        return found[0]

    def children(self, parent_urn: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == parent_urn]

    def descendants(self, urn: str) -> list[PlannedResource]:
        """Everything registered under `urn`, however deep (children, their children, ...)."""
        found: list[PlannedResource] = []
        frontier = {urn}
        while frontier:
            level = [r for r in self.resources if r.parent in frontier]
            found += level
            frontier = {r.urn for r in level}
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "formatVersion": FORMAT_VERSION,
            "project": self.project,
            "stack": self.stack,
            "preview": self.preview,
            "config": self.config,
            "resources": [r.to_json() for r in self.resources],
            "outputs": self.outputs,
        }


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping what the engine would store for each registration."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[PlannedResource] = []
        self.component_outputs: dict[str, dict[str, Any]] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine qualifies a type with the whole chain of parent types and leaves the root
        # stack out of it; the SDK's mock keeps only the last parent type and includes the stack.
        qualified = type_
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != "pulumi:pulumi:Stack":
                qualified = f"{parent_type}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), qualified, name])

    def alias_urns(self, request: Any) -> list[str]:
        """The URNs a registration's aliases stand for, computed as the engine computes them.

        The SDK sends each alias either as a URN or as a spec whose missing parts default to the
        resource's own name, type and parent; `noParent` puts the old resource at the stack's root.
        """
        urns: list[str] = []
        for alias in request.aliases:
            if alias.WhichOneof("alias") == "urn":
                urns.append(alias.urn)
                continue
            spec = alias.spec
            if spec.stack not in ("", pulumi.get_stack()) or spec.project not in ("", pulumi.get_project()):
                raise NotImplementedError("aliases to another stack or project are not modelled by the plan")
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            urns.append(self.make_urn(parent, spec.type or request.type, spec.name or request.name))
        return sorted(set(urns))

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        registration = self.resources[response.urn]
        inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
        self.records.append(
            PlannedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                id=registration.id or None,
                parent=request.parent or None,
                provider=request.provider or None,
                inputs=_summarise_provider(to_plain(inputs)),
                outputs=_summarise_provider(to_plain(registration.state)),
                dependencies=sorted(set(request.dependencies)),
                property_dependencies={
                    key: sorted(set(deps.urns)) for key, deps in request.propertyDependencies.items() if deps.urns
                },
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=list(request.ignoreChanges),
                aliases=self.alias_urns(request),
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.component_outputs[request.urn] = to_plain(pulumi.runtime.rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)


def to_plain(value: Any) -> Any:
    """Deserialized property values as JSON data; assets and archives by their relative paths.

    A secret arrives in its wire envelope; the plan keeps that it is a secret, never its value.
    """
    if isinstance(value, Mapping) and value.get(_SIG_KEY) == _SECRET_SIG:
        return {"__secret": SECRET_PLACEHOLDER}
    if isinstance(value, pulumi.FileAsset):
        return {"__asset": {"path": _relative(str(value.path))}}
    if isinstance(value, pulumi.StringAsset):
        return {"__asset": {"text": value.text}}
    if isinstance(value, pulumi.AssetArchive):
        return {"__archive": {"assets": {k: to_plain(v) for k, v in sorted(value.assets.items())}}}
    if isinstance(value, pulumi.FileArchive):
        return {"__archive": {"path": _relative(str(value.path))}}
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


def _relative(path: str) -> str:
    with contextlib.suppress(ValueError):
        return Path(path).resolve().relative_to(PROJECT_DIR).as_posix()
    return path


def load_yaml(text: str) -> Any:
    """`yaml.safe_load`, with libyaml's parser when available."""
    return yaml.load(text, Loader=_YAML_LOADER)


def project_name(project_dir: Path = PROJECT_DIR) -> str:
    return str(load_yaml((project_dir / "Pulumi.yaml").read_text())["name"])


def stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> tuple[dict[str, Any], list[str]]:
    """A stack file's config as the engine hands it to the program: `ns:key -> str`, objects as JSON.

    Secure values cannot be decrypted offline; they arrive as a placeholder and are marked secret.
    """
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        stacks = sorted(p.name.split(".")[1] for p in project_dir.glob("Pulumi.*.yaml"))
        raise FileNotFoundError(f"no stack file {path.name}; stacks here: {', '.join(stacks)}")
    document = load_yaml(path.read_text()) or {}
    project = project_name(project_dir)
    raw: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{project}:{key}"
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            raw[full_key] = SECRET_PLACEHOLDER
            secret_keys.append(full_key)
        elif isinstance(value, Mapping | list):
            raw[full_key] = json.dumps(value)
        elif isinstance(value, bool):
            raw[full_key] = "true" if value else "false"
        else:
            raw[full_key] = str(value)
    return raw, secret_keys


def committed_config(stack: str, project_dir: Path = PROJECT_DIR) -> StackConfig:
    """A stack file's config, validated as the program validates it."""
    from app.service.routes import ROUTE_KEYS, ROUTE_THROTTLE_CLASSES

    return load_stack_config(
        stack, stack_config(stack, project_dir)[0], route_keys=ROUTE_KEYS, throttle_classes=ROUTE_THROTTLE_CLASSES
    )


@contextlib.contextmanager
def _program_context(project_dir: Path) -> Iterator[None]:
    # The language host runs the program from the project directory with it first on sys.path.
    previous_cwd = Path.cwd()
    os.chdir(project_dir)
    sys.path.insert(0, str(project_dir))
    try:
        yield
    finally:
        sys.path.remove(str(project_dir))
        os.chdir(previous_cwd)


def run_plan(
    stack: str,
    *,
    project_dir: Path = PROJECT_DIR,
    config_overrides: Mapping[str, Any] | None = None,
    preview: bool = False,
) -> Plan:
    """Run the program for `stack` under the mocks and return what it registered.

    `config_overrides` replaces or adds raw config values (`ns:key -> value`; a value of None
    removes the key), which is how tests try bad or alternative config.
    """
    raw, secret_keys = stack_config(stack, project_dir)
    for key, value in (config_overrides or {}).items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value if isinstance(value, str) else json.dumps(value)
    project = project_name(project_dir)

    pulumi_settings.ROOT.set(None)
    set_all_config(raw, secret_keys)
    mocks = EngineMocks(default_region=str(raw.get("aws:region", "us-east-1")), stack=stack, project=project)
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    root = pulumi_settings.get_root_resource()

    def program() -> None:
        runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

    with _program_context(project_dir):
        _sync_await(run_pulumi_func(program))

    outputs = {
        name: to_plain(_sync_await(pulumi.Output.from_input(value).future()))
        for name, value in getattr(root, "outputs", {}).items()
    }
    shown_config = {k: (SECRET_PLACEHOLDER if k in secret_keys else v) for k, v in raw.items()}
    return Plan(project, stack, shown_config, monitor.records, outputs, preview)
