"""Disaster-recovery drill: restore the stack's items table into a scratch table, check it serves, delete it,
and print the measured RTO and RPO against the stack's objectives.

    pulumi stack output --json -s prod | python -m tools.dr drill --stack prod --outputs -
    python -m tools.dr drill --stack prod --outputs outputs.json --source copy     # from the second region
    python -m tools.dr drill --stack dev --outputs - --endpoint-url http://127.0.0.1:5000 --dry-run

Sources:
- `pitr` (default): DynamoDB point-in-time recovery of the table to its latest restorable time, in the
  stack's region (`RestoreTableToPointInTime`);
- `copy`: the latest completed recovery point in the copy vault (`resilience.copyRegion`), restored by
  AWS Backup in that region (`StartRestoreJob`, with `--restore-role-arn`): what a region loss leaves.

Measured: RTO from the start of the drill to a table that answers the read checks (key schema as the
stack's, a scan, a get of each scanned item); RPO as the age of the newest restored item (`updated_at`)
when the drill started. The objectives are `resilience.rtoMinutes` and `resilience.rpoMinutes` (pitr) or
`resilience.copyRpoMinutes` (copy) of `Pulumi.<stack>.yaml`. `--dry-run` prints the steps and calls
nothing. Exit 0 when the checks pass and both objectives are met, 1 when a check fails, 2 when an
objective is missed. The scratch table is deleted at the end unless `--keep`, also when a check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

HASH_KEY = "id"
UPDATED_ATTRIBUTE = "updated_at"
READ_SAMPLE = 5


@dataclass(frozen=True)
class Objectives:
    rto_minutes: float
    rpo_minutes: float


@dataclass(frozen=True)
class Target:
    """What the drill restores, from where, into what."""

    source: str
    region: str
    table_name: str
    scratch_table: str
    copy_vault_arn: str | None = None
    restore_role_arn: str | None = None


@dataclass
class Measured:
    started: float
    serving: float | None = None
    newest_item: datetime | None = None
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def rto_minutes(self) -> float | None:
        return None if self.serving is None else (self.serving - self.started) / 60

    def rpo_minutes(self, started_at: datetime) -> float | None:
        return None if self.newest_item is None else max(0.0, (started_at - self.newest_item).total_seconds() / 60)


def plan_steps(target: Target) -> list[str]:
    """What the drill will do, in order (printed by --dry-run, and as it goes)."""
    if target.source == "pitr":
        restore = [f"read the latest restorable time of {target.table_name} (DescribeContinuousBackups)",
                   f"restore {target.table_name} to that time into {target.scratch_table} "
                   f"(RestoreTableToPointInTime, {target.region})"]
    else:
        restore = [f"find the latest completed recovery point of {target.table_name} in {target.copy_vault_arn} "
                   "(ListRecoveryPointsByBackupVault)",
                   f"restore it into {target.scratch_table} (StartRestoreJob, {target.region}) and wait for "
                   "the job (DescribeRestoreJob)"]
    return [*restore,
            f"wait until {target.scratch_table} is ACTIVE (DescribeTable)",
            f"read checks: key schema ({HASH_KEY}), a scan of {READ_SAMPLE} items, a get of each",
            f"RPO: age of the newest {UPDATED_ATTRIBUTE}; RTO: start to the checks passing",
            f"delete {target.scratch_table} (DeleteTable)"]


def _wait(poll: Callable[[], bool], sleep: Callable[[float], None], attempts: int, what: str,
          delay: float = 10.0) -> None:
    for _ in range(attempts):
        if poll():
            return
        sleep(delay)
    raise TimeoutError(f"{what} did not finish in time")


def restore(target: Target, dynamodb: Any, backup: Any | None, sleep: Callable[[float], None]) -> None:
    """Start the restore into the scratch table and wait until it is ACTIVE."""
    if target.source == "pitr":
        latest = dynamodb.describe_continuous_backups(TableName=target.table_name)[
            "ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"].get("LatestRestorableDateTime")
        kwargs = {"RestoreDateTime": latest} if latest else {"UseLatestRestorableTime": True}
        dynamodb.restore_table_to_point_in_time(SourceTableName=target.table_name,
                                                TargetTableName=target.scratch_table, **kwargs)
    else:
        if backup is None or not target.copy_vault_arn or not target.restore_role_arn:
            raise ValueError("--source copy needs the copy vault (stack output backupVaults.copy) and "
                             "--restore-role-arn")
        vault_name = target.copy_vault_arn.rsplit(":", 1)[-1]
        points = [p for p in backup.list_recovery_points_by_backup_vault(
            BackupVaultName=vault_name, ByResourceType="DynamoDB")["RecoveryPoints"]
            if p.get("Status") == "COMPLETED" and str(p.get("ResourceArn", "")).endswith(f"/{target.table_name}")]
        if not points:
            raise LookupError(f"no completed recovery point of {target.table_name} in {vault_name}")
        latest = max(points, key=lambda p: p["CreationDate"])
        job = backup.start_restore_job(RecoveryPointArn=latest["RecoveryPointArn"], IamRoleArn=target.restore_role_arn,
                                       ResourceType="DynamoDB",
                                       Metadata={"targetTableName": target.scratch_table})["RestoreJobId"]

        def job_done() -> bool:
            status = backup.describe_restore_job(RestoreJobId=job)["Status"]
            if status in ("ABORTED", "FAILED"):
                raise RuntimeError(f"restore job {job} ended {status}")
            return status == "COMPLETED"

        _wait(job_done, sleep, 360, f"restore job {job}")
    _wait(lambda: dynamodb.describe_table(TableName=target.scratch_table)["Table"]["TableStatus"] == "ACTIVE",
          sleep, 360, f"table {target.scratch_table}")


def read_checks(dynamodb: Any, table: str, measured: Measured) -> None:
    """The smoke test's reads, against the table directly: schema, a scan, a get of each scanned item."""
    described = dynamodb.describe_table(TableName=table)["Table"]
    keys = {k["AttributeName"]: k["KeyType"] for k in described["KeySchema"]}
    measured.checks.append(("key schema", keys == {HASH_KEY: "HASH"}, str(keys)))
    items = dynamodb.scan(TableName=table, Limit=READ_SAMPLE)["Items"]
    measured.checks.append(("scan", True, f"{len(items)} item(s)"))
    for item in items:
        # By the table's own key, so that a wrong schema is reported above rather than crashing here.
        key = {name: item[name] for name in keys}
        got = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        label = ",".join(next(iter(v.values())) for v in key.values())
        measured.checks.append((f"get {label}", got == item, "as scanned" if got == item else "differs"))
    newest = _newest_update(dynamodb, table)
    measured.newest_item = newest


