"""The watched kinds: one module each, defining that kind's metrics once and deriving from them its alarm
specs and its dashboard panels. Each is registered in components/monitoring/registry.py."""

from __future__ import annotations

from components.monitoring.kinds.archive import WatchedStream
from components.monitoring.kinds.backup import WatchedVault
from components.monitoring.kinds.base import LogFilter, Watched
from components.monitoring.kinds.canary import WatchedCanary
from components.monitoring.kinds.certificate import WatchedCertificate
from components.monitoring.kinds.function import WatchedFunction
from components.monitoring.kinds.http_api import WatchedApi
from components.monitoring.kinds.table import WatchedTable
from components.monitoring.kinds.topic import WatchedTopic

__all__ = [
    "LogFilter", "Watched", "WatchedApi", "WatchedCanary", "WatchedCertificate", "WatchedFunction", "WatchedStream",
    "WatchedTable", "WatchedTopic", "WatchedVault",
]
