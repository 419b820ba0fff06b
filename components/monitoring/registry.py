"""Every alarm kind and watched type the operations layer knows: the catalog that thresholds, names,
runbook links and config validation refer to. One entry per watched kind module (docs/extending.md)."""

from __future__ import annotations

from components.monitoring import service_level
from components.monitoring.catalog import AlarmKind, kinds_by_name
from components.monitoring.kinds import (
    account,
    archive,
    backup,
    canary,
    certificate,
    edge,
    function,
    http_api,
    table,
    topic,
)

# Watched type of each scope (the `scope` of its alarm kinds).
WATCHED_TYPES: dict[str, type] = {
    "function": function.WatchedFunction,
    "api": http_api.WatchedApi,
    "table": table.WatchedTable,
    "canary": canary.WatchedCanary,
    "topic": topic.WatchedTopic,
    "certificate": certificate.WatchedCertificate,
    "edge": edge.WatchedEdge,
    "vault": backup.WatchedVault,
    "archive": archive.WatchedStream,
}

KINDS: dict[str, AlarmKind] = kinds_by_name(
    *function.ALARM_KINDS,
    *http_api.ALARM_KINDS,
    *table.ALARM_KINDS,
    *canary.ALARM_KINDS,
    *topic.ALARM_KINDS,
    *certificate.ALARM_KINDS,
    *edge.ALARM_KINDS,
    *backup.ALARM_KINDS,
    *archive.ALARM_KINDS,
    *account.ALARM_KINDS,
    *service_level.ALARM_KINDS,
)
