"""Alarm coverage, routing, runbook links and alert-topic subscriptions."""

from __future__ import annotations

import pytest
from prodready_policy.alarms import (
    ALARM_COVERAGE,
    ALARM_ROUTING,
    RUNBOOK_LINK,
    TOPIC_SUBSCRIPTIONS,
    check_alarm_coverage,
    check_alarm_routing,
    check_runbook_link,
    check_topic_subscriptions,
    rule_alarm_references,
)
from prodready_policy.values import ResourceView

from tests.policy.builders import RUNBOOK, UNKNOWN, StackBuilder, stack_views
from tests.policy.conftest import summary

LAMBDA = "aws:lambda/function:Function"
STAGE = "aws:apigatewayv2/stage:Stage"
TABLE = "aws:dynamodb/table:Table"
COVERAGE = ALARM_COVERAGE.effective_config({
    "requiredMetrics": {LAMBDA: ["Errors", "Throttles"], STAGE: ["5xx"], TABLE: ["SystemErrors"]},
})


def coverage(stack: StackBuilder, config: dict | None = None) -> list[tuple[str, str]]:
    findings = check_alarm_coverage(stack_views(stack.plan()), config or COVERAGE)
    return sorted((urn.rsplit("::", 1)[-1], message) for urn, message in findings)


def _lambda_metric(query_id: str, name: str, function: object) -> dict:
    return {"id": query_id, "metric": {"namespace": "AWS/Lambda", "metricName": name,
                                       "dimensions": {"FunctionName": function}, "stat": "Sum", "period": 300.0}}


def test_simple_and_metric_math_alarms_cover_by_dimension_value():
    stack = StackBuilder()
    stack.function("api")
    stack.alarm("api-throttles", namespace="AWS/Lambda", metric="Throttles", dimensions={"FunctionName": "api"})
    # An error-rate alarm: Errors / Invocations. It watches Errors of the function.
    stack.alarm("api-error-rate", queries=[
        _lambda_metric("errors", "Errors", "api"), _lambda_metric("invocations", "Invocations", "api"),
        {"id": "rate", "expression": "100 * errors / invocations", "returnData": True},
    ])
    assert coverage(stack) == []


def test_an_alarm_on_another_function_does_not_cover():
    stack = StackBuilder()
    stack.function("api")
    stack.function("worker")
    for fn in ("api", "worker"):
        stack.alarm(f"{fn}-errors", namespace="AWS/Lambda", metric="Errors", dimensions={"FunctionName": fn})
    stack.alarm("api-throttles", namespace="AWS/Lambda", metric="Throttles", dimensions={"FunctionName": "api"})
    assert coverage(stack) == [
        ("worker-lambda",
         "Lambda function 'worker-lambda' has no alarm on AWS/Lambda Throttles (FunctionName=worker)."),
    ]


def test_unknown_dimension_values_match_through_property_dependencies():
    stack = StackBuilder()
    fn = stack.function("api")
    api, _ = stack.api_and_stage("a1b2c3d4e5")
    stack.table("items")
    # Preview: the function name, API id and table name are not known yet.
    stack.alarm("errors", namespace="AWS/Lambda", metric="Errors", dimensions={"FunctionName": UNKNOWN},
                deps={"dimensions": [fn]})
    stack.alarm("throttles", queries=[_lambda_metric("t", "Throttles", UNKNOWN)], deps={"metricQueries": [fn]})
    stack.alarm("5xx", namespace="AWS/ApiGateway", metric="5xx", dimensions={"ApiId": UNKNOWN, "Stage": "$default"},
                deps={"dimensions": [api]})
    stack.alarm("table-errors", namespace="AWS/DynamoDB", metric="SystemErrors",
                dimensions={"TableName": "items", "Operation": "GetItem"})
    assert coverage(stack) == []


def test_a_stage_dimension_of_another_stage_does_not_cover_it():
    stack = StackBuilder()
    api, _ = stack.api_and_stage("a1b2c3d4e5")
    stack.alarm("5xx", namespace="AWS/ApiGateway", metric="5xx", dimensions={"ApiId": UNKNOWN, "Stage": "beta"},
                deps={"dimensions": [api]})
    config = ALARM_COVERAGE.effective_config({"requiredMetrics": {STAGE: ["5xx"]}})
    assert coverage(stack, config) == [(
        "stage-a1b2c3d4e5",
        "HTTP API stage 'stage-a1b2c3d4e5' has no alarm on AWS/ApiGateway 5xx (ApiId=a1b2c3d4e5, Stage=$default).",
    )]


