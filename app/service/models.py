"""Request payloads (pydantic v2) and the stored item."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.errors import FieldError, InvalidRequest

# Ids are UUIDs the service assigns; checking the shape early turns garbage into a 400 instead
# of a DynamoDB round trip, and keeps the readiness sentinel key out of the id space.
_ITEM_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


class ItemFields(BaseModel):
    """The fields a client may set on an item."""

    # Unknown fields are refused rather than dropped, so that a typo ("prise") is reported to
    # the client instead of silently storing an item without the intended value.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    name: str = Field(min_length=1, max_length=200)
    # Money: exact decimal, two places at most, so what is stored is what was sent.
    price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    description: str | None = Field(default=None, max_length=2000)


class ItemCreate(ItemFields):
    """Body of `POST /items`."""


class ItemReplace(ItemFields):
    """Body of `PUT /items/{id}`: the full new state plus the version it was read at."""

    # Strict: a version is a counter; "3" or 3.0 is a client bug worth reporting.
    version: int = Field(ge=1, strict=True)


class ListQuery(BaseModel):
    """Query string of `GET /items`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    limit: int = Field(default=20, ge=1, le=100)
    next_token: str | None = Field(default=None, min_length=1, max_length=1024)


FieldsT = TypeVar("FieldsT", bound=ItemFields)


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
        # A JSON number, not a string: integral prices stay integers, others a float, which
        # round-trips exactly for the two decimal places the model allows.
        price: int | float = int(self.price) if self.price == self.price.to_integral_value() else float(self.price)
        return {
            "id": self.id,
            "name": self.name,
            "price": price,
            "description": self.description,
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def field_errors(exc: ValidationError, root: str = "body") -> list[FieldError]:
    """Turn pydantic errors into client-facing field errors, without echoing the input."""
    errors: list[FieldError] = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"])
        errors.append({"field": location or root, "message": error["msg"], "type": error["type"]})
    return errors


def parse_body(model: type[FieldsT], body: str | None) -> FieldsT:
    """Validate a JSON request body against `model`, or raise InvalidRequest."""
    if body is None or not body.strip():
        raise InvalidRequest([{"field": "body", "message": "a JSON object is required", "type": "missing"}])
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidRequest(field_errors(exc)) from None


def parse_item_id(raw: str | None) -> str:
    """Validate an item id from the path, or raise InvalidRequest."""
    if raw is None or not _ITEM_ID.fullmatch(raw):
        raise InvalidRequest(
            [
                {
                    "field": "id",
                    "message": "must be an item id (a UUID) as returned by POST /items",
                    "type": "uuid",
                }
            ]
        )
    return raw.lower()


def is_item_id(value: object) -> bool:
    """Whether `value` has the shape of an item id."""
    return isinstance(value, str) and _ITEM_ID.fullmatch(value) is not None
