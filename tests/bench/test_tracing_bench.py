"""Benchmark: the two tracing providers of service.tracing, cold init and warm per-request cost.

`make bench` runs the timed tests (the normal suite skips them); the normal suite runs each provider once
at its smallest size and checks both record the same annotations, so a benchmark that stopped measuring
the same work fails there. Each provider is measured in fresh interpreters (tracing_overhead.py): the
X-Ray SDK decides at import whether it runs in Lambda, and cold init is only cold once per process.

Figures printed at the end (medians over ROUNDS fresh interpreters): import and tracer setup in ms, the
first traced invocation and the warm per-request cost in microseconds, and OpenTelemetry / X-Ray SDK
ratios. Numbers for the notes, never assertions.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).with_name("tracing_overhead.py")
PROVIDERS = ("xray-sdk", "opentelemetry")
ROUNDS = 7
REQUESTS = 5000
FIGURES = ("import_ms", "setup_ms", "first_request_us", "per_request_us")


def measure(provider: str, requests: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "OTEL_"))}
    completed = subprocess.run([sys.executable, str(SCRIPT), provider, str(requests)], env=env,
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout.splitlines()[-1])
    return result


def test_both_providers_trace_the_same_work_at_the_smallest_size():
    xray, otel = (measure(provider, 2) for provider in PROVIDERS)
    assert xray["recorded"] == otel["recorded"] == {
        "name": "## lambda_handler",
        "annotations": {"operation": "get_item", "status": 200, "caller": "client-1", "ColdStart": False,
                        "Service": "catalog"},
    }
    for result in (xray, otel):
        assert set(FIGURES) <= set(result)


def test_tracing_overhead_by_provider(benchmark):
    def run() -> dict[str, dict[str, float]]:
        medians = {}
        for provider in PROVIDERS:
            rounds = [measure(provider, REQUESTS) for _ in range(ROUNDS)]
            medians[provider] = {figure: statistics.median(r[figure] for r in rounds) for figure in FIGURES}
        return medians

    medians = benchmark.pedantic(run, rounds=1, iterations=1)
    ratios = {figure: medians["opentelemetry"][figure] / medians["xray-sdk"][figure] for figure in FIGURES}
    benchmark.extra_info.update({"medians": medians, "ratios_otel_over_xray": ratios})
    print(f"\n{'figure':<18}{'xray-sdk':>12}{'opentelemetry':>16}{'ratio':>8}")
    for figure in FIGURES:
        print(f"{figure:<18}{medians['xray-sdk'][figure]:>12.2f}{medians['opentelemetry'][figure]:>16.2f}"
              f"{ratios[figure]:>8.2f}")


def test_opentelemetry_request_in_process(benchmark):
    # The warm path alone, in this process, under pytest-benchmark's own statistics.
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from service.tracing import OpenTelemetryTracing

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = OpenTelemetryTracing("catalog", tracer_provider=provider)

    @tracing.capture_lambda_handler
    def lambda_handler(event: dict[str, Any], context: object) -> int:
        with tracing.subsegment("## service.handler.get_item"):
            pass
        tracing.put_annotation("operation", "get_item")
        tracing.put_annotation("status", 200)
        tracing.put_metadata("response_bytes", 120)
        exporter.clear()  # keeps memory flat over the rounds; the spans were exported already
        return 200

    assert benchmark(lambda_handler, {}, None) == 200


@pytest.mark.parametrize("provider", PROVIDERS)
def test_provider_runs_clean(provider: str):
    result = measure(provider, 1)
    assert result["provider"] == provider and result["per_request_us"] > 0
