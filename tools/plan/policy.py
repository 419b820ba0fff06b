"""Run the CrossGuard policy pack against a plan the way the engine does, over the Analyzer gRPC service.

The engine starts a Python policy pack as `python -u -m pulumi.policy <engine address> .` in the
pack's directory, reads the port the pack prints on stdout, and talks to it over
`pulumirpc.Analyzer`: `GetPluginInfo`, `GetAnalyzerInfo`, `Configure` (the pack's schema defaults,
then the `--policy-pack-config` file, validated against each policy's schema), `ConfigureStack`,
`Analyze` for every resource registration (its checked inputs and its provider), and `AnalyzeStack`
once with every resource (outputs, parent, dependencies, property dependencies, provider). This
module does the same against a `Plan`, so the shipped `policies/__main__.py` is what is tested.

Two views of a plan are analysed:
- `update`: what `pulumi up` sees, every input and output known (the plan as recorded);
- `preview`: what the first `pulumi preview` of a new stack sees: every value computed by a
  resource that does not exist yet (ARNs, ids, endpoints, and inputs built from them) is unknown and
  travels as the engine's unknown sentinel. See `preview_view`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, plugin_pb2

from tools.plan.harness import PROJECT_DIR, Plan, PlannedResource, load_yaml
from tools.plan.mocks import autoname_property

POLICY_PACK_DIR = PROJECT_DIR / "policies"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
# Signatures the engine puts on assets and archives inside property maps.
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
_ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
# As the policy SDK's server allows: stacks of 10,000 resources are several MB on the wire.
_MAX_MESSAGE = 400 * 1024 * 1024
_CHANNEL_OPTIONS = [("grpc.max_receive_message_length", _MAX_MESSAGE), ("grpc.max_send_message_length", _MAX_MESSAGE)]
ENFORCEMENT_LEVELS = ("advisory", "mandatory", "remediate", "disabled")
_LEVEL_TO_PROTO = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
_PROTO_TO_LEVEL = {v: k for k, v in _LEVEL_TO_PROTO.items()}
_SEVERITY = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
VIEWS = ("preview", "update")


class PolicyConfigError(ValueError):
    """The policy pack config file is malformed or fails a policy's config schema."""


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    enforcement_level: str
    severity: str
    remediation_steps: str
    config_schema: dict[str, Any]
    required: tuple[str, ...]
    stack_policy: bool


@dataclass(frozen=True)
class PackInfo:
    name: str
    version: str
    policies: tuple[PolicyInfo, ...]
    initial_config: dict[str, dict[str, Any]]

    def policy(self, name: str) -> PolicyInfo | None:
        return next((p for p in self.policies if p.name == name), None)


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement_level: str
    severity: str
    urn: str
    message: str
    description: str
    view: str

    @property
    def mandatory(self) -> bool:
        return self.enforcement_level == "mandatory"


@dataclass
class PolicyReport:
    pack: PackInfo
    stack: str
    config_path: Path | None
    views: tuple[str, ...]
    resources: int
    violations: list[Violation] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)
    """Each policy's enforcement level after the stack's config (e.g. `disabled`)."""

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.mandatory]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if not v.mandatory]

    def by_policy(self, view: str | None = None) -> dict[str, list[Violation]]:
        grouped: dict[str, list[Violation]] = {}
        for violation in self.violations:
            if view is None or violation.view == view:
                grouped.setdefault(violation.policy, []).append(violation)
        return grouped


# ---------------------------------------------------------------------------------------------
# Config, as the CLI reads `--policy-pack-config` and reconciles it with the pack's schemas


def load_policy_config(path: Path) -> dict[str, dict[str, Any]]:
    """Parse a policy config file as the CLI does: policy name -> {enforcementLevel?, properties}.

    A value is an enforcement level string, or an object with an optional `enforcementLevel` and
    the policy's properties. `all` sets the level of every policy.
    """
    text = path.read_text()
    if not text.strip():
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PolicyConfigError(f"{path}: not JSON: {error}") from None
    return parse_policy_config(document, str(path))


