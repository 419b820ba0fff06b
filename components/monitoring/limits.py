"""CloudWatch limits the stack's config can reach, checked before any resource is registered.

A dry run builds the alarm set and the dashboard the program would build, from the stack config and the
keys of what monitoring watches, with placeholder resource names of the longest length AWS allows, and
checks them against CloudWatch's documented limits (PutMetricAlarm, PutCompositeAlarm, PutDashboard and
the alarm and dashboard quotas). Each problem names the config key that drives it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.monitoring.alarm_set import alarm_context, alarm_set, slo_targets
from components.monitoring.catalog import (
    MAX_ALARM_DESCRIPTION_LENGTH,
    MAX_ALARM_METRICS,
    MAX_ALARM_NAME_LENGTH,
    MAX_ALARM_RULE_LENGTH,
    AlarmSet,
    AlarmSpec,
    CompositeSpec,
)
from components.monitoring.dashboard import DashboardInputs, dashboard_body, limit_problems
from components.monitoring.kinds import (
    Watched,
    WatchedApi,
    WatchedCanary,
    WatchedCertificate,
    WatchedFunction,
    WatchedTable,
    WatchedTopic,
)
from components.monitoring.kinds.certificate import DOMAIN_KEY, imported_key

ALARM_ARN_PLACEHOLDER = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"


def alarm_set_problems(alarms: AlarmSet) -> list[tuple[str, str]]:
    """(what drives it, problem) for every alarm of the set beyond CloudWatch's limits."""
    problems: list[tuple[str, str]] = []
    for spec in alarms.alarms:
        if len(spec.metrics) > MAX_ALARM_METRICS:
            problems.append(("metrics", f"alarm {spec.name} reads {len(spec.metrics)} metrics; a metric-math alarm "
                                        f"may reference at most {MAX_ALARM_METRICS}"))
    every: list[AlarmSpec | CompositeSpec] = [*alarms.alarms, *alarms.composites]
    for spec in every:
        if len(spec.name) > MAX_ALARM_NAME_LENGTH:
            problems.append(("name", f"alarm name {spec.name[:60]}... is {len(spec.name)} characters; "
                                     f"at most {MAX_ALARM_NAME_LENGTH}"))
        if len(spec.description) > MAX_ALARM_DESCRIPTION_LENGTH:
            problems.append(("description", f"alarm {spec.name} has a {len(spec.description)}-character description; "
                                            f"at most {MAX_ALARM_DESCRIPTION_LENGTH}"))
    for composite in alarms.composites:
        rule = composite.rule()
        if len(rule) > MAX_ALARM_RULE_LENGTH:
            problems.append(("rule", f"composite {composite.name} has a {len(rule)}-character rule; "
                                     f"at most {MAX_ALARM_RULE_LENGTH}"))
    return problems


# What each kind of problem is driven by in the stack config.
_KEYS = {
    "metrics": "table.globalSecondaryIndexes",
    "name": "service",
    "description": "monitoring.runbookBaseUrl",
    "rule": "monitoring.thresholds",
    "dashboard": "monitoring.dashboard",
}


def _placeholders(config: Any, watched: Mapping[str, str]) -> list[Watched]:
    """Watched resources as the program would build them, with names of the longest length AWS allows."""
    prefix, namespace = config.prefix, f"prodready/{config.prefix}"
    indexes = tuple(gsi.name for gsi in config.table.global_secondary_indexes)
    resources: list[Watched] = []
    for key, scope in watched.items():
        if scope == "function":
            resources.append(WatchedFunction(key, "f" * 64, f"/aws/lambda/{'f' * 64}", config.lambda_.timeout_seconds,
                                             config.lambda_.memory_mb, namespace, config.lambda_.reserved_concurrency,
                                             alias="live"))
        elif scope == "api":
            resources.append(WatchedApi(key, "a" * 10, "$default", "https://x", f"/aws/apigateway/{prefix}/x",
                                        namespace, config.api.throttling_rate_limit))
        elif scope == "table":
            resources.append(WatchedTable(key, "t" * 255, indexes, ("GetItem", "PutItem", "UpdateItem",
                                                                      "DeleteItem", "Scan", "Query")))
        elif scope == "canary" and config.monitoring.canary.enabled:
            resources.append(WatchedCanary(key, "c" * 21, config.monitoring.canary.path,
                                           config.monitoring.canary.timeout_seconds))
        elif scope == "topic":
            resources.append(WatchedTopic(key, "s" * 256, "warning" if key == "critical" else "critical"))
    # Certificates are watched from config, not from the program's keys.
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/" + "0" * 36
    if config.api.domain is not None:
        resources.append(WatchedCertificate(DOMAIN_KEY, arn, config.api.domain.name))
    resources += [WatchedCertificate(imported_key(a), a, a) for a in config.monitoring.certificate_arns]
    return resources


def config_problems(config: Any, watched: Mapping[str, str]) -> list[str]:
    """Every CloudWatch limit the stack's config (`StackConfig`) would exceed, each naming its key."""
    try:
        resources = _placeholders(config, watched)
    except ValueError as error:
        return [f"{_KEYS['metrics']}: {error}"]
    monitoring = config.monitoring
    ctx = alarm_context(monitoring, config.prefix)
    alarms = alarm_set(ctx, resources, metrics_namespace=f"prodready/{config.prefix}", slos=slo_targets(monitoring),
                       slo_window_days=monitoring.slo.window_days)
    problems = [f"{_KEYS[what]}: {message}" for what, message in alarm_set_problems(alarms)]
    if monitoring.dashboard:
        body = dashboard_body(DashboardInputs(
            title=config.prefix, region=config.region, service_name=config.service, metrics_namespace="n",
            context=ctx, watched=resources, alarms=alarms,
            alarm_arns=[ALARM_ARN_PLACEHOLDER.format(name=n) for n in alarms.names],
            slos=slo_targets(monitoring), slo_window_days=monitoring.slo.window_days,
        ))
        problems += [f"{_KEYS['dashboard']}: {message}" for message in limit_problems(body)]
    return problems
