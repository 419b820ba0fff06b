"""DynamoDB failing: an honest 503 with Retry-After and the correlation id, and nothing else about it."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.stub import Stubber
from catalog_testkit import (
    APP_ENV,
    IDEMPOTENCY_TABLE_NAME,
    REGION,
    TABLE_NAME,
    load_event,
    with_headers,
)

FUNCTION_TIMEOUT_S = 10.0


# A stack may shorten the function's DynamoDB timeouts (DYNAMODB_CONNECT_TIMEOUT_MS, DYNAMODB_READ_TIMEOUT_MS):
# the faults take the same paths at a tenth of the default's wait.
FAULT_TIMEOUT_S = 0.1


def production_client(endpoint_url: str) -> Any:
    """A DynamoDB client built as the function builds its own (its retries; timeouts as a stack may set
    them, `FAULT_TIMEOUT_S`), aimed at `endpoint_url`."""
    from service.repository import MAX_ATTEMPTS, client_config

    session = botocore.session.get_session()
    config = client_config(FAULT_TIMEOUT_S, FAULT_TIMEOUT_S, MAX_ATTEMPTS)
    return session.create_client("dynamodb", region_name=REGION, endpoint_url=endpoint_url, config=config)


def point_handler_at(handler: Any, monkeypatch: pytest.MonkeyPatch, client: Any) -> None:
    from service.idempotency import IdempotentCreates
    from service.repository import ItemRepository

    monkeypatch.setattr(handler, "repository", ItemRepository(TABLE_NAME, client))
    monkeypatch.setattr(handler, "idempotency", IdempotentCreates(IDEMPOTENCY_TABLE_NAME, 3600, lambda: client))


@pytest.fixture
def stopped_dynamodb(handler: Any, dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A moto server that served the tables, then stopped: its port now refuses connections."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # The server shares moto's in-process backends, where the dynamodb fixture made the tables.
    assert set(production_client(endpoint).list_tables()["TableNames"]) >= {TABLE_NAME, IDEMPOTENCY_TABLE_NAME}
    server.stop()
    point_handler_at(handler, monkeypatch, production_client(endpoint))
    return endpoint


@contextlib.contextmanager
def misbehaving_server(*, hang: bool) -> Iterator[str]:
    """A server that accepts connections, then holds them open without a word (`hang`) or closes them."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                connection = listener.accept()[0]
                if hang:
                    held.append(connection)
                else:
                    connection.recv(65536)
                    connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for connection in held:
            connection.close()
        listener.close()


