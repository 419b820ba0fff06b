"""Security baseline: IAM wildcards, SNS encryption, tracing, route throttling, Lambda permissions."""

from __future__ import annotations

import json

import pytest
from prodready_policy import security
from prodready_policy.security import (
    IAM_WILDCARDS,
    LAMBDA_PERMISSION,
    LAMBDA_TRACING,
    ROUTE_THROTTLING,
    SNS_ENCRYPTION,
    check_iam_wildcards,
    check_lambda_permission,
    check_lambda_tracing,
    check_route_throttling,
    check_sns_encryption,
)
from prodready_policy.values import ResourceView

from components import iam
from tests.policy.builders import UNKNOWN, StackBuilder, stack_views
from tests.policy.conftest import summary

LOG_GROUP_ARN = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/api"
TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/items"

DOCUMENTS = {
    "program-function-policy": iam.function_policy(
        log_group_arn=LOG_GROUP_ARN,
        tables=[iam.TableGrant("TableItems", TABLE_ARN, iam.ITEM_ACTIONS, ("by-name",),
                               "arn:aws:kms:eu-west-1:123456789012:key/k", "TableKeyViaDynamoDB"),
                iam.TableGrant("IdempotencyRecords", f"{TABLE_ARN}-idempotency", iam.IDEMPOTENCY_ACTIONS)],
        region="eu-west-1",
    ),
    "admin": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    "service-wildcard": {"Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::b/*"]}]},
    "all-tables": {"Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem",
                                  "Resource": "arn:aws:dynamodb:*:*:table/*"}]},
    "scoped-streams": {"Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents",
                                      "Resource": f"{LOG_GROUP_ARN}:*"}]},
    "xray-and-metrics": {"Statement": [{"Effect": "Allow", "Action": ["xray:PutTraceSegments",
                                                                        "cloudwatch:PutMetricData"],
                                        "Resource": "*"}]},
    "mixed-with-resourceless": {"Statement": [{"Effect": "Allow", "Action": ["xray:PutTraceSegments",
                                                                              "s3:GetObject"], "Resource": "*"}]},
    "not-action": {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": TABLE_ARN}]},
    "deny-star": {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]},
    "bare-star-pattern": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "bucket*"}]},
}
CLEAN = {"program-function-policy", "scoped-streams", "xray-and-metrics", "deny-star"}


def test_default_allow_list_is_the_one_list():
    assert set(IAM_WILDCARDS.defaults()["allowedWildcardActions"]) == set(security.RESOURCELESS_ACTIONS)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_wildcard_findings_judge_documents(name):
    findings = security.wildcard_findings(DOCUMENTS[name], frozenset(security.RESOURCELESS_ACTIONS))
    assert (not findings) == (name in CLEAN), findings


def _policy(document: object, type_: str = "aws:iam/rolePolicy:RolePolicy") -> list[str]:
    raw = document if isinstance(document, str) else json.dumps(document)
    view = ResourceView("urn:p", type_, "fn-policy", {"role": "r", "policy": raw})
    return list(check_iam_wildcards(view, IAM_WILDCARDS.effective_config({})))


def test_policy_documents_arrive_as_json_text():
    assert _policy(DOCUMENTS["program-function-policy"]) == []
    action, resource = _policy(DOCUMENTS["admin"], "aws:iam/policy:Policy")
    assert action == "aws:iam/policy:Policy 'fn-policy' policy: Statement[0] allows wildcard action '*'."
    assert resource == "aws:iam/policy:Policy 'fn-policy' policy: Statement[0] allows ['*'] on wildcard resource ['*']."
    assert _policy("{not json") == ["aws:iam/rolePolicy:RolePolicy 'fn-policy' policy is not valid JSON."]


def test_unknown_documents_at_preview_are_left_to_the_update():
    assert _policy(UNKNOWN) == []
    # Object-typed documents with an unknown ARN inside.
    assert _policy({"Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": UNKNOWN}]}) == []


