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

from service.errors import InvalidRequest, ItemConflict, ItemNotFound
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


def _same_fields(item: Item, payload: ItemCreate) -> bool:
    return (item.name, item.price, item.description) == (payload.name, payload.price, payload.description)


def store_new_item(repository: ItemRepository, payload: ItemCreate, item_id: str | None = None) -> tuple[Item, bool]:
    """Store a new item (version 1) under `item_id` (default: a fresh one); the item, and whether
    this call created it.

    The write is conditional on the id being free, so repeating it is safe: when the id is taken
    by an item with these fields, an earlier attempt of the same create landed (botocore's retry
    after a timeout, a client's retry with its Idempotency-Key) and that item is the answer.
    ItemConflict if the id holds another item.
    """
    now = utc_now()
    item = Item(
        id=item_id or new_item_id(),
        name=payload.name,
        price=payload.price,
        description=payload.description,
        version=1,
        created_at=now,
        updated_at=now,
    )
    try:
        repository.put_new(item)
    except ItemConflict:
        # Consistent: the conditional write just saw the item, an eventually consistent read may not.
        stored = repository.get(item.id, consistent=True)
        if stored is None or not _same_fields(stored, payload):
            raise
        # A fresh id is taken only by this call's own earlier attempt (botocore retried a write
        # that had landed): this call created it. A derived id may have been taken by an earlier request.
        return stored, item_id is None
    return item, True


def create_item(repository: ItemRepository, payload: ItemCreate) -> Item:
    """Store a new item (version 1) under a fresh id."""
    return store_new_item(repository, payload)[0]


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


# The readiness checks, by the name the answer gives them: the items table ("dynamodb", its name
# since the first version of the contract) and Powertools' idempotency table.
ITEMS_CHECK = "dynamodb"
IDEMPOTENCY_CHECK = "idempotency_table"


def check_ready(repository: ItemRepository, idempotency_table: str | None = None) -> Readiness:
    """Whether each table answers, with the latency of one read of each."""
    tables = {ITEMS_CHECK: None, **({IDEMPOTENCY_CHECK: idempotency_table} if idempotency_table else {})}
    checks: dict[str, dict[str, Any]] = {}
    causes: dict[str, str] = {}
    for check, table in tables.items():
        try:
            latency_ms = repository.ping(table)
        except (ClientError, BotoCoreError) as exc:
            checks[check] = {"status": "fail"}
            causes[check] = (
                exc.response["Error"].get("Code", "ClientError") if isinstance(exc, ClientError) else type(exc).__name__
            )
            continue
        checks[check] = {"status": "pass", "latency_ms": round(latency_ms, 3)}
    return Readiness(ready=not causes, checks=checks, causes=causes)
