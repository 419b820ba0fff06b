"""Backups in the committed stacks: what prod registers, wired as AWS Backup needs it; dev has none."""

from __future__ import annotations

import json

import pytest

from tools.plan.cost import resource_region
from tools.plan.harness import Plan, PlannedResource

BACKUP_TYPES = ("aws:backup/vault:Vault", "aws:backup/plan:Plan", "aws:backup/selection:Selection",
                "aws:backup/vaultNotifications:VaultNotifications",
                "aws:backup/vaultLockConfiguration:VaultLockConfiguration")


def _named(plan: Plan, type_: str, suffix: str) -> PlannedResource:
    (found,) = [r for r in plan.of_type(type_) if r.name.endswith(suffix)]
    return found


def test_dev_registers_no_backup_and_its_topics_take_no_backup_publisher(dev_plan: Plan) -> None:
    assert not [r for r in dev_plan.resources if r.type in BACKUP_TYPES]
    assert not [r for r in dev_plan.resources if r.type == "pulumi:providers:aws" and r.name == "aws-copy"]
    for policy in dev_plan.of_type("aws:sns/topicPolicy:TopicPolicy"):
        assert "backup.amazonaws.com" not in policy.inputs["policy"]


def test_prod_has_a_vault_in_each_region_under_its_own_key(prod_plan: Plan) -> None:
    vault = _named(prod_plan, "aws:backup/vault:Vault", "backup-vault")
    copy_vault = _named(prod_plan, "aws:backup/vault:Vault", "backup-copy-vault")
    assert (vault.inputs["name"], resource_region(prod_plan, vault)) == ("catalog-prod-backup", "eu-west-1")
    assert (copy_vault.inputs["name"], resource_region(prod_plan, copy_vault)) == ("catalog-prod-backup-copy",
                                                                                    "eu-central-1")
    keys = {k.name: k for k in prod_plan.of_type("aws:kms/key:Key")}
    assert vault.inputs["kmsKeyArn"] == keys["catalog-backup-key"].outputs["arn"]
    assert copy_vault.inputs["kmsKeyArn"] == keys["catalog-backup-copy-key"].outputs["arn"]
    assert ":eu-central-1:" in copy_vault.inputs["kmsKeyArn"]
    copy_key_policy = json.loads(keys["catalog-backup-copy-key"].inputs["policy"])
    assert copy_key_policy["Statement"][1]["Condition"]["StringEquals"]["kms:ViaService"] == [
        "backup.eu-central-1.amazonaws.com", "dynamodb.eu-central-1.amazonaws.com"]
    # Losing a vault or its key loses its backups: both are protected like the table.
    for resource in (vault, copy_vault, keys["catalog-backup-key"], keys["catalog-backup-copy-key"]):
        assert resource.protect and resource.retain_on_delete, resource.name


def test_prod_plan_backs_up_daily_for_30_days_and_copies_to_the_second_vault(prod_plan: Plan) -> None:
    plan = prod_plan.one("aws:backup/plan:Plan")
    (rule,) = plan.inputs["rules"]
    copy_vault = _named(prod_plan, "aws:backup/vault:Vault", "backup-copy-vault")
    assert rule["targetVaultName"] == "catalog-prod-backup"
    assert rule["schedule"] == "cron(0 3 * * ? *)"
    assert rule["lifecycle"] == {"deleteAfter": 30}
    (copy_action,) = rule["copyActions"]
    assert copy_action["destinationVaultArn"] == copy_vault.outputs["arn"]
    assert copy_action["lifecycle"] == {"deleteAfter": 30}


