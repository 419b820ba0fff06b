"""Measure one tracing provider in this (fresh) interpreter: `python tracing_overhead.py PROVIDER REQUESTS`.

Prints one JSON line: `import_ms` (importing the provider's packages and the facade), `setup_ms` (creating
the tracer: Powertools Tracer patching botocore; or an OpenTelemetry SDK tracer provider, as the layer
installs one, plus the facade), `per_request_us` (median of REQUESTS traced invocations, each a handler
span with a route child span, five annotations and two metadata values, as service.handler records), and
what the last invocation recorded (`recorded`), so a caller can check both paths trace the same things.

Nothing leaves the process: the X-Ray SDK's emitter is replaced by one that keeps the last entity it is
handed (the real one serialises it and sends a UDP datagram to the Lambda daemon); the OpenTelemetry SDK
exports through a simple processor to an exporter that keeps the last batch (the layer's serialises OTLP
and sends it over UDP to the same daemon). Both sides therefore leave out the same thing: the send.
botocore and Powertools (Logger, Metrics) are imported before the clock starts on both paths: the function
imports them whatever its tracing.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

APP_DIR = Path(__file__).resolve().parents[2] / "app"
# What Lambda sets and the X-Ray SDK reads (at import) to run in Lambda mode with a sampled trace.
LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "catalog-bench-api",
    "LAMBDA_TASK_ROOT": str(APP_DIR),
    "AWS_REGION": "eu-west-1",
    "_X_AMZN_TRACE_ID": "Root=1-67d0b6a0-1d2c3b4a5f6e7d8c9b0a1f2e;Parent=53995c3f42cd8ad8;Sampled=1",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
}


def _request(tracing: Any) -> Any:
    @tracing.capture_lambda_handler
    def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        with tracing.subsegment("## service.handler.get_item"):
            pass
        tracing.put_annotation(key="operation", value="get_item")
        tracing.put_annotation(key="status", value=200)
        tracing.put_annotation(key="caller", value="client-1")
        tracing.put_metadata(key="request_bytes", value=0)
        tracing.put_metadata(key="response_bytes", value=120)
        return {"statusCode": 200}

    return lambda_handler


def _xray(requests: int) -> dict[str, Any]:
    started = time.perf_counter()
    from aws_xray_sdk.core import xray_recorder
    from service.tracing import XRaySdkTracing

    imported = time.perf_counter()
    tracing = XRaySdkTracing("catalog")
    set_up = time.perf_counter()

    class KeepLast:
        last: Any = None

        def send_entity(self, entity: Any) -> None:
            self.last = entity

        def set_daemon_address(self, address: str | None) -> None:
            pass

    emitter = KeepLast()
    xray_recorder.configure(emitter=emitter)
    handler = _request(tracing)
    times = _time(handler, requests)
    entity = emitter.last.to_dict() if emitter.last is not None else {}
    return {
        "import_ms": (imported - started) * 1000,
        "setup_ms": (set_up - imported) * 1000,
        **times,
        "recorded": {"name": entity.get("name"), "annotations": entity.get("annotations", {})},
    }


def _opentelemetry(requests: int) -> dict[str, Any]:
    started = time.perf_counter()
    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
    from service.tracing import XRAY_ANNOTATIONS_ATTRIBUTE, OpenTelemetryTracing

    imported = time.perf_counter()

    class KeepLast(SpanExporter):
        last: Sequence[ReadableSpan] = ()

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            self.last = spans
            return SpanExportResult.SUCCESS

    exporter = KeepLast()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    tracing = OpenTelemetryTracing("catalog")
    set_up = time.perf_counter()
    handler = _request(tracing)
    times = _time(handler, requests)
    (span,) = exporter.last
    attributes = dict(span.attributes or {})
    return {
        "import_ms": (imported - started) * 1000,
        "setup_ms": (set_up - imported) * 1000,
        **times,
        "recorded": {"name": span.name,
                     "annotations": {k: attributes[k] for k in attributes.get(XRAY_ANNOTATIONS_ATTRIBUTE, ())}},
    }


def _time(handler: Any, requests: int) -> dict[str, float]:
    samples = []
    for _ in range(requests):
        before = time.perf_counter_ns()
        handler({}, None)
        samples.append(time.perf_counter_ns() - before)
    return {"first_request_us": samples[0] / 1000, "per_request_us": statistics.median(samples[1:] or samples) / 1000}


def main(provider: str, requests: int) -> None:
    os.environ.update(LAMBDA_ENV)
    sys.path.insert(0, str(APP_DIR))
    # What the function imports on either path, before the clock starts: botocore, Powertools' Logger and Metrics.
    import aws_lambda_powertools  # noqa: F401
    import botocore.session  # noqa: F401

    measure = {"xray-sdk": _xray, "opentelemetry": _opentelemetry}[provider]
    print(json.dumps({"provider": provider, **measure(requests)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
