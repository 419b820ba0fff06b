"""The disaster-recovery drill, end to end: DynamoDB on moto (PITR restores for real), AWS Backup as a real
botocore client under a Stubber for the copy-region path (moto does not implement restore jobs), a fake
clock so that RTO and RPO are exact."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from tools.dr import drill

REGION, COPY_REGION = "eu-west-1", "eu-central-1"
TABLE = "catalog-prod-items"
COPY_VAULT = f"arn:aws:backup:{COPY_REGION}:123456789012:backup-vault:catalog-prod-backup-copy"
WRITTEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OBJECTIVES = drill.Objectives(rto_minutes=60, rpo_minutes=60)


def _table(client: Any, name: str, hash_key: str = "id") -> None:
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": hash_key, "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": hash_key, "KeyType": "HASH"}])


@pytest.fixture()
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        _table(client, TABLE)
        client.update_continuous_backups(TableName=TABLE,
                                         PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        for i, minutes in enumerate((0, 5, 30)):
            client.put_item(TableName=TABLE, Item={
                "id": {"S": f"item-{i}"}, "name": {"S": f"n{i}"},
                "updated_at": {"S": (WRITTEN + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")}})
        yield client


class FakeClock:
    """Monotonic seconds: each call advances by `step` (a restore and its checks take a few calls)."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        value, self.now = self.now, self.now + self.step
        return value


def _target(source: str = "pitr") -> drill.Target:
    return drill.build_target({"tableName": TABLE, "region": REGION, "backupVaults": {"copy": COPY_VAULT}},
                              source, "arn:aws:iam::123456789012:role/restore" if source == "copy" else None,
                              "20260301")


def _run(dynamodb: Any, *, minutes_after_last_write: float, clock_step: float = 600.0,
         target: drill.Target | None = None, backup: Any = None) -> tuple[int, str]:
    out = io.StringIO()
    code = drill.run_drill(target or _target(), OBJECTIVES, dynamodb, backup, clock=FakeClock(clock_step),
                           now=lambda: WRITTEN + timedelta(minutes=30 + minutes_after_last_write),
                           sleep=lambda _: None, out=out)
    return code, out.getvalue()


def test_a_pitr_drill_restores_checks_measures_and_deletes_the_scratch_table(dynamodb) -> None:
    code, printed = _run(dynamodb, minutes_after_last_write=12)
    assert code == 0, printed
    assert "PASS  key schema: {'id': 'HASH'}" in printed and "PASS  scan: 3 item(s)" in printed
    assert printed.count("PASS  get item-") == 3
    # The clock advanced 10 minutes between the start and the checks passing.
    assert "RTO: 10.0 min, objective 60 min: met" in printed
    assert "RPO: 12.0 min, objective 60 min: met" in printed
    assert dynamodb.list_tables()["TableNames"] == [TABLE]


def test_missed_objectives_exit_2_and_say_which(dynamodb) -> None:
    code, printed = _run(dynamodb, minutes_after_last_write=61, clock_step=3660)
    assert code == 2
    assert "RTO: 61.0 min, objective 60 min: MISSED" in printed
    assert "RPO: 61.0 min, objective 60 min: MISSED" in printed


def test_a_failed_read_check_exits_1_and_still_deletes_the_table(dynamodb, monkeypatch) -> None:
    monkeypatch.setattr(drill, "HASH_KEY", "pk")
    code, printed = _run(dynamodb, minutes_after_last_write=1)
    assert code == 1 and "FAIL  key schema: {'id': 'HASH'}" in printed
    assert dynamodb.list_tables()["TableNames"] == [TABLE]


