"""Watched kind: a DynamoDB table. Its metrics once; its alarms and its graphs from them.

Throttle events are published for the table and for each global secondary index; system errors and
request latency only per operation. (User errors exist only per account and region: see account.py.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from components.monitoring.catalog import (
    GT,
    MAX_ALARM_METRICS,
    AlarmContext,
    AlarmKind,
    AlarmSpec,
    metric_alarm,
)
from components.monitoring.kinds.base import LogFilter
from components.monitoring.metrics import DYNAMODB_NS, Metric, Query, gated
from components.monitoring.panels import Band, Panel, expression, hidden, shown

READ_THROTTLES = AlarmKind(
    "dynamodb-read-throttles", "DynamoDB read throttles", "table", "count", GT,
    "more than {threshold:g} read requests were throttled over {window}", {"critical": 0})
WRITE_THROTTLES = AlarmKind(
    "dynamodb-write-throttles", "DynamoDB write throttles", "table", "count", GT,
    "more than {threshold:g} write requests were throttled over {window}", {"critical": 0})
SYSTEM_ERRORS = AlarmKind(
    "dynamodb-system-errors", "DynamoDB system errors", "table", "count", GT,
    "DynamoDB answered more than {threshold:g} requests with a 500 error over {window}", {"warning": 0})
LATENCY = AlarmKind(
    "dynamodb-latency-p99", "DynamoDB request latency p99", "table", "ms", GT,
    "p99 latency of successful {detail} requests above {threshold:g} ms in {datapoints} of {evaluations} "
    "{period_text} periods", {"warning": 100}, evaluation_periods=3, datapoints_to_alarm=2)

ALARM_KINDS: tuple[AlarmKind, ...] = (READ_THROTTLES, WRITE_THROTTLES, SYSTEM_ERRORS, LATENCY)

DEFAULT_OPERATIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan")
# Values of the DynamoDB metrics' Operation dimension that an IAM item action maps to.
_OPERATIONS = (
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
    "TransactGetItems", "TransactWriteItems",
)


def dynamodb_operations(actions: Sequence[str]) -> tuple[str, ...]:
    """Operations (metric dimension values) of a list of `dynamodb:` IAM actions; others are dropped."""
    names = [action.split(":", 1)[1] for action in actions if action.startswith("dynamodb:")]
    return tuple(name for name in names if name in _OPERATIONS)


@dataclass(frozen=True)
class WatchedTable:
    """A DynamoDB table to watch."""

    key: str
    """Short stable key used in alarm and resource names (`table`)."""
    table_name: Any
    """Table name (output)."""
    index_names: tuple[str, ...] = ()
    """Global secondary indexes (their throttles count too)."""
    operations: tuple[str, ...] = field(default=DEFAULT_OPERATIONS)
    """DynamoDB operations the service performs (errors and latency are published per operation)."""

    def __post_init__(self) -> None:
        # A metric-math alarm reads at most 10 metrics: the table's and one per index for throttles.
        if 1 + len(self.index_names) > MAX_ALARM_METRICS:
            raise ValueError(
                f"table {self.key}: throttle alarms would read {1 + len(self.index_names)} metrics (the table and "
                f"each index); CloudWatch allows {MAX_ALARM_METRICS} in one alarm"
            )
        if len(self.operations) > MAX_ALARM_METRICS:
            raise ValueError(f"table {self.key}: more than {MAX_ALARM_METRICS} operations to sum system errors over")

    # -- the metrics, once ----------------------------------------------------------------------

    def _dims(self, **extra: str) -> dict[str, Any]:
        return {"TableName": self.table_name, **extra}

    def throttle_events(self, metric_name: str) -> list[Metric]:
        """`ReadThrottleEvents`/`WriteThrottleEvents` of the table and of each index."""
        return [Metric(DYNAMODB_NS, metric_name, self._dims(), "Sum", f"{metric_name} (table)")] + [
            Metric(DYNAMODB_NS, metric_name, self._dims(GlobalSecondaryIndexName=index), "Sum",
                   f"{metric_name} ({index})")
            for index in self.index_names
        ]

    def system_errors(self) -> list[Metric]:
        return [Metric(DYNAMODB_NS, "SystemErrors", self._dims(Operation=op), "Sum", f"SystemErrors {op}")
                for op in self.operations]

    def latency(self, operation: str, stat: str = "p99") -> Metric:
        return Metric(DYNAMODB_NS, "SuccessfulRequestLatency", self._dims(Operation=operation), stat,
                      f"{operation} {stat}")

    def consumed(self, metric_name: str, label: str) -> Metric:
        return Metric(DYNAMODB_NS, metric_name, self._dims(), "Sum", label)

    # -- alarms ---------------------------------------------------------------------------------

    def alarms(self, ctx: AlarmContext) -> list[AlarmSpec]:
        subject = f"DynamoDB table '{self.key}' of {ctx.prefix}"
        p = READ_THROTTLES.period
        specs: list[AlarmSpec] = []

        def alarm(info: AlarmKind, severity: str, threshold: float, panel: str, **kwargs: Any) -> AlarmSpec:
            return metric_alarm(ctx, info, severity=severity, resource=self.key, subject=subject,
                                threshold=threshold, panel=panel, **kwargs)

        for info, metric_name, panel in ((READ_THROTTLES, "ReadThrottleEvents", "read-throttles"),
                                         (WRITE_THROTTLES, "WriteThrottleEvents", "write-throttles")):
            metrics = self.throttle_events(metric_name)
            for severity, threshold in ctx.each_severity(info.kind, self.key):
                if len(metrics) == 1:
                    specs.append(alarm(info, severity, threshold, panel, metric=metrics[0].at(p)))
                    continue
                specs.append(alarm(info, severity, threshold, panel,
                                   queries=self._summed(metrics, "throttles", f"{metric_name} (table and indexes)", p)))
        for severity, threshold in ctx.each_severity(SYSTEM_ERRORS.kind, self.key):
            specs.append(alarm(SYSTEM_ERRORS, severity, threshold, "system-errors",
                               queries=self._summed(self.system_errors(), "system_errors", "SystemErrors", p)))
        for operation in self.operations:
            latency = self.latency(operation)
            for severity, threshold in ctx.each_severity(LATENCY.kind, self.key):
                specs.append(alarm(
                    LATENCY, severity, threshold, "latency", qualifier=operation.lower(), detail=operation,
                    queries=(
                        Query("p99", latency.at(p), label=f"{operation} p99 (ms)"),
                        Query("requests", self.latency(operation, "SampleCount").at(p), label=f"{operation} requests"),
                        Query("latency", expression=gated("p99", "requests", ctx.min_requests),
                              label=f"{operation} p99 (ms)", return_data=True),
                    ),
                ))
        return specs

    @staticmethod
    def _summed(metrics: Sequence[Metric], id_: str, label: str, period: int) -> tuple[Query, ...]:
        queries = tuple(Query(f"m{i}", metric.at(period), label=metric.label) for i, metric in enumerate(metrics))
        return (*queries, Query(id_, expression="SUM(METRICS())", label=label, return_data=True))

    # -- graphs ---------------------------------------------------------------------------------

    def band(self, ctx: AlarmContext) -> Band:
        p = READ_THROTTLES.period

        def summed(metrics: Sequence[Metric], label: str) -> tuple:
            return (expression("SUM(METRICS())", "total", label),
                    *(hidden(metric, f"m{i}") for i, metric in enumerate(metrics)))

        panels = (
            Panel("capacity", "consumed capacity", (
                shown(self.consumed("ConsumedReadCapacityUnits", "Read units")),
                shown(self.consumed("ConsumedWriteCapacityUnits", "Write units")),
            ), "units", p),
            Panel("read-throttles", "read throttle events",
                  summed(self.throttle_events("ReadThrottleEvents"), "Read throttles (table and indexes)"), "count", p),
            Panel("write-throttles", "write throttle events",
                  summed(self.throttle_events("WriteThrottleEvents"), "Write throttles (table and indexes)"),
                  "count", p),
            Panel("system-errors", "system errors", summed(self.system_errors(), "System errors"), "count", p),
            Panel("latency", "successful request latency p99",
                  tuple(shown(self.latency(op)) for op in self.operations), "ms", p),
        )
        return Band(self.key, f"DynamoDB {self.key}", panels)

    def log_filters(self) -> list[LogFilter]:
        return []
