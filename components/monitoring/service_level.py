"""Service-level alarms: SLO burn-rate pairs, the maintenance-window switch and the critical roll-up.

Built over the watched API's metric definitions and the other alarms of the set; pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from components.monitoring import slo as slo_math
from components.monitoring.catalog import (
    GTE,
    ROLLUP_KIND,
    AlarmContext,
    AlarmKind,
    AlarmSet,
    AlarmSpec,
    CompositeSpec,
    alarm_name,
    describe,
    rollup_name,
    window_text,
)
from components.monitoring.kinds.http_api import WatchedApi
from components.monitoring.metrics import Metric, MetricStat, Query
from components.monitoring.panels import Band, Line, Panel, expression, hidden

AVAILABILITY = AlarmKind("slo-availability-burn-rate", "Availability SLO burn rate", "slo", "x", GTE,
                         "the availability error budget burns at {threshold:g}x or more", overridable=False)
LATENCY = AlarmKind("slo-latency-burn-rate", "Latency SLO burn rate", "slo", "x", GTE,
                    "the latency error budget burns at {threshold:g}x or more", overridable=False)
ROLLUP = AlarmKind(ROLLUP_KIND, "Service critical roll-up", "service", "", GTE,
                   "at least one critical alarm of the service is in ALARM", overridable=False)
MAINTENANCE = AlarmKind("maintenance-window", "Maintenance window", "service", "", GTE,
                        "an operator opened a maintenance window: paging is suppressed", overridable=False,
                        treat_missing_data="ignore")

ALARM_KINDS: tuple[AlarmKind, ...] = (AVAILABILITY, LATENCY, ROLLUP, MAINTENANCE)

# The maintenance-window suppressor: a composite waits this long for the suppressor before acting
# (it is set before planned work starts, so a minute is plenty), and keeps quiet this long after the
# window closes, so that the system can settle before paging resumes.
SUPPRESSOR_WAIT_PERIOD = 60
SUPPRESSOR_EXTENSION_PERIOD = 300


@dataclass(frozen=True)
class SloTarget:
    """One SLO over an API stage's metrics."""

    kind: str
    """slo-availability-burn-rate or slo-latency-burn-rate."""
    target_percent: float
    """Objective, percent of good requests."""
    latency_threshold_ms: int = 0
    """Latency SLO: a good request completes within this."""


def _good_within(api: WatchedApi, threshold_ms: int) -> Metric:
    # Share of requests within the threshold: CloudWatch's percentile-rank statistic.
    return api.latency(f"PR(:{threshold_ms})")


