"""The committed stacks pass the pack, and breaking one thing in a correct plan yields exactly its violation.

Each mutation is applied to a copy of the real plan (inputs, which `Analyze` sees, and outputs,
which `AnalyzeStack` sees) and analysed as `pulumi up` would (every value known) and as the first
`pulumi preview` would (values computed on create unknown).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import COMMITTED_STACKS
from tests.policy.builders import mutate, remove
from tests.policy.conftest import summary
from tools.plan.harness import Plan, PlannedResource
from tools.plan.policy import VIEWS

DELETE = object()


def set_prop(key: str, value: Any) -> Callable[[PlannedResource], None]:
    """Change (or with DELETE remove) a property in both the inputs and the outputs of a resource."""

    def change(resource: PlannedResource) -> None:
        for props in (resource.inputs, resource.outputs):
            if value is DELETE:
                props.pop(key, None)
            else:
                props[key] = value

    return change


def one(plan: Plan, type_: str, name_suffix: str) -> PlannedResource:
    (found,) = [r for r in plan.resources if r.type == type_ and r.name.endswith(name_suffix)]
    return found


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
@pytest.mark.parametrize("view", VIEWS)
def test_committed_stack_has_no_violation(stack: str, view: str, plans: dict[str, Plan], analyze):
    report = analyze(plans[stack], views=(view,))
    # Not even advisory ones: an unknown value that a rule failed to handle shows up as advisory.
    assert summary(report) == []
    assert report.resources == len(plans[stack].resources)


@pytest.mark.parametrize("view", VIEWS)
def test_removing_a_retention_reports_that_log_group(view: str, prod_plan: Plan, analyze):
    group = one(prod_plan, "aws:cloudwatch/logGroup:LogGroup", "catalog-function-logs")
    report = analyze(mutate(prod_plan, group.urn, set_prop("retentionInDays", DELETE)), views=(view,))
    assert summary(report) == [(
        "log-group-retention", group.name,
        f"log group '{group.inputs['name']}' never expires: set retentionInDays (the stack allows 30-3653 days).",
    )]


@pytest.mark.parametrize("view", VIEWS)
def test_shortening_access_log_retention_below_the_security_minimum(view: str, prod_plan: Plan, analyze):
    group = one(prod_plan, "aws:cloudwatch/logGroup:LogGroup", "access-logs")
    report = analyze(mutate(prod_plan, group.urn, set_prop("retentionInDays", 60.0)), views=(view,))
    assert summary(report) == [(
        "log-group-retention", group.name,
        f"security/access log group '{group.inputs['name']}' keeps logs 60 days; the stack requires at least 90.",
    )]


@pytest.mark.parametrize("view", VIEWS)
def test_emptying_a_tag_reports_exactly_that_resource(view: str, prod_plan: Plan, analyze):
    table = one(prod_plan, "aws:dynamodb/table:Table", "table-dynamodb")
    report = analyze(mutate(prod_plan, table.urn, set_prop("tags", {"Owner": ""})), views=(view,))
    assert summary(report) == [(
        "required-tags", table.name, f"aws:dynamodb/table:Table '{table.name}' has empty value(s) for tag(s) Owner.",
    )]


def test_removing_a_default_tag_reports_every_taggable_resource_of_that_provider(prod_plan: Plan, analyze):
    from prodready_policy.tagging import is_taggable

    provider = one(prod_plan, "pulumi:providers:aws", "aws")
    tags = json.loads(provider.inputs["defaultTags"])
    del tags["tags"]["CostCenter"]
    report = analyze(mutate(prod_plan, provider.urn, set_prop("defaultTags", json.dumps(tags))))
    expected = sorted(
        r.urn for r in prod_plan.resources
        if r.custom and r.provider_urn == provider.urn and is_taggable(r.type) and "CostCenter" not in r.inputs.get(
            "tags", {})
    )
    assert expected, "the prod plan has taggable resources on its main provider"
    assert {v.policy for v in report.violations} == {"required-tags"}
    assert sorted(v.urn for v in report.violations) == expected
    assert all("missing required tag(s) CostCenter" in v.message for v in report.violations)


@pytest.mark.parametrize("view", VIEWS)
def test_removing_an_alarm_reports_the_resource_it_covered(view: str, prod_plan: Plan, analyze):
    alarm = one(prod_plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "api-lambda-throttles-warning")
    function = one(prod_plan, "aws:lambda/function:Function", "catalog-function-lambda")
    report = analyze(remove(prod_plan, alarm.urn), views=(view,))
    assert summary(report) == [(
        "alarm-coverage", function.name,
        f"Lambda function '{function.name}' has no alarm on AWS/Lambda Throttles "
        f"(FunctionName={function.inputs['name']}).",
    )]


@pytest.mark.parametrize("view", VIEWS)
def test_removing_a_log_derived_alarm_reports_the_function(view: str, prod_plan: Plan, analyze):
    alarm = one(prod_plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "api-lambda-error-logs-warning")
    function = one(prod_plan, "aws:lambda/function:Function", "catalog-function-lambda")
    report = analyze(remove(prod_plan, alarm.urn), views=(view,))
    assert [(p, name) for p, name, _ in summary(report)] == [("alarm-coverage", function.name)]
    assert "log-derived metric ErrorLogLines" in report.violations[0].message


@pytest.mark.parametrize("view", VIEWS)
def test_removing_an_alarm_action_reports_that_alarm(view: str, prod_plan: Plan, analyze):
    alarm = one(prod_plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "api-lambda-throttles-warning")
    report = analyze(mutate(prod_plan, alarm.urn, set_prop("alarmActions", [])), views=(view,))
    assert summary(report) == [(
        "alarm-routing", alarm.name,
        f"alarm '{alarm.name}' has no alarm actions and no routed composite alarm covers it.",
    )]


def test_removing_the_rollups_action_reports_it_and_every_critical_alarm_it_routed(prod_plan: Plan, analyze):
    rollup = one(prod_plan, "aws:cloudwatch/compositeAlarm:CompositeAlarm", "critical-rollup-critical")
    report = analyze(mutate(prod_plan, rollup.urn, set_prop("alarmActions", [])))
    names = {name for _, name, _ in summary(report)}
    assert {v.policy for v in report.violations} == {"alarm-routing"}
    assert rollup.name in names
    # Every critical alarm without actions of its own rode on the roll-up.
    critical = {r.name for r in prod_plan.resources
                if r.type.startswith("aws:cloudwatch/") and r.name.endswith("-critical") and not r.inputs.get(
                    "alarmActions")}
    assert critical <= names


@pytest.mark.parametrize("view", VIEWS)
def test_removing_a_runbook_link_reports_that_alarm(view: str, prod_plan: Plan, analyze):
    alarm = one(prod_plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "api-5xx-rate-warning")
    description = alarm.inputs["alarmDescription"]
    assert " Runbook: https://" in description
    stripped = description.split(" Runbook: ")[0]
    report = analyze(mutate(prod_plan, alarm.urn, set_prop("alarmDescription", stripped)), views=(view,))
    assert summary(report) == [(
        "alarm-runbook-link", alarm.name,
        f"alarm '{alarm.name}' description does not end with a runbook link "
        "(matching https://\\S+/docs/runbooks/[a-z0-9-]+\\.md).",
    )]


def test_dev_plan_breaks_prod_rules(dev_plan: Plan, analyze):
    """Dev is cheap by design; judged by prod's policy config it fails exactly where it differs."""
    from tools.plan.policy import POLICY_PACK_DIR

    report = analyze(dev_plan, config=POLICY_PACK_DIR / "config" / "prod.json")
    found = {(v.policy, v.urn.rsplit("::", 1)[-1]) for v in report.violations}
    table = one(dev_plan, "aws:dynamodb/table:Table", "table-dynamodb").name
    assert ("dynamodb-data-protection", table) in found
    function_logs = one(dev_plan, "aws:cloudwatch/logGroup:LogGroup", "catalog-function-logs").name
    assert ("log-group-retention", function_logs) in found
    # Dev keeps CloudWatch Logs' own encryption (its profile), which prod's config does not allow.
    assert ("log-group-encryption", function_logs) in found
    # Dev releases all at once (its profile), which prod's config forbids.
    assert ("lambda-safe-deployment", "catalog-delivery-group") in found
    # Dev backs up nothing (its profile): prod's config requires every table in a backup plan.
    assert ("dynamodb-backup-plan", table) in found
    # Its Environment tag is its own stack's name, which is what every profile's config requires.
    assert {p for p, _ in found} == {"dynamodb-data-protection", "log-group-retention", "log-group-encryption",
                                     "lambda-safe-deployment", "dynamodb-backup-plan"}