def parse_policy_config(document: Any, path: str = "policy config") -> dict[str, dict[str, Any]]:
    """`load_policy_config` for a document already read (a dict in the file's format)."""
    if not isinstance(document, dict):
        raise PolicyConfigError(f"{path}: expected an object of policy name to config")
    parsed: dict[str, dict[str, Any]] = {}
    for name, value in document.items():
        level: str | None = None
        properties: dict[str, Any] = {}
        if isinstance(value, str):
            level = value
        elif isinstance(value, dict):
            properties = dict(value)
            raw_level = properties.pop("enforcementLevel", None)
            if raw_level is not None and not isinstance(raw_level, str):
                raise PolicyConfigError(f"{path}: {name}: {raw_level!r} is not a valid enforcement level")
            level = raw_level
        else:
            raise PolicyConfigError(f"{path}: {name}: {value!r} is not a valid value; must be a string or object")
        if level is not None and level not in ENFORCEMENT_LEVELS:
            raise PolicyConfigError(f"{path}: {name}: {level!r} is not a valid enforcement level")
        if level is None and not properties:
            continue
        parsed[name] = {"enforcementLevel": level, "properties": properties}
    return parsed


def reconcile_config(info: PackInfo, given: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Schema defaults, then the pack's initial config, then the given config; validated per policy.

    Mirrors the CLI's ReconcilePolicyPackConfig: the result has an entry for every policy (and for
    any extra name the config mentions, such as `all`) and is what `Configure` receives.
    """
    result: dict[str, dict[str, Any]] = {}
    for policy in info.policies:
        defaults = {k: v["default"] for k, v in policy.config_schema.items() if isinstance(v, dict) and "default" in v}
        result[policy.name] = {"enforcementLevel": policy.enforcement_level, "properties": defaults}

    def apply(config: Mapping[str, Mapping[str, Any]]) -> None:
        everything = config.get("all")
        if everything and everything.get("enforcementLevel"):
            for entry in result.values():
                entry["enforcementLevel"] = everything["enforcementLevel"]
        for name, given_entry in config.items():
            entry = result.setdefault(name, {"enforcementLevel": "", "properties": {}})
            if given_entry.get("enforcementLevel"):
                entry["enforcementLevel"] = given_entry["enforcementLevel"]
            entry["properties"] = {**entry["properties"], **copy.deepcopy(dict(given_entry.get("properties") or {}))}

    apply(info.initial_config)
    apply(given)

    import jsonschema  # only here: a plan without a policy pack never needs it

    unknown = sorted(set(given) - {p.name for p in info.policies} - {"all"})
    problems = [f"{name}: no such policy in pack {info.name}" for name in unknown]
    for policy in info.policies:
        schema: dict[str, Any] = {"type": "object", "properties": policy.config_schema}
        if policy.required:
            schema["required"] = list(policy.required)
        validator = jsonschema.Draft7Validator(schema)
        for error in sorted(validator.iter_errors(result[policy.name]["properties"]), key=str):
            where = ".".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(f"{policy.name}: {where}: {error.message}")
    if problems:
        raise PolicyConfigError("policy pack configuration is invalid:\n" + "\n".join(f"  - {p}" for p in problems))
    return result


# ---------------------------------------------------------------------------------------------
# Plan -> wire


def to_wire(value: Any) -> Any:
    """A plan property value as the engine marshals it: assets, archives and secrets signed, the rest as is."""
    if isinstance(value, dict):
        if set(value) == {"__secret"}:
            # The plan never holds a secret's value; the analyzer gets the envelope with the placeholder.
            return {_SIG_KEY: _SECRET_SIG, "value": value["__secret"]}
        if set(value) == {"__asset"}:
            return {_SIG_KEY: _ASSET_SIG, **{k: to_wire(v) for k, v in value["__asset"].items()}}
        if set(value) == {"__archive"}:
            return {_SIG_KEY: _ARCHIVE_SIG, **{k: to_wire(v) for k, v in value["__archive"].items()}}
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_wire(v) for v in value]
    return value


def _struct(data: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(to_wire(dict(data)))
    return struct


def checked_inputs(resource: PlannedResource) -> dict[str, Any]:
    """The inputs the engine analyses: after the provider's Check, which fills in the autoname."""
    inputs = dict(resource.inputs)
    if resource.custom:
        prop = autoname_property(resource.type)
        if prop and prop not in inputs and prop in resource.outputs:
            inputs[prop] = resource.outputs[prop]
    return inputs


def _options(resource: PlannedResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        ignoreChanges=resource.ignore_changes,
        deleteBeforeReplace=resource.delete_before_replace,
        deleteBeforeReplaceDefined=resource.delete_before_replace,
        parent=resource.parent or "",
    )


