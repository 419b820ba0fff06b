"""Pure documents and names of the monitoring layer: key and topic policies, canary role, X-Ray names."""

from __future__ import annotations

import re

import pulumi
import pytest

from components import iam
from components.alerting import documents as routing
from components.monitoring import canary, tracing
from tests.grants import can, wildcard_findings
from tools.plan.mocks import EngineMocks

ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:eu-west-1:{ACCOUNT}:svc-prod-alerts-critical"
PUBLISHERS = {"cloudwatch.amazonaws.com", "budgets.amazonaws.com", "costalerts.amazonaws.com"}


def test_key_policy_keeps_the_key_manageable_and_lets_publishers_encrypt() -> None:
    statements = routing.alert_key_policy(ACCOUNT)["Statement"]
    root = statements[0]
    assert root["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"} and root["Action"] == "kms:*"
    services = statements[1:]
    assert {s["Principal"]["Service"] for s in services} == PUBLISHERS
    for statement in services:
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert routing.alert_key_policy(ACCOUNT, "aws-cn")["Statement"][0]["Principal"]["AWS"].startswith("arn:aws-cn:")


def test_topic_policy_allows_only_publishing_by_the_three_services_for_this_account() -> None:
    statements = routing.alert_topic_policy(TOPIC, ACCOUNT)["Statement"]
    assert {s["Principal"]["Service"] for s in statements} == PUBLISHERS
    for statement in statements:
        assert statement["Action"] == "sns:Publish" and statement["Resource"] == TOPIC, statement["Sid"]
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}, statement["Sid"]
    assert len({s["Sid"] for s in statements}) == 3


ALARM = f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:svc-prod-api-lambda-error-rate-critical"
BUDGET = f"arn:aws:budgets::{ACCOUNT}:budget/svc-prod-monthly"
OTHER = "210987654321"


@pytest.mark.parametrize(("service", "source_arn", "other_arn"), [
    # CloudWatch alarms publish as their alarm; an alarm of another region cannot notify this topic anyway.
    ("cloudwatch.amazonaws.com", ALARM, f"arn:aws:cloudwatch:eu-west-1:{OTHER}:alarm:x"),
    # Budgets' documented policy conditions on the account and on arn:aws:budgets::<account>:*.
    ("budgets.amazonaws.com", BUDGET, f"arn:aws:budgets::{OTHER}:budget/x"),
    # Cost Anomaly Detection's documented policy conditions on the subscription's account alone.
    ("costalerts.amazonaws.com", None, None),
])
def test_each_publisher_may_publish_for_this_account_only(service: str, source_arn: str | None,
                                                          other_arn: str | None) -> None:
    policy = routing.alert_topic_policy(TOPIC, ACCOUNT)
    principal = f"Service:{service}"
    ours = {"aws:SourceAccount": ACCOUNT, **({"aws:SourceArn": source_arn} if source_arn else {})}
    assert can(policy, principal, "sns:Publish", TOPIC, ours)
    assert not can(policy, principal, "sns:Publish", TOPIC, {**ours, "aws:SourceAccount": OTHER})
    assert not can(policy, principal, "sns:Subscribe", TOPIC, ours)
    if other_arn:
        assert not can(policy, principal, "sns:Publish", TOPIC, {**ours, "aws:SourceArn": other_arn})
    key = routing.alert_key_policy(ACCOUNT)
    assert can(key, principal, "kms:GenerateDataKey", "*", ACCOUNT)
    assert not can(key, principal, "kms:GenerateDataKey", "*", OTHER)


def test_names() -> None:
    assert routing.topic_name("svc-prod", "critical") == "svc-prod-alerts-critical"
    assert routing.key_alias("svc-prod") == "alias/svc-prod-alerts" != routing.AWS_MANAGED_SNS_KEY
    assert routing.partition_of("arn:aws-us-gov:sts::1:assumed-role/x") == "aws-us-gov"
    assert tracing.xray_name("catalog-prod", "sampling") == "catalog-prod-sampling"
    long = tracing.xray_name("a-very-long-service-name-prod-eu", "sampling")
    assert len(long) <= 32 and long.endswith("-sampling")
    assert long == tracing.xray_name("a-very-long-service-name-prod-eu", "sampling")  # stable
    assert canary.canary_name("catalog-prod") == "catalog-prod-health"
    shortened = canary.canary_name("inventory-service-staging")
    assert len(shortened) <= 21 and re.fullmatch(r"[0-9a-z_-]+", shortened)
    assert canary.health_url("https://x.example.com/", "/health/ready") == "https://x.example.com/health/ready"


def test_faults_group_expression() -> None:
    assert tracing.faults_filter_expression(["svc-prod-api"]) == \
        'service("svc-prod-api") { fault = true OR error = true }'
    assert " OR service(" in tracing.faults_filter_expression(["a", "b"])


def test_canary_role_is_scoped_as_aws_documents_it() -> None:
    document = canary.canary_policy(bucket_arn="arn:aws:s3:::bucket", name="svc-prod-health", region="eu-west-1",
                                    account_id=ACCOUNT)
    statements = {s["Sid"]: s for s in document["Statement"]}
    assert statements["WriteArtifacts"]["Resource"] == ["arn:aws:s3:::bucket/runs/*"]
    assert statements["WriteOwnLogs"]["Resource"] == [
        f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/cwsyn-svc-prod-health-*"]
    assert statements["PublishCanaryMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "CloudWatchSynthetics"}}
    assert wildcard_findings(document) == []


def test_artifact_bucket_refuses_plain_http() -> None:
    (statement,) = iam.tls_only_bucket_policy("arn:aws:s3:::b")["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statement["Resource"] == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]


def test_canary_code_key_is_content_addressed() -> None:
    key = canary.script_key()
    assert re.fullmatch(r"code/health-check-[0-9a-f]{12}\.zip", key)
    script = canary.SCRIPT.read_text()
    assert "exports.handler" in script and "@aws/synthetics-puppeteer" in script and "HEALTH_URL" in script


def test_mocks_identify_bucket_settings_and_objects_like_the_provider() -> None:
    mocks = EngineMocks(default_region="eu-west-1", stack="prod", project="prodready")

    def create(typ: str, inputs: dict) -> tuple[str | None, dict]:
        return mocks.new_resource(pulumi.runtime.MockResourceArgs(typ, "x", inputs, custom=True))

    for typ in ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketPolicy:BucketPolicy",
                "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"):
        resource_id, state = create(typ, {"bucket": "my-bucket"})
        assert resource_id == "my-bucket" and "arn" not in state, typ
    object_id, state = create("aws:s3/bucketObjectv2:BucketObjectv2", {"bucket": "my-bucket", "key": "code/a.zip"})
    assert object_id == "code/a.zip" and state["arn"] == "arn:aws:s3:::my-bucket/code/a.zip"
