"""The plan mocks answer like the engine and the AWS provider would, and refuse what they cannot."""

from __future__ import annotations

import re

import pulumi
import pytest

from tools.plan.mocks import ACCOUNT_ID, EngineMocks, autoname_property, inspect_props


def _create(mocks: EngineMocks, typ: str, name: str, inputs: dict, provider: str | None = None):
    return mocks.new_resource(pulumi.runtime.MockResourceArgs(typ, name, inputs, provider=provider, custom=True))


@pytest.fixture()
def mocks() -> EngineMocks:
    return EngineMocks(default_region="eu-west-1", stack="dev", project="prodready")


def test_autoname_comes_from_the_sdk_signature() -> None:
    assert autoname_property("aws:dynamodb/table:Table") == "name"
    assert autoname_property("aws:s3/bucketV2:BucketV2") == "bucket"
    # pulumi-aws autonames an omitted stage name; a KMS key has no name at all; a composite alarm's
    # alarm_name and an X-Ray group's group_name are required, so the program always gives them.
    assert autoname_property("aws:apigatewayv2/stage:Stage") == "name"
    assert autoname_property("aws:kms/key:Key") is None
    assert autoname_property("aws:cloudwatch/compositeAlarm:CompositeAlarm") is None
    assert autoname_property("aws:xray/group:Group") is None
    assert "tags" in inspect_props("aws:lambda/function:Function")
    assert "tags" not in inspect_props("aws:lambda/permission:Permission")


def test_missing_name_is_autonamed_and_given_name_is_kept(mocks: EngineMocks) -> None:
    _, auto = _create(mocks, "aws:dynamodb/table:Table", "orders", {})
    assert re.fullmatch(r"orders-[0-9a-f]{7}", auto["name"])
    assert auto["arn"] == f"arn:aws:dynamodb:eu-west-1:{ACCOUNT_ID}:table/{auto['name']}"
    _, named = _create(mocks, "aws:dynamodb/table:Table", "orders", {"name": "fixed"})
    assert named["name"] == "fixed"
    # Same URN, same name: plans are reproducible.
    assert _create(mocks, "aws:dynamodb/table:Table", "orders", {})[1]["name"] == auto["name"]


def test_ids_and_arns_have_each_service_shape(mocks: EngineMocks) -> None:
    fn_id, fn = _create(mocks, "aws:lambda/function:Function", "fn", {"name": "svc-api"})
    assert fn_id == "svc-api"
    assert fn["invokeArn"] == (
        "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
        f"arn:aws:lambda:eu-west-1:{ACCOUNT_ID}:function:svc-api/invocations"
    )
    topic_id, topic = _create(mocks, "aws:sns/topic:Topic", "alerts", {})
    assert topic_id == topic["arn"]
    assert re.fullmatch(rf"arn:aws:sns:eu-west-1:{ACCOUNT_ID}:alerts-[0-9a-f]{{7}}", topic_id)
    key_id, key = _create(mocks, "aws:kms/key:Key", "k", {})
    assert re.fullmatch(r"[0-9a-f-]{36}", key_id) and key["arn"].endswith(f":key/{key_id}")
    api_id, api = _create(mocks, "aws:apigatewayv2/api:Api", "api", {"name": "x", "protocolType": "HTTP"})
    assert re.fullmatch(r"[0-9a-z]{10}", api_id)
    assert api["executionArn"] == f"arn:aws:execute-api:eu-west-1:{ACCOUNT_ID}:{api_id}"


def test_region_comes_from_the_resource_then_its_provider(mocks: EngineMocks) -> None:
    provider_id, _ = mocks.new_resource(pulumi.runtime.MockResourceArgs(
        "pulumi:providers:aws", "use1", {"region": "us-east-1", "defaultTags": '{"tags": {"Owner": "me"}}'},
        custom=True))
    ref = f"urn:pulumi:dev::prodready::pulumi:providers:aws::use1::{provider_id}"
    _, in_use1 = _create(mocks, "aws:sns/topic:Topic", "t", {}, provider=ref)
    assert in_use1["arn"].startswith("arn:aws:sns:us-east-1:")
    assert in_use1["tagsAll"] == {"Owner": "me"}
    _, explicit = _create(mocks, "aws:sns/topic:Topic", "t", {"region": "ap-south-1", "tags": {"Owner": "x"}},
                          provider=ref)
    assert explicit["arn"].startswith("arn:aws:sns:ap-south-1:")
    assert explicit["tagsAll"] == {"Owner": "x"}  # the resource's own tag wins over the default


def test_known_invokes_are_answered(mocks: EngineMocks) -> None:
    identity, _ = mocks.call(pulumi.runtime.MockCallArgs("aws:index/getCallerIdentity:getCallerIdentity", {}, ""))
    assert identity["accountId"] == ACCOUNT_ID
    region, _ = mocks.call(pulumi.runtime.MockCallArgs("aws:index/getRegion:getRegion", {}, ""))
    assert region["name"] == region["region"] == "eu-west-1"


def test_unknown_invoke_fails_loudly(mocks: EngineMocks) -> None:
    with pytest.raises(NotImplementedError, match="aws:ec2/getVpc:getVpc"):
        mocks.call(pulumi.runtime.MockCallArgs("aws:ec2/getVpc:getVpc", {}, ""))
