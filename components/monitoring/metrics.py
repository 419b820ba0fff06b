"""Metric definitions: what a metric is, once, for both the alarms that watch it and the graphs that draw it.

A `Metric` names a CloudWatch metric (namespace, name, dimensions) with its statistic and label, but no
period: an alarm reads it as a `MetricStat` at the alarm's period, a dashboard graph as a metrics-array
row at the graph's period. Dimension values may be Pulumi outputs; nothing here looks inside them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

# CloudWatch's own metric namespaces and the Synthetics one.
LAMBDA_NS = "AWS/Lambda"
API_NS = "AWS/ApiGateway"
DYNAMODB_NS = "AWS/DynamoDB"
SNS_NS = "AWS/SNS"
SYNTHETICS_NS = "CloudWatchSynthetics"
BILLING_NS = "AWS/Billing"
ACM_NS = "AWS/CertificateManager"
CLOUDFRONT_NS = "AWS/CloudFront"
WAF_NS = "AWS/WAFV2"
BACKUP_NS = "AWS/Backup"
FIREHOSE_NS = "AWS/Firehose"
LOGS_NS = "AWS/Logs"

STANDARD_STATISTICS = frozenset({"SampleCount", "Average", "Sum", "Minimum", "Maximum"})


@dataclass(frozen=True)
class MetricStat:
    """One CloudWatch metric with a statistic over a period (what an alarm reads)."""

    namespace: str
    """Metric namespace."""
    metric_name: str
    """Metric name."""
    dimensions: Mapping[str, Any]
    """Dimension name to value (values may be Pulumi outputs; specs never look inside them)."""
    stat: str
    """Statistic: Sum, Average, Maximum, SampleCount, pNN, PR(:x)."""
    period: int
    """Seconds."""


@dataclass(frozen=True)
class Metric:
    """A metric as defined once per watched kind: namespace, name, dimensions, statistic and label."""

    namespace: str
    """Metric namespace."""
    name: str
    """Metric name."""
    dimensions: Mapping[str, Any] = field(default_factory=dict)
    """Dimension name to value."""
    stat: str = "Sum"
    """Statistic the metric is read with."""
    label: str = ""
    """Human label (graph legend, alarm query label)."""

    def with_stat(self, stat: str, label: str | None = None) -> Metric:
        """The same metric read with another statistic (e.g. Duration p50, p99)."""
        return replace(self, stat=stat, label=label if label is not None else f"{self.label or self.name} {stat}")

    def at(self, period: int) -> MetricStat:
        """The metric as an alarm reads it."""
        return MetricStat(self.namespace, self.name, dict(self.dimensions), self.stat, period)

    def row(self, **options: Any) -> list[Any]:
        """The metric as a dashboard metrics-array row: namespace, name, dimension pairs, options."""
        row: list[Any] = [self.namespace, self.name]
        for key, value in self.dimensions.items():
            row += [key, value]
        merged = {"stat": self.stat, **({"label": self.label} if self.label else {}), **options}
        row.append({k: v for k, v in merged.items() if v is not None})
        return row


@dataclass(frozen=True)
class Query:
    """One entry of a metric-math alarm: a metric or an expression over the other ids."""

    id: str
    """Lower-case id, usable as a variable in expressions."""
    metric: MetricStat | None = None
    """The metric, for a metric entry."""
    expression: str | None = None
    """The metric-math expression, for an expression entry."""
    label: str | None = None
    """Human label."""
    return_data: bool = False
    """True on exactly one entry: the alarm's value (or the anomaly band an alarm compares with)."""


def gated(value_expr: str, samples_id: str, minimum: int) -> str:
    """A value that counts only in periods with at least `minimum` samples, else 0 (healthy).

    cdk-monitoring-constructs' `minMetricSamplesToAlarm`: a single slow or failed request in a quiet
    stack does not page; the SLO burn-rate alarms cover low traffic.
    """
    return f"IF({samples_id} >= {minimum}, {value_expr}, 0)"


def log_events(log_group_name: Any) -> Metric:
    """Events a log group received (CloudWatch Logs publishes it per log group, only while events arrive)."""
    return Metric(LOGS_NS, "IncomingLogEvents", {"LogGroupName": log_group_name}, "Sum", "Log events")


def ingestion_queries(traffic: MetricStat, events: MetricStat, minimum: int) -> tuple[Query, ...]:
    """A log group's events in periods with at least `minimum` of the traffic that writes to it.

    A group that stops receiving events publishes no IncomingLogEvents at all, hence the FILL: with
    traffic and no events the value is 0, not missing. Without traffic the value is missing (not breaching):
    a quiet stack is not a broken one.
    """
    return (
        Query("traffic", traffic, label="Traffic"),
        Query("events", events, label="Log events"),
        Query("ingested", expression=f"IF(traffic >= {minimum}, FILL(events, 0), 1)",
              label="Log events while traffic flows", return_data=True),
    )
