"""Matching of HTTP requests to the route keys in `service.routes`.

API Gateway does this before invoking the function; the function needs it too for what API
Gateway does not tell it (the allowed methods of a path, for 405) and the local server needs it
to build faithful events (routeKey, pathParameters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.routes import ROUTE_KEYS

_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class RouteMatch:
    """A request matched to one route key."""

    route_key: str
    path_parameters: dict[str, str]


def _compile(route_key: str) -> tuple[str, str, re.Pattern[str]]:
    method, template = route_key.split(" ", 1)
    # A path parameter spans exactly one path segment, as in API Gateway.
    pattern = "".join(
        f"(?P<{piece}>[^/]+)" if index % 2 else re.escape(piece)
        for index, piece in enumerate(_PARAMETER.split(template))
    )
    return method, route_key, re.compile(pattern)


_COMPILED = tuple(_compile(route_key) for route_key in ROUTE_KEYS)


def match_route(method: str, path: str) -> RouteMatch | None:
    """The route key serving `method` on `path`, with its path parameters, or None."""
    method = method.upper()
    for route_method, route_key, pattern in _COMPILED:
        if route_method != method:
            continue
        found = pattern.fullmatch(path)
        if found:
            return RouteMatch(route_key=route_key, path_parameters=found.groupdict())
    return None


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods some route serves on `path`; empty if the path is unknown."""
    return tuple(sorted({method for method, _, pattern in _COMPILED if pattern.fullmatch(path)}))