@pytest.fixture
def hanging_dynamodb(handler: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A server that accepts connections and never answers."""
    with misbehaving_server(hang=True) as endpoint:
        point_handler_at(handler, monkeypatch, production_client(endpoint))
        yield endpoint


@pytest.fixture
def closing_dynamodb(handler: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A server that reads each request and closes the connection without answering."""
    with misbehaving_server(hang=False) as endpoint:
        point_handler_at(handler, monkeypatch, production_client(endpoint))
        yield endpoint


def assert_honest_503(result: Any, event: dict[str, Any], *, hidden: tuple[str, ...] = ()) -> None:
    assert result.status == 503, result.body
    assert result.headers["Retry-After"] == "1"
    assert result.headers["Content-Type"] == "application/json"
    correlation_id = event["headers"].get("x-correlation-id") or event["requestContext"]["requestId"]
    assert result.headers["X-Correlation-ID"] == correlation_id
    assert result.body["correlation_id"] == correlation_id
    raw = result.response["body"]
    for secret in ("127.0.0.1", "Traceback", "botocore", *hidden):
        assert secret not in raw


ITEM_REQUESTS = {
    "get_item": lambda: load_event("get_item"),
    "list_items": lambda: load_event("list_items"),
    "create_item": lambda: load_event("create_item"),
    "create_item_idempotently": lambda: with_headers(load_event("create_item"), {"Idempotency-Key": "k-1"}),
    "replace_item": lambda: load_event("replace_item"),
    "delete_item": lambda: load_event("delete_item"),
}


@pytest.mark.parametrize("request_name", list(ITEM_REQUESTS))
def test_a_stopped_dynamodb_answers_503(invoke, stopped_dynamodb, request_name):
    event = ITEM_REQUESTS[request_name]()

    result = invoke(event)

    assert_honest_503(result, event, hidden=("EndpointConnectionError", stopped_dynamodb))
    assert result.body["error"] == {
        "code": "unavailable",
        "message": "temporarily unavailable, retry later",
        # Where the idempotency layer runs first, its table is the one found failing.
        "dependency": "idempotency_table" if request_name == "create_item_idempotently" else "items_table",
    }
    assert result.log("dependency unavailable")["error"] == "EndpointConnectionError"


@pytest.mark.parametrize("request_name", ["get_item", "create_item_idempotently"])
def test_a_hanging_dynamodb_answers_503(invoke, hanging_dynamodb, request_name):
    event = ITEM_REQUESTS[request_name]()

    result = invoke(event)

    assert_honest_503(result, event, hidden=("ReadTimeoutError",))
    assert result.log("dependency unavailable")["error"] == "ReadTimeoutError"


@pytest.mark.parametrize("request_name", ["get_item", "create_item_idempotently"])
def test_a_dynamodb_that_closes_connections_answers_503(invoke, closing_dynamodb, request_name):
    event = ITEM_REQUESTS[request_name]()

    result = invoke(event)

    assert_honest_503(result, event, hidden=("ConnectionClosedError",))
    assert result.log("dependency unavailable")["error"] == "ConnectionClosedError"


@pytest.mark.parametrize("fixture", ["stopped_dynamodb", "hanging_dynamodb", "closing_dynamodb"])
def test_readiness_is_503_with_retry_after_and_the_correlation_id(invoke, request, fixture):
    request.getfixturevalue(fixture)
    event = load_event("health_ready")

    result = invoke(event)

    assert_honest_503(result, event, hidden=("EndpointConnectionError", "ReadTimeoutError", "ConnectionClosedError"))
    assert result.body["status"] == "fail"
    assert result.body["checks"] == {"dynamodb": {"status": "fail"}, "idempotency_table": {"status": "fail"}}


def stubbed(handler: Any, monkeypatch: pytest.MonkeyPatch) -> Stubber:
    client = botocore.session.get_session().create_client("dynamodb", region_name=REGION)
    point_handler_at(handler, monkeypatch, client)
    stubber = Stubber(client)
    stubber.activate()
    return stubber


@pytest.mark.parametrize(
    ("code", "http_status"),
    [
        ("InternalServerError", 500),
        ("ServiceUnavailable", 503),
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("RequestLimitExceeded", 400),
    ],
)
def test_dynamodb_failures_and_throttling_are_503(invoke, handler, monkeypatch, code, http_status):
    stubber = stubbed(handler, monkeypatch)
    stubber.add_client_error(
        "get_item", service_error_code=code, service_message="internal detail", http_status_code=http_status
    )
    event = load_event("get_item")

    result = invoke(event)

    assert_honest_503(result, event, hidden=(code, "internal detail"))
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "http_status"),
    [("ValidationException", 400), ("AccessDeniedException", 400)],
)
def test_errors_a_retry_cannot_fix_are_500(invoke, handler, monkeypatch, code, http_status):
    stubber = stubbed(handler, monkeypatch)
    stubber.add_client_error(
        "get_item", service_error_code=code, service_message="internal detail", http_status_code=http_status
    )

    result = invoke(load_event("get_item"))

    assert result.status == 500
    assert result.body["error"]["code"] == "internal_error"
    assert result.body["correlation_id"] == result.headers["X-Correlation-ID"]
    assert code not in result.response["body"]
    assert "Retry-After" not in result.headers
    # One structured line with the cause, under the correlation id, and no other error line.
    line = result.log("dependency refused the request")
    assert (line["level"], line["error"], line["operation"], line["dependency"]) == (
        "ERROR", code, "GetItem", "items_table")
    assert line["correlation_id"] == result.body["correlation_id"]
    assert [entry["message"] for entry in result.logs if entry["level"] == "ERROR"] == [line["message"]]


# --- the rules, unit by unit -----------------------------------------------------------------


def client_error(code: str, http_status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": http_status}}, "PutItem"
    )


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (EndpointConnectionError(endpoint_url="http://x"), "EndpointConnectionError"),
        (ConnectTimeoutError(endpoint_url="http://x"), "ConnectTimeoutError"),
        (ReadTimeoutError(endpoint_url="http://x"), "ReadTimeoutError"),
        (ConnectionClosedError(endpoint_url="http://x"), "ConnectionClosedError"),
        (client_error("InternalServerError", 500), "InternalServerError"),
        (client_error("SomethingNew", 502), "SomethingNew"),
        (client_error("ConditionalCheckFailedException", 400), None),
        (RuntimeError("bug"), None),
    ],
)
def test_unavailable_cause_names_dependency_failures_only(error, cause):
    from service.faults import unavailable_cause

    assert unavailable_cause(error) == cause


def test_unavailable_cause_looks_inside_the_idempotency_error_that_wraps_it():
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
    from service.faults import unavailable_cause

    wrapped = IdempotencyPersistenceLayerError("Failed to save in progress record", ReadTimeoutError(endpoint_url="x"))

    assert unavailable_cause(wrapped) == "ReadTimeoutError"


def test_one_dynamodb_call_fails_well_inside_the_function_timeout():
    from service.repository import CLIENT_CONFIG, worst_case_call_seconds

    worst = worst_case_call_seconds(
        CLIENT_CONFIG.connect_timeout, CLIENT_CONFIG.read_timeout, CLIENT_CONFIG.retries["total_max_attempts"]
    )

    assert worst <= FUNCTION_TIMEOUT_S / 2
    assert CLIENT_CONFIG.retries["mode"] == "standard"
    assert APP_ENV["AWS_REGION"] == REGION