def slo_alarms(
    ctx: AlarmContext, api: WatchedApi, slo: SloTarget, window_days: int = slo_math.SLO_WINDOW_DAYS
) -> tuple[list[AlarmSpec], list[CompositeSpec]]:
    """Multi-window, multi-burn-rate alerts (SRE workbook ch. 5) for one SLO of one API stage.

    Each workbook row becomes two metric-math alarms (long and short window, both over the same
    burn-rate threshold) and a composite `long AND short`. The value each window alarm computes is
    the burn rate itself: bad-request ratio over the window divided by the error budget.
    """
    budget_text = f"{slo_math.error_budget(slo.target_percent):.10g}"
    info = AVAILABILITY if slo.kind == AVAILABILITY.kind else LATENCY
    if info is AVAILABILITY:
        objective = f"{slo.target_percent:g}% of requests without a 5xx"
    else:
        objective = f"{slo.target_percent:g}% of requests within {slo.latency_threshold_ms} ms"
    what = "availability" if info is AVAILABILITY else "latency"
    subject = f"HTTP API '{api.key}' of {ctx.prefix}, {what} SLO {objective} over {window_days} d"

    def at(metric: Metric, window: int) -> MetricStat:
        return metric.at(window)

    def queries(window: int) -> tuple[Query, ...]:
        if info is AVAILABILITY:
            return (
                Query("errors", at(api.errors_5xx(), window), label="5xx responses"),
                Query("requests", at(api.requests(), window), label="Requests"),
                Query("burn_rate", expression=f"(errors / requests) / {budget_text}", label="Burn rate",
                      return_data=True),
            )
        return (
            Query("good", at(_good_within(api, slo.latency_threshold_ms), window),
                  label=f"% of requests within {slo.latency_threshold_ms} ms"),
            Query("burn_rate", expression=f"((100 - good) / 100) / {budget_text}", label="Burn rate",
                  return_data=True),
        )

    alarms: list[AlarmSpec] = []
    composites: list[CompositeSpec] = []
    for row in slo_math.burn_rate_windows(window_days):
        pair = row.name
        composite = alarm_name(ctx.prefix, api.key, info.kind, row.severity, pair)
        members = []
        for role, window in (("long", row.long_window), ("short", row.short_window)):
            name = alarm_name(ctx.prefix, api.key, info.kind, row.severity, f"{pair}-{role}")
            members.append(name)
            alarms.append(AlarmSpec(
                name=name,
                kind=info.kind,
                severity=row.severity,
                resource=api.key,
                description=describe(
                    subject,
                    f"over the last {window_text(window)} the error budget burned at {row.burn_rate:g}x or more "
                    f"({role} window of {composite})",
                    row.severity, ctx.runbook(info.kind), routing=f"evaluated through {composite}",
                ),
                comparison=GTE,
                threshold=row.burn_rate,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                treat_missing_data="notBreaching",
                queries=queries(window),
                routed=False,
                pair=composite,
                panel=f"{what}-burn",
            ))
        composites.append(CompositeSpec(
            name=composite,
            kind=info.kind,
            severity=row.severity,
            resource=api.key,
            description=describe(
                subject,
                f"the error budget burned at {row.burn_rate:g}x over both the last {window_text(row.long_window)} "
                f"and {window_text(row.short_window)}: {row.budget_consumed:.0%} of the {window_days}-day budget "
                f"is gone in {window_text(row.long_window)}",
                row.severity, ctx.runbook(info.kind),
            ),
            members=tuple(members),
            operator="AND",
            routed=row.severity != "critical",
        ))
    return alarms, composites


BURN_RATE_PERIOD = 3600


def slo_band(api: WatchedApi, slos: Sequence[SloTarget], window_days: int) -> Band:
    """Single values over the range (availability, share within the latency threshold, burn rates) and the
    1-hour burn-rate graphs, where the pair alarms' thresholds are drawn."""
    panels: list[Panel] = []
    single = {"setPeriodToTimeRange": True}
    for slo in slos:
        budget = f"{slo_math.error_budget(slo.target_percent):.10g}"
        if slo.kind == AVAILABILITY.kind:
            inputs = (hidden(api.errors_5xx(), "errors"), hidden(api.requests(), "requests"))
            value, value_label = "100 * (1 - errors / requests)", "Availability"
            burn = f"(errors / requests) / {budget}"
            title, what = f"availability over the range (SLO {slo.target_percent:g}%)", "availability"
        else:
            inputs = (hidden(_good_within(api, slo.latency_threshold_ms), "good"),)
            value, value_label, burn = "good", "Within threshold", f"((100 - good) / 100) / {budget}"
            title = f"requests within {slo.latency_threshold_ms} ms (SLO {slo.target_percent:g}%)"
            what = "latency"
        panels += [
            Panel(f"{what}-value", title, (expression(value, "value", value_label), *inputs), "%", 60, width=6,
                  view="singleValue", extra=single),
            Panel(f"{what}-average-burn", f"{what} budget: average burn rate over the range",
                  (expression(burn, "burn", "Burn rate (1 = on budget)"), *inputs), "x", 60, width=6,
                  view="singleValue", extra=single),
        ]
    for slo in slos:
        budget = f"{slo_math.error_budget(slo.target_percent):.10g}"
        if slo.kind == AVAILABILITY.kind:
            inputs = (hidden(api.errors_5xx(), "errors"), hidden(api.requests(), "requests"))
            burn, what = f"(errors / requests) / {budget}", "availability"
        else:
            inputs = (hidden(_good_within(api, slo.latency_threshold_ms), "good"),)
            burn, what = f"((100 - good) / 100) / {budget}", "latency"
        panels.append(Panel(f"{what}-burn", f"{what} burn rate (1 h)", (expression(burn, "burn", "Burn rate"), *inputs),
                            "x", BURN_RATE_PERIOD, width=12, lines=(Line("on budget", 1),)))
    return Band(api.key, f"SLO {api.key}", tuple(panels))


