"""The cost guard's settings (budget, anomaly alerts, cost allocation tags, the billing alarm) and the
traffic level the estimate prices."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.settings import EMAIL_PATTERN, Settings


class CostConfig(Settings):
    monthly_budget_usd: float = Field(gt=0, le=1_000_000)
    """Monthly cost budget of this stack in USD, over the spend tagged with its Project and Environment."""
    budget_emails: tuple[str, ...] = Field(default=(), max_length=10)
    """Who receives the budget notifications by email (AWS Budgets allows 10 per notification); they also
    receive the anomaly digest when anomalyFrequency is DAILY or WEEKLY, and the billing alarm."""
    anomaly_threshold_usd: float = Field(default=10.0, gt=0, le=1_000_000)
    """Alert when a cost anomaly's total impact reaches this many USD."""
    anomaly_frequency: Literal["IMMEDIATE", "DAILY", "WEEKLY"] = "DAILY"
    """IMMEDIATE alerts go to the warning SNS topic; DAILY and WEEKLY digests go to budgetEmails (Cost
    Anomaly Detection sends SNS only for IMMEDIATE and email only for DAILY/WEEKLY)."""
    manage_cost_allocation_tags: bool = False
    """Activate the Project and Environment cost allocation tags. Account-level: exactly one stack per
    account sets this (the committed prod stack does); see the README."""
    billing_alarm: bool = False
    """Create the account-wide AWS/Billing EstimatedCharges alarm (us-east-1 only) and its dashboard."""
    billing_alarm_threshold_usd: float | None = Field(default=None, gt=0, le=1_000_000)
    """Month-to-date estimated charges of the whole account, in USD, that trip the billing alarm."""
    estimate_warn_share: float = Field(default=0.8, gt=0, le=1)
    """`make plan` warns when the estimate at the configured traffic exceeds this share of the budget."""

    @field_validator("budget_emails")
    @classmethod
    def _emails_are_addresses(cls, emails: tuple[str, ...]) -> tuple[str, ...]:
        for email in emails:
            if not re.match(EMAIL_PATTERN, email):
                raise ValueError(f"{email!r} is not an email address")
        if len(set(emails)) != len(emails):
            raise ValueError(f"duplicate addresses in {list(emails)}")
        return emails

    @model_validator(mode="after")
    def _recipients_exist(self) -> CostConfig:
        if self.anomaly_frequency != "IMMEDIATE" and not self.budget_emails:
            raise ValueError(
                f"anomalyFrequency {self.anomaly_frequency} delivers by email only: set budgetEmails "
                "or use IMMEDIATE (delivered to the warning topic)"
            )
        if self.billing_alarm and self.billing_alarm_threshold_usd is None:
            raise ValueError("billingAlarm needs billingAlarmThresholdUsd")
        if self.billing_alarm and not self.budget_emails:
            raise ValueError("billingAlarm notifies budgetEmails through a us-east-1 topic: set budgetEmails")
        return self


class TrafficConfig(Settings):
    """The traffic level the monthly cost estimate prices (`make plan`); creates no resources."""

    requests_per_month: int = Field(ge=0, le=100_000_000_000)
    """Client requests per month through the HTTP API."""
    average_duration_ms: float = Field(gt=0, le=900_000)
    """Average billed duration of one invocation, in ms."""
    average_payload_kb: float = Field(default=2.0, gt=0, le=10_240)
    """Average response size in KB (HTTP API meters 512 KB increments; data transfer out)."""
    function_log_bytes_per_request: int = Field(ge=0, le=10_000_000)
    """Bytes the function writes to its log group per invocation, platform records included."""
    access_log_bytes_per_request: int = Field(default=700, ge=0, le=100_000)
    """Bytes of one API access-log record."""
    read_units_per_request: float = Field(default=1.0, ge=0, le=10_000)
    """DynamoDB read request units per client request (0.5 per eventually consistent read of <= 4 KB)."""
    write_units_per_request: float = Field(default=0.2, ge=0, le=10_000)
    """DynamoDB write request units per client request, on the table alone (indexes are added from the plan)."""
    stored_gb: float = Field(ge=0, le=1_000_000)
    """Table data size in GB (indexes are added from the plan)."""
    canary_requests_per_run: int = Field(default=1, ge=0, le=1000)
    """API requests one canary run makes; they are billed like client requests, at rest too."""
    alerts_per_month: int = Field(default=20, ge=0, le=1_000_000)
    """Alarm and budget notifications published per month (SNS publishes and email deliveries)."""
    idempotent_requests_share: float = Field(default=0.05, ge=0, le=1)
    """Share of client requests that are creates with an Idempotency-Key (two write units each on the
    idempotency table, held until the record expires)."""
    token_requests_per_month: int = Field(default=1500, ge=0, le=1_000_000_000)
    """Access tokens machine callers request from Cognito per month (a caller that caches its token asks
    about once an hour: 730 a month; each smoke-test run asks twice)."""
    cold_start_share: float = Field(default=0.005, ge=0, le=1)
    """Share of invocations that start a new execution environment (each restores a SnapStart snapshot)."""
    releases_per_month: int = Field(default=20, ge=0, le=10_000)
    """Releases per month (each runs the pre-traffic hook, which invokes the new version twice)."""