def test_the_selection_names_both_tables_by_arn_with_a_role_that_can_back_them_up(prod_plan: Plan) -> None:
    selection = prod_plan.one("aws:backup/selection:Selection")
    tables = sorted(t.outputs["arn"] for t in prod_plan.of_type("aws:dynamodb/table:Table"))
    assert sorted(selection.inputs["resources"]) == tables
    role = _named(prod_plan, "aws:iam/role:Role", "backup-role")
    assert selection.inputs["iamRoleArn"] == role.outputs["arn"]
    policy = json.loads(_named(prod_plan, "aws:iam/rolePolicy:RolePolicy", "backup-role-policy").inputs["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert sorted(statements["BackUpTheTables"]["Resource"]) == tables
    # Both tables use customer-managed keys in prod: the role reads through them via DynamoDB only.
    assert len(statements["ReadTheTablesThroughDynamoDB"]["Resource"]) == 2
    # The role's permissions exist before the selection can start a job.
    assert _named(prod_plan, "aws:iam/rolePolicy:RolePolicy", "backup-role-policy").urn in selection.dependencies


def test_failed_jobs_notify_the_warning_topic_which_lets_aws_backup_publish(prod_plan: Plan) -> None:
    notifications = prod_plan.one("aws:backup/vaultNotifications:VaultNotifications")
    warning = _named(prod_plan, "aws:sns/topic:Topic", "catalog-monitoring-routing-warning")
    assert notifications.inputs["snsTopicArn"] == warning.outputs["arn"]
    assert notifications.inputs["backupVaultName"] == "catalog-prod-backup"
    policy = _named(prod_plan, "aws:sns/topicPolicy:TopicPolicy", "catalog-monitoring-routing-warning-policy")
    topic_policy = json.loads(policy.inputs["policy"])
    assert {"Service": "backup.amazonaws.com"} in [s["Principal"] for s in topic_policy["Statement"]]


@pytest.mark.parametrize("suffix", ["backup-vault-lock", "backup-copy-vault-lock"])
def test_both_vaults_are_locked_in_governance_mode(prod_plan: Plan, suffix: str) -> None:
    lock = _named(prod_plan, "aws:backup/vaultLockConfiguration:VaultLockConfiguration", suffix)
    # Governance mode is a lock without changeableForDays (with it, compliance mode after the grace time).
    assert "changeableForDays" not in lock.inputs
    assert lock.inputs["minRetentionDays"] == 30


def test_the_backup_alarms_watch_the_primary_vault_and_link_their_runbooks(prod_plan: Plan) -> None:
    alarms = {a.inputs["name"]: a for a in prod_plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    for name, metric in (("catalog-prod-backup-backup-jobs-failed-warning", "NumberOfBackupJobsFailed"),
                         ("catalog-prod-backup-backup-copy-jobs-failed-warning", "NumberOfCopyJobsFailed")):
        alarm = alarms[name]
        assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/Backup", metric)
        assert alarm.inputs["dimensions"] == {"BackupVaultName": "catalog-prod-backup"}
        kind = name.removeprefix("catalog-prod-backup-").removesuffix("-warning")
        assert alarm.inputs["alarmDescription"].endswith(f"/docs/runbooks/{kind}.md")


def test_dev_archives_no_logs(dev_plan: Plan) -> None:
    assert not dev_plan.of_type("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")
    assert not dev_plan.of_type("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter")


def test_prod_streams_function_and_access_logs_to_an_encrypted_versioned_bucket(prod_plan: Plan) -> None:
    stream = prod_plan.one("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")
    bucket = _named(prod_plan, "aws:s3/bucket:Bucket", "log-archive-bucket")
    key = _named(prod_plan, "aws:kms/key:Key", "log-archive-key")
    s3 = stream.inputs["extendedS3Configuration"]
    assert (s3["bucketArn"], s3["kmsKeyArn"]) == (bucket.outputs["arn"], key.outputs["arn"])
    filters = prod_plan.of_type("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter")
    groups = {f.inputs["logGroup"] for f in filters if f.inputs["destinationArn"] == stream.outputs["arn"]}
    function_group = _named(prod_plan, "aws:cloudwatch/logGroup:LogGroup", "catalog-function-logs")
    access_group = _named(prod_plan, "aws:cloudwatch/logGroup:LogGroup", "access-logs")
    assert groups == {function_group.inputs["name"], access_group.inputs["name"]}
    name = bucket.outputs["bucket"]
    sse = _named(prod_plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                 "log-archive-encryption")
    (rule,) = sse.inputs["rules"]
    assert (sse.inputs["bucket"], rule["applyServerSideEncryptionByDefault"]) == (
        name, {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key.outputs["arn"]})
    versioning = _named(prod_plan, "aws:s3/bucketVersioning:BucketVersioning", "log-archive-versioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    (lifecycle,) = _named(prod_plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                          "log-archive-lifecycle").inputs["rules"]
    assert lifecycle["transitions"] == [{"days": 30, "storageClass": "GLACIER_IR"}]
    assert lifecycle["expiration"]["days"] == 730
    # Kept like the table in prod: never destroyed with the stack, never emptied.
    assert bucket.protect and bucket.retain_on_delete and bucket.inputs["forceDestroy"] is False


def test_the_archive_key_is_used_only_through_s3_and_the_roles_only_for_the_archive(prod_plan: Plan) -> None:
    key_policy = json.loads(_named(prod_plan, "aws:kms/key:Key", "log-archive-key").inputs["policy"])
    assert key_policy["Statement"][1]["Condition"]["StringEquals"]["kms:ViaService"] == "s3.eu-west-1.amazonaws.com"
    stream = prod_plan.one("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")
    logs_policy = json.loads(_named(prod_plan, "aws:iam/rolePolicy:RolePolicy", "log-archive-logs-policy")
                             .inputs["policy"])
    assert logs_policy["Statement"][0]["Resource"] == [stream.outputs["arn"]]
    trust = json.loads(_named(prod_plan, "aws:iam/role:Role", "log-archive-logs-role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}


def test_dev_has_no_trail(dev_plan: Plan) -> None:
    assert not dev_plan.of_type("aws:cloudtrail/trail:Trail")


def test_prod_trail_records_the_tables_data_events_encrypted_and_validated(prod_plan: Plan) -> None:
    trail = prod_plan.one("aws:cloudtrail/trail:Trail")
    key = _named(prod_plan, "aws:kms/key:Key", "audit-key")
    bucket = _named(prod_plan, "aws:s3/bucket:Bucket", "audit-bucket")
    assert trail.inputs["enableLogFileValidation"] is True
    assert (trail.inputs["kmsKeyId"], trail.inputs["s3BucketName"]) == (key.outputs["arn"], bucket.outputs["bucket"])
    data = [s for s in trail.inputs["advancedEventSelectors"]
            if {"field": "eventCategory", "equals": ["Data"]} in s["fieldSelectors"]]
    (selector,) = data
    (arns,) = [f["equals"] for f in selector["fieldSelectors"] if f["field"] == "resources.ARN"]
    assert sorted(arns) == sorted(t.outputs["arn"] for t in prod_plan.of_type("aws:dynamodb/table:Table"))
    # CloudTrail may write and encrypt for this trail only; the trail waits for both policies.
    policy = _named(prod_plan, "aws:s3/bucketPolicy:BucketPolicy", "audit-policy")
    document = json.loads(policy.inputs["policy"])
    write = next(s for s in document["Statement"] if s["Sid"] == "CloudTrailWrite")
    assert write["Condition"]["StringEquals"]["aws:SourceArn"] == trail.outputs["arn"]
    key_policy = json.loads(key.inputs["policy"])
    encrypt = next(s for s in key_policy["Statement"] if s["Sid"] == "CloudTrailEncryptsThisTrail")
    assert encrypt["Condition"]["StringEquals"]["aws:SourceArn"] == trail.outputs["arn"]
    assert {policy.urn, key.urn} <= set(trail.dependencies)


def test_prod_restore_tests_the_items_table_weekly_and_validates_it(prod_plan: Plan) -> None:
    testing = prod_plan.one("aws:backup/restoreTestingPlan:RestoreTestingPlan")
    vault = _named(prod_plan, "aws:backup/vault:Vault", "backup-vault")
    assert testing.inputs["name"] == "catalog_prod_restore_test"
    assert testing.inputs["scheduleExpression"] == "cron(0 6 ? * MON *)"
    assert testing.inputs["recoveryPointSelection"]["includeVaults"] == [vault.outputs["arn"]]
    selection = prod_plan.one("aws:backup/restoreTestingSelection:RestoreTestingSelection")
    items = _named(prod_plan, "aws:dynamodb/table:Table", "catalog-table-dynamodb")
    assert selection.inputs["protectedResourceArns"] == [items.outputs["arn"]]
    assert selection.inputs["protectedResourceType"] == "DynamoDB"
    role_policy = json.loads(_named(prod_plan, "aws:iam/rolePolicy:RolePolicy", "restore-test-role-policy")
                             .inputs["policy"])
    restore = next(s for s in role_policy["Statement"] if s["Sid"] == "RestoreIntoTestTables")
    assert all("table/awsbackup-restore-test-*" in r for r in restore["Resource"])
    # The trigger: a completed restore job of this plan invokes the function, which only EventBridge may call.
    rule = prod_plan.one("aws:cloudwatch/eventRule:EventRule")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail"]["restoreTestingPlanArn"] == [testing.outputs["arn"]]
    function = _named(prod_plan, "aws:lambda/function:Function", "restore-test-function-lambda")
    target = prod_plan.one("aws:cloudwatch/eventTarget:EventTarget")
    assert target.inputs["arn"] == function.outputs["arn"]
    permission = _named(prod_plan, "aws:lambda/permission:Permission", "restore-test-invoke")
    assert (permission.inputs["principal"], permission.inputs["sourceArn"]) == ("events.amazonaws.com",
                                                                                rule.outputs["arn"])
    assert function.inputs["environment"]["variables"]["SOURCE_TABLE"] == items.outputs["name"]
    assert function.inputs["tracingConfig"]["mode"] == "Active"


def test_the_validation_function_is_watched_like_the_others(prod_plan: Plan) -> None:
    names = {a.inputs["name"] for a in prod_plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert {"catalog-prod-restore-check-lambda-error-rate-warning",
            "catalog-prod-restore-check-lambda-error-logs-warning"} <= names
