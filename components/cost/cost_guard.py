"""Cost guard: the stack watches its own spend (budget, cost anomaly alerts, cost allocation tags,
and optionally the account's us-east-1 billing alarm).

Everything computable is a pure function here, tested without Pulumi: the budget's filter and
notifications, the anomaly monitor and threshold, the cost allocation tag keys and the billing
dashboard. The billing alarm's us-east-1 topic is an AlertRouting like the service's own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alerting.alert_routing import AlertRouting, AlertRoutingArgs
from components.cost.allocation_tags import CostAllocationTags
from components.cost.settings import CostConfig
from components.monitoring.alarm_resources import metric_alarm_resource
from components.monitoring.catalog import AlarmContext, Thresholds
from components.monitoring.kinds import account
from components.monitoring.registry import KINDS
from components.types import COST_GUARD

# The tag keys that scope spend to one stack. Both must be active cost allocation tags, or AWS
# Budgets and Cost Anomaly Detection see no cost under them.
BUDGET_TAG_KEYS: tuple[str, ...] = ("Project", "Environment")
# The key the anomaly monitor watches (a customer-managed monitor takes one tag key; see below).
ANOMALY_TAG_KEY = "Project"

BUDGETS_PRINCIPAL = "budgets.amazonaws.com"
ANOMALY_PRINCIPAL = "costalerts.amazonaws.com"
CLOUDWATCH_PRINCIPAL = "cloudwatch.amazonaws.com"
BILLING_SEVERITY = "warning"

# AWS/Billing metrics exist only in us-east-1, whatever region the account uses.
BILLING_REGION = "us-east-1"
BILLING_PERIOD_SECONDS = account.ESTIMATED_CHARGES.period

RUNBOOK_BUDGET = "budget-and-anomaly"

PolicyDocument = dict[str, Any]


# --- budget -----------------------------------------------------------------------------------


def budget_filter_expression(tags: Mapping[str, str], keys: Sequence[str] = BUDGET_TAG_KEYS) -> dict[str, Any]:
    """The budget's filter: spend tagged with every one of `keys`, each with this stack's value.

    AWS Budgets has two filter syntaxes. The legacy `CostFilters` map spells a user tag as
    `TagKeyValue: ["user:Project$prodready", "user:Environment$prod"]` (the `user:` prefix marks a
    user-defined cost allocation tag, `$` separates key and value), but the values of one filter
    name are ORed: that filter would also count every other project's prod spend. The
    `FilterExpression` syntax (Cost Explorer's Expression) can AND them, so this is what we use:
    `And[Tags{Key: Project, Values: [prodready]}, Tags{Key: Environment, Values: [prod]}]`. Tag keys
    are written without the `user:` prefix there. It requires `metrics` on the budget.
    """
    missing = [key for key in keys if not tags.get(key)]
    if missing:
        raise ValueError(f"the stack's tags have no value for {missing}; the budget cannot be scoped")
    return {
        "ands": [
            {"tags": {"key": key, "values": [tags[key]], "match_options": ["EQUALS"]}} for key in keys
        ]
    }


def budget_filter_matches(expression: Mapping[str, Any], resource_tags: Mapping[str, str]) -> bool:
    """Whether spend carrying `resource_tags` falls under a budget filter expression.

    Evaluates the subset this module produces (And, Or, Tags with EQUALS), in either the SDK's
    snake_case or the wire's camelCase spelling; anything else is refused rather than guessed.
    """
    ands = expression.get("ands")
    ors = expression.get("ors")
    tag = expression.get("tags")
    if ands is not None:
        return all(budget_filter_matches(operand, resource_tags) for operand in ands)
    if ors is not None:
        return any(budget_filter_matches(operand, resource_tags) for operand in ors)
    if tag is not None:
        options = tag.get("match_options", tag.get("matchOptions")) or ["EQUALS"]
        if list(options) != ["EQUALS"]:
            raise ValueError(f"unsupported match options {options}")
        return resource_tags.get(tag["key"]) in set(tag["values"])
    raise ValueError(f"unsupported filter expression {dict(expression)}")


@dataclass(frozen=True)
class BudgetThreshold:
    notification_type: str
    """ACTUAL (spend so far this month) or FORECASTED (AWS's month-end forecast)."""
    threshold_percent: float
    """Percentage of the budgeted amount."""
    severity: str
    """Which alert topic hears about it: warning or critical."""


# Early warning at 80% spent, an alarm at 100% spent, and a warning as soon as the forecast says the
# month will end over budget (usually days before the actual crosses 100%).
BUDGET_THRESHOLDS: tuple[BudgetThreshold, ...] = (
    BudgetThreshold("ACTUAL", 80.0, "warning"),
    BudgetThreshold("ACTUAL", 100.0, "critical"),
    BudgetThreshold("FORECASTED", 100.0, "warning"),
)


def budget_notifications(
    emails: Sequence[str],
    topic_arns: Mapping[str, pulumi.Input[str] | None],
    thresholds: Sequence[BudgetThreshold] = BUDGET_THRESHOLDS,
) -> list[dict[str, Any]]:
    """The budget's notifications: each threshold to its severity's topic and to every email.

    `topic_arns` maps severity to topic ARN; a missing or None topic leaves that notification to
    email alone. A notification with neither is refused (AWS requires at least one subscriber).
    """
    notifications = []
    for item in thresholds:
        topic = topic_arns.get(item.severity)
        if topic is None and not emails:
            raise ValueError(f"budget notification {item} has no subscriber: give a topic or emails")
        notification: dict[str, Any] = {
            "notification_type": item.notification_type,
            "comparison_operator": "GREATER_THAN",
            "threshold": item.threshold_percent,
            "threshold_type": "PERCENTAGE",
        }
        if emails:
            notification["subscriber_email_addresses"] = list(emails)
        if topic is not None:
            notification["subscriber_sns_topic_arns"] = [topic]
        notifications.append(notification)
    return notifications


def budget_limit_amount(amount_usd: float) -> str:
    """The budget amount as AWS Budgets takes it: a decimal string."""
    return f"{amount_usd:.2f}"


# --- cost anomaly detection -------------------------------------------------------------------


def anomaly_monitor_specification(tags: Mapping[str, str], key: str = ANOMALY_TAG_KEY) -> str:
    """A customer-managed (CUSTOM) monitor over the spend tagged `key=<this stack's value>`.

    A monitor specification takes a single tag key, so it cannot AND Project with Environment as
    the budget does: it watches the whole project. An AWS services monitor (DIMENSIONAL/SERVICE)
    would watch the whole account and AWS allows only one of those per account.
    """
    return json.dumps({"Tags": {"Key": key, "Values": [tags[key]], "MatchOptions": ["EQUALS"]}})


def anomaly_threshold_expression(threshold_usd: float) -> dict[str, Any]:
    """Alert when an anomaly's total impact (USD) reaches the threshold."""
    return {
        "dimension": {
            "key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
            "match_options": ["GREATER_THAN_OR_EQUAL"],
            "values": [f"{threshold_usd:g}"],
        }
    }


def anomaly_subscribers(
    frequency: str, warning_topic_arn: pulumi.Input[str] | None, emails: Sequence[str]
) -> list[dict[str, Any]]:
    """Who hears about anomalies. Cost Anomaly Detection delivers IMMEDIATE alerts to SNS only and
    DAILY/WEEKLY digests to email only, so the frequency decides the channel."""
    if frequency == "IMMEDIATE":
        if warning_topic_arn is None:
            raise ValueError("IMMEDIATE anomaly alerts are delivered by SNS: a warning topic is required")
        return [{"type": "SNS", "address": warning_topic_arn}]
    if frequency in ("DAILY", "WEEKLY"):
        if not emails:
            raise ValueError(f"{frequency} anomaly digests are delivered by email: emails are required")
        return [{"type": "EMAIL", "address": email} for email in emails]
    raise ValueError(f"unknown anomaly frequency {frequency!r}")


# --- us-east-1 billing alarm: its key, topic and dashboard ------------------------------------


def billing_dashboard_body(alarm_arn: str, threshold_usd: float, budget_name: str) -> str:
    """The cost dashboard: the account's estimated charges against the alarm threshold."""
    body = {
        "widgets": [
            {
                "type": "metric",
                "x": 0,
                "y": 0,
                "width": 16,
                "height": 6,
                "properties": {
                    "title": "Estimated charges, month to date (whole account, USD)",
                    "region": BILLING_REGION,
                    "metrics": [["AWS/Billing", "EstimatedCharges", "Currency", "USD"]],
                    "stat": "Maximum",
                    "period": BILLING_PERIOD_SECONDS,
                    "view": "timeSeries",
                    "annotations": {
                        "horizontal": [{"label": "billing alarm", "value": threshold_usd}],
                    },
                },
            },
            {
                "type": "alarm",
                "x": 16,
                "y": 0,
                "width": 8,
                "height": 3,
                "properties": {"title": "Billing alarm", "alarms": [alarm_arn]},
            },
            {
                "type": "text",
                "x": 16,
                "y": 3,
                "width": 8,
                "height": 3,
                "properties": {
                    "markdown": (
                        f"This stack's own spend is tracked by the AWS Budgets budget **{budget_name}** "
                        "(Billing and Cost Management console, Budgets)."
                    )
                },
            },
        ]
    }
    return json.dumps(body, separators=(",", ":"))


# --- the component ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CostGuardArgs:
    name_prefix: str
    """Prefix of every physical name, `<service>-<stack>`."""
    tags: Mapping[str, str]
    """The tags the stack applies to every resource; the budget and the monitor filter on them, and
    the us-east-1 provider applies them as its default tags."""
    cost: CostConfig
    """Budget, anomaly and account-level settings from the stack config."""
    runbook_base_url: str
    """Where the runbooks (docs/runbooks) are published; alarm descriptions link there."""
    warning_topic_arn: pulumi.Input[str] | None = None
    """Warning alert topic (budget at 80%, forecast over budget, anomalies). Its topic and key
    policies must let budgets.amazonaws.com and costalerts.amazonaws.com publish."""
    critical_topic_arn: pulumi.Input[str] | None = None
    """Critical alert topic (budget exceeded)."""
    provider_settings: Mapping[str, Any] = field(default_factory=dict)
    """The stack's AWS provider settings (allowed accounts, profile, assumed roles) for the us-east-1
    provider too, so that it deploys where the stack's own provider does."""


class CostGuard(pulumi.ComponentResource):
    """Budget, cost anomaly alerts, cost allocation tags and the optional billing alarm of a stack."""

    budget_name: pulumi.Output[str]
    anomaly_monitor_arn: pulumi.Output[str]
    billing_alarm_arn: pulumi.Output[str] | None
    billing_topic_arn: pulumi.Output[str] | None
    cost_allocation_tags: CostAllocationTags | None

    def __init__(self, name: str, args: CostGuardArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COST_GUARD, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cost = args.cost
        topics = {"warning": args.warning_topic_arn, "critical": args.critical_topic_arn}

        # Account-level: activation is a switch on the payer's billing data, not something a stack
        # owns; it never fails a deployment while billing has not seen the keys yet (allocation_tags).
        self.cost_allocation_tags = None
        if cost.manage_cost_allocation_tags:
            self.cost_allocation_tags = CostAllocationTags(
                f"{name}-allocation-tags", BUDGET_TAG_KEYS, opts=pulumi.ResourceOptions(parent=self)
            )

        # The pure helpers build these inputs as plain dicts, which the SDK's TypedDict input types do not admit.
        budget = aws.budgets.Budget(  # type: ignore[call-overload]
            f"{name}-budget",
            name=f"{args.name_prefix}-monthly",
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=budget_limit_amount(cost.monthly_budget_usd),
            limit_unit="USD",
            metrics="UnblendedCost",
            filter_expression=budget_filter_expression(args.tags),
            notifications=budget_notifications(cost.budget_emails, topics),
            opts=child,
        )

        monitor = aws.costexplorer.AnomalyMonitor(
            f"{name}-anomaly-monitor",
            name=f"{args.name_prefix}-spend",
            monitor_type="CUSTOM",
            monitor_specification=anomaly_monitor_specification(args.tags),
            opts=child,
        )
        # The pure helpers build its inputs as plain dicts, which the SDK's TypedDict input types do not admit.
        aws.costexplorer.AnomalySubscription(  # type: ignore[call-overload]
            f"{name}-anomaly-alerts",
            name=f"{args.name_prefix}-anomalies",
            frequency=cost.anomaly_frequency,
            monitor_arn_lists=[monitor.arn],
            subscribers=anomaly_subscribers(cost.anomaly_frequency, args.warning_topic_arn, cost.budget_emails),
            threshold_expression=anomaly_threshold_expression(cost.anomaly_threshold_usd),
            opts=child,
        )

        self.billing_alarm_arn = None
        self.billing_topic_arn = None
        if cost.billing_alarm:
            self.billing_alarm_arn, self.billing_topic_arn = self._billing_alarm(
                name, args, budget_name=f"{args.name_prefix}-monthly"
            )

        self.budget_name = budget.name
        self.anomaly_monitor_arn = monitor.arn
        self.register_outputs(
            {
                "budgetName": self.budget_name,
                "anomalyMonitorArn": self.anomaly_monitor_arn,
                "billingAlarmArn": self.billing_alarm_arn,
                "billingTopicArn": self.billing_topic_arn,
                "pendingCostAllocationTags": (
                    self.cost_allocation_tags.pending_keys if self.cost_allocation_tags is not None else None
                ),
            }
        )

    def _billing_alarm(
        self, name: str, args: CostGuardArgs, budget_name: str
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """The account's EstimatedCharges alarm, in us-east-1 where the metric lives.

        An alarm can only notify a topic in its own region, so it gets a small us-east-1 topic,
        encrypted with a us-east-1 key, with the budget's email recipients subscribed.
        """
        threshold = float(args.cost.billing_alarm_threshold_usd or 0)
        east = aws.Provider(
            f"{name}-us-east-1",
            region=BILLING_REGION,
            default_tags=aws.ProviderDefaultTagsArgs(tags=dict(args.tags)),
            **args.provider_settings,
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_east = pulumi.ResourceOptions(parent=self, provider=east)
        # The same routing the service's alerts use, in us-east-1, for CloudWatch alone.
        billing_routing = AlertRouting(
            f"{name}-billing-routing",
            AlertRoutingArgs(
                name_prefix=f"{args.name_prefix}-billing",
                emails={BILLING_SEVERITY: args.cost.budget_emails},
                severities=(BILLING_SEVERITY,),
                publishers=(CLOUDWATCH_PRINCIPAL,),
            ),
            opts=pulumi.ResourceOptions(parent=self, providers=[east]),
        )
        # Handed out by the topic's policy: the alarm waits until CloudWatch may publish.
        topic_arn = billing_routing.topic_arns[BILLING_SEVERITY]
        # Named, described and tagged by the alarm catalog, like every alarm of the monitoring layer.
        ctx = AlarmContext(args.name_prefix, args.runbook_base_url, Thresholds(KINDS))
        spec = account.billing_alarm(ctx, threshold, BILLING_SEVERITY)
        alarm = metric_alarm_resource(f"{name}-billing-alarm", spec, [topic_arn], in_east)
        aws.cloudwatch.Dashboard(
            f"{name}-cost-dashboard",
            dashboard_name=f"{args.name_prefix}-cost",
            dashboard_body=alarm.arn.apply(lambda arn: billing_dashboard_body(arn, threshold, budget_name)),
            opts=in_east,
        )
        return alarm.arn, topic_arn
