"""The function's logs, EMF metrics and correlation ids: the contract monitoring builds on."""

from __future__ import annotations

import contextlib
import json
import socket
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from catalog_testkit import (
    APP_ENV,
    REGION,
    FakeLambdaContext,
    assert_valid_emf,
    for_item,
    function_lines,
    json_lines,
    load_event,
    run_fresh,
    with_body,
    with_headers,
)
from service.log_redaction import REDACTED, redact
from service.metrics_catalog import BUSINESS_METRICS

HERE = Path(__file__).parent
REPO_ROOT = HERE.parents[1]

CONTRACT_KEYS = {
    "level",
    "message",
    "timestamp",
    "service",
    "cold_start",
    "function_name",
    "function_request_id",
    "correlation_id",
}


def create(invoke: Any) -> dict[str, Any]:
    result = invoke(load_event("create_item"))
    assert result.status == 201
    return result.body


# --- request and business log lines --------------------------------------------------------


def test_each_request_writes_one_request_completed_line_with_the_contract_keys(invoke, handler):
    context = FakeLambdaContext(aws_request_id="c0ffee00-0000-4000-8000-000000000001")
    result = invoke(load_event("get_item"), context)

    line = result.log("request completed")
    assert line.keys() >= CONTRACT_KEYS
    assert line["level"] == "INFO"
    assert line["service"] == handler.settings.service_name == APP_ENV["POWERTOOLS_SERVICE_NAME"]
    assert line["function_name"] == context.function_name
    assert line["function_request_id"] == context.aws_request_id
    assert isinstance(line["cold_start"], bool)
    assert line["http_method"] == "GET"
    assert line["route"] == "GET /items/{id}"
    assert line["path"] == load_event("get_item")["rawPath"]
    assert line["status_code"] == 404
    assert isinstance(line["status_code"], int)
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0


def test_the_route_is_worked_out_when_api_gateway_sends_the_default_route(invoke):
    event = load_event("get_item")
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"

    line = invoke(event).log("request completed")

    assert line["route"] == "GET /items/{id}"


def test_unrouted_requests_are_logged_with_the_default_route(invoke):
    line = invoke(load_event("unknown_route")).log("request completed")

    assert line["route"] == "$default"
    assert line["status_code"] == 404


def test_a_create_writes_a_business_event_line(invoke):
    result = invoke(load_event("create_item"))

    line = result.log("business event")
    assert line["level"] == "INFO"
    assert line["event"] == "item_created"
    assert line["item_id"] == result.body["id"]


@pytest.mark.parametrize("operation", ["update", "delete"])
def test_updates_and_deletes_write_business_event_lines(invoke, operation):
    item = create(invoke)
    if operation == "update":
        event = with_body(for_item(load_event("replace_item"), item["id"]), {"name": "X", "price": 1, "version": 1})
        expected = "item_updated"
    else:
        event = for_item(load_event("delete_item"), item["id"])
        expected = "item_deleted"

    line = invoke(event).log("business event")

    assert (line["event"], line["item_id"]) == (expected, item["id"])


def test_the_xray_trace_id_is_logged_when_lambda_provides_one(invoke, monkeypatch):
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-67d0b6a0-1d2c3b4a5f6e7d8c9b0a1f2e;Parent=53995c3f42cd8ad8;Sampled=1")

    line = invoke(load_event("health_live")).log("request completed")

    assert line["xray_trace_id"] == "1-67d0b6a0-1d2c3b4a5f6e7d8c9b0a1f2e"


def test_cold_start_is_true_on_the_first_invocation_only(invoke, monkeypatch):
    import aws_lambda_powertools.logging.logger as powertools_logger
    from aws_lambda_powertools.metrics.provider import cold_start

    monkeypatch.setattr(powertools_logger, "is_cold_start", True)
    monkeypatch.setattr(cold_start, "is_cold_start", True)

    first = invoke(load_event("health_live"))
    second = invoke(load_event("health_live"))

    assert first.log("request completed")["cold_start"] is True
    assert second.log("request completed")["cold_start"] is False
    assert first.metric_names() == ["ColdStart"]
    assert second.metric_names() == []


