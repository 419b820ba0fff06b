"""The complete alarm set of a service, from what it watches. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.monitoring import service_level
from components.monitoring import slo as slo_math
from components.monitoring.catalog import AlarmContext, AlarmSet, AlarmSpec, CompositeSpec, Thresholds
from components.monitoring.kinds import Watched, WatchedApi, WatchedTable, account
from components.monitoring.registry import KINDS
from components.monitoring.service_level import SloTarget


def alarm_context(config: Any, prefix: str) -> AlarmContext:
    """The thresholds and switches every alarm of the stack is built with (`config`: MonitoringConfig)."""
    return AlarmContext(
        prefix=prefix,
        runbook_base_url=config.runbook_base_url,
        thresholds=Thresholds(KINDS, config.thresholds),
        min_requests=config.min_requests,
        expect_traffic=config.expect_traffic,
        anomaly_detection=config.anomaly_detection,
    )


def slo_targets(config: Any) -> list[SloTarget]:
    """The SLOs whose burn rate is alerted on (`config`: MonitoringConfig)."""
    slo = config.slo
    if not slo.burn_rate_alerts:
        return []
    return [SloTarget(service_level.AVAILABILITY.kind, slo.availability_target_percent),
            SloTarget(service_level.LATENCY.kind, slo.latency_target_percent, slo.latency_threshold_ms)]


def alarm_set(
    ctx: AlarmContext,
    watched: Sequence[Watched],
    *,
    metrics_namespace: str,
    slos: Sequence[SloTarget] = (),
    slo_window_days: int = slo_math.SLO_WINDOW_DAYS,
) -> AlarmSet:
    """Per-resource alarms of every watched resource, account-level ones, SLO pairs, the maintenance
    switch and the critical roll-up, members before the composites that use them."""
    alarms: list[AlarmSpec] = []
    composites: list[CompositeSpec] = []
    for resource in watched:
        alarms += resource.alarms(ctx)
    if any(isinstance(resource, WatchedTable) for resource in watched):
        alarms += account.dynamodb_alarms(ctx)
    for api in (resource for resource in watched if isinstance(resource, WatchedApi)):
        for slo in slos:
            windows, pairs = service_level.slo_alarms(ctx, api, slo, slo_window_days)
            alarms += windows
            composites += pairs
    maintenance = service_level.maintenance_alarm(ctx, metrics_namespace)
    alarms.append(maintenance)
    roll = service_level.rollup(ctx, alarms, composites, suppressor=maintenance.name)
    if roll is not None:
        composites.append(roll)
    return AlarmSet(tuple(alarms), tuple(composites))