def _newest_update(dynamodb: Any, table: str) -> datetime | None:
    newest: datetime | None = None
    kwargs: dict[str, Any] = {"TableName": table, "ProjectionExpression": "#u",
                              "ExpressionAttributeNames": {"#u": UPDATED_ATTRIBUTE}}
    while True:
        page = dynamodb.scan(**kwargs)
        for item in page["Items"]:
            raw = item.get(UPDATED_ATTRIBUTE, {}).get("S")
            if raw:
                when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
                newest = when if newest is None or when > newest else newest
        if "LastEvaluatedKey" not in page:
            return newest
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def report(measured: Measured, objectives: Objectives, started_at: datetime, out: TextIO) -> int:
    """Print each check and RTO/RPO against the objectives; the exit code."""
    failed = False
    for name, ok, detail in measured.checks:
        failed = failed or not ok
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}", file=out)
    rto, rpo = measured.rto_minutes, measured.rpo_minutes(started_at)
    missed = False
    for label, value, objective in (("RTO", rto, objectives.rto_minutes), ("RPO", rpo, objectives.rpo_minutes)):
        if value is None:
            print(f"{label}: not measured (objective {objective:g} min)", file=out)
            continue
        met = value <= objective
        missed = missed or not met
        print(f"{label}: {value:.1f} min, objective {objective:g} min: {'met' if met else 'MISSED'}", file=out)
    if failed:
        return 1
    return 2 if missed else 0


