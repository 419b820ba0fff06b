"""Watched kind: the log archive's delivery stream. Firehose reports, per delivery stream, the share of
its S3 puts that succeeded (`DeliveryToS3.Success`, 1 when all did): below 1, logs are piling up in the
stream and, once its 24-hour retry window passes, land under the bucket's error prefix instead of the
archive. Source: Amazon Data Firehose "Monitoring with CloudWatch metrics" (monitoring-with-cloudwatch-metrics).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.monitoring.catalog import LT, AlarmContext, AlarmKind, AlarmSpec, metric_alarm
from components.monitoring.kinds.base import LogFilter
from components.monitoring.metrics import FIREHOSE_NS, Metric
from components.monitoring.panels import Band, Panel, shown

# Firehose buffers up to 5 minutes before it writes: three buffers' worth of time judges a delivery.
DELIVERY_FAILURES = AlarmKind(
    "log-archive-delivery-failures", "Log archive delivery failures", "archive", "ratio", LT,
    "the share of the log archive's S3 deliveries that succeeded fell below {threshold:g} over {window}",
    {"warning": 1}, period=900)

ALARM_KINDS: tuple[AlarmKind, ...] = (DELIVERY_FAILURES,)


@dataclass(frozen=True)
class WatchedStream:
    """The Firehose stream that writes the log archive."""

    key: str
    """Short key in alarm and resource names (`log-archive`)."""
    stream_name: Any
    """Delivery stream name (the DeliveryStreamName dimension; output)."""

    def _firehose(self, name: str, stat: str, label: str) -> Metric:
        return Metric(FIREHOSE_NS, name, {"DeliveryStreamName": self.stream_name}, stat, label)

    def success(self) -> Metric:
        return self._firehose("DeliveryToS3.Success", "Minimum", "Share of S3 puts that succeeded (lowest)")

    def incoming(self) -> Metric:
        return self._firehose("IncomingBytes", "Sum", "Bytes received from CloudWatch Logs")

    def delivered(self) -> Metric:
        return self._firehose("DeliveryToS3.Bytes", "Sum", "Bytes delivered to S3")

    def alarms(self, ctx: AlarmContext) -> list[AlarmSpec]:
        return [
            metric_alarm(ctx, DELIVERY_FAILURES, severity=severity, resource=self.key,
                         subject=f"Log archive of {ctx.prefix}", threshold=threshold, panel="delivery",
                         metric=self.success().at(DELIVERY_FAILURES.period),
                         extra="Logs are still in CloudWatch Logs for their retention; the archive has a gap "
                               "until deliveries succeed.")
            for severity, threshold in ctx.each_severity(DELIVERY_FAILURES.kind, self.key)
        ]

    def band(self, ctx: AlarmContext) -> Band:
        return Band(self.key, "Log archive", (
            Panel("delivery", "S3 delivery success", (shown(self.success()),), "ratio", DELIVERY_FAILURES.period,
                  width=12),
            Panel("volume", "bytes", (shown(self.incoming()), shown(self.delivered())), "bytes",
                  DELIVERY_FAILURES.period, width=12),
        ))

    def log_filters(self) -> list[LogFilter]:
        return []
