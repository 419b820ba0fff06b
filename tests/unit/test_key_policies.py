"""The service's KMS key policies as data: who may administer each key, and who may use it for what."""

from __future__ import annotations

import pytest

from components.service import keys
from tests.grants import allows

ACCOUNT = "123456789012"
ROOT = f"AWS:arn:aws:iam::{ACCOUNT}:root"
REGION = "eu-west-1"
CRYPTO = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom")


def test_table_key_is_used_only_through_dynamodb_for_this_account() -> None:
    policy = keys.table_key_policy(ACCOUNT, REGION)
    via_dynamodb = {"kms:ViaService": f"dynamodb.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}
    for action in (*CRYPTO, "kms:CreateGrant", "kms:DescribeKey"):
        assert allows(policy, ROOT, action, via_dynamodb), action
    for action in CRYPTO:
        # Directly, through another service, another region or for another account: refused.
        assert not allows(policy, ROOT, action, {"kms:CallerAccount": ACCOUNT}), action
        assert not allows(policy, ROOT, action, {**via_dynamodb, "kms:ViaService": "s3.eu-west-1.amazonaws.com"})
        assert not allows(policy, ROOT, action, {**via_dynamodb, "kms:ViaService": "dynamodb.us-east-1.amazonaws.com"})
        assert not allows(policy, ROOT, action, {**via_dynamodb, "kms:CallerAccount": "210987654321"})


@pytest.mark.parametrize("document", [
    keys.table_key_policy(ACCOUNT, REGION),
    keys.logs_key_policy(ACCOUNT, REGION, ["/aws/lambda/catalog-prod-*"]),
])
def test_the_account_administers_every_key_but_never_gets_kms_star(document: dict) -> None:
    for action in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:EnableKeyRotation", "kms:DescribeKey",
                   "kms:TagResource"):
        assert allows(document, ROOT, action), action
    for statement in document["Statement"]:
        assert statement["Action"] != "kms:*" and "kms:*" not in statement["Action"], statement["Sid"]
    # No statement lets anyone in the world use the key.
    assert all(statement.get("Principal") != "*" for statement in document["Statement"])


def test_logs_key_encrypts_only_this_stacks_log_groups() -> None:
    policy = keys.logs_key_policy(ACCOUNT, REGION, ["/aws/lambda/catalog-prod-*", "/aws/apigateway/catalog-prod/*"])
    logs = f"Service:logs.{REGION}.amazonaws.com"
    context = "kms:EncryptionContext:aws:logs:arn"
    ours = [
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/catalog-prod-api",
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/apigateway/catalog-prod/access-logs",
    ]
    others = [
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/billing-prod-api",
        f"arn:aws:logs:{REGION}:210987654321:log-group:/aws/lambda/catalog-prod-api",
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/catalog-prod-api",
    ]
    for arn in ours:
        for action in ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptTo", "kms:DescribeKey"):
            assert allows(policy, logs, action, {context: arn}), (arn, action)
    for arn in others:
        assert not allows(policy, logs, "kms:GenerateDataKey", {context: arn}), arn
    # Another region's CloudWatch Logs, and the account's own principals, cannot use it to decrypt.
    assert not allows(policy, "Service:logs.us-east-1.amazonaws.com", "kms:Decrypt", {context: ours[0]})
    assert not allows(policy, ROOT, "kms:Decrypt", {context: ours[0]})


def test_a_logs_key_needs_log_groups() -> None:
    with pytest.raises(ValueError, match="log groups"):
        keys.logs_key_policy(ACCOUNT, REGION, [])
