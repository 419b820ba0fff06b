"""The route table drives the function's routes, its OpenAPI operations and the traffic hooks' checks."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from post_traffic import handler as post_hook
from pre_traffic import handler as pre_hook
from service.routes import BY_KEY, PUBLIC_ROUTE_KEYS, ROUTES, Route, table_problems
from service.routing import match_route
from traffic_hooks.lifecycle import Check


def _route(key: str, **changes: Any) -> Route:
    facts: dict[str, Any] = {"operation_id": "op", "summary": "s", "scope": "items.read", "throttle": "read",
                             "status": 200, "description": "d", "errors": (400,)}
    return Route(key, **{**facts, **changes})


def test_the_committed_table_is_sound() -> None:
    assert table_problems(ROUTES) == []


def test_a_bad_table_is_refused_with_each_route_named() -> None:
    problems = table_problems((
        _route("GET /a", operation_id="get_a"),
        _route("GET /a", operation_id="get_a_again"),
        _route("POST /b", operation_id="get_a", scope="items.admin"),
        _route("get /c", operation_id="get_c", throttle="bulk"),
    ))

    assert problems == [
        "route keys declared twice: ['GET /a']",
        "operation ids declared twice: ['get_a']",
        "'POST /b': scope 'items.admin' is not one of ['items.read', 'items.write']",
        "'get /c': a route key is `METHOD /path`",
        "'get /c': throttle class 'bulk' is not one of ['health', 'read', 'write']",
    ]


def test_the_resolver_serves_each_route_with_the_function_its_operation_id_names(handler: ModuleType) -> None:
    routes = handler.app._static_routes + handler.app._dynamic_routes

    registered = {f"{route.method} {route.openapi_path}": route.func.__name__ for route in routes}

    assert registered == {route.key: route.operation_id for route in ROUTES}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from service import handler, openapi

    return openapi.document(handler.app)


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.key)
def test_each_operation_is_its_table_entry(document: dict[str, Any], route: Route) -> None:
    operation = document["paths"][route.path][route.method.lower()]

    assert operation["operationId"] == route.operation_id
    assert operation["summary"] == route.summary
    gateway = {429} if route.public else {401, 403, 429}
    assert {int(status) for status in operation["responses"]} == {route.status, *route.errors, *gateway}
    assert operation["responses"][str(route.status)]["description"] == route.description
    assert operation.get("security") == (None if route.public else [{"oauth2": [route.scope]}])


def test_a_route_may_describe_only_the_errors_the_table_lists(handler: ModuleType) -> None:
    def list_items() -> None:
        """Named as the table's `GET /items`, which lists no 418."""

    with pytest.raises(RuntimeError, match=r"GET /items: answers given for statuses the route table does not "
                                           r"list: \[418\]"):
        handler.serves(answers={418: ("I'm a teapot.", None)})(list_items)


def _hook_checks() -> list[Check]:
    return [*pre_hook.checks(pre_hook.read_scope()), *post_hook.checks(post_hook.read_scope())]


@pytest.mark.parametrize("check", _hook_checks(), ids=lambda check: check.name)
def test_the_traffic_hooks_check_routes_as_the_table_declares_them(check: Check) -> None:
    # The hooks ship without the service package, so they name their routes; this keeps them true.
    route = BY_KEY[check.route_key]
    matched = match_route(check.method, check.path)

    assert matched is not None and matched.route_key == route.key
    assert check.expected_status == route.status
    if route.public:
        assert check.scopes is None
    else:
        assert check.scopes is not None and route.scope in check.scopes


@pytest.mark.parametrize("config", sorted((Path(__file__).parents[2] / "policies" / "config").glob("*.json")),
                         ids=lambda path: path.name)
def test_the_policy_packs_public_routes_are_the_tables(config: Path) -> None:
    # The engine hands the pack this file as it is: the pack cannot read the table, so the file names them.
    settings = json.loads(config.read_text(encoding="utf-8"))["api-route-authorization"]

    assert sorted(settings["publicRouteKeys"]) == sorted(PUBLIC_ROUTE_KEYS)