def test_wholly_unknown_metric_queries_cover_what_they_are_computed_from():
    stack = StackBuilder()
    fn = stack.function("api")
    stack.alarm("math", queries=UNKNOWN, deps={"metricQueries": [fn]})  # type: ignore[arg-type]
    config = ALARM_COVERAGE.effective_config({"requiredMetrics": {LAMBDA: ["Errors", "Throttles"]}})
    assert coverage(stack, config) == []


def _log_metric_filter(stack: StackBuilder, function: str, metric: str, namespace: str = "prodready/catalog-dev"):
    stack.add("aws:cloudwatch/logMetricFilter:LogMetricFilter", f"{function}-{metric}-filter", {
        "name": f"{function}-{metric}", "logGroupName": f"/aws/lambda/{function}", "pattern": '{ $.level = "ERROR" }',
        "metricTransformation": {"name": metric, "namespace": namespace, "value": "1"},
    })


def test_log_derived_metrics_cover_the_function_whose_log_group_the_filter_reads():
    stack = StackBuilder()
    stack.function("api")
    stack.function("worker")
    _log_metric_filter(stack, "api", "ErrorLogLines")
    _log_metric_filter(stack, "worker", "ErrorLogLines", namespace="prodready/other")
    stack.alarm("api-error-logs", namespace="prodready/catalog-dev", metric="ErrorLogLines", dimensions={})
    config = ALARM_COVERAGE.effective_config({"requiredMetrics": {}, "functionLogMetrics": ["ErrorLogLines"]})
    assert coverage(stack, config) == [(
        "worker-lambda",
        "Lambda function 'worker-lambda' has no alarm on the log-derived metric ErrorLogLines (a metric filter "
        "on its log group and an alarm on that metric).",
    )]


# -- routing ------------------------------------------------------------------------------------

ROUTING = ALARM_ROUTING.effective_config({})


def routing(stack: StackBuilder, config: dict | None = None) -> list[tuple[str, str]]:
    findings = check_alarm_routing(stack_views(stack.plan()), config or ROUTING)
    return sorted((urn.rsplit("::", 1)[-1], message) for urn, message in findings)


def _metric(stack: StackBuilder, name: str, **kwargs: object) -> str:
    return stack.alarm(name, namespace="AWS/Lambda", metric="Errors", dimensions={"FunctionName": "api"}, **kwargs)


def test_alarm_routed_to_a_stack_topic_passes_and_one_without_actions_is_reported():
    stack = StackBuilder()
    _, arn = stack.topic()
    _metric(stack, "routed", actions=[arn])
    _metric(stack, "silent")
    assert routing(stack) == [
        ("silent-alarm", "alarm 'silent-alarm' has no alarm actions and no routed composite alarm covers it."),
    ]


def test_children_of_a_routed_composite_are_covered_transitively():
    stack = StackBuilder()
    _, arn = stack.topic()
    for name in ("long", "short", "db"):
        _metric(stack, name)
    stack.composite("pair", 'ALARM("long") AND ALARM("short")')
    stack.composite("rollup", 'ALARM("pair") OR ALARM(db)', actions=[arn])
    stack.composite("orphan-pair", 'ALARM("long")')
    assert routing(stack) == [(
        "orphan-pair-composite",
        "composite alarm 'orphan-pair-composite' has no alarm actions and no routed composite alarm covers it.",
    )]


