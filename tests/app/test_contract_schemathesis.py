"""Property-based contract test: the served API against its committed OpenAPI document (schemathesis).

Schemathesis generates requests from docs/openapi.json, valid and invalid, sends them to the
local server (`served_api`) and checks each answer: no 5xx, only the declared status codes, bodies
and headers as the document declares them. Examples are bounded and derandomized so that the run
is short and repeatable; a failure prints the request that reproduces it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from catalog_testkit import REPO_ROOT
from hypothesis import HealthCheck, settings
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import ignored_auth

DOCUMENT = REPO_ROOT / "docs" / "openapi.json"
SCHEMA = schemathesis.openapi.from_path(DOCUMENT)
# 7 operations; about 40 seconds here, most of it the server's work.
EXAMPLES_PER_OPERATION = 100


def auth_headers() -> dict[str, str]:
    """A token with both scopes once the local server checks tokens (tools.local_auth); else none."""
    try:
        from tools.local_auth import mint_token
    except ImportError:
        return {}
    return {"Authorization": f"Bearer {mint_token(['items.read', 'items.write'])}"}


# The methods the local server hands to the function; it answers others (TRACE, QUERY) itself
# with 501 before the function runs, as API Gateway only routes HTTP API methods.
FORWARDED_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})

AUTH = auth_headers()
# Without token checks, the API cannot refuse a request that has no token.
EXCLUDED_CHECKS = [] if AUTH else [ignored_auth]


def _problems(response: Any) -> tuple[str, list[tuple[str, str]]]:
    try:
        error = json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        return "", []
    return str(error.get("code")), [(detail["field"], detail["type"]) for detail in error.get("details", [])]


def inexpressible(failure: Any, case: Any, response: Any) -> bool:
    """A schema-valid request refused by a rule JSON Schema cannot state; every other failure counts.

    - a reused Idempotency-Key (422) depends on an earlier request, not on this one's data;
    - a `next_token` must be one GET /items issued, not any string of its alphabet;
    - a `version` must be a JSON integer literal, and JSON Schema's "integer" also admits 858.0.
    """
    if not isinstance(failure, RejectedPositiveData):
        return False
    code, problems = _problems(response)
    if code == "idempotency_key_reused":
        return True
    if code != "validation_error" or not problems:
        return False
    if set(problems) == {("next_token", "next_token")}:
        return True
    version = case.body.get("version") if isinstance(case.body, dict) else None
    return set(problems) == {("version", "int_type")} and isinstance(version, float) and version.is_integer()


@SCHEMA.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    return not inexpressible(failure, case, response)


@pytest.fixture(scope="module")
def contract_api(served_api: Any) -> str:
    """The served API's URL (the local server creates both tables the stack defines)."""
    return served_api.url


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_served_api_honours_its_document(case: Any, contract_api: str) -> None:
    if case.method.upper() not in FORWARDED_METHODS:
        return
    case.call_and_validate(base_url=contract_api, headers=AUTH, excluded_checks=EXCLUDED_CHECKS)
