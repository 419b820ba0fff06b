"""Cost guard documents as data: budget filter and notifications, anomaly alerts, us-east-1 policies."""

from __future__ import annotations

import json

import pytest

from components.alerting import documents as routing
from components.cost import cost_guard as cg
from tests.grants import can, grants

TAGS = {"Project": "prodready", "Environment": "prod", "Service": "catalog", "Owner": "team@example.com",
        "CostCenter": "CC-1", "ManagedBy": "pulumi"}
ACCOUNT = "123456789012"
WARNING = "arn:aws:sns:eu-west-1:123456789012:catalog-prod-alerts-warning"
CRITICAL = "arn:aws:sns:eu-west-1:123456789012:catalog-prod-alerts-critical"
BILLING_TOPIC = "arn:aws:sns:us-east-1:123456789012:catalog-prod-billing"


def test_each_notification_has_its_type_comparison_threshold_and_topic() -> None:
    notifications = cg.budget_notifications(["a@example.com"], {"warning": WARNING, "critical": CRITICAL})
    assert [
        (n["notification_type"], n["comparison_operator"], n["threshold"], n["threshold_type"],
         n["subscriber_sns_topic_arns"])
        for n in notifications
    ] == [
        ("ACTUAL", "GREATER_THAN", 80.0, "PERCENTAGE", [WARNING]),
        ("ACTUAL", "GREATER_THAN", 100.0, "PERCENTAGE", [CRITICAL]),
        ("FORECASTED", "GREATER_THAN", 100.0, "PERCENTAGE", [WARNING]),
    ]
    assert all(n["subscriber_email_addresses"] == ["a@example.com"] for n in notifications)


def test_notifications_without_topics_go_to_email_alone_and_never_to_nobody() -> None:
    notifications = cg.budget_notifications(["a@example.com"], {})
    assert all("subscriber_sns_topic_arns" not in n for n in notifications)
    with pytest.raises(ValueError, match="no subscriber"):
        cg.budget_notifications([], {"warning": WARNING})  # the critical one would reach nobody
    topics_only = cg.budget_notifications([], {"warning": WARNING, "critical": CRITICAL})
    assert all("subscriber_email_addresses" not in n for n in topics_only)


def test_budget_filter_requires_project_and_environment_together() -> None:
    expression = cg.budget_filter_expression(TAGS)
    assert expression == {"ands": [
        {"tags": {"key": "Project", "values": ["prodready"], "match_options": ["EQUALS"]}},
        {"tags": {"key": "Environment", "values": ["prod"], "match_options": ["EQUALS"]}},
    ]}
    assert cg.budget_filter_matches(expression, TAGS)
    # Another environment of the project, or another project in the same environment: not ours.
    assert not cg.budget_filter_matches(expression, {**TAGS, "Environment": "dev"})
    assert not cg.budget_filter_matches(expression, {**TAGS, "Project": "billing"})
    assert not cg.budget_filter_matches(expression, {"Environment": "prod"})


def test_budget_filter_refuses_tags_without_a_scope() -> None:
    with pytest.raises(ValueError, match="Environment"):
        cg.budget_filter_expression({"Project": "prodready"})


def test_filter_reader_understands_the_wire_spelling_and_refuses_what_it_cannot_judge() -> None:
    wire = {"ands": [{"tags": {"key": "Project", "values": ["prodready"], "matchOptions": ["EQUALS"]}}]}
    assert cg.budget_filter_matches(wire, TAGS)
    with pytest.raises(ValueError):
        cg.budget_filter_matches({"dimensions": {"key": "SERVICE", "values": ["x"]}}, TAGS)
    with pytest.raises(ValueError):
        cg.budget_filter_matches({"tags": {"key": "Project", "values": ["p"], "matchOptions": ["CONTAINS"]}}, TAGS)


def test_budget_amount_is_a_decimal_string() -> None:
    assert cg.budget_limit_amount(200) == "200.00"
    assert cg.budget_limit_amount(12.5) == "12.50"


def test_anomaly_monitor_watches_the_project_tag() -> None:
    assert json.loads(cg.anomaly_monitor_specification(TAGS)) == {
        "Tags": {"Key": "Project", "Values": ["prodready"], "MatchOptions": ["EQUALS"]}
    }