def run_drill(target: Target, objectives: Objectives, dynamodb: Any, backup: Any | None, *, keep: bool = False,
              clock: Callable[[], float] = time.monotonic, now: Callable[[], datetime] = lambda: datetime.now(UTC),
              sleep: Callable[[float], None] = time.sleep, out: TextIO = sys.stdout) -> int:
    started_at = now()
    measured = Measured(started=clock())
    for step in plan_steps(target):
        print(f"- {step}", file=out)
    try:
        restore(target, dynamodb, backup, sleep)
        read_checks(dynamodb, target.scratch_table, measured)
        if all(ok for _, ok, _ in measured.checks):
            measured.serving = clock()
    finally:
        if not keep:
            try:
                dynamodb.delete_table(TableName=target.scratch_table)
                print(f"deleted {target.scratch_table}", file=out)
            except dynamodb.exceptions.ResourceNotFoundException:
                pass
    return report(measured, objectives, started_at, out)


def _objectives(stack: str, source: str) -> Objectives:
    from components.config import load_stack_config
    from tools.plan.harness import stack_config

    raw, _ = stack_config(stack)
    resilience = load_stack_config(stack, raw).resilience
    rpo = resilience.rpo_minutes if source == "pitr" else resilience.copy_rpo_minutes
    return Objectives(rto_minutes=resilience.rto_minutes, rpo_minutes=rpo)


def build_target(outputs: Mapping[str, Any], source: str, restore_role_arn: str | None,
                 stamp: str) -> Target:
    """The drill's target from the stack outputs (`tableName`, `region`, `backupVaults`)."""
    table = str(outputs["tableName"])
    vaults = outputs.get("backupVaults") or {}
    copy_vault = vaults.get("copy") if isinstance(vaults, Mapping) else None
    region = str(outputs["region"])
    if source == "copy" and isinstance(copy_vault, str):
        # The copy is restored where it lives: the copy vault's region.
        region = copy_vault.split(":")[3]
    return Target(source=source, region=region, table_name=table, scratch_table=f"{table}-drill-{stamp}",
                  copy_vault_arn=copy_vault, restore_role_arn=restore_role_arn)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dr", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    drill = commands.add_parser("drill", help="restore into a scratch table, check it, measure RTO and RPO")
    drill.add_argument("--stack", required=True, help="stack whose objectives (Pulumi.<stack>.yaml) apply")
    drill.add_argument("--outputs", required=True, help="`pulumi stack output --json` file, or - for stdin")
    drill.add_argument("--source", choices=("pitr", "copy"), default="pitr", help="what to restore from")
    drill.add_argument("--restore-role-arn", help="role AWS Backup restores with (--source copy)")
    drill.add_argument("--endpoint-url", help="AWS endpoint (a local moto server)")
    drill.add_argument("--dry-run", action="store_true", help="print the steps, call nothing")
    drill.add_argument("--keep", action="store_true", help="keep the scratch table")
    args = parser.parse_args(argv)

    text = sys.stdin.read() if args.outputs == "-" else Path(args.outputs).read_text()
    outputs = json.loads(text)
    target = build_target(outputs, args.source, args.restore_role_arn, datetime.now(UTC).strftime("%Y%m%d%H%M%S"))
    objectives = _objectives(args.stack, args.source)
    print(f"drill of {target.table_name} from {args.source} in {target.region}; objectives RTO "
          f"{objectives.rto_minutes:g} min, RPO {objectives.rpo_minutes:g} min", file=out)
    if args.dry_run:
        for step in plan_steps(target):
            print(f"- {step}", file=out)
        return 0
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=target.region, endpoint_url=args.endpoint_url)
    backup = boto3.client("backup", region_name=target.region, endpoint_url=args.endpoint_url) \
        if args.source == "copy" else None
    return run_drill(target, objectives, dynamodb, backup, keep=args.keep, out=out)
