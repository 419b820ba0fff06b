"""The API's data: request payloads and parameters, responses, errors (pydantic v2), the stored item.

The route signatures in `service.handler` use these models, so Powertools validates requests with
them and the OpenAPI document describes them: what is accepted is exactly what is documented. Each
constraint is written so that the document's JSON Schema and the validation agree on every input
(raw lengths, patterns without engine-specific features), which the property-based contract test
relies on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError
from pydantic import WithJsonSchema as _WithJsonSchema
from pydantic_core import PydanticCustomError

from service.errors import FieldError, InvalidRequest

# --- limits ----------------------------------------------------------------------------------

# Versions are counters that JavaScript clients must read exactly: at most 2^53 - 1, far inside
# the 38 digits of a DynamoDB number, so `version + 1` can always be stored.
MAX_VERSION = 2**53 - 1
MAX_PRICE = Decimal("1000000.00")
PRICE_DECIMAL_PLACES = 2
NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
NEXT_TOKEN_MAX_LENGTH = 128
IDEMPOTENCY_KEY_MAX_LENGTH = 128
# A 400 lists this many problems (and counts all of them): a body of thousands of unknown keys
# must not turn into a response, or a log line, thousands of times its size.
MAX_REPORTED_ERRORS = 10
# A field name in an error can be a key the client made up; it is shortened to this.
MAX_FIELD_NAME_LENGTH = 100
# Longer JSON integers are parsed as Decimal: Python refuses to convert integers of more than 4300
# digits, and no field accepts one anywhere near this long.
_MAX_INT_DIGITS = 40

# C0 and C1 control characters, and the bidirectional overrides and isolates that make text display
# other than it reads (a name "spoofed" right to left); a name holds none, a description only tab and
# newline of the controls.
_BIDI = r"\u202a-\u202e\u2066-\u2069"
_CONTROL = rf"\x00-\x1f\x7f-\x9f{_BIDI}"
_DESCRIPTION_CONTROL = rf"\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}"
# Zero-width characters: a name needs at least one character that is neither these nor space.
_INVISIBLE = r"\u200b-\u200f\u2060\ufeff"
NAME_PATTERN = rf"^[^{_CONTROL}]*[^\s{_CONTROL}{_INVISIBLE}][^{_CONTROL}]*$"
DESCRIPTION_PATTERN = rf"^[^{_DESCRIPTION_CONTROL}]*$"
ITEM_ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# What encode_token produces: URL-safe base64 without padding (padding tolerated).
NEXT_TOKEN_PATTERN = r"^[A-Za-z0-9_-]+={0,2}$"
# Printable ASCII tokens such as UUIDs, ULIDs or base64 digests; nothing that needs escaping.
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:~+/=-]+$"

# Ids are UUIDs the service assigns; checking the shape early turns garbage into a 400 instead
# of a DynamoDB round trip, and keeps the readiness sentinel key out of the id space.
_ITEM_ID = re.compile(ITEM_ID_PATTERN)
# Lone surrogates can arrive as JSON escapes ("\ud800") but cannot be encoded, stored or logged.
_SURROGATE = re.compile("[\ud800-\udfff]")

# Friendlier messages than "String should match pattern '<the pattern>'".
PATTERN_MESSAGES = {
    "name": "must contain a character that is not a space, and no control characters",
    "description": "must not contain control characters other than tab and newline",
    "id": "must be an item id (a UUID) as returned by POST /items",
    "next_token": "is not a token returned by GET /items",
    "Idempotency-Key": "must be 1 to 128 of the characters A-Z a-z 0-9 . _ : ~ + / = -",
}


# --- JSON parsing ------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _parse_int(text: str) -> int | Decimal:
    return int(text) if len(text) <= _MAX_INT_DIGITS else Decimal(text)


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # JSON leaves duplicate names undefined (RFC 8259: "SHOULD be unique"); the last one silently
    # winning would store what the client may not have meant.
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(f"duplicate key {key[:100]!r}")
            seen.add(key)
    return document


def parse_json(text: str | bytes) -> Any:
    """Parse a request body: numbers stay exact (Decimal), NaN and Infinity are refused, and so are
    duplicate keys.

    Every failure is a `json.JSONDecodeError`, the one error Powertools turns into a validation
    error, so that no body can make the parser fail with a 500 (too deep, too long a number, an
    exponent beyond what Decimal holds).
    """
    try:
        return json.loads(text, parse_float=Decimal, parse_int=_parse_int, parse_constant=_reject_constant,
                          object_pairs_hook=_unique_keys)
    except json.JSONDecodeError:
        raise
    except (ValueError, ArithmeticError, RecursionError) as exc:
        document = text if isinstance(text, str) else text.decode("utf-8", "replace")
        reason = str(exc) if isinstance(exc, _DuplicateKey) else type(exc).__name__
        raise json.JSONDecodeError(f"unsupported JSON: {reason}", document, 0) from None


# --- field types -------------------------------------------------------------------------------


def _json_number(value: Any) -> Any:
    # Strings and booleans are refused rather than coerced: "12.5" or true as a price is a client
    # bug worth reporting. Floats only come from Python callers; their shortest repr is what was meant.
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise PydanticCustomError("decimal_type", "must be a JSON number")
    return Decimal(repr(value)) if isinstance(value, float) else value


def _canonical_price(value: Decimal) -> Decimal:
    # One spelling per amount (12.50 and 1.25E+1 are both stored as 12.5, -0 as 0), as DynamoDB would.
    return Decimal(format((value + 0).normalize(), "f"))


def _no_surrogates(value: str) -> str:
    if _SURROGATE.search(value):
        raise PydanticCustomError("string_unicode", "must be valid Unicode text")
    return value


def _strip(value: str) -> str:
    return value.strip()


def _public_price(value: Decimal) -> int | float:
    # A JSON number, not a string: integral prices stay integers, others a float, which
    # round-trips exactly for the two decimal places the model allows.
    return int(value) if value == value.to_integral_value() else float(value)


_PRICE_SCHEMA = {
    "type": "number",
    "minimum": 0,
    "maximum": float(MAX_PRICE),
    "multipleOf": 0.01,
    "description": "An exact amount with at most 2 decimal places (a JSON number, never a string).",
}

Price = Annotated[
    Decimal,
    BeforeValidator(_json_number),
    Field(ge=0, le=MAX_PRICE, decimal_places=PRICE_DECIMAL_PLACES),
    AfterValidator(_canonical_price),
    _WithJsonSchema(_PRICE_SCHEMA),
]
# Validated on the raw value (so the document's maxLength and pattern mean what they say), then
# stripped: surrounding whitespace is not part of a name.
Name = Annotated[
    str,
    Field(min_length=1, max_length=NAME_MAX_LENGTH, pattern=NAME_PATTERN),
    AfterValidator(_no_surrogates),
    AfterValidator(_strip),
]
Description = Annotated[
    str,
    Field(max_length=DESCRIPTION_MAX_LENGTH, pattern=DESCRIPTION_PATTERN),
    AfterValidator(_no_surrogates),
    AfterValidator(_strip),
]
# Strict: a version is a counter; "3", 3.0 or true is a client bug worth reporting. It is the
# version read, and the write stores the next one, which must stay within MAX_VERSION too.
Version = Annotated[int, Field(ge=1, le=MAX_VERSION - 1, strict=True)]
ItemId = Annotated[str, Field(pattern=ITEM_ID_PATTERN, json_schema_extra={"format": "uuid"})]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
PublicPrice = Annotated[
    Decimal,
    PlainSerializer(_public_price, return_type=int | float),
    _WithJsonSchema({"type": "number", "minimum": 0, "maximum": float(MAX_PRICE)}),
]


# --- request bodies ----------------------------------------------------------------------------


class ItemFields(BaseModel):
    """The fields a client may set on an item."""

    # Unknown fields are refused rather than dropped, so that a typo ("prise") is reported to
    # the client instead of silently storing an item without the intended value. The Python
    # regex engine, as the contract test's validators use it, so `\s` means the same to both.
    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")

    name: Name
    price: Price
    description: Description | None = None


class ItemCreate(ItemFields):
    """Body of `POST /items`."""


class ItemReplace(ItemFields):
    """Body of `PUT /items/{id}`: the full new state plus the version it was read at."""

    version: Version


class ListQuery(BaseModel):
    """Query string of `GET /items`."""

    model_config = ConfigDict(extra="ignore", frozen=True, regex_engine="python-re")

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    next_token: str | None = Field(
        default=None, min_length=1, max_length=NEXT_TOKEN_MAX_LENGTH, pattern=NEXT_TOKEN_PATTERN
    )


FieldsT = TypeVar("FieldsT", bound=BaseModel)


# --- responses ---------------------------------------------------------------------------------


class ItemOut(BaseModel):
    """An item as the API returns it."""

    id: ItemId
    name: str
    price: PublicPrice
    description: str | None
    version: int = Field(ge=1, le=MAX_VERSION)
    created_at: Timestamp
    updated_at: Timestamp


class PageOut(BaseModel):
    """One page of `GET /items`; `next_token` is null on the last page."""

    items: list[ItemOut]
    next_token: str | None


class Liveness(BaseModel):
    """`GET /health/live`: the function runs; says nothing about its dependencies."""

    status: Literal["pass"]
    service: str
    version: str
    environment: str


class PassedCheck(BaseModel):
    status: Literal["pass"]
    latency_ms: float = Field(ge=0)


class FailedCheck(BaseModel):
    # The cause is logged, never returned: the endpoint is public.
    status: Literal["fail"]


class Readiness(BaseModel):
    """`GET /health/ready`: whether each dependency answers."""

    status: Literal["pass", "fail"]
    service: str
    version: str
    environment: str
    checks: dict[str, Annotated[PassedCheck | FailedCheck, Field(discriminator="status")]]
    correlation_id: str


class FieldProblem(BaseModel):
    """One invalid input, named so that a client can fix it."""

    field: str = Field(description="The body field, query or path parameter or header at fault.")
    message: str
    type: str = Field(description="A stable code for the kind of problem, e.g. `missing`, `string_too_long`.")


class ValidationProblem(BaseModel):
    code: Literal["validation_error"]
    message: str
    details: list[FieldProblem] = Field(max_length=MAX_REPORTED_ERRORS)
    error_count: int = Field(ge=1, description="How many problems were found; `details` lists the first ones.")


class ItemNotFoundProblem(BaseModel):
    code: Literal["item_not_found"]
    message: str
    item_id: str


class ConflictProblem(BaseModel):
    code: Literal["conflict"]
    message: str
    item_id: str
    current_version: int | None = Field(description="The stored version when `version` was stale.")


class IdempotencyMismatchProblem(BaseModel):
    code: Literal["idempotency_key_reused"]
    message: str


class PayloadTooLargeProblem(BaseModel):
    code: Literal["payload_too_large"]
    message: str
    max_bytes: int


class UnsupportedMediaTypeProblem(BaseModel):
    code: Literal["unsupported_media_type"]
    message: str


Dependency = Annotated[
    Literal["items_table", "idempotency_table"], Field(description="The dependency that failed.")
]


class UnavailableProblem(BaseModel):
    code: Literal["unavailable"]
    message: str
    dependency: Dependency


class DependencyMissingProblem(BaseModel):
    code: Literal["dependency_missing"]
    message: str
    dependency: Dependency


class OutcomeUnknownProblem(BaseModel):
    """A write was sent and its answer was lost: it may or may not have been applied."""

    code: Literal["outcome_unknown"]
    message: str
    item_id: str = Field(description="The item written (for a create: the id it is stored under, if it was).")
    idempotency_key: str | None = Field(
        description="The create's Idempotency-Key: a retry with it returns the item if it was stored, stores it if not."
    )


class RouteNotFoundProblem(BaseModel):
    code: Literal["route_not_found"]
    message: str


class MethodNotAllowedProblem(BaseModel):
    code: Literal["method_not_allowed"]
    message: str


class _ErrorEnvelope(BaseModel):
    correlation_id: str = Field(description="Also in the X-Correlation-ID header; quote it when reporting a problem.")


class ValidationErrorResponse(_ErrorEnvelope):
    error: ValidationProblem


class ItemNotFoundResponse(_ErrorEnvelope):
    error: ItemNotFoundProblem


class ConflictResponse(_ErrorEnvelope):
    error: ConflictProblem


class StaleVersionResponse(_ErrorEnvelope):
    error: ConflictProblem


class IdempotencyMismatchResponse(_ErrorEnvelope):
    error: IdempotencyMismatchProblem


class PayloadTooLargeResponse(_ErrorEnvelope):
    error: PayloadTooLargeProblem


class UnsupportedMediaTypeResponse(_ErrorEnvelope):
    error: UnsupportedMediaTypeProblem


class UnavailableResponse(_ErrorEnvelope):
    error: Annotated[
        UnavailableProblem | DependencyMissingProblem | OutcomeUnknownProblem, Field(discriminator="code")
    ]


class RouteNotFoundResponse(_ErrorEnvelope):
    error: RouteNotFoundProblem


class MethodNotAllowedResponse(_ErrorEnvelope):
    error: MethodNotAllowedProblem


class GatewayMessage(BaseModel):
    """What API Gateway answers itself (401 and 403 from the JWT authorizer)."""

    message: str


# --- the stored item ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """An item as stored."""

    id: str
    name: str
    price: Decimal
    description: str | None
    version: int
    created_at: str
    updated_at: str

    def to_public(self) -> dict[str, Any]:
        """The JSON representation returned by the API."""
        return {
            "id": self.id,
            "name": self.name,
            "price": _public_price(self.price),
            "description": self.description,
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


# --- errors ------------------------------------------------------------------------------------


_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})


def _field_name(location: Sequence[Any], error_type: str) -> str:
    # Powertools prefixes the source ("body", "query", "path", "header"); clients know a field by
    # its own name, and a body that is not valid JSON, or not an object, is "body".
    parts = [str(part) for part in location]
    if parts and parts[0] in _SOURCES:
        source = parts.pop(0)
        if source == "header" and parts:
            # Spelled as documented (Idempotency-Key), not as payload 2.0 lower-cases it.
            parts = ["-".join(word.capitalize() for word in parts[0].split("-")), *parts[1:]]
    if error_type == "json_invalid" or not parts:
        return "body"
    name = ".".join(parts)
    return name if len(name) <= MAX_FIELD_NAME_LENGTH else name[: MAX_FIELD_NAME_LENGTH - 1] + "…"


def field_problem(error: Mapping[str, Any]) -> FieldError:
    """One pydantic-style error as a client-facing problem, without echoing the input."""
    error_type = str(error.get("type", "value_error"))
    field = _field_name(tuple(error.get("loc") or ()), error_type)
    if error_type == "string_pattern_mismatch" and field in PATTERN_MESSAGES:
        message = PATTERN_MESSAGES[field]
    elif error_type == "json_invalid":
        message = "is not valid JSON"
    else:
        message = str(error.get("msg", "is invalid"))
    return {"field": field, "message": message, "type": error_type}


def bounded_problems(errors: Sequence[Mapping[str, Any]]) -> tuple[list[FieldError], int]:
    """The first MAX_REPORTED_ERRORS problems, and how many there were in all."""
    return [field_problem(error) for error in errors[:MAX_REPORTED_ERRORS]], len(errors)


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Turn pydantic errors into client-facing field errors (the first ones), without echoing the input."""
    problems, _ = bounded_problems(exc.errors(include_url=False, include_input=False))
    return problems


def parse_body(model: type[FieldsT], body: str | None) -> FieldsT:
    """Validate a JSON request body against `model`, or raise InvalidRequest.

    The same parser and model the resolver uses, for callers without it (the benchmark baseline).
    """
    if body is None or not body.strip():
        raise InvalidRequest([{"field": "body", "message": "a JSON object is required", "type": "missing"}])
    try:
        data = parse_json(body)
    except json.JSONDecodeError:
        raise InvalidRequest([{"field": "body", "message": "is not valid JSON", "type": "json_invalid"}]) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        problems, count = bounded_problems(errors)
        raise InvalidRequest(problems, count) from None


def parse_item_id(raw: str | None) -> str:
    """Validate an item id from the path, or raise InvalidRequest."""
    if raw is None or not _ITEM_ID.fullmatch(raw):
        raise InvalidRequest([{"field": "id", "message": PATTERN_MESSAGES["id"], "type": "uuid"}])
    return raw.lower()


def is_item_id(value: object) -> bool:
    """Whether `value` has the shape of an item id."""
    return isinstance(value, str) and _ITEM_ID.fullmatch(value) is not None