def maintenance_alarm(ctx: AlarmContext, metrics_namespace: str) -> AlarmSpec:
    """The maintenance-window switch: operators set it to ALARM to silence paging during planned work.

    It watches a metric nothing publishes, and treats missing data as `ignore`, so whatever state an
    operator sets (`aws cloudwatch set-alarm-state`) holds until they set it back to OK (or publish the
    metric: 1 opens the window, 0 closes it). It notifies the warning topic when the window opens and closes.
    """
    return AlarmSpec(
        name=alarm_name(ctx.prefix, "", MAINTENANCE.kind, "warning"),
        kind=MAINTENANCE.kind,
        severity="warning",
        resource="",
        description=describe(f"Service {ctx.prefix}", MAINTENANCE.condition, "warning", ctx.runbook(MAINTENANCE.kind),
                             "Set to OK when the work is done."),
        comparison=GTE,
        threshold=1,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        treat_missing_data=MAINTENANCE.treat_missing_data,
        metric=Metric(metrics_namespace, "MaintenanceWindow", {}, "Maximum").at(60),
    )


def rollup(
    ctx: AlarmContext, alarms: Sequence[AlarmSpec], composites: Sequence[CompositeSpec], suppressor: str | None
) -> CompositeSpec | None:
    """The service's critical roll-up: pages once when any critical alarm (or critical SLO pair) fires."""
    members = [a.name for a in alarms if a.severity == "critical" and not a.pair]
    members += [c.name for c in composites if c.severity == "critical"]
    if not members:
        return None
    return CompositeSpec(
        name=rollup_name(ctx.prefix),
        kind=ROLLUP.kind,
        severity="critical",
        resource="",
        description=describe(
            f"Service {ctx.prefix}", ROLLUP.condition, "critical", ctx.runbook(ROLLUP.kind),
            "The notification names the member alarms in ALARM; each links its own runbook. "
            "Silenced while the maintenance-window alarm is in ALARM.",
            routing="pages on-call through the critical topic",
        ),
        members=tuple(members),
        operator="OR",
        routed=True,
        suppressor=suppressor,
    )


# -- scheduled maintenance: alarm mute rules

MUTE_RULE_MAX_TARGETS = 100  # PutAlarmMuteRule: each rule targets at most 100 alarms by name


def mute_schedule(days: Sequence[str], start_hour: int, duration_hours: int) -> tuple[str, str]:
    """The mute rule schedule of a weekly window: a cron expression (`cron(Minutes Hours Day-of-month Month
    Day-of-week)`, UTC) and an ISO 8601 duration (`PT2H`, `P1DT4H`)."""
    if not 1 <= duration_hours <= 360:
        raise ValueError(f"a mute rule lasts 1 minute to 15 days, got {duration_hours} h")
    weekdays = ",".join(day.upper() for day in days)
    whole_days, hours = divmod(duration_hours, 24)
    duration = "P" + (f"{whole_days}D" if whole_days else "") + (f"T{hours}H" if hours else "")
    return f"cron(0 {start_hour} * * {weekdays})", duration


def mute_targets(alarms: AlarmSet) -> list[list[str]]:
    """The alarms whose actions a maintenance window mutes (every alarm that notifies a topic: the critical
    roll-up, routed composites and warning alarms), in rule-sized groups."""
    routed = [a.name for a in alarms.alarms if a.routed and a.kind != MAINTENANCE.kind]
    routed += [c.name for c in alarms.composites if c.routed]
    return [routed[i:i + MUTE_RULE_MAX_TARGETS] for i in range(0, len(routed), MUTE_RULE_MAX_TARGETS)]