class _Providers:
    """Each resource's provider as the analyzer gets it, built once per provider for a whole request
    set (every resource of a plan has one of a handful of providers)."""

    def __init__(self, plan: Plan) -> None:
        self._by_urn = plan.by_urn()
        self._built: dict[str, analyzer_pb2.AnalyzerProviderResource | None] = {}

    def __call__(self, resource: PlannedResource) -> analyzer_pb2.AnalyzerProviderResource | None:
        urn = resource.provider_urn or ""
        if urn not in self._built:
            provider = self._by_urn.get(urn)
            self._built[urn] = None if provider is None else analyzer_pb2.AnalyzerProviderResource(
                type=provider.type, name=provider.name, urn=provider.urn, properties=_struct(provider.inputs)
            )
        return self._built[urn]


def analyze_requests(plan: Plan) -> Iterator[analyzer_pb2.AnalyzeRequest]:
    """One `Analyze` request per registration, in registration order, as the step generator sends them."""
    providers = _Providers(plan)
    for resource in plan.resources:
        request = analyzer_pb2.AnalyzeRequest(
            type=resource.type,
            urn=resource.urn,
            name=resource.name,
            properties=_struct(checked_inputs(resource)),
            options=_options(resource),
        )
        provider = providers(resource)
        if provider is not None:
            request.provider.CopyFrom(provider)
        yield request


def analyze_stack_request(plan: Plan) -> analyzer_pb2.AnalyzeStackRequest:
    """The `AnalyzeStack` request: every resource with its outputs, links and provider."""
    providers = _Providers(plan)
    resources = []
    for resource in plan.resources:
        item = analyzer_pb2.AnalyzerResource(
            type=resource.type,
            urn=resource.urn,
            name=resource.name,
            properties=_struct(resource.outputs),
            options=_options(resource),
            parent=resource.parent or "",
            dependencies=resource.dependencies,
            propertyDependencies={
                key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns)
                for key, urns in resource.property_dependencies.items()
                if urns
            },
        )
        provider = providers(resource)
        if provider is not None:
            item.provider.CopyFrom(provider)
        resources.append(item)
    return analyzer_pb2.AnalyzeStackRequest(resources=resources)


# ---------------------------------------------------------------------------------------------
# The preview view


# Outputs the provider knows at preview although no input names them.
_KNOWN_AT_PREVIEW = frozenset({"tagsAll"})
# Computed values shorter than this are too generic to trace through inputs by substring.
_MIN_TRACEABLE = 8


def _computed_values(resource: PlannedResource) -> set[str]:
    """String values this resource only gets once created: outputs no (checked) input determines."""
    inputs = checked_inputs(resource)
    known_strings = {v for v in inputs.values() if isinstance(v, str)}
    computed = {
        value
        for key, value in resource.outputs.items()
        if key not in inputs and key not in _KNOWN_AT_PREVIEW and isinstance(value, str)
    }
    if resource.id and resource.id not in known_strings:
        computed.add(resource.id)
    return {v for v in computed if len(v) >= _MIN_TRACEABLE}


def _mask(value: Any, computed: set[str]) -> Any:
    if isinstance(value, str):
        return UNKNOWN if any(c in value for c in computed) else value
    if isinstance(value, dict):
        if set(value) <= {"__asset", "__archive", "__secret"}:
            return value
        return {k: _mask(v, computed) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, computed) for v in value]
    return value


def preview_view(plan: Plan) -> Plan:
    """The plan as the first `pulumi preview` of a new stack would present it to the analyzers.

    Nothing exists yet, so every output a provider computes on create (ARNs, ids, endpoints) is
    unknown, and so is every input derived from one: an input string is unknown when it contains a
    computed value of a resource it depends on (a policy document with a table ARN, an alarm
    dimension with an API id). Names the provider autonames are known (Check computes them), as
    are inputs taken from other resources' inputs (a function's log group name).
    """
    computed = {
        r.urn: _computed_values(r) for r in plan.resources if r.custom and not r.type.startswith("pulumi:providers:")
    }
    # A component's outputs come from its children; a dependency on a component is one on them.
    by_component: dict[str, set[str]] = {}
    for resource in plan.resources:
        if resource.parent and resource.urn in computed:
            by_component.setdefault(resource.parent, set()).update(computed[resource.urn])
    resources = []
    for resource in plan.resources:
        upstream: set[str] = set()
        for dep in {*resource.dependencies, *(u for urns in resource.property_dependencies.values() for u in urns)}:
            upstream |= computed.get(dep, set()) | by_component.get(dep, set())
        inputs = _mask(resource.inputs, upstream) if upstream else copy.deepcopy(resource.inputs)
        own = resource.urn in computed
        outputs = copy.deepcopy(resource.outputs)
        if own:
            checked = checked_inputs(replace(resource, inputs=inputs))
            # Inputs come back as the provider checked them; everything else is computed on create.
            outputs = {
                key: checked.get(key, value if key in _KNOWN_AT_PREVIEW else UNKNOWN)
                for key, value in resource.outputs.items()
            }
        resources.append(replace(resource, inputs=inputs, outputs=outputs, id=None if own else resource.id))
    return replace(plan, resources=resources, preview=True)


