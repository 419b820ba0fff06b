"""The cost estimate of each committed stack, as `make plan` prints and writes it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from components.config import load_stack_config
from tests.conftest import COMMITTED_STACKS
from tests.grants import can, grants
from tools.plan import cost
from tools.plan.__main__ import main
from tools.plan.harness import Plan, PlannedResource, committed_config


def _estimate(plan: Plan) -> cost.Estimate:
    config = load_stack_config(plan.stack, plan.config)
    return cost.estimate(plan, config.traffic, budget_usd=config.cost.monthly_budget_usd,
                         warn_share=config.cost.estimate_warn_share)


@pytest.mark.slow
@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_make_plan_prints_the_cost_table_and_headroom(stack: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"plan-{stack}.json"
    assert main(["--stack", stack, "--out", str(out), "--no-policy"]) == 0
    printed = capsys.readouterr().out
    config = load_stack_config(stack, json.loads(out.read_text())["config"])
    assert f"Monthly cost estimate, stack {stack} ({config.region})" in printed
    assert "free tier excluded" in printed
    for text in ("service subtotal", "operations subtotal", "Lambda requests", "HTTP API requests"):
        assert text in printed, text
    assert f"budget: ${config.cost.monthly_budget_usd:,.2f}/month" in printed and "headroom $" in printed
    document = json.loads((tmp_path / f"cost-{stack}.json").read_text())
    assert document["stack"] == stack and document["freeTier"] == "excluded"
    assert document["budgetUsd"] == config.cost.monthly_budget_usd
    totals = document["totals"]
    assert 0 < totals["rest"]["total"] < totals["traffic"]["total"]
    assert totals["traffic"]["total"] == pytest.approx(
        totals["traffic"]["service"] + totals["traffic"]["operations"], abs=0.011)


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_committed_stacks_stay_within_their_warning_share(plans: dict[str, Plan], stack: str) -> None:
    est = _estimate(plans[stack])
    assert est.warning is None, est.warning
    assert est.share_of_budget is not None and est.share_of_budget <= est.warn_share


def test_traffic_config_moves_the_estimate(prod_plan: Plan, plan_with: Callable[..., Plan]) -> None:
    config = load_stack_config("prod", prod_plan.config)
    doubled = config.traffic.model_dump(by_alias=True) | {"requestsPerMonth": 2 * config.traffic.requests_per_month}
    busier = _estimate(plan_with("prod", {"prodready:traffic": doubled}))
    base = _estimate(prod_plan)
    lambda_requests = [x for x in base.lines if x.item == "Lambda requests"]
    busier_requests = [x for x in busier.lines if x.item == "Lambda requests"]
    added = config.traffic.requests_per_month / 1e6 * lambda_requests[0].unit_price
    assert busier_requests[0].at_traffic - lambda_requests[0].at_traffic == pytest.approx(added)
    assert busier.total("traffic") > base.total("traffic")
    assert busier.total("rest") == pytest.approx(base.total("rest"))


def test_the_estimate_reads_the_plan_not_the_config(prod_plan: Plan) -> None:
    base = _estimate(prod_plan)
    alarms = prod_plan.of_type(cost.METRIC_ALARM)
    assert alarms, "prod has alarms"
    fewer = dataclasses.replace(prod_plan, resources=[r for r in prod_plan.resources if r.type != cost.METRIC_ALARM])
    saved = sum(
        line.at_rest for line in base.lines if line.item.startswith("CloudWatch alarms,")
    )
    assert saved > 0
    assert base.total("rest") - _estimate(fewer).total("rest") == pytest.approx(saved)
    billing = [x for x in base.lines if x.item == "CloudWatch alarms, standard" and x.region == "us-east-1"]
    assert [x.quantity_at_rest for x in billing] == [1], "the billing alarm is priced in us-east-1"


ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
BUDGETS = "Service:budgets.amazonaws.com"
ANOMALIES = "Service:costalerts.amazonaws.com"
CLOUDWATCH = "Service:cloudwatch.amazonaws.com"


def _alert_topics(plan: Plan) -> dict[str, PlannedResource]:
    """The topics the budget and the anomaly subscription notify, by ARN."""
    budget = plan.one("aws:budgets/budget:Budget")
    arns = {arn for n in budget.inputs["notifications"] for arn in n.get("subscriberSnsTopicArns", [])}
    subscription = plan.one("aws:costexplorer/anomalySubscription:AnomalySubscription")
    arns |= {s["address"] for s in subscription.inputs["subscribers"] if s["type"] == "SNS"}
    topics = {t.outputs["arn"]: t for t in plan.of_type("aws:sns/topic:Topic")}
    assert arns <= set(topics), arns - set(topics)
    return {arn: topics[arn] for arn in arns}


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_budget_and_anomaly_topics_accept_their_publishers_and_nothing_broader(
    plans: dict[str, Plan], stack: str
) -> None:
    plan = plans[stack]
    topics = _alert_topics(plan)
    assert len(topics) == 2, "the warning and the critical topic"
    policies = {
        p.inputs["arn"]: json.loads(p.inputs["policy"]) for p in plan.of_type("aws:sns/topicPolicy:TopicPolicy")
    }
    keys = {k.outputs["arn"]: json.loads(k.inputs["policy"]) for k in plan.of_type("aws:kms/key:Key")
            if k.inputs.get("policy")}
    # What each publisher sends as the request's source: Budgets its budget's ARN, Cost Anomaly Detection
    # the account alone (AWS's documented topic policies condition on exactly these).
    sources = {BUDGETS: {"aws:SourceArn": f"arn:aws:budgets::{ACCOUNT}:budget/catalog-{stack}-monthly"},
               ANOMALIES: {}}
    # AWS Backup publishes too, only where the stack has backups whose vault notifies (prod).
    publishers = (BUDGETS, ANOMALIES, CLOUDWATCH) + (
        ("Service:backup.amazonaws.com",) if plan.of_type("aws:backup/vaultNotifications:VaultNotifications") else ())
    for arn, topic in topics.items():
        policy = policies[arn]
        for publisher in (BUDGETS, ANOMALIES):
            ours = {"aws:SourceAccount": ACCOUNT, **sources[publisher]}
            assert can(policy, publisher, "sns:Publish", arn, ours), (topic.urn, publisher)
            assert not can(policy, publisher, "sns:Publish", arn, {**ours, "aws:SourceAccount": OTHER_ACCOUNT})
            assert not can(policy, publisher, "sns:Subscribe", arn, ours), (topic.urn, publisher)
        budgets_elsewhere = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": f"arn:aws:budgets::{OTHER_ACCOUNT}:b/x"}
        assert not can(policy, BUDGETS, "sns:Publish", arn, budgets_elsewhere), topic.urn
        for grant in grants(policy):
            assert grant.principal in publishers, (topic.urn, grant)
            assert grant.actions == {"sns:Publish"} and grant.resources == {arn}, (topic.urn, grant)
            assert grant.conditions["StringEquals"] == {"aws:SourceAccount": ACCOUNT}, (topic.urn, grant)
        key = keys[topic.inputs["kmsMasterKeyId"]]
        for publisher in (BUDGETS, ANOMALIES):
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                assert can(key, publisher, action, "*", ACCOUNT), (topic.urn, publisher, action)
                assert not can(key, publisher, action, "*", OTHER_ACCOUNT), (topic.urn, publisher, action)
            assert not can(key, publisher, "kms:Encrypt", "*", ACCOUNT), (topic.urn, publisher)
        for grant in grants(key):
            if grant.principal.startswith("Service:"):
                assert grant.principal in publishers, (topic.urn, grant)
                assert grant.actions <= {"kms:Decrypt", "kms:GenerateDataKey*"}, (topic.urn, grant)
                assert grant.conditions == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}, (topic.urn, grant)
            else:
                # Only the account itself, which then decides through IAM.
                assert grant.principal == f"AWS:arn:aws:iam::{ACCOUNT}:root", (topic.urn, grant)


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_budget_and_anomaly_monitor_are_stack_outputs(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    assert plan.outputs["budgetName"] == f"catalog-{stack}-monthly"
    assert plan.outputs["anomalyMonitorArn"] == plan.one("aws:costexplorer/anomalyMonitor:AnomalyMonitor").outputs[
        "arn"]


ALLOCATION_TAGS = "pulumi-python:dynamic/prodready:CostAllocationTags"


def test_only_prod_carries_the_account_level_resources(plans: dict[str, Plan]) -> None:
    counts = {
        stack: (sum(len(r.inputs["tagKeys"]) for r in plan.of_type(ALLOCATION_TAGS)),
                len([p for p in plan.of_type("pulumi:providers:aws") if p.inputs.get("region") == "us-east-1"]))
        for stack, plan in plans.items()
    }
    # The stack that owns the account's cost settings (prod) only; staging shares prod's profile, not them.
    assert counts == {"dev": (0, 0), "staging": (0, 0), "prod": (2, 1)}


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_budget_and_anomaly_alerts_wait_for_the_topic_policies(plans: dict[str, Plan], stack: str) -> None:
    # Cost Anomaly Detection (and Budgets) check that they may publish when the subscription or the
    # notification is created: the topic policy must exist first.
    plan = plans[stack]
    policies = {p.inputs["arn"]: p.urn for p in plan.of_type("aws:sns/topicPolicy:TopicPolicy")}
    checked = 0
    for type_ in ("aws:budgets/budget:Budget", "aws:costexplorer/anomalySubscription:AnomalySubscription"):
        resource = plan.one(type_)
        for arn in (arn for arn in _alert_topics(plan) if arn in json.dumps(resource.inputs)):
            assert policies[arn] in resource.dependencies, (resource.urn, arn)
            checked += 1
    # The budget notifies both topics; the prod profile's IMMEDIATE anomaly alerts the warning topic too
    # (dev mails a daily digest instead).
    assert checked == (3 if committed_config(stack).profile == "prod" else 2)


def test_the_release_signals_are_priced(prod_plan: Plan, plan_with: Callable[..., Plan]) -> None:
    # The version alarms read four AWS/Lambda metrics (errors, p99 and invocations twice), each billed as an
    # alarm metric; the SnapStart restore filter adds a custom metric and its alarm one alarm metric.
    alarms = {a.inputs["name"]: a for a in prod_plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    versions = [a for name, a in alarms.items() if "-lambda-version-" in name]
    assert len(versions) == 2 and sum(cost.alarm_metrics(a)[0] for a in versions) == 4
    without = plan_with("prod", {"prodready:lambda": {"snapStart": False}})

    def line(plan: Plan, item: str) -> float:
        est = _estimate(plan)
        return sum(x.quantity_at_traffic for x in est.lines if x.item == item)

    assert line(prod_plan, "CloudWatch custom metrics") - line(without, "CloudWatch custom metrics") == 1
    assert line(prod_plan, "CloudWatch alarms, standard") - line(without, "CloudWatch alarms, standard") == 1
    # Each release runs the post-traffic hook: itself and three reads through the alias.
    config = load_stack_config("prod", prod_plan.config)
    checks = line(prod_plan, "Lambda post-traffic checks (hook and alias)")
    assert checks == pytest.approx(config.traffic.releases_per_month * 4 / 1e6)
