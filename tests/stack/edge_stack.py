"""A test-only stack config with the edge options on: the committed stack file plus `api.domain` (and what a
test adds). The committed stacks keep them off, since a real `pulumi up` needs a hosted zone the account
owns; these overrides are planned offline through the harness."""

from __future__ import annotations

import json
from typing import Any

from tools.plan.harness import stack_config

DOMAIN_NAME = "api.catalog.example.com"
ZONE_NAME = "example.com"
ZONE_ID = "Z0123456789ABCDEFGHIJ"
IMPORTED_CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/5e1f0c2a-7b3d-4e8f-9a10-b2c3d4e5f607"


def with_domain(stack: str = "prod", **domain: Any) -> dict[str, Any]:
    """Raw config overrides: the stack's `api` with a domain (by zone name unless `domain` says otherwise)."""
    raw, _ = stack_config(stack)
    api = json.loads(raw["prodready:api"])
    api["domain"] = {"name": DOMAIN_NAME, **(domain or {"hostedZoneName": ZONE_NAME})}
    return {"prodready:api": api}


def with_front(stack: str = "prod", **front: Any) -> dict[str, Any]:
    """Raw config overrides: the domain, and a CloudFront front with per-IP and per-client limits."""
    return {**with_domain(stack), "prodready:edge": {"cloudFront": {
        "rateLimitPerIp": 1000, "rateLimitPerClient": 600, **front}}}