# ---------------------------------------------------------------------------------------------
# The pack process


class _StreamCollector(threading.Thread):
    """Drains a pipe so the child never blocks on a full buffer; keeps the text for error messages."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.chunks: list[bytes] = []

    def run(self) -> None:
        for chunk in iter(lambda: self.stream.read(4096), b""):
            self.chunks.append(chunk)

    def text(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")


class PolicyPackProcess:
    """The policy pack as the engine runs it: a child process serving `pulumirpc.Analyzer`.

    Use as a context manager; `close()` stops it the way the SDK expects (SIGINT: the server stops
    and the process exits 0), or with SIGTERM when SIGINT cannot reach it (see `stop_signal`).
    """

    def __init__(
        self,
        pack_dir: Path = POLICY_PACK_DIR,
        *,
        project: str = "prodready",
        stack: str = "dev",
        stack_config: Mapping[str, str] | None = None,
        dry_run: bool = True,
        python: str = sys.executable,
        start_timeout: float = 60.0,
    ) -> None:
        self.pack_dir = pack_dir
        env = dict(os.environ)
        # What the engine's constructEnv passes: the stack config as JSON, project, stack, dry run.
        env.update(
            PULUMI_CONFIG=json.dumps(dict(stack_config or {})),
            PULUMI_PROJECT=project,
            PULUMI_STACK=stack,
            PULUMI_ORGANIZATION="organization",
            PULUMI_DRY_RUN="true" if dry_run else "false",
            PYTHONUNBUFFERED="1",
        )
        # The engine runs `python -u -m pulumi.policy <engine address> <program dir>` from the pack's
        # directory. There is no engine here; the pack never dials it unless it logs an error.
        self.process = subprocess.Popen(
            [python, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
            cwd=pack_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self._stderr = _StreamCollector(self.process.stderr)
        self._stderr.start()
        self._start_timeout = start_timeout
        self._channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self._info: PackInfo | None = None

    @property
    def stub(self) -> analyzer_pb2_grpc.AnalyzerStub:
        """The Analyzer client, once the pack is serving: the first call waits for the port it prints,
        so a caller can start the pack and do other work (run the program) while it starts up."""
        if self._stub is None:
            port = self._read_port(self._start_timeout)
            assert self.process.stdout is not None
            self._stdout = _StreamCollector(self.process.stdout)
            self._stdout.start()
            self._channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_CHANNEL_OPTIONS)
            grpc.channel_ready_future(self._channel).result(timeout=self._start_timeout)
            self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        return self._stub

    def _read_port(self, timeout: float) -> int:
        assert self.process.stdout is not None
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        text = line[0].decode().strip() if line else ""
        if not text.isdigit():
            self._kill()
            raise RuntimeError(
                f"policy pack in {self.pack_dir.name}/ did not print its port "
                f"(got {text!r}); its stderr:\n{self._stderr.text()}"
            )
        return int(text)

    def __enter__(self) -> PolicyPackProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._channel is not None:
            with contextlib.suppress(Exception):
                self._channel.close()
        if self.process.poll() is None:
            self.process.send_signal(stop_signal())
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._kill()

    def _kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    @property
    def stderr(self) -> str:
        return self._stderr.text()

    # -- Analyzer calls ------------------------------------------------------------------------

    def plugin_info(self) -> plugin_pb2.PluginInfo:
        return self.stub.GetPluginInfo(empty_pb2.Empty())

    def info(self) -> PackInfo:
        if self._info is None:
            response = self.stub.GetAnalyzerInfo(empty_pb2.Empty())
            policies = tuple(
                PolicyInfo(
                    name=p.name,
                    description=p.description,
                    enforcement_level=_PROTO_TO_LEVEL[p.enforcementLevel],
                    severity=_SEVERITY.get(p.severity, ""),
                    remediation_steps=p.remediation_steps,
                    config_schema=json_format.MessageToDict(p.configSchema.properties),
                    required=tuple(p.configSchema.required),
                    stack_policy=p.policy_type == analyzer_pb2.POLICY_TYPE_STACK,
                )
                for p in response.policies
            )
            initial = {
                name: {
                    "enforcementLevel": _PROTO_TO_LEVEL.get(value.enforcementLevel) if value.enforcementLevel else None,
                    "properties": json_format.MessageToDict(value.properties),
                }
                for name, value in response.initialConfig.items()
            }
            # As the engine does: the version in PulumiPolicy.yaml wins over the one the SDK reports.
            self._info = PackInfo(response.name, pack_version(self.pack_dir) or response.version, policies, initial)
        return self._info

    def configure(self, config: Mapping[str, Mapping[str, Any]]) -> None:
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, entry in config.items():
            policy_config = request.policyConfig[name]
            policy_config.enforcementLevel = _LEVEL_TO_PROTO.get(entry.get("enforcementLevel") or "advisory",
                                                                 analyzer_pb2.ADVISORY)
            policy_config.properties.update(entry.get("properties") or {})
        self.stub.Configure(request)

    def configure_stack(self, *, project: str, stack: str, config: Mapping[str, str], dry_run: bool) -> None:
        self.stub.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=stack, project=project, organization="organization", dry_run=dry_run, config=dict(config)
            )
        )

    def analyze(self, request: analyzer_pb2.AnalyzeRequest) -> analyzer_pb2.AnalyzeResponse:
        return self.stub.Analyze(request)

    def analyze_stack(self, request: analyzer_pb2.AnalyzeStackRequest) -> analyzer_pb2.AnalyzeResponse:
        return self.stub.AnalyzeStack(request)


def stop_signal() -> signal.Signals:
    """The signal that stops a pack process this process started: SIGINT, as the SDK expects, unless
    this process ignores SIGINT (a background job, `nohup`), since a child inherits that and would
    never see it; then SIGTERM, which the pack treats the same (policies/__main__.py)."""
    return signal.SIGTERM if signal.getsignal(signal.SIGINT) is signal.SIG_IGN else signal.SIGINT


def pack_version(pack_dir: Path) -> str | None:
    path = pack_dir / "PulumiPolicy.yaml"
    if not path.exists():
        return None
    version = (load_yaml(path.read_text()) or {}).get("version")
    return str(version) if version else None


def _violations(
    response: analyzer_pb2.AnalyzeResponse, view: str, default_urn: str = ""
) -> Iterator[Violation]:
    for d in response.diagnostics:
        # The SDK prefixes every message with the policy description; show only what is specific.
        message = d.message.removeprefix(d.description).strip() or d.description
        yield Violation(
            policy=d.policyName,
            enforcement_level=_PROTO_TO_LEVEL.get(d.enforcementLevel, "advisory"),
            severity=_SEVERITY.get(d.severity, ""),
            # The engine attributes a per-resource diagnostic to the analysed resource.
            urn=default_urn or d.urn,
            message=message,
            description=d.description,
            view=view,
        )


def policy_config_path(stack: str, pack_dir: Path = POLICY_PACK_DIR) -> Path | None:
    """The pack's config for `stack`: a file named after the stack if there is one, else its profile's
    (`config/<profile>.json`, the profile read from `Pulumi.<stack>.yaml` beside the pack)."""
    own = pack_dir / "config" / f"{stack}.json"
    if own.exists():
        return own
    if not (pack_dir.parent / f"Pulumi.{stack}.yaml").exists():
        return None
    from tools.stacks import policy_config_path as profile_config

    path = profile_config(stack, pack_dir.parent)
    return path if path.exists() else None


def run_policy_pack(
    plan: Plan,
    *,
    config_path: Path | None = None,
    config: Mapping[str, Any] | None = None,
    views: Iterable[str] = VIEWS,
    pack: PolicyPackProcess | None = None,
    pack_dir: Path = POLICY_PACK_DIR,
) -> PolicyReport:
    """Analyse a plan with the policy pack: every resource, then the stack, for each view.

    `config_path` defaults to `policies/config/<stack>.json`; `config` (the file's content as a dict)
    replaces it, for tests. Pass a running `pack` to reuse one process (`make plan` starts it while the
    program runs; tests share one); otherwise one is started for all the views and stopped. One
    process serves every view: each is configured afresh (`Configure`, `ConfigureStack` with its
    dry-run flag) and the pack keeps no state between requests.
    """
    views = tuple(views)
    unknown_views = set(views) - set(VIEWS)
    if unknown_views:
        raise ValueError(f"unknown view(s) {sorted(unknown_views)}; use {VIEWS}")
    if config is not None:
        given = parse_policy_config(dict(config))
    else:
        config_path = config_path if config_path is not None else policy_config_path(plan.stack, pack_dir)
        given = load_policy_config(config_path) if config_path else {}
    stack_config = {k: v for k, v in plan.config.items() if isinstance(v, str)}

    owned = pack is None
    process = pack or PolicyPackProcess(
        pack_dir, project=plan.project, stack=plan.stack, stack_config=stack_config, dry_run=views[0] == "preview"
    )
    report: PolicyReport | None = None
    try:
        for view in views:
            dry_run = view == "preview"
            subject = preview_view(plan) if dry_run else plan
            process.plugin_info()
            info = process.info()
            if report is None:
                report = PolicyReport(info, plan.stack, config_path, views, len(plan.resources))
            reconciled = reconcile_config(info, given)
            report.levels = {name: entry["enforcementLevel"] for name, entry in reconciled.items()}
            process.configure(reconciled)
            process.configure_stack(project=plan.project, stack=plan.stack, config=stack_config, dry_run=dry_run)
            started = time.perf_counter()
            for request in analyze_requests(subject):
                report.violations.extend(_violations(process.analyze(request), view, request.urn))
            report.timings[f"{view}.analyze"] = time.perf_counter() - started
            started = time.perf_counter()
            report.violations.extend(_violations(process.analyze_stack(analyze_stack_request(subject)), view))
            report.timings[f"{view}.analyze_stack"] = time.perf_counter() - started
    finally:
        if owned:
            process.close()
    assert report is not None
    return report


# ---------------------------------------------------------------------------------------------
# Report


def render_report(report: PolicyReport) -> str:
    """Violations grouped by policy, each with its resource URN and the views it showed in."""
    pack = report.pack
    config = report.config_path.relative_to(PROJECT_DIR) if report.config_path and report.config_path.is_relative_to(
        PROJECT_DIR) else report.config_path
    seconds = sum(report.timings.values())
    lines = [
        f"policy pack {pack.name}@{pack.version}: {len(pack.policies)} policies, config {config or '(defaults)'}, "
        f"{report.resources} resources, views: {' + '.join(report.views)} ({seconds:.1f} s)"
    ]
    merged: dict[tuple[str, str, str], list[Violation]] = {}
    for violation in report.violations:
        merged.setdefault((violation.policy, violation.urn, violation.message), []).append(violation)
    by_policy: dict[str, list[tuple[str, str, list[Violation]]]] = {}
    for (policy, urn, message), found in merged.items():
        by_policy.setdefault(policy, []).append((urn, message, found))
    width = max((len(p.name) for p in pack.policies), default=10)
    for info in pack.policies:
        count = len(by_policy.get(info.name, ()))
        level = report.levels.get(info.name, info.enforcement_level)
        status = "skip" if level == "disabled" else ("FAIL" if count and level == "mandatory" else
                                                     "warn" if count else "ok")
        kind = "stack" if info.stack_policy else "resource"
        found = f"{count} violation(s)" if count else ""
        row = f"  {status:<4}  {info.name:<{width}}  {info.severity:<8}  {level:<9}  {kind:<8}  {found}"
        lines.append(row.rstrip())
    for policy in sorted(by_policy, key=lambda p: (not any(v.mandatory for _, _, f in by_policy[p] for v in f), p)):
        entries = by_policy[policy]
        first = entries[0][2][0]
        levels = sorted({v.enforcement_level for _, _, found in entries for v in found})
        lines.append("")
        lines.append(f"  [{'/'.join(levels)}] {policy} ({first.severity or 'unspecified'}): {first.description}")
        previous_urn = None
        for urn, message, found in sorted(entries):
            shown_views = "+".join(sorted({v.view for v in found}, key=VIEWS.index))
            if urn != previous_urn:
                lines.append(f"    {urn or '(the stack as a whole)'}")
                previous_urn = urn
            lines.append(f"      - {message}  [{shown_views}]")
        info = pack.policy(policy)
        if info and info.remediation_steps:
            lines.append(f"    remediation: {info.remediation_steps}")
    mandatory = len({(v.policy, v.urn, v.message) for v in report.mandatory})
    advisory = len({(v.policy, v.urn, v.message) for v in report.advisory})
    verdict = "the deployment would be refused" if mandatory else "the deployment may proceed"
    lines.append("")
    lines.append(f"policy violations: {mandatory} mandatory, {advisory} advisory: {verdict}")
    return "\n".join(lines)
