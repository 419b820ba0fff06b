"""Monitoring's settings: alert routing, thresholds, SLOs, tracing, the canary, the dashboard
(`ServiceMonitoring`'s own argument type)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from components.alerting.settings import ChatConfig
from components.monitoring.catalog import MAX_RUNBOOK_BASE_URL_LENGTH, threshold_problems
from components.monitoring.registry import KINDS
from components.settings import CERTIFICATE_ARN_PATTERN, EMAIL_PATTERN, NAMESPACE, Settings

Severity = Literal["critical", "warning"]

DEFAULT_RUNBOOK_BASE_URL = "https://github.com/example-org/prodready/blob/main/docs/runbooks"


class SloConfig(Settings):
    """Service-level objectives of the HTTP API, and their burn-rate alerts."""

    availability_target_percent: float = Field(default=99.9, ge=90, lt=100)
    """Share of requests that must not end in a 5xx, in percent (99.9 allows 43 min of full outage per 30 days)."""
    latency_target_percent: float = Field(default=99.0, ge=50, lt=100)
    """Share of requests that must complete within latencyThresholdMs, in percent."""
    latency_threshold_ms: int = Field(default=1000, ge=10, le=30000)
    """Latency a good request stays within (API Gateway's Latency metric)."""
    window_days: int = Field(default=30, ge=7, le=90)
    """SLO window; the burn-rate thresholds are derived from it (30 days gives the workbook's 14.4/6/1)."""
    burn_rate_alerts: bool = True
    """Create the multiwindow, multi-burn-rate alarms (page at 14.4x and 6x, ticket at 1x)."""


class TracingConfig(Settings):
    """X-Ray sampling and the faults group."""

    sampling_rate: float = Field(ge=0, le=1)
    """Share of requests traced after the reservoir is used up (1.0 = every request)."""
    reservoir_per_second: int = Field(default=1, ge=0, le=1000)
    """Requests per second traced before the rate applies."""
    insights: bool = True
    """X-Ray Insights with notifications on the faults-and-errors group."""


class CanaryConfig(Settings):
    """The synthetic health check."""

    enabled: bool = False
    """Run a CloudWatch Synthetics canary against the API's readiness route."""
    schedule: str = Field(default="rate(5 minutes)", pattern=r"^(rate\(\d+ (minute|minutes|hour|hours)\)|cron\(.+\))$")
    """Synthetics schedule expression: rate(N minutes|hours) or cron(...)."""
    path: str = Field(default="/health/ready", pattern=r"^/[A-Za-z0-9/_.-]*$")
    """Path the canary requests (a 2xx answer is a success)."""
    runtime_version: str = Field(default="syn-nodejs-puppeteer-15.0", pattern=r"^syn-nodejs-puppeteer-\d+\.\d+$")
    """Synthetics runtime; the script uses the runtime's @aws/synthetics-puppeteer module."""
    artifact_retention_days: int = Field(default=30, ge=1, le=455)
    """Days canary artifacts stay in S3 and run data in Synthetics."""
    timeout_seconds: int = Field(default=60, ge=15, le=840)
    """Run timeout (Synthetics wants at least 15 s)."""


class MaintenanceWindow(Settings):
    """A recurring maintenance window: alarm actions are muted (CloudWatch alarm mute rules) while it lasts."""

    days: list[Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]] = Field(min_length=1)
    """Weekdays it starts on (UTC)."""
    start_hour: int = Field(ge=0, le=23)
    """UTC hour it starts."""
    duration_hours: int = Field(ge=1, le=360)
    """How long alarm actions stay muted (a mute rule lasts at most 15 days)."""


