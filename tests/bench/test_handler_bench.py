"""Benchmark: the Powertools-instrumented handler against the same service without Powertools.

`make bench` runs it (the normal suite skips benchmarks). Both handlers run in one process on
the same data (a real botocore client whose DynamoDB calls are answered with fixed responses,
see CannedDynamoDB) and the same API Gateway v2 event fixtures; the plain one routes with
`service.routing`, validates with the same `service.models` and calls the same `service.items`
use cases, so the difference is what Logger, Metrics, Tracer, the resolver and its OpenAPI
validation, the body checks and the security headers cost. The idempotency table is only touched
by requests with an Idempotency-Key, which the measured events do not carry. Log and EMF lines
are written to /dev/null, so the cost of writing them is counted but nothing piles up in memory.

Figures printed at the end:
- warm per-request overhead (median, microseconds, and the ratio instrumented / plain), with
  tracing disabled as it is off the Lambda service, and again in a fresh process with tracing
  on against a dummy X-Ray daemon address, as inside Lambda;
- cold init: importing the handler module (with its clients) in a fresh interpreter, tracing on
  as in Lambda, against importing what the plain handler needs, plus the first invocation.

Targets from the issue: instrumentation under 1 ms per warm request, cold init under 300 ms.
These are numbers for the notes, not assertions; only the responses are checked.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_DIR = REPO_ROOT / "app"
EVENTS_DIR = REPO_ROOT / "tests" / "app" / "events"
REGION = "eu-west-1"
TABLE_NAME = "prodready-items-bench"
SEEDED_ITEMS = 50

ENV = {
    "TABLE_NAME": TABLE_NAME,
    "IDEMPOTENCY_TABLE_NAME": "prodready-idempotency-bench",
    "IDEMPOTENCY_TTL_SECONDS": "3600",
    "MAX_REQUEST_BODY_BYTES": "65536",
    "POWERTOOLS_SERVICE_NAME": "catalog",
    "POWERTOOLS_METRICS_NAMESPACE": "Prodready/Bench",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "SERVICE_VERSION": "bench",
    "ENVIRONMENT": "dev",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
}
# What the Lambda service sets and Powertools looks at to turn tracing on.
LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "prodready-bench-api",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "LAMBDA_TASK_ROOT": str(APP_DIR),
    "_X_AMZN_TRACE_ID": "Root=1-67d0b6a0-1d2c3b4a5f6e7d8c9b0a1f2e;Parent=53995c3f42cd8ad8;Sampled=1",
    # Nothing listens there: segments are sent by UDP and dropped, as cheap as to a real daemon.
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
}
# Routes measured, with the status each must answer.
ROUTES = {
    "health_live": 200,
    "get_item": 200,
    "list_items": 200,
    "create_item": 201,
    "replace_item": 200,
    "delete_item": 204,
}

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

# The handler silences this at import, but pytest resets warning filters around each test.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


@dataclass
class Context:
    """The Lambda context attributes Powertools reads."""

    aws_request_id: str = "6f1f2c3d-0000-4000-8000-00000000be4c"
    function_name: str = "prodready-bench-api"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:prodready-bench-api"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def make_plain_handler(repository: Any) -> Handler:
    """The same service as `service.handler`, without Powertools: routing, validation, use cases, JSON.

    It validates with the same models and parser as the resolver (`service.models`), so the
    difference measured is the resolver, its OpenAPI validation and the instrumentation.
    """
    from pydantic import ValidationError
    from service import items
    from service.errors import InvalidRequest, ItemConflict, ItemNotFound
    from service.models import ItemCreate, ItemReplace, ListQuery, field_errors, parse_body
    from service.routing import allowed_methods, match_route

    def reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response: dict[str, Any] = {
            "statusCode": status,
            "headers": {"Content-Type": "application/json", **(headers or {})},
        }
        response["body"] = json.dumps(body) if body is not None else ""
        return response

    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        method = event["requestContext"]["http"]["method"]
        path = event["rawPath"]
        matched = match_route(method, path)
        if matched is None:
            allowed = allowed_methods(path)
            return reply(405 if allowed else 404, {"error": {"code": "no_route"}})
        item_id = matched.path_parameters.get("id")
        body = event.get("body")
        try:
            match matched.route_key:
                case "GET /health/live":
                    return reply(200, {"status": "pass", "version": "bench"})
                case "GET /health/ready":
                    readiness = items.check_ready(repository)
                    return reply(200 if readiness.ready else 503, {"checks": readiness.checks})
                case "GET /items":
                    try:
                        query = ListQuery.model_validate(event.get("queryStringParameters") or {})
                    except ValidationError as exc:
                        raise InvalidRequest(field_errors(exc)) from None
                    return reply(200, items.list_items(repository, query).to_public())
                case "POST /items":
                    item = items.create_item(repository, parse_body(ItemCreate, body))
                    return reply(201, item.to_public(), {"Location": f"/items/{item.id}"})
                case "GET /items/{id}":
                    return reply(200, items.get_item(repository, item_id).to_public())
                case "PUT /items/{id}":
                    payload = parse_body(ItemReplace, body)
                    return reply(200, items.replace_item(repository, item_id, payload).to_public())
                case _:
                    items.delete_item(repository, item_id)
                    return reply(204)
        except InvalidRequest as exc:
            return reply(400, {"error": {"code": "validation_error", "details": exc.errors}})
        except ItemNotFound:
            return reply(404, {"error": {"code": "item_not_found"}})
        except ItemConflict:
            return reply(409, {"error": {"code": "conflict"}})

    return handle


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / f"{name}.json").read_text())


def bench_events(item_id: str) -> dict[str, dict[str, Any]]:
    """One event per measured route; the get goes to a seeded item."""
    get = load_event("get_item")
    get["rawPath"] = get["requestContext"]["http"]["path"] = f"/items/{item_id}"
    get["pathParameters"] = {"id": item_id}
    listing = load_event("list_items")
    listing["rawQueryString"] = "limit=20"
    listing["queryStringParameters"] = {"limit": "20"}
    replace = load_event("replace_item")
    delete = load_event("delete_item")
    for event in (replace, delete):
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/items/{item_id}"
        event["pathParameters"] = {"id": item_id}
    return {
        "health_live": load_event("health_live"),
        "get_item": get,
        "list_items": listing,
        "create_item": load_event("create_item"),
        "replace_item": replace,
        "delete_item": delete,
    }


@dataclass
class World:
    """Both handlers over the same DynamoDB data, and the events to send them."""

    handlers: dict[str, Handler]
    events: dict[str, dict[str, Any]]
    sink: Any


class _RawBody(io.BytesIO):
    """The raw HTTP body botocore reads a response from."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


