"""The tracing facade on both providers: the annotations X-Ray searches by are on the handler's span, and
the cold start is flagged on an environment's first invocation only."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from catalog_testkit import REPO_ROOT, load_event, run_fresh
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from service.tracing import (
    XRAY_ANNOTATIONS_ATTRIBUTE,
    OpenTelemetryTracing,
    XRaySdkTracing,
    tracing_for,
)

TRACE_HEADER = "Root=1-67d0b6a0-1d2c3b4a5f6e7d8c9b0a1f2e;Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.fixture
def recorded() -> Iterator[tuple[OpenTelemetryTracing, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield OpenTelemetryTracing("catalog", tracer_provider=provider), exporter
    provider.shutdown()


def annotations(span: ReadableSpan) -> dict[str, Any]:
    """What X-Ray indexes of a span: the attributes its aws.xray.annotations attribute names."""
    attributes = dict(span.attributes or {})
    return {key: attributes[key] for key in attributes.get(XRAY_ANNOTATIONS_ATTRIBUTE, ())}


def test_opentelemetry_annotates_the_handler_span_and_flags_only_the_first_invocation_cold(recorded):
    tracing, exporter = recorded

    @tracing.capture_lambda_handler
    def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        tracing.put_annotation("operation", event["operation"])
        tracing.put_annotation("status", 201)
        tracing.put_annotation("caller", "client-1")
        tracing.put_metadata("request_bytes", 42)
        return {"statusCode": 201}

    assert lambda_handler({"operation": "create_item"}, None) == {"statusCode": 201}
    lambda_handler({"operation": "get_item"}, None)

    first, second = exporter.get_finished_spans()
    assert first.name == second.name == "## lambda_handler"
    assert annotations(first) == {"operation": "create_item", "status": 201, "caller": "client-1",
                                  "ColdStart": True, "Service": "catalog"}
    assert annotations(second)["ColdStart"] is False
    assert annotations(second)["operation"] == "get_item"
    # Metadata is an attribute X-Ray does not index.
    assert first.attributes["request_bytes"] == 42
    assert "request_bytes" not in first.attributes[XRAY_ANNOTATIONS_ATTRIBUTE]


def test_opentelemetry_records_a_failed_invocation_and_still_counts_its_cold_start(recorded):
    tracing, exporter = recorded

    @tracing.capture_lambda_handler
    def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        lambda_handler({}, None)

    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]
    assert annotations(span) == {"ColdStart": True, "Service": "catalog"}


def test_opentelemetry_counts_no_cold_start_under_provisioned_concurrency(recorded, monkeypatch):
    tracing, exporter = recorded
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")
    tracing.capture_lambda_handler(lambda event, context: None)({}, None)
    (span,) = exporter.get_finished_spans()
    assert annotations(span)["ColdStart"] is False


def test_opentelemetry_subsegments_nest_under_the_handler_and_metadata_keeps_structures(recorded):
    tracing, exporter = recorded

    @tracing.capture_lambda_handler
    def lambda_handler(event: dict[str, Any], context: object) -> None:
        with tracing.subsegment("## service.handler.create_item"):
            tracing.put_metadata("sizes", {"request": 1})

    lambda_handler({}, None)

    route, handler = exporter.get_finished_spans()
    assert route.name == "## service.handler.create_item"
    assert route.parent is not None and route.parent.span_id == handler.context.span_id
    assert json.loads(route.attributes["sizes"]) == {"request": 1}
    # Only the handler's annotations are the handler's: the route span has none.
    assert XRAY_ANNOTATIONS_ATTRIBUTE not in route.attributes


def test_opentelemetry_without_an_sdk_records_nothing_and_costs_no_errors():
    # The API alone (no layer, as outside Lambda): every call is a no-op.
    tracing = OpenTelemetryTracing("catalog")
    handler = tracing.capture_lambda_handler(lambda event, context: "ok")
    assert handler({}, None) == "ok"
    tracing.put_annotation("status", 200)
    tracing.put_metadata("request_bytes", 1)


def test_the_provider_comes_from_the_environment_the_component_sets(monkeypatch):
    monkeypatch.setenv("TRACING_PROVIDER", "opentelemetry")
    assert isinstance(tracing_for("catalog"), OpenTelemetryTracing)
    monkeypatch.setenv("TRACING_PROVIDER", "xray-sdk")
    assert isinstance(tracing_for("catalog"), XRaySdkTracing)
    monkeypatch.delenv("TRACING_PROVIDER")
    assert isinstance(tracing_for("catalog"), XRaySdkTracing)
    monkeypatch.setenv("TRACING_PROVIDER", "jaeger")
    with pytest.raises(ValueError, match="TRACING_PROVIDER='jaeger' is not one of"):
        tracing_for("catalog")


XRAY_SCRIPT = textwrap.dedent(
    """
    from service.tracing import XRaySdkTracing

    tracing = XRaySdkTracing("catalog")

    @tracing.capture_lambda_handler
    def lambda_handler(event, context):
        tracing.put_annotation("operation", event["operation"])
        tracing.put_annotation("status", 200)
        return {"statusCode": 200}

    lambda_handler({"operation": "list_items"}, None)
    lambda_handler({"operation": "get_item"}, None)
    """
)


def _daemon_documents(daemon: socket.socket, expected: int) -> list[dict[str, Any]]:
    documents = []
    with contextlib.suppress(TimeoutError):
        for _ in range(expected * 5):  # bounded
            _header, body = daemon.recv(65535).decode().split("\n", 1)
            documents.append(json.loads(body))
            if len(documents) == expected:
                break
    return documents


def test_xray_sdk_annotates_the_handler_subsegment_and_flags_only_the_first_invocation_cold():
    # In a fresh interpreter, as in Lambda (the SDK decides at import whether it runs in Lambda), with a
    # stand-in X-Ray daemon that receives each finished subsegment as a UDP datagram.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(2)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))},
            "PYTHONPATH": str(REPO_ROOT / "app"),
            "LAMBDA_TASK_ROOT": str(REPO_ROOT / "app"),
            "AWS_LAMBDA_FUNCTION_NAME": "catalog-dev-api",
            "AWS_REGION": "eu-west-1",
            "_X_AMZN_TRACE_ID": TRACE_HEADER,
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
        }
        completed = subprocess.run([sys.executable, "-c", XRAY_SCRIPT], env=env, capture_output=True, text=True,
                                   timeout=60, check=False)
        assert completed.returncode == 0, completed.stderr
        documents = _daemon_documents(daemon, 2)

    first, second = documents
    assert first["name"] == second["name"] == "## lambda_handler"
    assert first["annotations"] == {"operation": "list_items", "status": 200, "ColdStart": True,
                                    "Service": "catalog"}
    assert second["annotations"]["ColdStart"] is False
    assert second["annotations"]["operation"] == "get_item"


def test_the_handler_on_opentelemetry_carries_the_same_annotations(tmp_path: Path):
    # The real handler, with OpenTelemetry set up as the layer sets it up before the handler is imported.
    lines = run_fresh(tmp_path, {"TRACING_PROVIDER": "opentelemetry"},
                      [load_event("create_item"), load_event("health_ready")], script="otel_layer_standin.py")

    spans = [line for line in lines if "span" in line]
    handlers = [span for span in spans if span["span"] == "## lambda_handler"]
    assert len(handlers) == 2
    created = {key: handlers[0]["attributes"][key] for key in handlers[0]["attributes"][XRAY_ANNOTATIONS_ATTRIBUTE]}
    assert created == {"operation": "create_item", "status": 201, "ColdStart": True, "Service": "catalog"}
    ready = handlers[1]["attributes"]
    assert (ready["operation"], ready["status"], ready["ColdStart"]) == ("health_ready", 200, False)
    assert handlers[0]["attributes"]["request_bytes"] == len(load_event("create_item")["body"])
    # The route's span is the handler's child, as the route's subsegment is on the X-Ray SDK path.
    (route,) = [span for span in spans if span["span"] == "## service.handler.create_item"]
    assert route["parent_id"] == handlers[0]["span_id"]