class MonitoringConfig(Settings):
    """Alert routing, alarm thresholds, SLOs, dashboard, tracing and the synthetic check."""

    runbook_base_url: str = Field(default=DEFAULT_RUNBOOK_BASE_URL, pattern=r"^https://[^\s]+[^/\s]$",
                                  max_length=MAX_RUNBOOK_BASE_URL_LENGTH)
    """Where docs/runbooks is browsable; each alarm description ends with `<base>/<alarm kind>.md`, hence
    its bounded length (CloudWatch takes descriptions of at most 1,024 characters)."""
    alert_emails: dict[Severity, tuple[str, ...]] = {}
    """Email subscribers per severity (`critical` pages, `warning` notifies)."""
    webhook_secrets: dict[Severity, str] = {}
    """Per severity, the `namespace:key` of a secret config value holding an HTTPS endpoint (an incident
    tool's webhook), set with `pulumi config set --secret`; not in the `prodready` namespace."""
    chat: ChatConfig = ChatConfig()
    """Slack and Microsoft Teams channels that receive the alert topics (Amazon Q Developer in chat
    applications, formerly AWS Chatbot); off until a channel is listed."""
    thresholds: dict[str, dict[Severity, float | None]] = {}
    """Overrides of the default thresholds, by alarm kind then severity (`api-latency-p99: {warning: 500}`);
    a key `<resource key>/<kind>` overrides one watched resource only (`pre-traffic/lambda-duration-p99`);
    null removes that severity's alarm."""
    min_requests: int = Field(default=10, ge=1, le=1_000_000)
    """Requests (or invocations) a 5-minute period needs before rate and p99 alarms judge it."""
    expect_traffic: bool = True
    """The API always has traffic (the canary counts): alarm when it has none. False in a stack idle by design."""
    slo: SloConfig = SloConfig()
    """Availability and latency SLOs."""
    tracing: TracingConfig
    """X-Ray sampling rule and faults group."""
    canary: CanaryConfig = CanaryConfig()
    """Synthetic health check."""
    maintenance_windows: list[MaintenanceWindow] = Field(default_factory=list)
    """Recurring maintenance, e.g. [{days: [Sun], startHour: 2, durationHours: 2}]: a mute rule per window
    silences the actions of every alarm that notifies (the critical roll-up and the warning alarms) while it
    lasts; the alarms keep evaluating. The manual maintenance switch stays for unplanned work."""
    dashboard: bool = True
    """Create the service dashboard."""
    anomaly_detection: bool = False
    """Anomaly-detection band alarms (warning) on request count and p99 latency; the models need about two
    weeks of traffic to learn the band. Needs expectTraffic."""
    certificate_arns: tuple[str, ...] = Field(default=(), max_length=20)
    """Other ACM certificates of this region to watch for expiry (imported ones, which ACM never renews);
    the API domain's certificate is watched without being listed here."""

    @field_validator("certificate_arns")
    @classmethod
    def _certificates_are_acm_arns(cls, arns: tuple[str, ...]) -> tuple[str, ...]:
        for arn in arns:
            if not re.match(CERTIFICATE_ARN_PATTERN, arn):
                raise ValueError(f"{arn!r} is not an ACM certificate ARN")
        if len(set(arns)) != len(arns):
            raise ValueError(f"duplicate certificates in {list(arns)}")
        return arns

    @field_validator("alert_emails")
    @classmethod
    def _emails_are_addresses(cls, emails: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for severity, addresses in emails.items():
            for email in addresses:
                if not re.match(EMAIL_PATTERN, email):
                    raise ValueError(f"{severity}: {email!r} is not an email address")
            if len(set(addresses)) != len(addresses):
                raise ValueError(f"{severity}: duplicate addresses in {list(addresses)}")
        return emails

    @field_validator("webhook_secrets")
    @classmethod
    def _secrets_are_other_namespace_keys(cls, keys: dict[str, str]) -> dict[str, str]:
        for severity, key in keys.items():
            namespace, _, name = key.partition(":")
            if not re.match(r"^[A-Za-z0-9_.-]+$", namespace) or not re.match(r"^[A-Za-z0-9_.-]+$", name):
                raise ValueError(f"{severity}: {key!r} is not a config key of the form namespace:key")
            if namespace in (NAMESPACE, "aws"):
                raise ValueError(
                    f"{severity}: {key!r} must live outside the {NAMESPACE!r} and 'aws' namespaces, "
                    "e.g. alerting:criticalWebhookUrl"
                )
        return keys

    @field_validator("thresholds")
    @classmethod
    def _thresholds_name_known_kinds(
        cls, thresholds: dict[str, dict[str, float | None]], info: ValidationInfo
    ) -> dict[str, dict[str, float | None]]:
        problems = threshold_problems(thresholds, KINDS, (info.context or {}).get("watched"))
        if problems:
            raise ValueError("; ".join(problems))
        return thresholds

    @model_validator(mode="after")
    def _anomaly_bands_need_traffic(self) -> MonitoringConfig:
        if self.anomaly_detection and not self.expect_traffic:
            raise ValueError("anomalyDetection needs expectTraffic: a band learnt from an idle stack means nothing")
        return self

    @model_validator(mode="after")
    def _every_severity_reaches_someone(self) -> MonitoringConfig:
        chatted = {s for _, _, channel in self.chat.channels() for s in channel.severities}
        missing = [s for s in ("critical", "warning")
                   if not self.alert_emails.get(s) and s not in self.webhook_secrets and s not in chatted]
        if missing:
            raise ValueError(
                f"alertEmails/webhookSecrets/chat: no subscriber for {', '.join(missing)}; every alert topic needs "
                "at least one email address, webhook or chat channel"
            )
        return self
