"""Safe delivery as data: the deployment configuration, the release timeout and alarms, and the
least-privilege policies of the CodeDeploy service role and the traffic hooks."""

from __future__ import annotations

import pytest

from components.delivery import documents
from components.delivery.settings import DeliveryConfig
from tests.grants import identity_allows, wildcard_findings

ACCOUNT, REGION = "123456789012", "eu-west-1"
NAMES = documents.delivery_names("catalog-prod")
GROUP_ARN = documents.deployment_group_arn("aws", REGION, ACCOUNT, NAMES)
FUNCTION_ARN = documents.function_arn("aws", REGION, ACCOUNT, "catalog-prod-api")
ALIAS_ARN = f"{FUNCTION_ARN}:live"
HOOK_ARN = documents.function_arn("aws", REGION, ACCOUNT, NAMES.hook_function)
POST_HOOK_ARN = documents.function_arn("aws", REGION, ACCOUNT, NAMES.post_hook_function)
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:catalog-prod-warning"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_names_are_fixed_by_the_prefix():
    assert (NAMES.application, NAMES.group, NAMES.hook_function) == (
        "catalog-prod", "catalog-prod-live", "catalog-prod-pre-traffic")
    assert NAMES.post_hook_function == "catalog-prod-post-traffic"
    expected = f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:catalog-prod/catalog-prod-live"
    assert expected == GROUP_ARN


@pytest.mark.parametrize(("delivery", "name", "routing"), [
    (DeliveryConfig(strategy="canary", percentage=10, interval_minutes=5), "p-canary-10pct-5min",
     {"type": "TimeBasedCanary", "timeBasedCanary": {"percentage": 10, "interval": 5}}),
    (DeliveryConfig(strategy="linear", percentage=25, interval_minutes=3), "p-linear-25pct-every-3min",
     {"type": "TimeBasedLinear", "timeBasedLinear": {"percentage": 25, "interval": 3}}),
    (DeliveryConfig(strategy="all-at-once"), "CodeDeployDefault.LambdaAllAtOnce", None),
])
def test_traffic_shift_per_strategy(delivery, name, routing):
    shift = documents.traffic_shift("p", delivery)
    assert (shift.name, shift.routing) == (name, routing)


@pytest.mark.parametrize(("delivery", "minutes"), [
    # canary: one wait after the first step; linear 25%: 4 steps, 3 waits; 10%: 10 steps, 9 waits.
    (DeliveryConfig(strategy="canary", percentage=10, interval_minutes=5), 5),
    (DeliveryConfig(strategy="linear", percentage=25, interval_minutes=3), 9),
    (DeliveryConfig(strategy="linear", percentage=10, interval_minutes=1), 9),
    (DeliveryConfig(strategy="linear", percentage=30, interval_minutes=2), 6),
    (DeliveryConfig(strategy="all-at-once"), 0),
])
def test_shift_duration_and_release_timeout(delivery, minutes):
    assert delivery.total_minutes == minutes
    assert documents.release_timeout_seconds(delivery) == minutes * 60 + 15 * 60


def test_release_alarms_between_one_and_the_documented_ten():
    assert documents.check_release_alarms(["a"]) == ["a"]
    assert len(documents.check_release_alarms([f"a{i}" for i in range(10)])) == 10
    with pytest.raises(ValueError, match="11 release alarms, but a CodeDeploy deployment group watches at most 10"):
        documents.check_release_alarms([f"a{i}" for i in range(11)])
    with pytest.raises(ValueError, match="at least one alarm"):
        documents.check_release_alarms([])


def test_hook_reads_and_reports_its_group_and_invokes_versions_of_the_one_function():
    policy = {"Version": "2012-10-17", "Statement": documents.hook_statements(GROUP_ARN, FUNCTION_ARN)}
    assert identity_allows(policy, "codedeploy:PutLifecycleEventHookExecutionStatus", GROUP_ARN)
    assert identity_allows(policy, "codedeploy:GetDeployment", GROUP_ARN)
    assert identity_allows(policy, "lambda:InvokeFunction", f"{FUNCTION_ARN}:7")
    other_group = GROUP_ARN.replace("catalog-prod-live", "other-live")
    assert not identity_allows(policy, "codedeploy:PutLifecycleEventHookExecutionStatus", other_group)
    assert not identity_allows(policy, "lambda:InvokeFunction", FUNCTION_ARN.replace("catalog-prod-api", "other"))
    assert not identity_allows(policy, "codedeploy:StopDeployment", GROUP_ARN)
    assert wildcard_findings(policy) == []