class CannedDynamoDB:
    """Answers a real botocore DynamoDB client at its HTTP layer with fixed responses.

    botocore still builds, signs and parses every call (and X-Ray still wraps it when tracing is
    on), but no server work varies between calls: both handlers see exactly the same data and
    the measured difference is the instrumentation alone. A real DynamoDB adds a few
    milliseconds of network time to both.
    """

    def __init__(self, client: Any, items: list[Any]) -> None:
        from service.repository import to_attributes

        stored = [to_attributes(item) for item in items]
        updated = {**stored[0], "version": {"N": "2"}}
        self.replies = {
            "GetItem": {"Item": stored[0]},
            "PutItem": {},
            "Scan": {
                "Items": stored[:20],
                "Count": 20,
                "ScannedCount": 20,
                "LastEvaluatedKey": {"id": stored[19]["id"]},
            },
            "UpdateItem": {"Attributes": updated},
            "DeleteItem": {"Attributes": stored[0]},
        }
        client.meta.events.register("before-send.dynamodb", self._reply)

    def _reply(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        operation = request.headers["X-Amz-Target"].decode().split(".")[-1]
        body = json.dumps(self.replies[operation]).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "bench"}
        return AWSResponse(request.url, 200, headers, _RawBody(body))


def seed_items(count: int) -> list[Any]:
    from service.models import Item

    return [
        Item(
            str(uuid.UUID(int=n + 1)),
            f"Item {n}",
            Decimal("12.50"),
            "Porcelain",
            1,
            "2025-03-12T10:15:30.000Z",
            "2025-03-12T10:15:30.000Z",
        )
        for n in range(count)
    ]


