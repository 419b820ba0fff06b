"""What every watched kind provides, and the log metric filters a watched resource asks for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from components.monitoring.catalog import AlarmContext, AlarmSpec
from components.monitoring.logs_insights import MetricFilterSpec
from components.monitoring.panels import Band


@dataclass(frozen=True)
class LogFilter:
    """A metric filter a watched resource needs on one of its log groups."""

    key: str
    """Logical-name and physical-name suffix: `<resource key>-<filter key>`."""
    log_group_name: Any
    """The log group (output)."""
    spec: MetricFilterSpec
    """Pattern and the metric it publishes."""
    namespace: str
    """Namespace the metric lands in."""


class Watched(Protocol):
    """A resource the operations layer watches: one type per kind, shared by alarms and dashboard."""

    # Read-only: the kinds are frozen dataclasses, whose fields a settable protocol attribute does not match.
    @property
    def key(self) -> str:
        """Short stable key, part of alarm and resource names."""
        ...

    def alarms(self, ctx: AlarmContext) -> list[AlarmSpec]:
        """Every alarm of this resource, from its metric definitions and the thresholds in force."""
        ...

    def band(self, ctx: AlarmContext) -> Band:
        """Its dashboard graphs, from the same metric definitions; alarms name their panel."""
        ...

    def log_filters(self) -> list[LogFilter]:
        """Metric filters its log-derived metrics need."""
        ...
