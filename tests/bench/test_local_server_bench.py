"""Benchmark: the local server (`python -m tools.serve`) under keep-alive load.

`make bench` runs it (the normal suite skips benchmarks). One real server process, started with
`local_server()` as the tests start it; clients in this process, each on its own keep-alive
connection (http.client), all starting together. Per scenario: requests per second over the
whole run, and the latency each client saw, p50 and p99; each scenario runs ROUNDS times and the
round with the median rate is reported.

Scenarios: `GET /items/{id}` (one item, created first) and `POST /items`, each with a valid token,
at 1 and at 8 concurrent connections. The function itself runs one event at a time (one Lambda
execution environment), so 8 connections measure the server's overhead and queueing, not
parallel function work.

Numbers for the notes, not assertions; only the responses are checked (200 / 201).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tools.local_api import LocalServerProcess, local_server
from tools.local_auth import mint_token

REQUESTS_PER_SCENARIO = 320
# The machine may be busy with other work: each scenario runs this often, the median round counts.
ROUNDS = 3
WARMUP_REQUESTS = 20
CONNECTIONS = (1, 8)
ROUTES = ("GET /items/{id}", "POST /items")


@dataclass(frozen=True)
class Figures:
    requests: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Target:
    server: LocalServerProcess
    headers: dict[str, str]
    item_id: str

    @property
    def port(self) -> int:
        return int(self.server.url.rsplit(":", 1)[1])


def request_for(route: str, target: Target) -> tuple[str, str, bytes | None, int]:
    if route == "GET /items/{id}":
        return "GET", f"/items/{target.item_id}", None, 200
    body = json.dumps({"name": "bench item", "price": 1.5, "description": "keep-alive load"}).encode()
    return "POST", "/items", body, 201


def client(target: Target, route: str, count: int, start: threading.Barrier, latencies: list[float]) -> None:
    method, path, body, expected = request_for(route, target)
    headers = {**target.headers, **({"Content-Type": "application/json"} if body else {})}
    connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
    try:
        start.wait()
        for _ in range(count):
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            latencies.append((time.perf_counter() - started) * 1000.0)
            assert response.status == expected, f"{method} {path}: {response.status}"
    finally:
        connection.close()


def measure(target: Target, route: str, connections: int, total: int) -> Figures:
    per_connection = total // connections
    start = threading.Barrier(connections + 1)
    latencies: list[list[float]] = [[] for _ in range(connections)]
    threads = [
        threading.Thread(target=client, args=(target, route, per_connection, start, latencies[n]))
        for n in range(connections)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join(timeout=600)
    seconds = time.perf_counter() - began
    flat = [value for values in latencies for value in values]
    assert len(flat) == per_connection * connections, "every request was answered as expected"
    return Figures(len(flat), seconds, flat)


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    headers = {"Authorization": f"Bearer {mint_token(['items.read', 'items.write'])}"}
    with local_server() as server:
        connection = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=30)
        connection.request(
            "POST",
            "/items",
            body=json.dumps({"name": "bench", "price": 1}),
            headers={**headers, "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        created = json.loads(response.read())
        connection.close()
        assert response.status == 201, created
        yield Target(server, headers, created["id"])


@pytest.fixture(scope="module")
def results(request: pytest.FixtureRequest) -> Iterator[dict[tuple[str, int], Figures]]:
    collected: dict[tuple[str, int], Figures] = {}
    yield collected
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n" + table(collected))


def table(results: dict[tuple[str, int], Figures]) -> str:
    lines = [
        f"local server under keep-alive load ({REQUESTS_PER_SCENARIO} requests per scenario, valid token,"
        f" median of {ROUNDS} rounds)",
        f"  {'route':<18} {'connections':>11} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}",
    ]
    for (route, connections), figures in sorted(results.items()):
        lines.append(
            f"  {route:<18} {connections:>11} {figures.rps:>9.0f} "
            f"{figures.percentile(0.50):>8.2f} {figures.percentile(0.99):>8.2f}"
        )
    return "\n".join(lines)


@pytest.mark.parametrize("connections", CONNECTIONS)
@pytest.mark.parametrize("route", ROUTES)
def test_keep_alive_load(benchmark: Any, target: Target, results: dict, route: str, connections: int) -> None:
    benchmark.group = f"local server: {REQUESTS_PER_SCENARIO} x {route}"
    measure(target, route, 1, WARMUP_REQUESTS)
    figures: list[Figures] = []

    benchmark.pedantic(
        lambda: figures.append(measure(target, route, connections, REQUESTS_PER_SCENARIO)), rounds=ROUNDS
    )

    assert [round_.requests for round_ in figures] == [REQUESTS_PER_SCENARIO] * ROUNDS
    median_rate = statistics.median_low(round_.rps for round_ in figures)
    results[(route, connections)] = next(round_ for round_ in figures if round_.rps == median_rate)