@contextlib.contextmanager
def build_world() -> Iterator[World]:
    """Import the instrumented handler and build the plain one next to it, on one canned table."""
    import boto3

    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    with open(os.devnull, "w") as sink:
        handler_module = importlib.import_module("service.handler")
        from service.repository import CLIENT_CONFIG, ItemRepository

        client = boto3.client("dynamodb", region_name=REGION, config=CLIENT_CONFIG)
        items = seed_items(SEEDED_ITEMS)
        CannedDynamoDB(client, items)
        repository = ItemRepository(TABLE_NAME, client)

        previous_repository = handler_module.repository
        handler_module.repository = repository
        stream_handler = handler_module.logger.registered_handler
        previous_stream = stream_handler.setStream(sink)
        try:
            handlers = {"plain": make_plain_handler(repository), "powertools": handler_module.lambda_handler}
            yield World(handlers, bench_events(items[0].id), sink)
        finally:
            stream_handler.setStream(previous_stream)
            handler_module.repository = previous_repository


# --- in the pytest-benchmark run --------------------------------------------------------------


@dataclass
class Results:
    warm: dict[tuple[str, str], float] = field(default_factory=dict)
    traced: dict[str, dict[str, float]] = field(default_factory=dict)
    init: dict[str, dict[str, float]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def results(request: pytest.FixtureRequest) -> Iterator[Results]:
    collected = Results()
    yield collected
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n" + summary(collected))


def summary(results: Results) -> str:
    lines = ["handler overhead, median per request (warm), instrumented vs plain"]
    if results.warm:
        lines.append(
            f"  {'route':<14}{'plain µs':>12}{'powertools µs':>15}{'overhead µs':>13}{'ratio':>8}   tracing off"
        )
        for route in ROUTES:
            plain, instrumented = results.warm.get((route, "plain")), results.warm.get((route, "powertools"))
            if plain and instrumented:
                lines.append(
                    f"  {route:<14}{plain * 1e6:>12.0f}{instrumented * 1e6:>15.0f}"
                    f"{(instrumented - plain) * 1e6:>13.0f}{instrumented / plain:>8.2f}"
                )
    for route, figures in results.traced.items():
        lines.append(
            f"  {route:<14}{figures['plain_us']:>12.0f}{figures['powertools_us']:>15.0f}"
            f"{figures['powertools_us'] - figures['plain_us']:>13.0f}"
            f"{figures['powertools_us'] / figures['plain_us']:>8.2f}   tracing on (fresh process)"
        )
    for variant, figures in results.init.items():
        first = f", first invocation {figures['first_invoke_ms']:.1f} ms" if "first_invoke_ms" in figures else ""
        lines.append(f"  cold init {variant:<11} import + clients {figures['init_ms']:.1f} ms (median){first}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENV.items():
            patch.setenv(name, value)
        patch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
            patch.delenv(name, raising=False)
        with build_world() as built:
            yield built


@pytest.mark.parametrize("variant", ["plain", "powertools"])
@pytest.mark.parametrize("route", list(ROUTES))
def test_warm_request(benchmark: Any, world: World, results: Results, route: str, variant: str) -> None:
    benchmark.group = f"warm {route}"
    handler, event, context = world.handlers[variant], world.events[route], Context()
    with contextlib.redirect_stdout(world.sink):
        handler(event, context)  # the cold start happens here, not in the measurement
        response = benchmark(handler, event, context)

    assert response["statusCode"] == ROUTES[route]
    if benchmark.stats is not None:
        results.warm[(route, variant)] = benchmark.stats.stats.median


# Run with `python -c` from the code root, as the Lambda runtime imports the handler: nothing
# but the interpreter's own start-up is loaded before the clock starts.
INIT_CODE = {
    "powertools": """
import time
started = time.perf_counter()
import service.handler
imported = time.perf_counter()
import contextlib, json, os, sys
class Context:
    aws_request_id = "6f1f2c3d-0000-4000-8000-00000000be4c"
    function_name = "prodready-bench-api"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:prodready-bench-api"
event = json.load(open(sys.argv[1]))
with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
    service.handler.logger.registered_handler.setStream(sink)
    invoked = time.perf_counter()
    service.handler.lambda_handler(event, Context())
    done = time.perf_counter()
print(json.dumps({"init_ms": (imported - started) * 1000, "first_invoke_ms": (done - invoked) * 1000}))
""",
    "plain": """
import time
started = time.perf_counter()
from service import items, routing
from service.repository import ItemRepository
ItemRepository.create("prodready-items-bench", "eu-west-1")
imported = time.perf_counter()
import json
print(json.dumps({"init_ms": (imported - started) * 1000}))
""",
}


def _fresh(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "_X_AMZN"))}
    completed = subprocess.run(
        [sys.executable, *args],
        cwd=APP_DIR,
        env={**environment, **ENV, **LAMBDA_ENV, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("variant", ["plain", "powertools"])
def test_cold_init(benchmark: Any, results: Results, variant: str) -> None:
    benchmark.group = "cold init (fresh interpreter, wall time includes interpreter start)"
    samples: list[dict[str, Any]] = []

    def once() -> None:
        samples.append(_fresh(["-c", INIT_CODE[variant], str(EVENTS_DIR / "health_live.json")], {}))

    benchmark.pedantic(once, rounds=7, iterations=1, warmup_rounds=1)

    measured = samples[1:]
    results.init[variant] = {key: statistics.median(s[key] for s in measured) for key in measured[0]}


def test_warm_request_with_tracing(benchmark: Any, results: Results) -> None:
    benchmark.group = "warm, tracing on (fresh process)"
    figures: dict[str, Any] = {}

    def once() -> None:
        figures.update(_fresh([__file__, "--traced"], {}))

    benchmark.pedantic(once, rounds=1, iterations=1)

    results.traced.update(figures)
    assert set(figures) == set(ROUTES)


# --- run as a script, in a fresh interpreter -------------------------------------------------


def _median_us(handler: Handler, event: dict[str, Any], rounds: int) -> float:
    for _ in range(rounds // 10):
        handler(event, Context())
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        handler(event, Context())
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


def _measure_traced(rounds: int = 500) -> dict[str, dict[str, float]]:
    """Median warm latency with Powertools tracing on, as inside Lambda, against plain.

    The plain handler is measured first: importing the instrumented handler with tracing on
    patches botocore for the whole process, and the baseline must not carry that cost.
    """
    import boto3
    from service.repository import CLIENT_CONFIG, ItemRepository

    client = boto3.client("dynamodb", region_name=REGION, config=CLIENT_CONFIG)
    items = seed_items(SEEDED_ITEMS)
    CannedDynamoDB(client, items)
    repository = ItemRepository(TABLE_NAME, client)
    events = bench_events(items[0].id)
    plain = make_plain_handler(repository)
    assert "aws_lambda_powertools" not in sys.modules, "the baseline must run without Powertools loaded"
    plain_us = {route: _median_us(plain, events[route], rounds) for route in ROUTES}

    handler_module = importlib.import_module("service.handler")
    assert not handler_module.tracer.disabled, "tracing should be on, as in Lambda"
    handler_module.repository = repository
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        handler_module.logger.registered_handler.setStream(sink)
        instrumented_us = {route: _median_us(handler_module.lambda_handler, events[route], rounds) for route in ROUTES}
    return {route: {"plain_us": plain_us[route], "powertools_us": instrumented_us[route]} for route in ROUTES}


if __name__ == "__main__":
    sys.path.insert(0, str(APP_DIR))
    print(json.dumps(_measure_traced()))