def test_foreign_topics_and_disabled_actions_are_not_routes():
    stack = StackBuilder()
    stack.topic()
    _metric(stack, "elsewhere", actions=["arn:aws:sns:eu-west-1:999999999999:other"])
    _metric(stack, "disabled", actions=["arn:aws:sns:eu-west-1:123456789012:alerts"],
            extra={"actionsEnabled": False})
    assert routing(stack) == [
        ("disabled-alarm", "alarm 'disabled-alarm' has actionsEnabled=false and no routed composite alarm covers it."),
        ("elsewhere-alarm", "alarm 'elsewhere-alarm' notifies arn:aws:sns:eu-west-1:999999999999:other, none of which "
                            "is an SNS topic of this stack and no routed composite alarm covers it."),
    ]
    allowed = ALARM_ROUTING.effective_config({"allowedExternalTopicArns": ["arn:aws:sns:eu-west-1:999999999999:other"]})
    assert [name for name, _ in routing(stack, allowed)] == ["disabled-alarm"]


def test_unknown_actions_and_rules_at_preview_resolve_through_property_dependencies():
    stack = StackBuilder()
    topic, _ = stack.topic()
    child = _metric(stack, "child")
    _metric(stack, "direct", actions=[UNKNOWN], deps={"alarmActions": [topic]})
    stack.composite("rollup", UNKNOWN, actions=[UNKNOWN], deps={"alarmActions": [topic], "alarmRule": [child]})
    _metric(stack, "nowhere", actions=[UNKNOWN])  # computed from no topic of this stack
    assert [name for name, _ in routing(stack)] == ["nowhere-alarm"]


def test_rule_references_cover_quoted_unquoted_at_least_and_arns():
    rule = ('ALARM("a") OR OK(b) OR AT_LEAST(2, ALARM, ("c", "d")) OR '
            'ALARM("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:e") AND NOT ALARM(\'f\')')
    assert sorted(rule_alarm_references(rule)) == sorted(
        ["a", "b", "c", "d", "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:e", "f"])


def test_ok_actions_can_be_required():
    stack = StackBuilder()
    _, arn = stack.topic()
    _metric(stack, "no-ok", actions=[arn])
    _metric(stack, "with-ok", actions=[arn], extra={"okActions": [arn]})
    config = ALARM_ROUTING.effective_config({"requireOkActions": True})
    assert [name for name, _ in routing(stack, config)] == ["no-ok-alarm"]


# -- runbook links ------------------------------------------------------------------------------


def _runbook(description: object, **config: object) -> list[str]:
    view = ResourceView("urn:a", "aws:cloudwatch/metricAlarm:MetricAlarm", "a", {"alarmDescription": description})
    return list(check_runbook_link(view, RUNBOOK_LINK.effective_config(config)))


def test_description_ending_with_a_runbook_link_passes():
    assert _runbook(f"Errors above 1%. Runbook: {RUNBOOK}/lambda-error-rate.md") == []
    assert _runbook(UNKNOWN) == []


@pytest.mark.parametrize("description", [
    "Errors above 1%.", None, f"See {RUNBOOK}/x.md for what to do.", "Runbook: http://wiki/x",
], ids=["no-link", "no-description", "link-not-last", "not-https-runbooks"])
def test_description_without_a_final_runbook_link_is_reported(description):
    (message,) = _runbook(description)
    assert "does not end with a runbook link" in message


def test_link_anywhere_when_not_required_at_end():
    assert _runbook(f"See {RUNBOOK}/x.md for what to do.", requireAtEnd=False) == []


# -- alert topic subscriptions ------------------------------------------------------------------


def subscriptions(stack: StackBuilder) -> list[tuple[str, str]]:
    findings = check_topic_subscriptions(stack_views(stack.plan()), TOPIC_SUBSCRIPTIONS.effective_config({}))
    return sorted((urn.rsplit("::", 1)[-1], message) for urn, message in findings)


def test_alert_topics_need_a_subscription_and_unused_topics_do_not():
    stack = StackBuilder()
    _, subscribed = stack.topic("warning")
    _, lonely = stack.topic("critical", subscriptions=0)
    stack.topic("unused", subscriptions=0)
    _metric(stack, "w", actions=[subscribed])
    _metric(stack, "c", extra={"okActions": [lonely]})
    assert subscriptions(stack) == [(
        "critical-topic",
        "alert topic 'critical-topic' has 0 subscription(s); at least 1 needed so notifications reach someone.",
    )]


