"""Fixtures for the app tests: the function's environment, DynamoDB on moto, an invoker."""

from __future__ import annotations

import importlib
import io
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from catalog_testkit import (
    APP_ENV,
    IDEMPOTENCY_TABLE_NAME,
    REGION,
    TABLE_NAME,
    FakeLambdaContext,
    Invocation,
    json_lines,
)
from moto import mock_aws

from tools.local_api import create_idempotency_table, create_table

Invoke = Callable[[dict[str, Any]], Invocation]


@pytest.fixture(scope="session")
def served_api() -> Iterator[Any]:
    """`python -m tools.serve` on a free loopback port, shared by the local-server tests."""
    from tools.local_api import local_server

    with local_server() as server:
        yield server


@pytest.fixture(autouse=True)
def app_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The Function component's environment, for the duration of each test only."""
    for name, value in APP_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # pytest resets warning filters around each test, dropping the one the handler installs at
    # import; restore it so that tests see the same output as the function.
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
    return APP_ENV


@pytest.fixture
def handler(app_env: dict[str, str]) -> ModuleType:
    """The handler module, imported (once per session) under the function's environment."""
    return importlib.import_module("service.handler")


@pytest.fixture
def dynamodb(handler: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An in-process moto DynamoDB with both tables; the handler's repository and idempotency use it."""
    from service.idempotency import IdempotentCreates
    from service.repository import CLIENT_CONFIG, ItemRepository

    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION, config=CLIENT_CONFIG)
        # As the local server creates them, from the stack's definitions.
        create_table(client, TABLE_NAME)
        create_idempotency_table(client, IDEMPOTENCY_TABLE_NAME)
        monkeypatch.setattr(handler, "repository", ItemRepository(TABLE_NAME, client))
        monkeypatch.setattr(
            handler,
            "idempotency",
            IdempotentCreates(IDEMPOTENCY_TABLE_NAME, int(APP_ENV["IDEMPOTENCY_TTL_SECONDS"]), lambda: client),
        )
        yield client


@pytest.fixture
def invoke(handler: ModuleType, dynamodb: Any, capsys: pytest.CaptureFixture[str]) -> Iterator[Invoke]:
    """Call the Lambda handler with an event; collect its log lines and EMF documents apart.

    Logs go to a buffer swapped into the Powertools handler; EMF documents are printed to
    stdout and read with capsys, the way the Powertools documentation tests metrics.
    """
    buffer = io.StringIO()
    stream_handler = handler.logger.registered_handler
    previous = stream_handler.setStream(buffer)
    handler.metrics.clear_metrics()
    capsys.readouterr()

    def call(event: dict[str, Any], context: FakeLambdaContext | None = None) -> Invocation:
        buffer.seek(0)
        buffer.truncate()
        response = handler.lambda_handler(event, context or FakeLambdaContext())
        emf = [doc for doc in json_lines(capsys.readouterr().out) if "_aws" in doc]
        return Invocation(response=response, logs=json_lines(buffer.getvalue()), emf=emf)

    yield call
    stream_handler.setStream(previous)
