"""The catalog's use cases, free of HTTP and of instrumentation.

The Powertools handler (and the plain baseline the benchmark compares it with) call these with
payloads already validated by the models in `service.models`, so the rules live in one place:
shapes and bounds in the models, identity, versions and conditional writes here and in the
repository.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from service.errors import InvalidRequest, ItemNotFound
from service.models import Item, ItemCreate, ItemReplace, ListQuery, is_item_id, parse_item_id
from service.repository import ItemRepository


def _bad_token() -> InvalidRequest:
    return InvalidRequest(
        [{"field": "next_token", "message": "is not a token returned by GET /items", "type": "next_token"}]
    )


def new_item_id() -> str:
    """A fresh item id."""
    return str(uuid.uuid4())


def utc_now() -> str:
    """The current time as an ISO 8601 UTC timestamp with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Page:
    """One page of `GET /items`."""

    items: list[Item]
    next_token: str | None

    def to_public(self) -> dict[str, Any]:
        """The JSON representation returned by the API."""
        return {"items": [item.to_public() for item in self.items], "next_token": self.next_token}


@dataclass(frozen=True)
class Readiness:
    """Outcome of the readiness check: public `checks`, and the `causes` of failures for the log."""

    ready: bool
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    causes: dict[str, str] = field(default_factory=dict)


def encode_token(item_id: str) -> str:
    """The opaque pagination token for 'continue after this item'."""
    raw = json.dumps({"id": item_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> str:
    """The item id inside a pagination token, or InvalidRequest."""
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        decoded = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _bad_token() from None
    # A well-formed token holds exactly one item id; anything else did not come from us.
    if not isinstance(decoded, dict) or decoded.keys() != {"id"} or not is_item_id(decoded["id"]):
        raise _bad_token()
    return str(decoded["id"])


def create_item(repository: ItemRepository, payload: ItemCreate) -> Item:
    """Store a new item (version 1)."""
    now = utc_now()
    item = Item(
        id=new_item_id(),
        name=payload.name,
        price=payload.price,
        description=payload.description,
        version=1,
        created_at=now,
        updated_at=now,
    )
    repository.put_new(item)
    return item


def get_item(repository: ItemRepository, raw_id: str | None) -> Item:
    """The item with this id, or ItemNotFound."""
    item_id = parse_item_id(raw_id)
    item = repository.get(item_id)
    if item is None:
        raise ItemNotFound(item_id)
    return item


def list_items(repository: ItemRepository, query: ListQuery) -> Page:
    """One page of items; `next_token` continues where it stopped."""
    start_after = decode_token(query.next_token) if query.next_token else None
    items, last_id = repository.scan_page(query.limit, start_after)
    return Page(items=items, next_token=encode_token(last_id) if last_id else None)


def replace_item(repository: ItemRepository, raw_id: str | None, payload: ItemReplace) -> Item:
    """Replace an item's fields if the client's version is current; bumps the version."""
    item_id = parse_item_id(raw_id)
    return repository.replace(
        item_id,
        payload.version,
        name=payload.name,
        price=payload.price,
        description=payload.description,
        updated_at=utc_now(),
    )


def delete_item(repository: ItemRepository, raw_id: str | None) -> bool:
    """Delete an item; whether one was there. Idempotent."""
    return repository.delete(parse_item_id(raw_id))


def check_ready(repository: ItemRepository) -> Readiness:
    """Whether the table answers, with the latency of one read."""
    try:
        latency_ms = repository.ping()
    except (ClientError, BotoCoreError) as exc:
        error = exc.response["Error"].get("Code", "ClientError") if isinstance(exc, ClientError) else type(exc).__name__
        return Readiness(ready=False, checks={"dynamodb": {"status": "fail"}}, causes={"dynamodb": error})
    return Readiness(ready=True, checks={"dynamodb": {"status": "pass", "latency_ms": round(latency_ms, 3)}})
