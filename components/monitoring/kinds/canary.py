"""Watched kind: a CloudWatch Synthetics canary. Its metrics once; its alarms and its graphs from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.monitoring.catalog import GT, LT, AlarmContext, AlarmKind, AlarmSpec, metric_alarm
from components.monitoring.kinds.base import LogFilter
from components.monitoring.metrics import SYNTHETICS_NS, Metric
from components.monitoring.panels import Band, Line, Panel, shown

SUCCESS_RATE = AlarmKind(
    "canary-success-rate", "Synthetic health check", "canary", "%", LT,
    "the {detail} canary succeeded in less than {threshold:g}% of runs in {datapoints} of {evaluations} "
    "{period_text} periods", {"critical": 90}, evaluation_periods=3, datapoints_to_alarm=2,
    treat_missing_data="breaching")
DURATION = AlarmKind(
    "canary-duration", "Synthetic health check duration", "canary", "%", GT,
    "the {detail} canary's runs took longer than {threshold:g}% of their timeout in {datapoints} of "
    "{evaluations} {period_text} periods", {"warning": 50}, evaluation_periods=3, datapoints_to_alarm=2)

ALARM_KINDS: tuple[AlarmKind, ...] = (SUCCESS_RATE, DURATION)


@dataclass(frozen=True)
class WatchedCanary:
    """A canary to watch (the service's synthetic health check)."""

    key: str
    """Short stable key of its band; its alarms are service-level (no resource in their names)."""
    canary_name: Any
    """Canary name (output)."""
    path: str
    """What it requests (for the descriptions)."""
    timeout_seconds: int
    """Run timeout (the duration alarm is a share of it)."""

    def success(self) -> Metric:
        return Metric(SYNTHETICS_NS, "SuccessPercent", {"CanaryName": self.canary_name}, "Average", "Success (%)")

    def duration(self) -> Metric:
        return Metric(SYNTHETICS_NS, "Duration", {"CanaryName": self.canary_name}, "Maximum", "Run duration (max)")

    def alarms(self, ctx: AlarmContext) -> list[AlarmSpec]:
        subject = f"Service {ctx.prefix}"
        p = SUCCESS_RATE.period
        specs = [
            metric_alarm(ctx, SUCCESS_RATE, severity=severity, resource="", subject=subject, threshold=threshold,
                         panel="success", detail=self.path, metric=self.success().at(p),
                         extra="A canary that stops reporting counts as failing.")
            for severity, threshold in ctx.each_severity(SUCCESS_RATE.kind, self.key)
        ]
        for severity, share in ctx.each_severity(DURATION.kind, self.key):
            limit = share / 100 * self.timeout_seconds * 1000
            specs.append(metric_alarm(
                ctx, DURATION, severity=severity, resource="", subject=subject, threshold=limit, panel="duration",
                shown_threshold=share, detail=self.path, metric=self.duration().at(p),
                extra=f"Threshold {limit:g} ms of the {self.timeout_seconds} s run timeout: a slow dependency shows "
                      "here before runs fail.",
            ))
        return specs

    def band(self, ctx: AlarmContext) -> Band:
        p = SUCCESS_RATE.period
        return Band("", f"Canary {self.path}", (
            Panel("success", "success", (shown(self.success()),), "%", p, width=12),
            Panel("duration", "run duration", (shown(self.duration()),), "ms", p, width=12,
                  lines=(Line("timeout", self.timeout_seconds * 1000),)),
        ))

    def log_filters(self) -> list[LogFilter]:
        return []