def test_service_role_shifts_only_the_functions_aliases_and_invokes_only_the_hook():
    policy = documents.service_role_policy(FUNCTION_ARN, ALIAS_ARN, HOOK_ARN, TOPIC_ARN, KEY_ARN)
    # Lambda evaluates GetAlias and UpdateAlias against the unqualified function ARN.
    for action in ("lambda:GetAlias", "lambda:UpdateAlias"):
        assert identity_allows(policy, action, FUNCTION_ARN)
        assert not identity_allows(policy, action, FUNCTION_ARN.replace("catalog-prod-api", "other"))
    assert identity_allows(policy, "lambda:GetProvisionedConcurrencyConfig", ALIAS_ARN)
    assert not identity_allows(policy, "lambda:GetProvisionedConcurrencyConfig", f"{FUNCTION_ARN}:other")
    assert not identity_allows(policy, "lambda:UpdateFunctionCode", FUNCTION_ARN)
    assert identity_allows(policy, "lambda:InvokeFunction", HOOK_ARN)
    assert not identity_allows(policy, "lambda:InvokeFunction", ALIAS_ARN)
    assert identity_allows(policy, "sns:Publish", TOPIC_ARN)
    assert not identity_allows(policy, "sns:Publish", TOPIC_ARN.replace("warning", "critical"))
    assert identity_allows(policy, "kms:GenerateDataKey", KEY_ARN)
    # DescribeAlarms on * is excused by the pack's allow-list (composite alarms need it); nothing else is.
    assert identity_allows(policy, "cloudwatch:DescribeAlarms", "*")
    assert wildcard_findings(policy) == []


def test_post_traffic_hook_reads_and_reports_its_group_and_invokes_the_alias_only():
    policy = {"Version": "2012-10-17", "Statement": documents.hook_statements(GROUP_ARN, FUNCTION_ARN, "live")}
    assert identity_allows(policy, "codedeploy:PutLifecycleEventHookExecutionStatus", GROUP_ARN)
    assert identity_allows(policy, "codedeploy:GetDeployment", GROUP_ARN)
    assert identity_allows(policy, "lambda:InvokeFunction", ALIAS_ARN)
    # Not a version, not another alias, not $LATEST: after the shift it checks what API Gateway invokes.
    for other in (f"{FUNCTION_ARN}:7", f"{FUNCTION_ARN}:staging", FUNCTION_ARN, f"{FUNCTION_ARN}:$LATEST"):
        assert not identity_allows(policy, "lambda:InvokeFunction", other), other
    assert wildcard_findings(policy) == []


def test_service_role_invokes_the_post_traffic_hook_when_there_is_one():
    policy = documents.service_role_policy(FUNCTION_ARN, ALIAS_ARN, HOOK_ARN, TOPIC_ARN, KEY_ARN, POST_HOOK_ARN)
    assert identity_allows(policy, "lambda:InvokeFunction", POST_HOOK_ARN)
    assert identity_allows(policy, "lambda:InvokeFunction", HOOK_ARN)
    assert not identity_allows(policy, "lambda:InvokeFunction", ALIAS_ARN)
    assert wildcard_findings(policy) == []
    without = documents.service_role_policy(FUNCTION_ARN, ALIAS_ARN, HOOK_ARN, TOPIC_ARN, KEY_ARN)
    assert not identity_allows(without, "lambda:InvokeFunction", POST_HOOK_ARN)


def test_service_role_without_hook_or_topic_grants_neither():
    policy = documents.service_role_policy(FUNCTION_ARN, ALIAS_ARN, None, None, None)
    assert not identity_allows(policy, "lambda:InvokeFunction", HOOK_ARN)
    assert not identity_allows(policy, "sns:Publish", TOPIC_ARN)
    assert [s["Sid"] for s in policy["Statement"]] == ["ShiftTheLiveAlias", "ReadProvisionedConcurrency",
                                                       "ReadReleaseAlarms"]


def test_service_role_trust_is_codedeploy_alone():
    trust = documents.service_role_trust()
    assert trust["Statement"] == [{"Effect": "Allow", "Principal": {"Service": "codedeploy.amazonaws.com"},
                                   "Action": "sts:AssumeRole"}]
