"""`fresh_handler.py` with OpenTelemetry set up as the AWSOpenTelemetryDistroPython layer sets it up
before the runtime imports the handler: an SDK tracer provider, installed globally. Its exporter prints
each finished span as one JSON line (`span`, `span_id`, `parent_id`, `attributes`, `status`), so the
caller reads spans from stdout as fresh_handler's other lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import fresh_handler
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult


class PrintingExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            context = span.get_span_context()
            print(
                json.dumps(
                    {
                        "span": span.name,
                        "span_id": context.span_id if context else None,
                        "parent_id": span.parent.span_id if span.parent else None,
                        "attributes": {k: list(v) if isinstance(v, tuple) else v
                                       for k, v in (span.attributes or {}).items()},
                        "status": span.status.status_code.name,
                    }
                ),
                flush=True,
            )
        return SpanExportResult.SUCCESS


if __name__ == "__main__":
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(PrintingExporter()))
    trace.set_tracer_provider(provider)
    fresh_handler.main(sys.argv[1:])
