"""Validates a table that an AWS Backup restore test restored, and reports the result to AWS Backup.

EventBridge invokes this function when a restore job of the stack's restore testing plan completes
(`Restore Job State Change`, status `COMPLETED`). The restored table (named `awsbackup-restore-test-...`
by AWS Backup) must be the stack's items table:

- its key schema is the expected partition key (string), and it has every expected index;
- it holds items: at least one when the source table had any (the source's `ItemCount`, which DynamoDB
  refreshes about every six hours), counted with a bounded COUNT scan.

The result goes back with PutRestoreValidationResult (SUCCESSFUL or FAILED with the reason); AWS Backup
then deletes the table when the validation window ends. A FAILED validation is also logged at ERROR,
which the function's error-log alarm turns into a warning.

Environment: `SOURCE_TABLE` (the items table's name), `EXPECTED_HASH_KEY`, `EXPECTED_INDEXES`
(comma-separated), `MAX_SCAN_PAGES` (bound of the count, default 20).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

logger = Logger(utc=True, use_rfc3339=True)

SUCCESSFUL, FAILED = "SUCCESSFUL", "FAILED"
RESTORED_PREFIX = "awsbackup-restore-test-"
DEFAULT_MAX_PAGES = 20


@dataclass(frozen=True)
class Expected:
    """What the restored table must look like."""

    hash_key: str
    indexes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    status: str
    message: str


def check_schema(table: Mapping[str, Any], expected: Expected) -> list[str]:
    """Problems with a DescribeTable `Table`, compared with the expected schema (empty when none)."""
    problems = []
    keys = {k["AttributeName"]: k["KeyType"] for k in table.get("KeySchema") or []}
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions") or []}
    if keys != {expected.hash_key: "HASH"}:
        problems.append(f"key schema is {keys}, expected {{{expected.hash_key!r}: 'HASH'}}")
    elif types.get(expected.hash_key) != "S":
        problems.append(f"partition key {expected.hash_key} has type {types.get(expected.hash_key)}, expected S")
    indexes = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes") or []}
    missing = sorted(set(expected.indexes) - indexes)
    if missing:
        problems.append(f"indexes {missing} are missing")
    return problems


def count_items(scan: Callable[..., Mapping[str, Any]], table_name: str, max_pages: int) -> tuple[int, bool]:
    """Items counted by a COUNT scan of at most `max_pages` pages, and whether the count is complete."""
    total, start = 0, None
    for _ in range(max_pages):
        page = scan(TableName=table_name, Select="COUNT", **({"ExclusiveStartKey": start} if start else {}))
        total += int(page.get("Count", 0))
        start = page.get("LastEvaluatedKey")
        if not start:
            return total, True
    return total, False


def verdict(schema_problems: Iterable[str], counted: int, complete: bool, source_items: int) -> Verdict:
    """SUCCESSFUL only when the schema matches and a non-empty source restored non-empty."""
    problems = list(schema_problems)
    if source_items > 0 and counted == 0:
        problems.append(f"no items restored, the source table holds about {source_items}")
    counted_text = f"{counted}{'' if complete else '+'} items"
    if problems:
        return Verdict(FAILED, f"{counted_text}; " + "; ".join(problems))
    return Verdict(SUCCESSFUL, f"schema as expected, {counted_text} (source about {source_items})")


@cache
def _client(service: str) -> Any:
    return botocore.session.get_session().create_client(
        service, config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=20))


def validate(event: Mapping[str, Any], dynamodb: Any, backup: Any, environ: Mapping[str, str]) -> Verdict:
    """Check the restored table the event names and report the verdict to AWS Backup."""
    detail = event.get("detail") or {}
    job_id = str(detail.get("restoreJobId") or "")
    table_name = str(detail.get("createdResourceArn") or "").rsplit("/", 1)[-1]
    expected = Expected(environ["EXPECTED_HASH_KEY"],
                        tuple(i for i in environ.get("EXPECTED_INDEXES", "").split(",") if i))
    if not job_id or not table_name.startswith(RESTORED_PREFIX):
        # Not a restore test of ours: nothing to validate, and nothing to report a result for.
        raise ValueError(f"not a restore-test job of a DynamoDB table: {detail!r}")
    try:
        restored = dynamodb.describe_table(TableName=table_name)["Table"]
        source = dynamodb.describe_table(TableName=environ["SOURCE_TABLE"])["Table"]
        counted, complete = count_items(dynamodb.scan, table_name,
                                        int(environ.get("MAX_SCAN_PAGES", DEFAULT_MAX_PAGES)))
        result = verdict(check_schema(restored, expected), counted, complete, int(source.get("ItemCount", 0)))
    except dynamodb.exceptions.ClientError as exc:
        result = Verdict(FAILED, f"could not read the restored table: {exc.response['Error'].get('Code')}")
    backup.put_restore_validation_result(RestoreJobId=job_id, ValidationStatus=result.status,
                                         ValidationStatusMessage=result.message[:1000])
    (logger.error if result.status == FAILED else logger.info)(
        "restore test validated", extra={"restore_job": job_id, "table": table_name, "status": result.status,
                                          "detail": result.message})
    return result


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    result = validate(event, _client("dynamodb"), _client("backup"), os.environ)
    return {"status": result.status, "message": result.message}
