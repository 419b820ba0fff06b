"""Retention: log group ranges, Lambda log groups, stage access logs, DynamoDB recoverability."""

from __future__ import annotations

import pytest
from prodready_policy.retention import (
    ACCESS_LOGGING,
    DATA_PROTECTION,
    LAMBDA_LOG_GROUP,
    LOG_GROUP_RETENTION,
    check_lambda_log_groups,
    check_log_group_retention,
    check_stage_access_logging,
    check_table_protection,
)
from prodready_policy.values import ResourceView

from tests.policy.builders import UNKNOWN, StackBuilder
from tests.policy.conftest import summary

PROD = LOG_GROUP_RETENTION.effective_config({"minDays": 30.0, "maxDays": 3653.0, "securityMinDays": 90.0})
DEV = LOG_GROUP_RETENTION.effective_config({"minDays": 1, "maxDays": 30, "securityMinDays": 14})


def _group(name: object, retention: object) -> ResourceView:
    props = {"name": name}
    if retention is not None:
        props["retentionInDays"] = retention
    return ResourceView("urn:lg", "aws:cloudwatch/logGroup:LogGroup", "lg", props)


@pytest.mark.parametrize("retention", [90.0, 90, 365.0, 3653.0], ids=["float", "int", "year", "max"])
def test_prod_function_logs_within_range_pass(retention):
    assert list(check_log_group_retention(_group("/aws/lambda/api", retention), PROD)) == []


@pytest.mark.parametrize("retention", [None, 0, 0.0], ids=["unset", "zero-int", "zero-float"])
def test_never_expiring_log_group_is_reported(retention):
    (message,) = check_log_group_retention(_group("/aws/lambda/api", retention), PROD)
    assert "never expires" in message and "30-3653" in message


def test_too_short_and_too_long_are_reported_with_the_stack_range():
    (short,) = check_log_group_retention(_group("/aws/lambda/api", 14.0), PROD)
    assert "keeps logs 14 days; the stack requires at least 30" in short
    (long_,) = check_log_group_retention(_group("/aws/lambda/api", 60.0), DEV)
    assert "keeps logs 60 days; the stack allows at most 30" in long_


def test_access_logs_need_the_security_minimum():
    (message,) = check_log_group_retention(_group("/aws/apigateway/catalog-prod/access-logs", 60.0), PROD)
    assert "security/access log group" in message and "at least 90" in message
    assert list(check_log_group_retention(_group("/aws/apigateway/catalog-prod/access-logs", 365.0), PROD)) == []
    assert list(check_log_group_retention(_group("/aws/apigateway/catalog-dev/access-logs", 14.0), DEV)) == []
    assert list(check_log_group_retention(_group("/audit/trail", 7.0), DEV))  # audit: at least 14 in dev


def test_value_cloudwatch_does_not_accept():
    messages = list(check_log_group_retention(_group("/aws/lambda/api", 100.0), PROD))
    assert any("does not accept" in m for m in messages)


def test_unknown_retention_or_name_at_preview():
    assert list(check_log_group_retention(_group("/aws/lambda/api", UNKNOWN), PROD)) == []
    # Unknown name: the general range still applies.
    assert list(check_log_group_retention(_group(UNKNOWN, 90.0), PROD)) == []
    assert list(check_log_group_retention(_group(UNKNOWN, 7.0), PROD))


# -- Lambda log groups (stack policy) -----------------------------------------------------------


def _lambda_findings(stack: StackBuilder) -> list[tuple[str | None, str]]:
    plan = stack.plan()
    views = [ResourceView(r.urn, r.type, r.name, r.outputs, tuple(r.dependencies), r.property_dependencies)
             for r in plan.resources]
    return list(check_lambda_log_groups(views, LAMBDA_LOG_GROUP.effective_config({})))


def test_function_with_its_own_log_group_passes():
    stack = StackBuilder()
    stack.function("api")
    assert _lambda_findings(stack) == []


def test_function_logging_to_the_default_group_that_exists_passes():
    stack = StackBuilder()
    stack.log_group("/aws/lambda/worker", 7.0)
    stack.function("worker", log_group=None)
    assert _lambda_findings(stack) == []