# --- correlation id ------------------------------------------------------------------------


def test_the_correlation_id_header_is_used_logged_and_echoed(invoke):
    event = load_event("create_item")
    correlation_id = event["headers"]["x-correlation-id"]

    result = invoke(event)

    assert result.headers["X-Correlation-ID"] == correlation_id
    assert result.logs, "the request wrote no log line"
    assert {line["correlation_id"] for line in result.logs} == {correlation_id}


def test_without_the_header_the_api_request_id_is_the_correlation_id(invoke):
    event = load_event("get_item")
    request_id = event["requestContext"]["requestId"]

    result = invoke(event)

    assert result.headers["X-Correlation-ID"] == request_id
    assert result.body["correlation_id"] == request_id
    assert {line["correlation_id"] for line in result.logs} == {request_id}


@pytest.mark.parametrize("unsafe", ["two words", "x" * 200, "line\nbreak", '"quoted"'])
def test_an_unsafe_correlation_id_is_replaced_by_the_request_id(invoke, unsafe):
    event = with_headers(load_event("health_live"), {"X-Correlation-ID": unsafe})

    result = invoke(event)

    assert result.headers["X-Correlation-ID"] == event["requestContext"]["requestId"]


def test_the_correlation_id_does_not_leak_into_the_next_invocation(invoke):
    invoke(load_event("create_item"))

    after = invoke(load_event("health_live"))

    assert after.headers["X-Correlation-ID"] == load_event("health_live")["requestContext"]["requestId"]


# --- redaction -----------------------------------------------------------------------------


def test_redact_masks_sensitive_keys_at_any_depth_and_email_addresses_in_text():
    record = {
        "message": "contact ada@example.com about order 42",
        "headers": {"Authorization": "Bearer abc.def", "X-Api-Key": "k-123", "accept": "application/json"},
        "cookies": ["session=s3cr3t"],
        "user": {"email": "ada@example.com", "name": "Ada"},
        "items": [{"password": "hunter2"}],
        "next_token": "eyJpZCI6IjEifQ",
    }

    redacted = redact(record)

    assert redacted == {
        "message": f"contact {REDACTED} about order 42",
        "headers": {"Authorization": REDACTED, "X-Api-Key": REDACTED, "accept": "application/json"},
        "cookies": REDACTED,
        "user": {"email": REDACTED, "name": "Ada"},
        "items": [{"password": REDACTED}],
        "next_token": "eyJpZCI6IjEifQ",
    }
    assert record["user"]["email"] == "ada@example.com", "the caller's data must not be changed"


def test_the_function_logger_redacts(handler, invoke):
    invoke(load_event("health_live"))  # installs the buffer through the invoke fixture
    buffer = handler.logger.registered_handler.stream

    handler.logger.info("signup from bob@example.org", extra={"email": "bob@example.org", "authorization": "Basic x"})

    line = json_lines(buffer.getvalue())[-1]
    assert line["message"] == f"signup from {REDACTED}"
    assert line["email"] == REDACTED
    assert line["authorization"] == REDACTED
    assert "bob@example.org" not in buffer.getvalue()


def test_a_logged_event_has_its_credentials_and_emails_redacted(tmp_path):
    event = with_headers(
        with_body(load_event("create_item"), {"name": "Cup", "price": 1, "description": "for carol@example.net"}),
        {"Authorization": "Bearer eyJhbGciOi.secret.sig", "Cookie": "session=abc"},
    )
    event["cookies"] = ["session=abc"]

    lines = function_lines(run_fresh(tmp_path, {"POWERTOOLS_LOGGER_LOG_EVENT": "true"}, [event]))

    logged_event = next(line["message"] for line in lines if isinstance(line.get("message"), dict))
    assert logged_event["headers"]["authorization"] == REDACTED
    assert logged_event["headers"]["cookie"] == REDACTED
    assert logged_event["cookies"] == REDACTED
    text = json.dumps(lines)
    assert "eyJhbGciOi" not in text
    assert "carol@example.net" not in text


