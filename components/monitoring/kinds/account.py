"""Account-level signals: metrics CloudWatch publishes for the whole account and region only.

DynamoDB UserErrors has no table dimension; AWS/Billing EstimatedCharges exists only in us-east-1 and
covers every service of the account (the cost guard builds that alarm from this module).
"""

from __future__ import annotations

from components.monitoring.catalog import GT, AlarmContext, AlarmKind, AlarmSpec, metric_alarm
from components.monitoring.metrics import BILLING_NS, DYNAMODB_NS, Metric
from components.monitoring.panels import Band, Panel, shown

USER_ERRORS = AlarmKind(
    "dynamodb-user-errors", "DynamoDB user errors", "account", "count", GT,
    "more than {threshold:g} DynamoDB requests in this account and region were rejected as invalid (HTTP 400) "
    "over {window}", {"warning": 5})
# Billing data arrives a few times a day; 6 hours is the period AWS documents for these alarms.
ESTIMATED_CHARGES = AlarmKind(
    "billing-estimated-charges", "Billing: estimated charges over threshold", "account", "USD", GT,
    "the account's month-to-date estimated charges passed {threshold:g} USD (all services)", {},
    period=21600, treat_missing_data="missing", overridable=False)

ALARM_KINDS: tuple[AlarmKind, ...] = (USER_ERRORS, ESTIMATED_CHARGES)


def user_errors() -> Metric:
    return Metric(DYNAMODB_NS, "UserErrors", {}, "Sum", "DynamoDB user errors (account)")


def estimated_charges() -> Metric:
    return Metric(BILLING_NS, "EstimatedCharges", {"Currency": "USD"}, "Maximum", "Estimated charges (USD)")


def dynamodb_alarms(ctx: AlarmContext) -> list[AlarmSpec]:
    """UserErrors once per stack (CloudWatch publishes it per account and region only)."""
    return [
        metric_alarm(ctx, USER_ERRORS, severity=severity, resource="", subject=f"Service {ctx.prefix}",
                     threshold=threshold, panel="user-errors", metric=user_errors().at(USER_ERRORS.period),
                     extra="The metric has no table dimension; other workloads of the account count too.")
        for severity, threshold in ctx.each_severity(USER_ERRORS.kind)
    ]


def billing_alarm(ctx: AlarmContext, threshold_usd: float, severity: str = "warning") -> AlarmSpec:
    """The account's EstimatedCharges alarm. No data at all means billing alerts are off in the account:
    INSUFFICIENT_DATA (treat missing as missing) says so."""
    return metric_alarm(ctx, ESTIMATED_CHARGES, severity=severity, resource="", subject=f"Account of {ctx.prefix}",
                        threshold=threshold_usd, panel="estimated-charges",
                        metric=estimated_charges().at(ESTIMATED_CHARGES.period),
                        extra="AWS/Billing EstimatedCharges, whole account, all services.")


def dynamodb_band() -> Band:
    return Band("", "Account", (
        Panel("user-errors", "DynamoDB user errors (whole account and region)", (shown(user_errors()),), "count",
              USER_ERRORS.period, width=12),
    ))
