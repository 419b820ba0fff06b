"""Watched kind: an alert topic. Monitoring the monitoring: if on-call's e-mail or webhook endpoint
breaks, SNS counts the failed deliveries, and the other severity's topic says so.

The alarm on a topic's failures takes the severity of the other topic, so that it travels by the
channel that still works: the critical topic's failures notify the warning topic, the warning topic's
page through the critical roll-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.monitoring.catalog import GT, AlarmContext, AlarmKind, AlarmSpec, metric_alarm
from components.monitoring.kinds.base import LogFilter
from components.monitoring.metrics import SNS_NS, Metric
from components.monitoring.panels import Band, Panel, shown

DELIVERY_FAILURES = AlarmKind(
    "alert-topic-delivery-failures", "Alert topic delivery failures", "topic", "count", GT,
    "SNS failed to deliver more than {threshold:g} notifications to the topic's subscribers over {window}",
    {"critical": 0, "warning": 0})

ALARM_KINDS: tuple[AlarmKind, ...] = (DELIVERY_FAILURES,)


@dataclass(frozen=True)
class WatchedTopic:
    """An alert topic to watch."""

    key: str
    """The topic's severity (`critical`, `warning`): its key in alarm and resource names."""
    topic_name: Any
    """Topic name (output)."""
    reported_as: str
    """Severity its failures are reported with: the other topic's."""

    def _sns(self, name: str, label: str) -> Metric:
        return Metric(SNS_NS, name, {"TopicName": self.topic_name}, "Sum", label)

    def failed(self) -> Metric:
        return self._sns("NumberOfNotificationsFailed", "Failed deliveries")

    def delivered(self) -> Metric:
        return self._sns("NumberOfNotificationsDelivered", "Delivered")

    def published(self) -> Metric:
        return self._sns("NumberOfMessagesPublished", "Published")

    def alarms(self, ctx: AlarmContext) -> list[AlarmSpec]:
        thresholds = dict(ctx.each_severity(DELIVERY_FAILURES.kind, self.key))
        if self.reported_as not in thresholds or self.reported_as == self.key:
            return []
        channel = "pages on-call through the critical roll-up" if self.reported_as == "critical" \
            else "notifies the warning topic"
        return [metric_alarm(
            ctx, DELIVERY_FAILURES, severity=self.reported_as, resource=self.key,
            subject=f"The {self.key} alert topic of {ctx.prefix}", threshold=thresholds[self.reported_as],
            panel="deliveries", metric=self.failed().at(DELIVERY_FAILURES.period),
            extra=f"Reported through the other channel ({channel}), since this one is failing.",
        )]

    def band(self, ctx: AlarmContext) -> Band:
        return Band(self.key, f"Alerts {self.key}", (
            Panel("deliveries", "notifications", (shown(self.published()), shown(self.delivered()),
                                                  shown(self.failed())), "count", DELIVERY_FAILURES.period, width=12),
        ))

    def log_filters(self) -> list[LogFilter]:
        return []
