"""The restore-test validation function: DynamoDB on moto (the source and the restored table), AWS Backup
as a real botocore client under a Stubber (moto does not implement PutRestoreValidationResult), so the
report is checked against botocore's model and must be exactly the expected call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from restore_check import handler as check

from tools.local_api import create_table

REGION = "eu-west-1"
SOURCE = "catalog-prod-items"
RESTORED = "awsbackup-restore-test-5f1e2a"
JOB = "6F0B9C1E-1A2B-3C4D-5E6F-7A8B9C0D1E2F"
ENV = {"SOURCE_TABLE": SOURCE, "EXPECTED_HASH_KEY": "id", "EXPECTED_INDEXES": "", "MAX_SCAN_PAGES": "20"}


def _event(table: str = RESTORED, job: str = JOB) -> dict[str, Any]:
    # EventBridge's "Restore Job State Change" event as AWS Backup sends it for a restore test.
    return {
        "version": "0", "source": "aws.backup", "detail-type": "Restore Job State Change", "region": REGION,
        "resources": [], "account": "123456789012",
        "detail": {
            "restoreJobId": job, "status": "COMPLETED", "resourceType": "DynamoDB",
            "createdResourceArn": f"arn:aws:dynamodb:{REGION}:123456789012:table/{table}",
            "restoreTestingPlanArn":
                f"arn:aws:backup:{REGION}:123456789012:restore-testing-plan:catalog_prod_restore_test-ab12",
        },
    }


@pytest.fixture()
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_table(client, SOURCE)
        yield client


@pytest.fixture()
def backup() -> Iterator[tuple[Any, Stubber]]:
    client = botocore.session.get_session().create_client(
        "backup", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _fill(client: Any, table: str, n: int) -> None:
    for i in range(n):
        client.put_item(TableName=table, Item={"id": {"S": f"item-{i}"}, "name": {"S": f"n{i}"}})


def _expect(stubber: Stubber, status: str, message_start: str) -> None:
    class StartsWith:
        def __eq__(self, other: object) -> bool:
            return isinstance(other, str) and other.startswith(message_start)

    stubber.add_response("put_restore_validation_result", {},
                         {"RestoreJobId": JOB, "ValidationStatus": status, "ValidationStatusMessage": StartsWith()})


def test_a_restored_copy_of_the_items_table_with_its_items_is_reported_successful(dynamodb, backup) -> None:
    _fill(dynamodb, SOURCE, 3)
    create_table(dynamodb, RESTORED)
    _fill(dynamodb, RESTORED, 3)
    client, stubber = backup
    _expect(stubber, "SUCCESSFUL", "schema as expected, 3 items (source about 3)")
    assert check.validate(_event(), dynamodb, client, ENV).status == "SUCCESSFUL"


def test_an_empty_restore_of_a_non_empty_table_fails(dynamodb, backup) -> None:
    _fill(dynamodb, SOURCE, 2)
    create_table(dynamodb, RESTORED)
    client, stubber = backup
    _expect(stubber, "FAILED", "0 items; no items restored, the source table holds about 2")
    assert check.validate(_event(), dynamodb, client, ENV).status == "FAILED"


def test_a_restored_table_with_another_key_or_without_an_index_fails(dynamodb, backup) -> None:
    dynamodb.create_table(TableName=RESTORED, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    client, stubber = backup
    _expect(stubber, "FAILED", "0 items; key schema is {'pk': 'HASH'}, expected {'id': 'HASH'}; indexes ['by-name']")
    assert check.validate(_event(), dynamodb, client, {**ENV, "EXPECTED_INDEXES": "by-name"}).status == "FAILED"


def test_a_table_that_cannot_be_read_is_reported_failed_not_left_open(dynamodb, backup) -> None:
    client, stubber = backup
    _expect(stubber, "FAILED", "could not read the restored table: ResourceNotFoundException")
    assert check.validate(_event(), dynamodb, client, ENV).status == "FAILED"


def test_an_event_for_anything_but_a_restore_test_table_is_refused_without_a_report(dynamodb, backup) -> None:
    client, _ = backup
    with pytest.raises(ValueError, match="not a restore-test job"):
        check.validate(_event(table=SOURCE), dynamodb, client, ENV)


def test_the_count_is_bounded_and_says_so() -> None:
    pages = iter([{"Count": 5, "LastEvaluatedKey": {"id": {"S": "a"}}},
                  {"Count": 5, "LastEvaluatedKey": {"id": {"S": "b"}}}])
    assert check.count_items(lambda **_: next(pages), RESTORED, max_pages=2) == (10, False)
    result = check.verdict([], 10, False, 50)
    assert (result.status, result.message) == ("SUCCESSFUL", "schema as expected, 10+ items (source about 50)")


def test_an_empty_source_may_restore_empty() -> None:
    assert check.verdict([], 0, True, 0).status == "SUCCESSFUL"
