"""Safe delivery: API traffic goes through an alias that CodeDeploy shifts, with rollback on alarms, and
each release checks the new version before traffic moves and the service after it has moved."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from pulumi_policy import Policy, Severity

from prodready_policy.base import Config, PolicySpec, stack_policy, string_list
from prodready_policy.types import APIGATEWAYV2_INTEGRATION as INTEGRATION
from prodready_policy.types import CODEDEPLOY_DEPLOYMENT_GROUP as DEPLOYMENT_GROUP
from prodready_policy.types import LAMBDA_ALIAS as ALIAS
from prodready_policy.types import LAMBDA_FUNCTION as FUNCTION
from prodready_policy.values import ResourceView, as_list, get, is_unknown

# A Lambda target, as an integration URI holds it: the function ARN itself, or inside the invoke ARN
# `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations`.
_FUNCTION_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[^:]+:\d{12}:function:(?P<name>[^:/]+)(?::(?P<qualifier>[^/]+))?")
REQUIRED_ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM")
# The Lambda AppSpec's lifecycle hooks, and the input of the releasing resource (the program's Release)
# that names each one's function: BeforeAllowTraffic runs before any traffic moves, AfterAllowTraffic
# once all of it has (CodeDeploy User Guide, "AppSpec 'hooks' section").
HOOK_INPUTS: dict[str, str] = {"BeforeAllowTraffic": "hookFunction", "AfterAllowTraffic": "afterHookFunction"}
SAFE_DEPLOYMENT = PolicySpec(
    name="lambda-safe-deployment",
    description=(
        "Requires every API integration with a Lambda function to invoke an alias (never the function's "
        "$LATEST or a pinned version), and every such alias to be released through a CodeDeploy deployment "
        "group that watches alarms and rolls back on alarm and on failure, by releases that run the "
        "required lifecycle hooks (a check before traffic moves and one after)."
    ),
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Publish versions (publish=True), point the integration at the alias's invoke ARN, and release it "
        "through an aws.codedeploy.DeploymentGroup with alarm_configuration (enabled, the alias's alarms) and "
        "auto_rollback_configuration (DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM); in this program, "
        "components/delivery (SafeDelivery), which the service uses by default. Turn on "
        "prodready:delivery.preTrafficCheck and postTrafficCheck so that each release names a "
        "BeforeAllowTraffic and an AfterAllowTraffic hook function of the stack."
    ),
    config_properties={
        "requiredRollbackEvents": string_list(
            "Automatic rollback events the releasing deployment group must have enabled.",
            list(REQUIRED_ROLLBACK_EVENTS),
        ),
        "forbiddenDeploymentConfigs": string_list(
            "Deployment configurations the releasing group may not use (prod: all at once, which gives "
            "the alarms no canary to judge).",
            [],
        ),
        "requiredHooks": {
            **string_list(
                "Lifecycle hooks every release of the alias must run, each a function of the stack: "
                "BeforeAllowTraffic (the new version checked before it gets a request) and AfterAllowTraffic "
                "(the service checked through the alias once all traffic moved; a failure rolls back).",
                list(HOOK_INPUTS),
            ),
            "items": {"type": "string", "enum": list(HOOK_INPUTS)},
        },
    },
)


def _lambda_target(uri: object) -> tuple[str, str | None] | None:
    if not isinstance(uri, str):
        return None
    match = _FUNCTION_ARN.search(uri)
    return (match.group("name"), match.group("qualifier")) if match else None


def _served_aliases(
    resources: list[ResourceView], by_urn: dict[str, ResourceView]
) -> Iterator[tuple[str | None, str, ResourceView | None]]:
    """(integration URN, finding or "", the alias served) for every Lambda integration."""
    aliases = _AliasIndex(r for r in resources if r.type == ALIAS)
    for integration in resources:
        if integration.type != INTEGRATION:
            continue
        uri = get(integration.props, "integrationUri")
        sources = [by_urn[u] for u in integration.sources("integrationUri") if u in by_urn]
        if is_unknown(uri):
            # Computed from resources not created yet: what it was computed from tells.
            source_aliases = [s for s in sources if s.type == ALIAS]
            if source_aliases:
                yield integration.urn, "", source_aliases[0]
            elif any(s.type == FUNCTION for s in sources):
                function = next(s for s in sources if s.type == FUNCTION)
                yield integration.urn, (
                    f"integration '{integration.name}' invokes function '{function.name}' itself (its $LATEST), "
                    "not an alias a deployment shifts."
                ), None
            continue
        target = _lambda_target(uri)
        if target is None:
            continue
        function_name, qualifier = target
        if qualifier is None or qualifier == "$LATEST":
            yield integration.urn, (
                f"integration '{integration.name}' invokes function '{function_name}' unqualified ($LATEST): every "
                "deployment would send all traffic to new code at once."
            ), None
        elif qualifier.isdigit():
            yield integration.urn, (
                f"integration '{integration.name}' invokes version {qualifier} of '{function_name}': a pinned "
                "version bypasses traffic shifting; invoke an alias a deployment group shifts."
            ), None
        else:
            alias = aliases.find(function_name, qualifier)
            if alias is None:
                yield integration.urn, (
                    f"integration '{integration.name}' invokes alias '{qualifier}' of '{function_name}', which this "
                    "stack does not manage, so no deployment group of the stack can be seen to release it."
                ), None
            else:
                yield integration.urn, "", alias


class _AliasIndex:
    """The stack's aliases by alias name and function name, built in one pass.

    Aliases share names (every function of a stack may have its `live`), so scanning all the aliases of a
    name for each integration would grow with the square of the stack. `find` answers as that scan did:
    the first alias in stack order with the name whose function is the one given or not known yet.
    """

    def __init__(self, aliases: Iterable[ResourceView]) -> None:
        # (position in the stack, alias): the earliest one wins.
        self._named: dict[tuple[object, str], tuple[int, ResourceView]] = {}
        self._unknown_function: dict[object, tuple[int, ResourceView]] = {}
        for position, alias in enumerate(aliases):
            name = get(alias.props, "name")
            function = get(alias.props, "functionName")
            if is_unknown(function):
                self._unknown_function.setdefault(name, (position, alias))
            elif isinstance(function, str):
                self._named.setdefault((name, function), (position, alias))

    def find(self, function_name: str, qualifier: str) -> ResourceView | None:
        found = [c for c in (self._named.get((qualifier, function_name)), self._unknown_function.get(qualifier)) if c]
        return min(found, key=lambda candidate: candidate[0])[1] if found else None


def _group_findings(group: ResourceView, required_events: list[str], forbidden: list[str]) -> list[str]:
    findings: list[str] = []
    shape = get(group.props, "deploymentConfigName")
    if isinstance(shape, str) and shape in forbidden:
        findings.append(f"deployment group '{group.name}' shifts traffic with {shape}, which this stack forbids")
    rollback = get(group.props, "autoRollbackConfiguration")
    if not is_unknown(rollback):
        events = as_list(get(rollback, "events", default=[]))
        missing = [e for e in required_events if e not in events]
        if not get(rollback, "enabled", default=False) or missing:
            findings.append(
                f"deployment group '{group.name}' does not roll back automatically on "
                f"{', '.join(missing) or 'anything (autoRollbackConfiguration is disabled)'}"
            )
    alarms = get(group.props, "alarmConfiguration")
    if not is_unknown(alarms):
        names = get(alarms, "alarms", default=[])
        if not get(alarms, "enabled", default=False) or (not is_unknown(names) and not as_list(names)):
            findings.append(f"deployment group '{group.name}' watches no alarms (alarmConfiguration)")
    return findings


def _releases_by_alias(
    resources: list[ResourceView], by_urn: dict[str, ResourceView]
) -> dict[str, list[tuple[ResourceView, ResourceView]]]:
    """Per alias URN, the (deployment group, releasing resource) pairs that release it: a group and the alias
    are bound only by what deploys them (an AppSpec names the alias, the deployment names the group), so a
    resource of the stack that takes both as inputs (the program's release resource) is the link. One pass
    over the stack, so the rule stays linear in its size."""
    releases: dict[str, list[tuple[ResourceView, ResourceView]]] = {}
    for resource in resources:
        if resource.type in (DEPLOYMENT_GROUP, ALIAS):
            continue
        deps = set(resource.dependencies) | {u for us in resource.property_dependencies.values() for u in us}
        linked = [by_urn[urn] for urn in sorted(deps) if urn in by_urn]
        groups = [r for r in linked if r.type == DEPLOYMENT_GROUP]
        if not groups:
            continue
        for alias in (r for r in linked if r.type == ALIAS):
            releases.setdefault(alias.urn, []).extend((group, resource) for group in groups)
    return releases


def _hook_findings(
    release: ResourceView, required: list[str], functions: dict[str, ResourceView], by_urn: dict[str, ResourceView]
) -> list[str]:
    """What the releasing resource lacks of the required lifecycle hooks: a hook named, and a function of the
    stack behind the name (computed from one, or named as one is)."""
    findings: list[str] = []
    for event in required:
        key = HOOK_INPUTS[event]
        value = get(release.props, key)
        if is_unknown(value):
            continue
        if not isinstance(value, str) or not value:
            findings.append(f"release '{release.name}' runs no {event} hook ({key} is empty)")
            continue
        sources = [by_urn[u] for u in release.property_dependencies.get(key, ()) if u in by_urn]
        if not any(s.type == FUNCTION for s in sources) and value not in functions:
            findings.append(f"release '{release.name}' names {event} hook '{value}', which is no function of this "
                            "stack")
    return findings


def check_safe_deployment(resources: list[ResourceView], config: Config) -> Iterator[tuple[str | None, str]]:
    by_urn = {r.urn: r for r in resources}
    functions = {name: r for r in resources if r.type == FUNCTION and isinstance(name := get(r.props, "name"), str)}
    seen: set[str] = set()
    releases_of = _releases_by_alias(resources, by_urn)
    for integration_urn, finding, alias in _served_aliases(resources, by_urn):
        if finding:
            yield integration_urn, finding
            continue
        if alias is None or alias.urn in seen:
            continue
        seen.add(alias.urn)
        pairs = releases_of.get(alias.urn, [])
        groups = list({group.urn: group for group, _ in pairs}.values())
        if not groups:
            yield alias.urn, (
                f"alias '{alias.name}' serves an API but no CodeDeploy deployment group releases it: new versions "
                "would reach it without traffic shifting or rollback."
            )
            continue
        problems = [_group_findings(group, list(config["requiredRollbackEvents"]),
                                    list(config["forbiddenDeploymentConfigs"])) for group in groups]
        if all(problems):
            for group, group_problems in zip(groups, problems, strict=True):
                for problem in group_problems:
                    yield group.urn, f"{problem}, so a bad release of alias '{alias.name}' stays live."
        releases = list({release.urn: release for _, release in pairs}.values())
        for release in releases:
            for problem in _hook_findings(release, list(config["requiredHooks"]), functions, by_urn):
                yield release.urn, (
                    f"{problem}: a release of alias '{alias.name}' must check the new version before traffic "
                    "moves and the service after it has moved, so that a failed check rolls it back."
                )


def policies() -> list[Policy]:
    return [stack_policy(SAFE_DEPLOYMENT, check_safe_deployment)]
