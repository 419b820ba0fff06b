"""Names of the business metrics the function emits in Embedded Metric Format.

Pure data on purpose: the dashboard imports it to graph exactly what the code emits. Every
metric is a Count with the single dimension `service`; Powertools adds `ColdStart` itself.
"""

from __future__ import annotations

ITEMS_CREATED = "ItemsCreated"
ITEMS_UPDATED = "ItemsUpdated"
ITEMS_DELETED = "ItemsDeleted"
ITEMS_NOT_FOUND = "ItemsNotFound"
VALIDATION_FAILURES = "ValidationFailures"

BUSINESS_METRICS: tuple[str, ...] = (
    ITEMS_CREATED,
    ITEMS_UPDATED,
    ITEMS_DELETED,
    ITEMS_NOT_FOUND,
    VALIDATION_FAILURES,
)