def test_anomaly_threshold_is_total_impact_in_usd() -> None:
    assert cg.anomaly_threshold_expression(10) == {"dimension": {
        "key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE", "match_options": ["GREATER_THAN_OR_EQUAL"], "values": ["10"]}}
    assert cg.anomaly_threshold_expression(12.5)["dimension"]["values"] == ["12.5"]


def test_anomaly_channel_follows_the_frequency() -> None:
    assert cg.anomaly_subscribers("IMMEDIATE", WARNING, ["a@example.com"]) == [{"type": "SNS", "address": WARNING}]
    assert cg.anomaly_subscribers("DAILY", WARNING, ["a@example.com", "b@example.com"]) == [
        {"type": "EMAIL", "address": "a@example.com"}, {"type": "EMAIL", "address": "b@example.com"}]
    with pytest.raises(ValueError, match="SNS"):
        cg.anomaly_subscribers("IMMEDIATE", None, ["a@example.com"])
    with pytest.raises(ValueError, match="email"):
        cg.anomaly_subscribers("WEEKLY", WARNING, [])


def test_billing_topic_policy_lets_cloudwatch_publish_for_this_account_only() -> None:
    policy = routing.alert_topic_policy(BILLING_TOPIC, ACCOUNT, publishers=[cg.CLOUDWATCH_PRINCIPAL])
    assert can(policy, "Service:cloudwatch.amazonaws.com", "sns:Publish", BILLING_TOPIC, ACCOUNT)
    assert not can(policy, "Service:cloudwatch.amazonaws.com", "sns:Publish", BILLING_TOPIC, "210987654321")
    assert not can(policy, "Service:cloudwatch.amazonaws.com", "sns:Subscribe", BILLING_TOPIC, ACCOUNT)
    assert not can(policy, "Service:budgets.amazonaws.com", "sns:Publish", BILLING_TOPIC, ACCOUNT)
    assert not can(policy, "AWS:arn:aws:iam::210987654321:root", "sns:Publish", BILLING_TOPIC, ACCOUNT)
    assert [g.principal for g in grants(policy)] == ["Service:cloudwatch.amazonaws.com"]


def test_billing_key_policy_lets_cloudwatch_encrypt_and_the_account_administer() -> None:
    policy = routing.alert_key_policy(ACCOUNT, publishers=[cg.CLOUDWATCH_PRINCIPAL])
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert can(policy, "Service:cloudwatch.amazonaws.com", action, "*", ACCOUNT), action
        assert not can(policy, "Service:cloudwatch.amazonaws.com", action, "*", "210987654321"), action
    assert not can(policy, "Service:cloudwatch.amazonaws.com", "kms:ScheduleKeyDeletion", "*", ACCOUNT)
    assert not can(policy, "Service:costalerts.amazonaws.com", "kms:Decrypt", "*", ACCOUNT)
    principals = {g.principal for g in grants(policy)}
    assert principals == {f"AWS:arn:aws:iam::{ACCOUNT}:root", "Service:cloudwatch.amazonaws.com"}


def test_billing_alarm_name_and_dashboard() -> None:
    assert cg.billing_alarm_name("catalog-prod") == "catalog-prod-billing-estimated-charges-warning"
    body = json.loads(cg.billing_dashboard_body("arn:aws:cloudwatch:us-east-1:1:alarm:x", 400, "catalog-prod-monthly"))
    metric, alarm, text = body["widgets"]
    assert metric["properties"]["region"] == "us-east-1"
    assert metric["properties"]["metrics"] == [["AWS/Billing", "EstimatedCharges", "Currency", "USD"]]
    assert metric["properties"]["annotations"]["horizontal"][0]["value"] == 400
    assert alarm["properties"]["alarms"] == ["arn:aws:cloudwatch:us-east-1:1:alarm:x"]
    assert "catalog-prod-monthly" in text["properties"]["markdown"]


def test_email_slug_is_stable_and_safe() -> None:
    assert routing.email_slug("Platform.Team+cost@Example.com") == "platform-team-cost-example-com"
