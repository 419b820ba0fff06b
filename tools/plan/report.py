"""Human-readable views of a plan: the resource tree, the count by type, the alarms and the release."""

from __future__ import annotations

from collections import Counter

from components.types import CLOUDWATCH_COMPOSITE_ALARM as COMPOSITE_ALARM
from components.types import (
    CLOUDWATCH_DASHBOARD,
    CLOUDWATCH_QUERY_DEFINITION,
    SNS_TOPIC,
    SNS_TOPIC_SUBSCRIPTION,
    SYNTHETICS_CANARY,
    XRAY_SAMPLING_RULE,
)
from components.types import CLOUDWATCH_LOG_METRIC_FILTER as LOG_METRIC_FILTER
from components.types import CLOUDWATCH_METRIC_ALARM as METRIC_ALARM
from components.types import CODEDEPLOY_DEPLOYMENT_GROUP as DEPLOYMENT_GROUP
from tools.plan.harness import Plan, PlannedResource


def _label(resource: PlannedResource) -> str:
    flags = [flag for flag, on in (("protected", resource.protect), ("retained", resource.retain_on_delete)) if on]
    physical = f"  [{resource.id}]" if resource.custom and resource.id else ""
    suffix = f"  ({', '.join(flags)})" if flags else ""
    return f"{resource.type}  {resource.name}{physical}{suffix}"


def render_tree(plan: Plan) -> str:
    """Components and their children, indented under the stack."""
    children: dict[str | None, list[PlannedResource]] = {}
    urns = {r.urn for r in plan.resources}
    for resource in plan.resources:
        parent = resource.parent if resource.parent in urns else None
        children.setdefault(parent, []).append(resource)

    lines = [f"pulumi:pulumi:Stack  {plan.project}-{plan.stack}"]

    def walk(parent: str | None, prefix: str) -> None:
        kids = sorted(children.get(parent, []), key=lambda r: (r.custom, r.type, r.name))
        for index, resource in enumerate(kids):
            last = index == len(kids) - 1
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{_label(resource)}")
            walk(resource.urn, prefix + ("   " if last else "│  "))

    walk(None, "")
    return "\n".join(lines)


def render_counts(plan: Plan) -> str:
    """Custom resources by type, most numerous first, and the totals."""
    counts = Counter(r.type for r in plan.resources if r.custom)
    components = sum(1 for r in plan.resources if not r.custom)
    width = max((len(t) for t in counts), default=10)
    lines = [f"{count:>5}  {type_}" for type_, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines.append(f"{sum(counts.values()):>5}  {'resources':<{width}}  (+{components} components)")
    return "\n".join(lines)


def _severity(alarm: PlannedResource) -> str:
    # The Severity tag, else the severity the alarm name ends with (`<...>-<severity>`).
    tagged = (alarm.inputs.get("tags") or {}).get("Severity")
    if tagged:
        return str(tagged)
    name = str(alarm.inputs.get("name") or alarm.inputs.get("alarmName") or "")
    suffix = name.rsplit("-", 1)[-1]
    return suffix if suffix in ("critical", "warning") else "untagged"


def render_alarm_summary(plan: Plan) -> str:
    """Alarms by severity (the `Severity` tag), then the other monitoring resources."""
    severities = ["critical", "warning"]
    rows: dict[str, Counter[str]] = {"metric alarms": Counter(), "composite alarms": Counter()}
    routed: Counter[str] = Counter()
    for label, type_ in (("metric alarms", METRIC_ALARM), ("composite alarms", COMPOSITE_ALARM)):
        for alarm in plan.of_type(type_):
            severity = _severity(alarm)
            if severity not in severities:
                severities.append(severity)
            rows[label][severity] += 1
            if alarm.inputs.get("alarmActions"):
                routed[severity] += 1
    lines = [f"{'alarms by severity':<20}" + "".join(f"{s:>10}" for s in severities) + f"{'total':>8}"]
    for label, counts in (*rows.items(), ("with own actions", routed)):
        lines.append(f"  {label:<18}" + "".join(f"{counts[s]:>10}" for s in severities)
                     + f"{sum(counts.values()):>8}")
    others = [
        ("dashboards", CLOUDWATCH_DASHBOARD),
        ("metric filters", LOG_METRIC_FILTER),
        ("saved queries", CLOUDWATCH_QUERY_DEFINITION),
        ("canaries", SYNTHETICS_CANARY),
        ("alert topics", SNS_TOPIC),
        ("subscriptions", SNS_TOPIC_SUBSCRIPTION),
        ("X-Ray rules/groups", XRAY_SAMPLING_RULE),
    ]
    parts = [f"{label} {len(plan.of_type(type_))}" for label, type_ in others[:-1]]
    parts.append(f"X-Ray sampling rules {len(plan.of_type(others[-1][1]))}, "
                 f"groups {len(plan.of_type('aws:xray/group:Group'))}")
    lines.append("  " + ", ".join(parts))
    return "\n".join(lines)


RELEASE = "pulumi-python:dynamic/prodready:Release"
# What a cold start looks like in a function's platform reports: an init, or a SnapStart restore.
COLD_START_METRICS = ("InitDuration", "RestoreDuration")


def render_release(plan: Plan) -> str:
    """How a new version reaches traffic: each deployment group's shape, the alarms that judge a release
    (CodeDeploy watches at most 10), the lifecycle hooks, and the cold-start signals of the log groups."""
    lines = []
    hooks = {}
    for release in plan.of_type(RELEASE):
        hooks[str(release.inputs.get("deploymentGroup"))] = (
            ("BeforeAllowTraffic", release.inputs.get("hookFunction") or "none"),
            ("AfterAllowTraffic", release.inputs.get("afterHookFunction") or "none"),
        )
    for group in plan.of_type(DEPLOYMENT_GROUP):
        name = str(group.inputs.get("deploymentGroupName"))
        alarms = sorted((group.inputs.get("alarmConfiguration") or {}).get("alarms") or [])
        lines.append(f"release {name}: {group.inputs.get('deploymentConfigName')}, {len(alarms)} of 10 alarms")
        lines += [f"  alarm  {alarm}" for alarm in alarms]
        lines += [f"  hook   {event}: {function}" for event, function in hooks.get(name, ())]
    signals = sorted(
        f"{f.inputs.get('logGroupName')}: {f.inputs['metricTransformation']['name']}"
        for f in plan.of_type(LOG_METRIC_FILTER)
        if (f.inputs.get("metricTransformation") or {}).get("name") in COLD_START_METRICS
    )
    if signals:
        lines.append("cold-start signals (metric filters on platform reports)")
        lines += [f"  {signal}" for signal in signals]
    return "\n".join(lines)
