"""Resilience: the config's objectives checked against the setup, and the backup documents as data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.alerting import documents as alerting
from components.config import ConfigError, load_stack_config
from components.iam import tls_only_bucket_policy
from components.resilience import documents as docs
from components.resilience.settings import schedule_interval_minutes
from tests.grants import allows
from tools.plan.harness import stack_config

ACCOUNT = "123456789012"
ROOT = f"AWS:arn:aws:iam::{ACCOUNT}:root"
REGION, COPY = "eu-west-1", "eu-central-1"


def _load(stack: str, resilience: dict[str, Any] | None = None, **more: Any):
    raw, _ = stack_config(stack)
    if resilience is not None:
        raw["prodready:resilience"] = json.dumps(resilience)
    for key, value in more.items():
        raw[f"prodready:{key}"] = json.dumps(value)
    return load_stack_config(stack, raw)


def _problems(stack: str, resilience: dict[str, Any], **more: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _load(stack, resilience, **more)
    return caught.value.problems


@pytest.mark.parametrize(("expression", "minutes"), [
    ("cron(0 3 * * ? *)", 1440), ("cron(30 * * * ? *)", 60), ("cron(0 */6 * * ? *)", 360),
    ("cron(0 1/12 * * ? *)", 720), ("cron(0 2,14 * * ? *)", 720), ("cron(0 1,5 * * ? *)", 1200),
])
def test_schedule_intervals(expression: str, minutes: int) -> None:
    assert schedule_interval_minutes(expression) == minutes


@pytest.mark.parametrize("expression", [
    "rate(1 day)", "cron(0 3 ? * MON-FRI *)", "cron(0 3 1 * ? *)", "cron(*/5 3 * * ? *)", "cron(0 */5 * * ? *)",
    "cron(0 25 * * ? *)", "daily",
])
def test_schedules_whose_interval_is_not_guessed_at(expression: str) -> None:
    assert schedule_interval_minutes(expression) is None


def test_prod_profile_backs_up_daily_for_30_days_with_a_copy_and_a_lock_and_dev_does_not() -> None:
    prod = _load("prod").resilience
    assert (prod.enabled, prod.interval_minutes, prod.retention_days, prod.copy_region, prod.vault_lock) == \
        (True, 1440, 30, COPY, True)
    assert (prod.rpo_minutes, prod.rto_minutes, prod.copy_days) == (60, 60, 30)
    assert _load("dev").resilience.enabled is False


def test_prod_refuses_to_turn_backups_off() -> None:
    assert "prodready:resilience.enabled: must be true in a prod stack (daily backups with a copy in a second " \
           "region)" in _problems("prod", {"enabled": False})


def test_a_regional_rpo_shorter_than_the_backup_interval_is_refused_naming_both_keys() -> None:
    (problem,) = _problems("prod", {"copyRpoMinutes": 60})
    assert problem.startswith("prodready:resilience.copyRpoMinutes: 60 is shorter than the backup interval of "
                              "resilience.backupSchedule (1440 minutes)")
    # Backing up hourly makes the same objective reachable.
    hourly = _load("prod", {"copyRpoMinutes": 60, "backupSchedule": "cron(0 * * * ? *)"})
    assert hourly.resilience.copy_rpo_minutes == 60


def test_the_in_region_rpo_rests_on_pitr_or_on_the_backup_interval() -> None:
    (problem,) = _problems("prod", {"rpoMinutes": 2})
    assert "resilience.rpoMinutes: 2 is shorter than point-in-time recovery can promise" in problem
    # dev may turn PITR off; then only the backup interval bounds the loss.
    dev = {"enabled": True, "copyRegion": COPY, "rpoMinutes": 60}
    off = {"deletionProtection": False, "pointInTimeRecovery": False, "customerManagedKey": False,
           "protectResources": False}
    (problem,) = _problems("dev", dev, dataProtection=off)
    assert problem.startswith("prodready:resilience.rpoMinutes: 60 is shorter than the backup interval")
    assert "dataProtection.pointInTimeRecovery is off" in problem
    assert _load("dev", {**dev, "rpoMinutes": 1440}, dataProtection=off).resilience.rpo_minutes == 1440


def test_the_copy_must_leave_the_region() -> None:
    problems = _problems("dev", {"enabled": True})
    assert any(p.startswith("prodready:resilience.copyRegion: required when resilience is enabled") for p in problems)
    problems = _problems("prod", {"copyRegion": REGION})
    assert problems == ["prodready:resilience.copyRegion: eu-west-1 is the stack's own region (aws:region); a copy "
                        "there does not survive the region's loss"]


def test_lifecycle_aws_refuses_is_refused_before_any_resource() -> None:
    (problem,) = _problems("prod", {"coldStorageAfterDays": 7})
    assert problem.startswith("prodready:resilience: retentionDays (30) must be at least coldStorageAfterDays (7) + 90")
    assert _load("prod", {"coldStorageAfterDays": 7, "retentionDays": 97}).resilience.cold_storage_after_days == 7
    (problem,) = _problems("prod", {"backupSchedule": "rate(1 day)"})
    assert problem.startswith("prodready:resilience.backupSchedule: use a cron expression")
    (problem,) = _problems("prod", {"rtoMinutes": 5})
    assert problem.startswith("prodready:resilience.rtoMinutes:")


# -- documents --------------------------------------------------------------------------------------


def test_vault_key_is_used_only_through_backup_or_dynamodb_of_its_region() -> None:
    policy = docs.vault_key_policy(ACCOUNT, COPY)
    for service in (f"backup.{COPY}.amazonaws.com", f"dynamodb.{COPY}.amazonaws.com"):
        context = {"kms:ViaService": service, "kms:CallerAccount": ACCOUNT}
        for action in ("kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:ReEncryptTo"):
            assert allows(policy, ROOT, action, context), (service, action)
    for context in ({"kms:CallerAccount": ACCOUNT},
                    {"kms:ViaService": f"backup.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT},
                    {"kms:ViaService": f"s3.{COPY}.amazonaws.com", "kms:CallerAccount": ACCOUNT},
                    {"kms:ViaService": f"backup.{COPY}.amazonaws.com", "kms:CallerAccount": "210987654321"}):
        assert not allows(policy, ROOT, "kms:Decrypt", context), context
    assert allows(policy, ROOT, "kms:PutKeyPolicy")
    assert all("kms:*" not in statement["Action"] for statement in policy["Statement"])


def test_backup_role_touches_only_its_tables_vaults_and_keys() -> None:
    tables = [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/items"]
    vaults = [docs.vault_arn("aws", REGION, ACCOUNT, "v"), docs.vault_arn("aws", COPY, ACCOUNT, "v-copy")]
    keys = [f"arn:aws:kms:{REGION}:{ACCOUNT}:key/a", f"arn:aws:kms:{COPY}:{ACCOUNT}:key/b"]
    table_key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/t"
    policy = docs.backup_role_policy(tables, vaults, keys, [table_key], region=REGION)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["BackUpTheTables"]["Resource"] == tables
    assert "dynamodb:StartAwsBackupJob" in by_sid["BackUpTheTables"]["Action"]
    assert by_sid["ManageTheirBackups"]["Resource"] == [f"{tables[0]}/backup/*"]
    assert by_sid["WriteAndCopyIntoTheVaults"]["Resource"] == vaults
    assert by_sid["UseTheVaultKeys"]["Resource"] == keys
    assert by_sid["ReadTheTablesThroughDynamoDB"]["Condition"] == {
        "StringEquals": {"kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}}
    for statement in policy["Statement"]:
        assert "*" not in statement["Resource"] and all(not a.endswith(":*") for a in statement["Action"])
    assert "ReadTheTablesThroughDynamoDB" not in {
        s["Sid"] for s in docs.backup_role_policy(tables, vaults, keys, region=REGION)["Statement"]}
    with pytest.raises(ValueError):
        docs.backup_role_policy([], vaults, keys, region=REGION)


def test_backup_assumes_the_role_for_this_account_only() -> None:
    (statement,) = docs.backup_role_trust_policy(ACCOUNT)["Statement"]
    assert statement["Principal"] == {"Service": "backup.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_notified_events_are_the_ones_aws_backup_still_sends() -> None:
    # BACKUP_JOB_FAILED and RESTORE_JOB_FAILED are deprecated: a failure arrives as *_COMPLETED.
    assert set(docs.NOTIFIED_EVENTS) == {"BACKUP_JOB_COMPLETED", "COPY_JOB_FAILED", "RESTORE_JOB_COMPLETED"}


def test_aws_backup_may_publish_only_where_it_is_a_publisher_and_only_for_this_account() -> None:
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:catalog-prod-alerts-warning"
    default = alerting.alert_topic_policy(topic, ACCOUNT)
    assert "Service:backup.amazonaws.com" not in json.dumps(default).replace('"Service": "', "Service:")
    with_backup = alerting.alert_topic_policy(topic, ACCOUNT, (*alerting.PUBLISHERS, alerting.BACKUP_PUBLISHER))
    (statement,) = [s for s in with_backup["Statement"] if s["Principal"] == {"Service": "backup.amazonaws.com"}]
    assert statement["Sid"] == "BackupPublish"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    key = alerting.alert_key_policy(ACCOUNT, publishers=(alerting.BACKUP_PUBLISHER,))
    assert allows(key, "Service:backup.amazonaws.com", "kms:GenerateDataKey", {"aws:SourceAccount": ACCOUNT})
    assert not allows(key, "Service:backup.amazonaws.com", "kms:GenerateDataKey", {"aws:SourceAccount": "1" * 12})


def test_log_archive_profiles_and_the_lifecycle_s3_accepts() -> None:
    prod = _load("prod").log_archive
    assert (prod.enabled, prod.archive_after_days, prod.storage_class, prod.expire_after_days) == \
        (True, 30, "GLACIER_IR", 730)
    assert _load("dev").log_archive.enabled is False
    (problem,) = _problems("prod", {}, logArchive={"storageClass": "STANDARD_IA", "archiveAfterDays": 7})
    assert problem.startswith("prodready:logArchive: archiveAfterDays (7) must be at least 30 for storageClass "
                              "STANDARD_IA (S3 lifecycle refuses an earlier transition)")
    (problem,) = _problems("prod", {}, logArchive={"expireAfterDays": 30})
    assert problem.startswith("prodready:logArchive: expireAfterDays (30) must be later than archiveAfterDays (30)")
    assert _load("dev", logArchive={"enabled": True, "archiveAfterDays": 0, "expireAfterDays": 7}).log_archive.enabled


def test_archive_documents_scope_each_grant_to_the_archive() -> None:
    bucket = "arn:aws:s3:::catalog-prod-archive"
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/a"
    policy = docs.firehose_delivery_policy(bucket, key, REGION)
    write, encrypt = policy["Statement"]
    assert write["Resource"] == [bucket, f"{bucket}/*"] and "s3:DeleteObject" not in write["Action"]
    assert encrypt["Condition"]["StringLike"] == {"kms:EncryptionContext:aws:s3:arn": f"{bucket}/*"}
    assert docs.firehose_trust_policy(ACCOUNT)["Statement"][0]["Condition"] == {
        "StringEquals": {"sts:ExternalId": ACCOUNT}}
    key_policy = docs.archive_key_policy(ACCOUNT, REGION)
    via_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}
    assert allows(key_policy, ROOT, "kms:GenerateDataKey", via_s3)
    assert not allows(key_policy, ROOT, "kms:Decrypt", {"kms:CallerAccount": ACCOUNT})
    (deny,) = tls_only_bucket_policy(bucket)["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_audit_trail_is_on_in_prod_and_must_record_something() -> None:
    assert _load("prod").audit_trail.enabled and not _load("dev").audit_trail.enabled
    (problem,) = _problems("prod", {}, auditTrail={"managementEvents": False, "dataEvents": False})
    assert problem.startswith("prodready:auditTrail: managementEvents and dataEvents are both off")
    assert _load("prod", auditTrail={"enabled": False}).audit_trail.enabled is False


def test_trail_documents_hold_cloudtrail_to_this_trail() -> None:
    trail = docs.trail_arn("aws", REGION, ACCOUNT, "catalog-prod-audit")
    key = docs.trail_key_policy(ACCOUNT, trail)
    context = {"aws:SourceArn": trail, "kms:EncryptionContext:aws:cloudtrail:arn": trail}
    assert allows(key, "Service:cloudtrail.amazonaws.com", "kms:GenerateDataKey", context)
    other = docs.trail_arn("aws", REGION, ACCOUNT, "someone-elses")
    cloudtrail = "Service:cloudtrail.amazonaws.com"
    assert not allows(key, cloudtrail, "kms:GenerateDataKey", {**context, "aws:SourceArn": other})
    assert allows(key, ROOT, "kms:Decrypt", {"kms:CallerAccount": ACCOUNT,
                                             "kms:EncryptionContext:aws:cloudtrail:arn": trail})
    assert not allows(key, ROOT, "kms:Decrypt", {"kms:CallerAccount": ACCOUNT})
    bucket = docs.trail_bucket_policy("arn:aws:s3:::b", ACCOUNT, trail)
    sids = [s["Sid"] for s in bucket["Statement"]]
    assert sids == ["CloudTrailAclCheck", "CloudTrailWrite", "DenyInsecureTransport"]
    assert bucket["Statement"][1]["Resource"] == f"arn:aws:s3:::b/AWSLogs/{ACCOUNT}/*"
    assert docs.trail_event_selectors(["arn:t"], management=False, data=True)[0]["fieldSelectors"][2] == {
        "field": "resources.ARN", "equals": ["arn:t"]}
    assert docs.trail_event_selectors(["arn:t"], management=True, data=False)[0]["name"] == "Management events"
