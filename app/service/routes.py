"""The API Gateway route keys this function serves.

Pure data on purpose: the infrastructure imports this module to create one API route per
key, so it must stay importable without the function's dependencies.
"""

from __future__ import annotations

ROUTE_KEYS: tuple[str, ...] = (
    "GET /health/live",
    "GET /health/ready",
    "GET /items",
    "POST /items",
    "GET /items/{id}",
    "PUT /items/{id}",
    "DELETE /items/{id}",
)