def test_budget_topics_and_unknown_subscription_topics():
    stack = StackBuilder()
    topic, arn = stack.topic("budget", subscriptions=0)
    stack.add("aws:budgets/budget:Budget", "budget", {"notifications": [
        {"notificationType": "FORECASTED", "subscriberSnsTopicArns": [arn]}]})
    assert [name for name, _ in subscriptions(stack)] == ["budget-topic"]
    stack.add("aws:sns/topicSubscription:TopicSubscription", "late", {"topic": UNKNOWN, "protocol": "email"},
              deps={"topic": [topic]})
    assert subscriptions(stack) == []


@pytest.mark.parametrize("type_", ["aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration",
                                   "aws:chatbot/teamsChannelConfiguration:TeamsChannelConfiguration"])
def test_a_chat_channel_listing_the_topic_is_its_subscription(type_):
    stack = StackBuilder()
    _, paged = stack.topic("critical", subscriptions=0)
    warning_topic, noticed = stack.topic("warning", subscriptions=0)
    _metric(stack, "c", actions=[paged])
    _metric(stack, "w", actions=[noticed])
    # Chatbot subscribes itself to the topics a configuration lists; the other topic still has nobody.
    stack.add(type_, "chat", {"configurationName": "c", "snsTopicArns": [paged]})
    assert [name for name, _ in subscriptions(stack)] == ["warning-topic"]
    # At preview a listed ARN may be unknown: the topic it comes from counts.
    stack.add(type_, "chat-later", {"configurationName": "d", "snsTopicArns": [UNKNOWN]},
              deps={"snsTopicArns": [warning_topic]})
    assert subscriptions(stack) == []


# -- through the pack ---------------------------------------------------------------------------


def test_through_the_pack_a_covered_routed_subscribed_stack_passes_both_views(analyze):
    stack = StackBuilder()
    stack.function("api")
    _, arn = stack.topic()
    stack.alarm("errors", namespace="AWS/Lambda", metric="Errors", dimensions={"FunctionName": "api"}, actions=[arn])
    config = {"alarm-coverage": {"requiredMetrics": {LAMBDA: ["Errors"]}}}
    report = analyze(stack.plan(), views=("preview", "update"), config=config)
    assert summary(report) == []


def test_through_the_pack_each_alarm_gap_is_reported_on_its_resource(analyze):
    stack = StackBuilder()
    stack.function("api")
    _, arn = stack.topic("alerts", subscriptions=0)
    stack.alarm("errors", namespace="AWS/Lambda", metric="Errors", dimensions={"FunctionName": "api"},
                actions=[arn], description="Errors.")
    stack.alarm("orphan", namespace="AWS/Lambda", metric="Throttles", dimensions={"FunctionName": "api"})
    config = {"alarm-coverage": {"requiredMetrics": {LAMBDA: ["Errors", "Throttles", "Duration"]}}}
    report = analyze(stack.plan(), config=config)
    assert [(p, name) for p, name, _ in summary(report)] == [
        ("alarm-coverage", "api-lambda"),
        ("alarm-routing", "orphan-alarm"),
        ("alarm-runbook-link", "errors-alarm"),
        ("alert-topic-subscription", "alerts-topic"),
    ]
    assert all(v.mandatory for v in report.violations)


def test_topic_arn_taken_from_a_topic_policy_resolves_to_the_topic_at_preview():
    """Alarms often take `policy.arn` so they exist only once CloudWatch may publish to the topic."""
    stack = StackBuilder()
    topic, arn = stack.topic("alerts", subscriptions=0)
    policy = stack.add("aws:sns/topicPolicy:TopicPolicy", "alerts-policy", {"arn": UNKNOWN, "policy": UNKNOWN},
                       deps={"arn": [topic]})
    _metric(stack, "via-policy", actions=[UNKNOWN], deps={"alarmActions": [policy]})
    stack.add("aws:sns/topicSubscription:TopicSubscription", "sub", {"topic": UNKNOWN, "protocol": "email"},
              deps={"topic": [policy]})
    assert routing(stack) == []
    assert subscriptions(stack) == []
    # Known at update: the policy's arn names the topic directly.
    known = StackBuilder()
    _, arn = known.topic("alerts")
    known.add("aws:sns/topicPolicy:TopicPolicy", "alerts-policy", {"arn": arn, "policy": "{}"})
    _metric(known, "direct", actions=[arn])
    assert routing(known) == []