def test_function_without_a_managed_group_is_reported():
    stack = StackBuilder()
    stack.function("worker", log_group=None)
    ((urn, message),) = _lambda_findings(stack)
    assert urn.endswith("::worker-lambda") and "'/aws/lambda/worker'" in message


def test_function_naming_a_group_outside_the_stack_is_reported():
    stack = StackBuilder()
    stack.function("worker", log_group="/shared/somewhere")
    ((_, message),) = _lambda_findings(stack)
    assert "'/shared/somewhere', which is not a log group of this stack" in message


def test_unknown_log_group_name_is_matched_through_property_dependencies():
    stack = StackBuilder()
    group = stack.log_group("/aws/lambda/x", 7.0)
    stack.add("aws:lambda/function:Function", "fn", {"name": "fn", "loggingConfig": {"logGroup": UNKNOWN}},
              deps={"loggingConfig": [group]})
    assert _lambda_findings(stack) == []
    orphan = StackBuilder()
    orphan.add("aws:lambda/function:Function", "fn", {"name": "fn", "loggingConfig": {"logGroup": UNKNOWN}})
    assert len(_lambda_findings(orphan)) == 1


# -- stage access logging -----------------------------------------------------------------------


def _stage(settings: object) -> ResourceView:
    props = {"name": "$default"} if settings is None else {"name": "$default", "accessLogSettings": settings}
    return ResourceView("urn:s", "aws:apigatewayv2/stage:Stage", "stage", props)


ACCESS = ACCESS_LOGGING.effective_config({})
FORMAT = '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","status":"$context.status"}'


def test_stage_with_access_logs_passes_and_unknown_destination_passes():
    assert list(check_stage_access_logging(_stage({"destinationArn": "arn:x", "format": FORMAT}), ACCESS)) == []
    assert list(check_stage_access_logging(_stage({"destinationArn": UNKNOWN, "format": FORMAT}), ACCESS)) == []
    assert list(check_stage_access_logging(_stage(UNKNOWN), ACCESS)) == []


def test_stage_without_access_logs_or_with_a_thin_format_is_reported():
    (message,) = check_stage_access_logging(_stage(None), ACCESS)
    assert "has no access logging" in message
    (message,) = check_stage_access_logging(_stage({"destinationArn": "arn:x", "format": "$context.requestId"}),
                                            ACCESS)
    assert "lacks $context.status, $context.identity.sourceIp" in message


# -- DynamoDB -----------------------------------------------------------------------------------


def _table(pitr: object, protected: object) -> ResourceView:
    return ResourceView("urn:t", "aws:dynamodb/table:Table", "t",
                        {"name": "items", "pointInTimeRecovery": {"enabled": pitr},
                         "deletionProtectionEnabled": protected})


def test_prod_tables_need_pitr_and_deletion_protection():
    prod = DATA_PROTECTION.effective_config({"requirePointInTimeRecovery": True, "requireDeletionProtection": True})
    assert list(check_table_protection(_table(True, True), prod)) == []
    assert list(check_table_protection(_table(UNKNOWN, UNKNOWN), prod)) == []
    assert [m.split("'")[2] for m in check_table_protection(_table(False, False), prod)] == [
        " has no point-in-time recovery.", " has no deletion protection."]


def test_dev_config_does_not_require_them():
    dev = DATA_PROTECTION.effective_config({"requirePointInTimeRecovery": False, "requireDeletionProtection": False})
    assert list(check_table_protection(_table(False, False), dev)) == []


def test_through_the_pack_retention_as_float_on_the_wire(analyze):
    stack = StackBuilder()
    stack.log_group("/aws/lambda/ok", 7)  # sent as 7.0: protobuf numbers are doubles
    stack.log_group("/aws/lambda/forever", None)
    stack.log_group("/aws/apigateway/x/access-logs", 7)
    report = analyze(stack.plan())  # dev config: 1..30 days, access logs >= 14
    found = [(name, msg.split(" ")[0:4]) for policy, name, msg in summary(report) if policy == "log-group-retention"]
    assert found == [
        ("lg-aws-apigateway-x-access-logs", ["security/access", "log", "group", "'/aws/apigateway/x/access-logs'"]),
        ("lg-aws-lambda-forever", ["log", "group", "'/aws/lambda/forever'", "never"]),
    ]