@pytest.mark.parametrize(("rate", "expect_debug"), [("1", True), ("0", False)])
def test_debug_lines_are_written_for_sampled_invocations_only(tmp_path, rate, expect_debug):
    lines = run_fresh(tmp_path, {"POWERTOOLS_LOGGER_SAMPLE_RATE": rate}, [load_event("health_live")])

    debug_lines = [line for line in lines if line.get("level") == "DEBUG" and line["message"] == "request received"]
    assert bool(debug_lines) is expect_debug


def test_the_namespace_and_service_come_from_the_environment(tmp_path):
    env = {"POWERTOOLS_METRICS_NAMESPACE": "Prodready/Prod", "POWERTOOLS_SERVICE_NAME": "catalog-prod"}

    lines = run_fresh(tmp_path, env, [load_event("create_item")])

    documents = [line for line in lines if "_aws" in line]
    assert documents, "no EMF document was written"
    for document in documents:
        assert_valid_emf(document)
        assert document["service"] == "catalog-prod"
        assert {d["Namespace"] for d in document["_aws"]["CloudWatchMetrics"]} == {"Prodready/Prod"}


# --- EMF metrics ---------------------------------------------------------------------------


def business_scenarios(invoke: Any) -> dict[str, Any]:
    """For each business metric, a request that must emit it."""
    item = create(invoke)
    return {
        "ItemsCreated": load_event("create_item"),
        "ItemsUpdated": with_body(
            for_item(load_event("replace_item"), item["id"]), {"name": "X", "price": 1, "version": 1}
        ),
        "ItemsDeleted": for_item(load_event("delete_item"), item["id"]),
        "ItemsNotFound": load_event("get_item"),
        "ValidationFailures": with_body(load_event("create_item"), {"name": "X", "price": -1}),
    }


def test_every_business_metric_is_a_valid_emf_document_with_the_service_dimension(invoke, handler):
    scenarios = business_scenarios(invoke)
    assert set(scenarios) == set(BUSINESS_METRICS)

    for metric_name, event in scenarios.items():
        result = invoke(event)

        assert len(result.emf) == 1, f"{metric_name}: expected one EMF document, got {result.emf}"
        document = result.emf[0]
        assert_valid_emf(document)
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == handler.settings.metrics_namespace == APP_ENV["POWERTOOLS_METRICS_NAMESPACE"]
        assert directive["Dimensions"] == [["service"]]
        assert directive["Metrics"] == [{"Name": metric_name, "Unit": "Count"}]
        assert document["service"] == handler.settings.service_name
        assert document[metric_name] in (1, 1.0, [1], [1.0])


def test_the_cold_start_metric_is_a_valid_emf_document(invoke, monkeypatch, handler):
    from aws_lambda_powertools.metrics.provider import cold_start

    monkeypatch.setattr(cold_start, "is_cold_start", True)

    result = invoke(load_event("health_live"), FakeLambdaContext(function_name="prodready-dev-api"))

    (document,) = result.emf
    assert_valid_emf(document)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Metrics"] == [{"Name": "ColdStart", "Unit": "Count"}]
    assert sorted(directive["Dimensions"][0]) == ["function_name", "service"]
    assert document["function_name"] == "prodready-dev-api"


def test_reads_and_health_checks_emit_no_metric(invoke):
    item = create(invoke)

    for event in (for_item(load_event("get_item"), item["id"]), load_event("list_items"), load_event("health_ready")):
        assert invoke(event).emf == []