@pytest.fixture()
def backup() -> Iterator[tuple[Any, Stubber]]:
    client = botocore.session.get_session().create_client(
        "backup", region_name=COPY_REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _point(arn: str, created: datetime, status: str = "COMPLETED", table: str = TABLE) -> dict[str, Any]:
    return {"RecoveryPointArn": arn, "CreationDate": created, "Status": status, "ResourceType": "DynamoDB",
            "ResourceArn": f"arn:aws:dynamodb:{REGION}:123456789012:table/{table}"}


def test_a_copy_drill_restores_the_latest_completed_copy_of_the_table(dynamodb, backup) -> None:
    client, stubber = backup
    target = _target("copy")
    assert target.region == COPY_REGION
    latest = f"arn:aws:backup:{COPY_REGION}:123456789012:recovery-point:latest"
    stubber.add_response("list_recovery_points_by_backup_vault", {"RecoveryPoints": [
        _point("arn:aws:backup:eu-central-1:123456789012:recovery-point:older", WRITTEN - timedelta(days=1)),
        _point(latest, WRITTEN),
        _point("arn:aws:backup:eu-central-1:123456789012:recovery-point:running", WRITTEN + timedelta(hours=1),
               status="CREATING"),
        _point("arn:aws:backup:eu-central-1:123456789012:recovery-point:other", WRITTEN + timedelta(hours=2),
               table="catalog-prod-idempotency"),
    ]}, {"BackupVaultName": "catalog-prod-backup-copy", "ByResourceType": "DynamoDB"})
    stubber.add_response("start_restore_job", {"RestoreJobId": "job-1"}, {
        "RecoveryPointArn": latest, "IamRoleArn": "arn:aws:iam::123456789012:role/restore",
        "ResourceType": "DynamoDB", "Metadata": {"targetTableName": target.scratch_table}})
    stubber.add_response("describe_restore_job", {"RestoreJobId": "job-1", "Status": "RUNNING"},
                         {"RestoreJobId": "job-1"})
    stubber.add_response("describe_restore_job", {"RestoreJobId": "job-1", "Status": "COMPLETED"},
                         {"RestoreJobId": "job-1"})
    # What the completed job leaves behind: the copy restored into the scratch table (moto stands in).
    _table(dynamodb, target.scratch_table)
    dynamodb.put_item(TableName=target.scratch_table,
                      Item={"id": {"S": "item-0"}, "updated_at": {"S": "2026-03-01T12:00:00Z"}})
    code, printed = _run(dynamodb, minutes_after_last_write=0, target=target, backup=client)
    assert code == 0, printed
    assert "RPO: 30.0 min" in printed


def test_a_failed_restore_job_stops_the_drill(dynamodb, backup) -> None:
    client, stubber = backup
    stubber.add_response("list_recovery_points_by_backup_vault",
                         {"RecoveryPoints": [_point("arn:aws:backup:eu-central-1:123456789012:recovery-point:p",
                                                    WRITTEN)]}, {"BackupVaultName": ANY, "ByResourceType": ANY})
    stubber.add_response("start_restore_job", {"RestoreJobId": "job-2"},
                         {"RecoveryPointArn": ANY, "IamRoleArn": ANY, "ResourceType": ANY, "Metadata": ANY})
    stubber.add_response("describe_restore_job", {"RestoreJobId": "job-2", "Status": "FAILED"},
                         {"RestoreJobId": "job-2"})
    with pytest.raises(RuntimeError, match="restore job job-2 ended FAILED"):
        _run(dynamodb, minutes_after_last_write=0, target=_target("copy"), backup=client)


def test_dry_run_lists_the_steps_against_the_stacks_objectives_and_calls_nothing(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"tableName": TABLE, "region": REGION, "backupVaults": {"copy": COPY_VAULT}}))
    out = io.StringIO()
    assert drill.main(["drill", "--stack", "prod", "--outputs", str(outputs), "--source", "copy", "--dry-run"],
                      out=out) == 0
    printed = out.getvalue()
    assert f"drill of {TABLE} from copy in {COPY_REGION}; objectives RTO 60 min, RPO 1440 min" in printed
    assert "(ListRecoveryPointsByBackupVault)" in printed and "(DeleteTable)" in printed
    out = io.StringIO()
    assert drill.main(["drill", "--stack", "prod", "--outputs", str(outputs), "--dry-run"], out=out) == 0
    assert "objectives RTO 60 min, RPO 60 min" in out.getvalue() and "RestoreTableToPointInTime" in out.getvalue()
