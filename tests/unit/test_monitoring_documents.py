"""Pure documents and names of the monitoring layer: key and topic policies, canary role, X-Ray names."""

from __future__ import annotations

import re

import pulumi

from components.alerting import documents as routing
from components.monitoring import canary, tracing
from tests.grants import wildcard_findings
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
        assert statement == {
            "Sid": statement["Sid"],
            "Effect": "Allow",
            "Principal": {"Service": statement["Principal"]["Service"]},
            "Action": "sns:Publish",
            "Resource": TOPIC,
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    assert len({s["Sid"] for s in statements}) == 3


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
    (statement,) = canary.artifact_bucket_policy("arn:aws:s3:::b")["Statement"]
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