def test_metrics_never_call_the_cloudwatch_api(invoke):
    business_scenarios(invoke)
    for event in (load_event("create_item"), with_body(load_event("create_item"), "{bad")):
        invoke(event)

    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    assert cloudwatch.list_metrics()["Metrics"] == [], "metrics must go out as EMF in logs, not PutMetricData"


def test_the_validator_rejects_documents_that_break_the_specification():
    valid = {
        "_aws": {
            "Timestamp": 1741774530000,
            "CloudWatchMetrics": [
                {"Namespace": "N", "Dimensions": [["service"]], "Metrics": [{"Name": "M", "Unit": "Count"}]}
            ],
        },
        "service": "catalog",
        "M": [1.0],
    }
    assert_valid_emf(valid)
    broken = [
        {**valid, "M": "1"},
        {**valid, "service": 7},
        {k: v for k, v in valid.items() if k != "M"},
        {**valid, "_aws": {**valid["_aws"], "Timestamp": "now"}},
        {
            **valid,
            "_aws": {
                **valid["_aws"],
                "CloudWatchMetrics": [
                    {"Namespace": "N", "Dimensions": [["service"]], "Metrics": [{"Name": "M", "Unit": "Items"}]}
                ],
            },
        },
    ]
    for document in broken:
        with pytest.raises((AssertionError, jsonschema.ValidationError)):
            assert_valid_emf(document)


# --- tracing -------------------------------------------------------------------------------


def test_each_request_is_annotated_with_its_operation_and_status(invoke, handler, monkeypatch):
    annotations: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    monkeypatch.setattr(handler.tracer, "put_annotation", lambda key, value: annotations.__setitem__(key, value))
    monkeypatch.setattr(handler.tracer, "put_metadata", lambda key, value, **_: metadata.__setitem__(key, value))
    event = load_event("create_item")

    result = invoke(event)

    assert annotations == {"operation": "create_item", "status": 201}
    assert metadata == {"request_bytes": len(event["body"]), "response_bytes": len(result.response["body"])}


def test_traces_capture_the_handler_the_route_and_each_dynamodb_call(tmp_path):
    # A stand-in X-Ray daemon: the SDK sends each finished subsegment to it as a UDP datagram.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(2)
        lambda_env = {
            "LAMBDA_TASK_ROOT": str(REPO_ROOT / "app"),
            "AWS_LAMBDA_FUNCTION_NAME": "prodready-dev-api",
            "_X_AMZN_TRACE_ID": "Root=1-67d0b6a0-1d2c3b4a5f6e7d8c9b0a1f2e;Parent=53995c3f42cd8ad8;Sampled=1",
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
        }

        run_fresh(tmp_path, lambda_env, [load_event("create_item")], drop=("POWERTOOLS_TRACE_DISABLED",))

        documents = []
        with contextlib.suppress(TimeoutError):
            for _ in range(20):  # bounded: three subsegments are expected, the handler's last
                header, body = daemon.recv(65535).decode().split("\n", 1)
                assert json.loads(header) == {"format": "json", "version": 1}
                documents.append(json.loads(body))
                if {"dynamodb", "## lambda_handler"} <= {document["name"] for document in documents}:
                    break

    by_name = {document["name"]: document for document in documents}
    assert by_name["dynamodb"]["aws"]["operation"] == "PutItem"
    assert by_name["dynamodb"]["aws"]["table_name"] == APP_ENV["TABLE_NAME"]
    assert "## service.handler.create_item" in by_name
    handler_segment = by_name["## lambda_handler"]
    assert handler_segment["annotations"]["operation"] == "create_item"
    assert handler_segment["annotations"]["status"] == 201
    assert "status_code" not in handler_segment["annotations"]
    sizes = handler_segment["metadata"][APP_ENV["POWERTOOLS_SERVICE_NAME"]]
    assert sizes["request_bytes"] == len(load_event("create_item")["body"])
    assert sizes["response_bytes"] > 0
