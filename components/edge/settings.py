"""The edge's settings: a CloudFront distribution behind a WAF web ACL in front of the API."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from components.settings import Settings, check_retention


class CloudFrontConfig(Settings):
    """A CloudFront distribution in front of the API, behind a WAF web ACL (both global, managed in us-east-1)."""

    rate_limit_per_ip: int = Field(default=2000, ge=10, le=2_000_000_000)
    """Requests one client IP may make per evaluation window before WAF answers 429 with Retry-After."""
    rate_limit_per_client: int | None = Field(default=None, ge=10, le=2_000_000_000)
    """Requests per evaluation window for one Authorization header value (one token, so one client); none:
    no per-client rule. Requests without the header count under the per-IP rule only."""
    evaluation_window_seconds: Literal[60, 120, 300, 600] = 300
    """The window both rate rules count over (WAF accepts 60, 120, 300 or 600 seconds)."""
    waf_log_retention_days: int = 90
    """Retention of the web ACL's log group (`aws-waf-logs-<prefix>`, us-east-1)."""
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = "PriceClass_100"
    """Edge locations serving the API: 100 is North America and Europe (the cheapest)."""

    @field_validator("waf_log_retention_days")
    @classmethod
    def _retention_is_accepted(cls, value: int) -> int:
        return check_retention(value)


class EdgeConfig(Settings):
    """What stands in front of the API."""

    cloud_front: CloudFrontConfig | None = None
    """A CloudFront distribution with a WAF web ACL (managed rule groups, rate limits); needs api.domain: the
    name moves to the distribution and the API keeps a regional origin name, `origin.<name>`."""
