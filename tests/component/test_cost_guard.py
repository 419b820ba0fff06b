"""CostGuard under Pulumi's mocks, in a small program of its own fed by the committed stack files.

The program builds the provider the way `__main__.py` does, two alert topics standing in for the
monitoring layer's, and the cost guard; config variations go through the real loader.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.cost.cost_guard import budget_filter_matches
from tests.conftest import COMMITTED_STACKS
from tools.plan.harness import PROJECT_DIR, Plan, PlannedResource, run_plan

GUARD = "prodready:cost_guard:CostGuard"
BUDGET = "aws:budgets/budget:Budget"
MONITOR = "aws:costexplorer/anomalyMonitor:AnomalyMonitor"
SUBSCRIPTION = "aws:costexplorer/anomalySubscription:AnomalySubscription"
TAG = "pulumi-python:dynamic/prodready:CostAllocationTags"
PROVIDER = "pulumi:providers:aws"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
# The us-east-1 provider, an AlertRouting there (key, alias, topic, topic policy, subscriptions), alarm, dashboard.
BILLING_TYPES = {PROVIDER, "prodready:alert_routing:AlertRouting", "aws:kms/key:Key", "aws:kms/alias:Alias",
                 "aws:sns/topic:Topic", "aws:sns/topicPolicy:TopicPolicy",
                 "aws:sns/topicSubscription:TopicSubscription", ALARM, "aws:cloudwatch/dashboard:Dashboard"}
RUNBOOKS = "https://runbooks.example.com/prodready"

PROGRAM = '''
import pulumi
import pulumi_aws as aws

from components.config import load_stack_config, raw_pulumi_config
from components.cost.cost_guard import CostGuard, CostGuardArgs
from tests.conftest import COMMITTED_STACKS

WITH_TOPICS = {with_topics}
config = load_stack_config(pulumi.get_stack(), raw_pulumi_config())
provider = aws.Provider("aws", region=config.region, default_tags=aws.ProviderDefaultTagsArgs(tags=config.tags))
topics = {{
    severity: aws.sns.Topic(f"alerts-{{severity}}", name=f"{{config.prefix}}-alerts-{{severity}}",
                            opts=pulumi.ResourceOptions(provider=provider)).arn
    for severity in ("warning", "critical")
}} if WITH_TOPICS else {{}}
guard = CostGuard(
    "cost",
    CostGuardArgs(
        name_prefix=config.prefix,
        tags=config.tags,
        cost=config.cost,
        runbook_base_url="{runbooks}",
        warning_topic_arn=topics.get("warning"),
        critical_topic_arn=topics.get("critical"),
    ),
    opts=pulumi.ResourceOptions(providers=[provider]),
)
pulumi.export("budgetName", guard.budget_name)
pulumi.export("anomalyMonitorArn", guard.anomaly_monitor_arn)
'''


def _project(root: Path, with_topics: bool) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for path in PROJECT_DIR.glob("Pulumi*.yaml"):
        shutil.copy(path, root / path.name)
    (root / "__main__.py").write_text(PROGRAM.format(with_topics=with_topics, runbooks=RUNBOOKS))
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project(tmp_path_factory.mktemp("cost-guard"), with_topics=True)


@pytest.fixture(scope="module")
def prod(project: Path) -> Plan:
    return run_plan("prod", project_dir=project)


def committed_cost(stack: str, **changes: Any) -> dict[str, Any]:
    document = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())
    return {**document["config"]["prodready:cost"], **changes}


def _guarded(plan: Plan) -> list[PlannedResource]:
    """Every resource under the cost guard, however deep."""
    (guard,) = plan.of_type(GUARD)
    return plan.descendants(guard.urn)


def _types(plan: Plan) -> list[str]:
    return sorted(r.type for r in _guarded(plan))


def _topic_arn(plan: Plan, severity: str) -> str:
    (topic,) = [r for r in plan.of_type("aws:sns/topic:Topic") if r.name == f"alerts-{severity}"]
    return topic.outputs["arn"]


def test_prod_guard_has_budget_anomaly_alerts_tags_and_billing_alarm(prod: Plan) -> None:
    assert sorted(_types(prod)) == sorted([
        BUDGET, MONITOR, SUBSCRIPTION, TAG, PROVIDER, "prodready:alert_routing:AlertRouting",
        "aws:kms/key:Key", "aws:kms/alias:Alias", "aws:sns/topic:Topic",
        "aws:sns/topicPolicy:TopicPolicy", "aws:sns/topicSubscription:TopicSubscription",
        "aws:sns/topicSubscription:TopicSubscription", ALARM, "aws:cloudwatch/dashboard:Dashboard",
    ])
    for resource in _guarded(prod):
        assert resource.name.startswith("cost-"), resource.urn
    assert prod.outputs == {
        "budgetName": "catalog-prod-monthly",
        "anomalyMonitorArn": prod.one(MONITOR).outputs["arn"],
    }
    assert prod.outputs["anomalyMonitorArn"].startswith("arn:aws:ce::123456789012:anomalymonitor/")


def test_budget_notifications_on_the_plan(prod: Plan) -> None:
    budget = prod.one(BUDGET)
    assert (budget.inputs["budgetType"], budget.inputs["timeUnit"], budget.inputs["limitUnit"]) == (
        "COST", "MONTHLY", "USD"), budget.urn
    assert budget.inputs["limitAmount"] == "250.00", budget.urn
    warning, critical = _topic_arn(prod, "warning"), _topic_arn(prod, "critical")
    emails = committed_cost("prod")["budgetEmails"]
    assert [
        (n["notificationType"], n["comparisonOperator"], n["threshold"], n["thresholdType"],
         n["subscriberSnsTopicArns"], n["subscriberEmailAddresses"])
        for n in budget.inputs["notifications"]
    ] == [
        ("ACTUAL", "GREATER_THAN", 80.0, "PERCENTAGE", [warning], emails),
        ("ACTUAL", "GREATER_THAN", 100.0, "PERCENTAGE", [critical], emails),
        ("FORECASTED", "GREATER_THAN", 100.0, "PERCENTAGE", [warning], emails),
    ], budget.urn


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_budget_filter_matches_the_tags_the_stack_applies(project: Path, stack: str) -> None:
    plan = run_plan(stack, project_dir=project)
    budget = plan.one(BUDGET)
    expression = budget.inputs["filterExpression"]
    assert budget.inputs["metrics"] == "UnblendedCost" and "costFilters" not in budget.inputs, budget.urn
    tagged = [r for r in plan.resources if r.custom and "tagsAll" in r.outputs]
    assert tagged, "no tagged resource to compare with"
    for resource in tagged:
        assert budget_filter_matches(expression, resource.outputs["tagsAll"]), resource.urn
    other_stack = {**tagged[0].outputs["tagsAll"], "Environment": "prod" if stack == "dev" else "dev"}
    assert not budget_filter_matches(expression, other_stack)


def test_anomaly_alerts_prod_immediate_to_warning_topic(prod: Plan) -> None:
    subscription = prod.one(SUBSCRIPTION)
    monitor = prod.one(MONITOR)
    assert subscription.inputs["frequency"] == "IMMEDIATE"
    assert subscription.inputs["subscribers"] == [{"type": "SNS", "address": _topic_arn(prod, "warning")}]
    assert subscription.inputs["monitorArnLists"] == [monitor.outputs["arn"]]
    assert subscription.inputs["thresholdExpression"] == {"dimension": {
        "key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE", "matchOptions": ["GREATER_THAN_OR_EQUAL"], "values": ["10"]}}
    assert monitor.inputs["monitorType"] == "CUSTOM"
    assert json.loads(monitor.inputs["monitorSpecification"])["Tags"]["Values"] == ["prodready"]


def test_anomaly_alerts_dev_daily_digest_by_email(project: Path) -> None:
    dev = run_plan("dev", project_dir=project)
    subscription = dev.one(SUBSCRIPTION)
    assert subscription.inputs["frequency"] == "DAILY"
    assert subscription.inputs["subscribers"] == [
        {"type": "EMAIL", "address": email} for email in committed_cost("dev")["budgetEmails"]]


def test_anomaly_threshold_comes_from_config(project: Path) -> None:
    plan = run_plan("prod", project_dir=project,
                    config_overrides={"prodready:cost": committed_cost("prod", anomalyThresholdUsd=25)})
    assert plan.one(SUBSCRIPTION).inputs["thresholdExpression"]["dimension"]["values"] == ["25"]


def test_billing_alarm_switch_adds_exactly_its_resources(project: Path, prod: Plan) -> None:
    off = run_plan("prod", project_dir=project, config_overrides={"prodready:cost": committed_cost(
        "prod", billingAlarm=False)})
    remaining = list(_types(prod))
    for type_ in _types(off):
        remaining.remove(type_)
    # BILLING_TYPES, with one subscription per email.
    emails = len(committed_cost("prod")["budgetEmails"])
    extra_subscriptions = ["aws:sns/topicSubscription:TopicSubscription"] * (emails - 1)
    assert sorted(remaining) == sorted([*BILLING_TYPES, *extra_subscriptions])
    assert not [r for r in off.resources if r.type == PROVIDER and r.name == "cost-us-east-1"]


def test_cost_allocation_tag_switch_adds_exactly_the_tags(project: Path, prod: Plan) -> None:
    off = run_plan("prod", project_dir=project, config_overrides={"prodready:cost": committed_cost(
        "prod", manageCostAllocationTags=False)})
    assert off.of_type(TAG) == []
    assert len(_guarded(prod)) - len(_guarded(off)) == 1
    (tags,) = prod.of_type(TAG)
    assert tags.inputs["tagKeys"] == ["Project", "Environment"]
    # Planned as a new account's first deployment sees it: both keys pending, the update not failed.
    assert tags.outputs["pendingKeys"] == ["Environment", "Project"]
    assert {k: v["status"] for k, v in tags.outputs["statuses"].items()} == {"Project": "Pending",
                                                                          "Environment": "Pending"}


def test_billing_alarm_lives_in_us_east_1_and_routes_to_a_topic_there(prod: Plan) -> None:
    by_urn = prod.by_urn()
    (east,) = [r for r in prod.of_type(PROVIDER) if r.name == "cost-us-east-1"]
    (guard,) = prod.of_type(GUARD)
    assert east.parent == guard.urn and east.inputs["region"] == "us-east-1"
    alarm = prod.one(ALARM)
    assert alarm.provider_urn == east.urn, alarm.urn
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"], alarm.inputs["dimensions"]) == (
        "AWS/Billing", "EstimatedCharges", {"Currency": "USD"}), alarm.urn
    assert alarm.inputs["threshold"] == committed_cost("prod")["billingAlarmThresholdUsd"]
    assert alarm.inputs["name"] == "catalog-prod-billing-estimated-charges-warning"
    assert alarm.inputs["alarmDescription"].endswith(f"Runbook: {RUNBOOKS}/billing-estimated-charges.md")
    assert alarm.outputs["arn"].startswith("arn:aws:cloudwatch:us-east-1:"), alarm.urn
    (topic,) = [t for t in prod.of_type("aws:sns/topic:Topic") if [t.outputs["arn"]] == alarm.inputs["alarmActions"]]
    assert alarm.inputs["okActions"] == [topic.outputs["arn"]]
    assert topic.outputs["arn"].startswith("arn:aws:sns:us-east-1:"), topic.urn
    key = prod.one("aws:kms/key:Key")
    assert key.provider_urn == east.urn and topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    assert key.outputs["arn"].startswith("arn:aws:kms:us-east-1:")
    subscriptions = prod.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted((s.inputs["protocol"], s.inputs["endpoint"], s.inputs["topic"]) for s in subscriptions) == sorted(
        ("email", e, topic.outputs["arn"]) for e in committed_cost("prod")["budgetEmails"])
    policy = prod.one("aws:sns/topicPolicy:TopicPolicy")
    assert policy.inputs["arn"] == topic.outputs["arn"] and by_urn[policy.parent].parent == guard.urn
    assert policy.urn in alarm.dependencies, "the alarm must wait for the topic to accept CloudWatch"


def test_us_east_1_provider_applies_the_stack_tags(prod: Plan) -> None:
    providers = {r.name: json.loads(r.inputs["defaultTags"])["tags"] for r in prod.of_type(PROVIDER)}
    assert providers["cost-us-east-1"] == providers["aws"]
    for resource in _guarded(prod):
        if "tagsAll" in resource.outputs:
            assert resource.outputs["tagsAll"]["Environment"] == "prod", resource.urn


def test_without_alert_topics_budget_mails_and_immediate_alerts_are_refused(tmp_path: Path) -> None:
    project = _project(tmp_path / "no-topics", with_topics=False)
    dev = run_plan("dev", project_dir=project)
    assert all("subscriberSnsTopicArns" not in n for n in dev.one(BUDGET).inputs["notifications"])
    with pytest.raises(Exception, match="IMMEDIATE anomaly alerts are delivered by SNS"):
        run_plan("prod", project_dir=project)
