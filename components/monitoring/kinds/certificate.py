"""Watched kind: an ACM certificate. Its metric once; its alarms and its graph from it.

ACM publishes `DaysToExpiry` once a day per certificate in AWS/CertificateManager (dimension CertificateArn),
in the certificate's region. ACM renews a DNS-validated certificate it issued from 60 days before expiry;
one still below 45 days did not renew (its validation record is gone, or the name moved), and an imported
one is never renewed by ACM at all. After expiry the metric stops: the alarm keeps its state on missing
data (an expired certificate stays in ALARM; a new one waits for its first datapoint instead of paging).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from components.monitoring.catalog import LT, AlarmContext, AlarmKind, AlarmSpec, metric_alarm
from components.monitoring.kinds.base import LogFilter
from components.monitoring.metrics import ACM_NS, Metric
from components.monitoring.panels import Band, Panel, shown

DAY = 86400
DAYS_TO_EXPIRY = AlarmKind(
    "certificate-days-to-expiry", "Certificate close to expiry", "certificate", "days", LT,
    "the {detail} certificate expires in less than {threshold:g} days: ACM did not renew it (or cannot: an "
    "imported certificate)", {"warning": 45, "critical": 14}, period=DAY, treat_missing_data="ignore")

ALARM_KINDS: tuple[AlarmKind, ...] = (DAYS_TO_EXPIRY,)
# The key of the API domain's certificate (`api.domain`).
DOMAIN_KEY = "domain"


def imported_key(certificate_arn: str) -> str:
    """The watched key of a certificate named in config: `cert-` and the first block of its id, stable while
    the list changes around it."""
    match = re.search(r"certificate/([0-9a-f]+)", certificate_arn)
    if not match:
        raise ValueError(f"{certificate_arn!r} is not an ACM certificate ARN")
    return f"cert-{match.group(1)}"


@dataclass(frozen=True)
class WatchedCertificate:
    """An ACM certificate to watch for expiry."""

    key: str
    """Short stable key used in alarm names (`domain`, or `cert-<id prefix>` for one named in config)."""
    certificate_arn: Any
    """The certificate's ARN (output)."""
    subject: str
    """What it secures, for descriptions and the dashboard (`api.example.com`)."""

    def days_to_expiry(self) -> Metric:
        return Metric(ACM_NS, "DaysToExpiry", {"CertificateArn": self.certificate_arn}, "Minimum", "Days to expiry")

    def alarms(self, ctx: AlarmContext) -> list[AlarmSpec]:
        return [
            metric_alarm(ctx, DAYS_TO_EXPIRY, severity=severity, resource=self.key,
                         subject=f"Certificate '{self.key}' of {ctx.prefix}", threshold=threshold,
                         panel="days-to-expiry", detail=self.subject,
                         metric=self.days_to_expiry().at(DAYS_TO_EXPIRY.period),
                         extra="ACM renews its DNS-validated certificates from 60 days before expiry.")
            for severity, threshold in ctx.each_severity(DAYS_TO_EXPIRY.kind, self.key)
        ]

    def band(self, ctx: AlarmContext) -> Band:
        return Band(self.key, f"Certificate {self.subject}", (
            Panel("days-to-expiry", "days to expiry", (shown(self.days_to_expiry()),), "days", DAYS_TO_EXPIRY.period,
                  width=12),
        ))

    def log_filters(self) -> list[LogFilter]:
        return []
