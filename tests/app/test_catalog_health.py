"""Liveness and readiness endpoints."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from catalog_testkit import APP_ENV, TABLE_NAME, load_event
from service.repository import ItemRepository


def record_calls(client: Any) -> list[str]:
    """The DynamoDB operations `client` sends from now on."""
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    return calls


def test_live_is_up_with_version_and_calls_no_dependency(invoke, dynamodb):
    calls = record_calls(dynamodb)

    result = invoke(load_event("health_live"))

    assert result.status == 200
    assert result.body == {
        "status": "pass",
        "service": APP_ENV["POWERTOOLS_SERVICE_NAME"],
        "version": APP_ENV["SERVICE_VERSION"],
        "environment": APP_ENV["ENVIRONMENT"],
    }
    assert calls == []


def test_live_stays_up_when_the_table_is_gone(invoke, dynamodb):
    dynamodb.delete_table(TableName=TABLE_NAME)

    assert invoke(load_event("health_live")).status == 200


def test_ready_reads_the_table_with_get_item_only_and_reports_its_latency(invoke, dynamodb):
    calls = record_calls(dynamodb)

    result = invoke(load_event("health_ready"))

    assert result.status == 200
    assert result.body["status"] == "pass"
    assert result.body["version"] == APP_ENV["SERVICE_VERSION"]
    check = result.body["checks"]["dynamodb"]
    assert check["status"] == "pass"
    assert isinstance(check["latency_ms"], float)
    assert check["latency_ms"] >= 0
    assert result.body["checks"]["idempotency_table"]["status"] == "pass"
    # The function's role allows item operations only: DescribeTable would be denied. One read per table.
    assert calls == ["GetItem", "GetItem"]


def test_ready_is_503_when_the_idempotency_table_is_missing(invoke, dynamodb):
    from catalog_testkit import IDEMPOTENCY_TABLE_NAME

    dynamodb.delete_table(TableName=IDEMPOTENCY_TABLE_NAME)

    result = invoke(load_event("health_ready"))

    assert result.status == 503
    assert result.body["checks"]["dynamodb"]["status"] == "pass"
    assert result.body["checks"]["idempotency_table"] == {"status": "fail"}
    assert result.log("readiness check failed")["causes"] == {"idempotency_table": "ResourceNotFoundException"}


def test_ready_is_503_when_the_table_is_missing(invoke, dynamodb):
    dynamodb.delete_table(TableName=TABLE_NAME)

    result = invoke(load_event("health_ready"))

    assert result.status == 503
    assert result.body["status"] == "fail"
    assert result.body["version"] == APP_ENV["SERVICE_VERSION"]
    # The endpoint is public: the cause goes to the log, the caller learns only that it failed.
    assert result.body["checks"]["dynamodb"] == {"status": "fail"}
    assert "ResourceNotFoundException" not in result.response["body"]
    assert result.headers["Retry-After"] == "1"
    assert (
        result.body["correlation_id"]
        == result.headers["X-Correlation-ID"]
        == load_event("health_ready")["requestContext"]["requestId"]
    )
    warning = result.log("readiness check failed")
    assert warning["level"] == "WARNING"
    assert warning["causes"] == {"dynamodb": "ResourceNotFoundException"}


def test_ready_is_503_when_dynamodb_is_unreachable(invoke, handler, monkeypatch):
    # A closed loopback port: the connection is refused at once; one attempt keeps it quick.
    unreachable = boto3.client(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",
        config=Config(connect_timeout=1, read_timeout=1, retries={"total_max_attempts": 1}),
    )
    monkeypatch.setattr(handler, "repository", ItemRepository(TABLE_NAME, unreachable))

    result = invoke(load_event("health_ready"))

    assert result.status == 503
    assert result.body["checks"]["dynamodb"] == {"status": "fail"}
    assert result.headers["Retry-After"] == "1"
    assert result.log("readiness check failed")["causes"] == {
        "dynamodb": "EndpointConnectionError",
        "idempotency_table": "EndpointConnectionError",
    }