def test_role_inline_policies_and_admin_attachments():
    role = ResourceView("urn:r", "aws:iam/role:Role", "role", {
        "assumeRolePolicy": json.dumps(iam.assume_role_policy("lambda.amazonaws.com")),
        "inlinePolicies": [{"name": "x", "policy": json.dumps(DOCUMENTS["service-wildcard"])}],
    })
    (message,) = check_iam_wildcards(role, IAM_WILDCARDS.effective_config({}))
    assert "inlinePolicies[0]" in message and "'s3:*'" in message
    attachment = ResourceView("urn:a", "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "attach",
                              {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
    assert list(check_iam_wildcards(attachment, IAM_WILDCARDS.effective_config({}))) == [
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment 'attach' attaches "
        "arn:aws:iam::aws:policy/AdministratorAccess."]


@pytest.mark.parametrize("key, expected", [
    ("arn:aws:kms:eu-west-1:123456789012:key/1234", []),
    ("alias/alerts", []),
    (UNKNOWN, []),
    (None, ["SNS topic 't' is not encrypted (kmsMasterKeyId is not set)."]),
    ("alias/aws/sns", ["SNS topic 't' uses alias/aws/sns, which CloudWatch alarms cannot use to publish."]),
    ("arn:aws:kms:eu-west-1:123456789012:alias/aws/sns",
     ["SNS topic 't' uses alias/aws/sns, which CloudWatch alarms cannot use to publish."]),
])
def test_sns_topic_encryption(key, expected):
    props = {"name": "t"} if key is None else {"name": "t", "kmsMasterKeyId": key}
    view = ResourceView("urn:t", "aws:sns/topic:Topic", "t", props)
    assert list(check_sns_encryption(view, SNS_ENCRYPTION.effective_config({}))) == expected


@pytest.mark.parametrize("tracing, reported", [({"mode": "Active"}, False), ({"mode": UNKNOWN}, False),
                                               ({"mode": "PassThrough"}, True), (None, True)])
def test_lambda_active_tracing(tracing, reported):
    props = {"name": "fn"} if tracing is None else {"name": "fn", "tracingConfig": tracing}
    view = ResourceView("urn:f", "aws:lambda/function:Function", "fn", props)
    assert bool(list(check_lambda_tracing(view, LAMBDA_TRACING.effective_config({})))) == reported


@pytest.mark.parametrize("props, reported", [
    ({"principal": "apigateway.amazonaws.com", "sourceArn": "arn:aws:execute-api:eu-west-1:1:a/$default/*"}, False),
    ({"principal": "apigateway.amazonaws.com", "sourceArn": UNKNOWN}, False),
    ({"principal": "123456789012"}, False),
    ({"principal": "arn:aws:iam::123456789012:role/caller"}, False),
    ({"principal": "apigateway.amazonaws.com"}, True),
    ({"principal": "*"}, True),
    ({"principal": "*", "functionUrlAuthType": "NONE", "action": "lambda:InvokeFunctionUrl"}, True),
    ({"principal": UNKNOWN}, False),
])
def test_lambda_permission_needs_a_source(props, reported):
    view = ResourceView("urn:p", "aws:lambda/permission:Permission", "perm", {"action": "lambda:InvokeFunction",
                                                                             **props})
    assert bool(list(check_lambda_permission(view, LAMBDA_PERMISSION.effective_config({})))) == reported


# -- route throttling (stack) -------------------------------------------------------------------


def throttling(stack: StackBuilder, **config: object) -> list[tuple[str, str]]:
    findings = check_route_throttling(stack_views(stack.plan()), ROUTE_THROTTLING.effective_config(config))
    return sorted((urn.rsplit("::", 1)[-1], message) for urn, message in findings)


def test_routes_throttled_by_the_stage_defaults_pass():
    stack = StackBuilder()
    stack.api_and_stage("a1b2c3d4e5", routes=("GET /items", "POST /items"))
    assert throttling(stack) == []


def test_route_settings_override_defaults_and_the_ceiling_applies():
    stack = StackBuilder()
    stack.api_and_stage("a1b2c3d4e5", routes=("GET /items", "POST /items"), stage_inputs={
        "defaultRouteSettings": {"detailedMetricsEnabled": False},
        "routeSettings": [{"routeKey": "GET /items", "throttlingRateLimit": 9000.0, "throttlingBurstLimit": 50.0}],
    })
    assert throttling(stack) == [
        ("route-a1b2c3d4e5-GET-items", "route 'GET /items' on stage 'stage-a1b2c3d4e5' allows 9000 rps / burst 50; "
                                       "the stack allows at most 5000 / 5000."),
        ("route-a1b2c3d4e5-POST-items", "route 'POST /items' is not throttled on stage 'stage-a1b2c3d4e5' (no "
                                        "throttling rate and burst limit in route or default route settings)."),
    ]


def test_unknown_limits_at_preview_are_not_violations_and_integer_limits_count():
    stack = StackBuilder()
    stack.api_and_stage("a1b2c3d4e5", stage_inputs={"defaultRouteSettings": UNKNOWN})
    stack.api_and_stage("b1b2c3d4e5", stage_inputs={"defaultRouteSettings": {"throttlingRateLimit": UNKNOWN,
                                                                             "throttlingBurstLimit": 10}})
    stack.api_and_stage("c1b2c3d4e5", stage_inputs={"defaultRouteSettings": {"throttlingRateLimit": 5,
                                                                             "throttlingBurstLimit": 10}})
    assert throttling(stack) == []


def test_routes_match_stages_by_api_dependency_when_the_id_is_unknown():
    stack = StackBuilder()
    api = stack.add("aws:apigatewayv2/api:Api", "api", {"name": "x", "protocolType": "HTTP"})
    stack.add("aws:apigatewayv2/route:Route", "route", {"apiId": UNKNOWN, "routeKey": "GET /"}, deps={"apiId": [api]})
    stack.add("aws:apigatewayv2/stage:Stage", "stage", {"apiId": UNKNOWN, "name": "$default", "defaultRouteSettings": {
        "throttlingRateLimit": 10.0, "throttlingBurstLimit": 20.0}}, deps={"apiId": [api]})
    assert throttling(stack) == []
    lonely = StackBuilder()
    lonely.add("aws:apigatewayv2/route:Route", "route", {"apiId": "zzz", "routeKey": "GET /"})
    assert throttling(lonely) == [("route", "route 'GET /' has no stage in this stack that throttles it.")]


def test_through_the_pack_security_findings_name_their_resources(analyze):
    stack = StackBuilder()
    stack.add("aws:iam/rolePolicy:RolePolicy", "admin", {"role": "r", "policy": json.dumps(DOCUMENTS["admin"])})
    stack.add("aws:sns/topic:Topic", "plain", {"name": "plain"})
    stack.add("aws:lambda/permission:Permission", "open", {"action": "lambda:InvokeFunction", "function": "f",
                                                          "principal": "*"})
    report = analyze(stack.plan(), config={})
    assert [(policy, name) for policy, name, _ in summary(report)] == [
        ("iam-no-wildcards", "admin"),
        ("iam-no-wildcards", "admin"),
        ("lambda-permission-source-arn", "open"),
        ("sns-topic-encryption", "plain"),
    ]


# -- chat channel guardrails (part of iam-no-wildcards) ------------------------------------------

SLACK = "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration"
TEAMS = "aws:chatbot/teamsChannelConfiguration:TeamsChannelConfiguration"
READ_ONLY = "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.mark.parametrize("type_", [SLACK, TEAMS])
@pytest.mark.parametrize("guardrails, expected", [
    ([READ_ONLY], None),
    (UNKNOWN, None),
    ([READ_ONLY, "arn:aws:iam::aws:policy/AWSXrayReadOnlyAccess"], None),
    (None, "sets no guardrailPolicyArns: Chatbot then applies AdministratorAccess"),
    ([], "sets no guardrailPolicyArns: Chatbot then applies AdministratorAccess"),
    ([READ_ONLY, ADMIN], f"has guardrail {ADMIN}."),
    (["arn:aws:iam::aws:policy/PowerUserAccess"], "has guardrail arn:aws:iam::aws:policy/PowerUserAccess."),
])
def test_chat_channels_need_read_only_guardrails(type_, guardrails, expected):
    props = {"configurationName": "c", "iamRoleArn": "arn:aws:iam::123456789012:role/chat"}
    if guardrails is not None:
        props["guardrailPolicyArns"] = guardrails
    view = ResourceView("urn:c", type_, "chat", props)
    findings = list(check_iam_wildcards(view, IAM_WILDCARDS.effective_config({})))
    if expected is None:
        assert findings == []
    else:
        (finding,) = findings
        assert finding.startswith(f"{type_} 'chat' ") and expected in finding


def test_chat_role_policy_passes_the_wildcard_rule():
    from components.alerting.documents import chat_role_policy

    assert security.wildcard_findings(chat_role_policy(), frozenset(security.RESOURCELESS_ACTIONS)) == []
    # Without the chart reads on the allow-list the same document would be refused.
    narrower = frozenset(a for a in security.RESOURCELESS_ACTIONS if not a.startswith("cloudwatch:GetMetric"))
    assert security.wildcard_findings(chat_role_policy(), narrower)
