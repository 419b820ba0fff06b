"""DynamoDB access for items, with conditional writes so that no update is lost.

Uses only the actions the function's role allows: GetItem, PutItem, UpdateItem, DeleteItem
and Scan. The low-level client comes straight from botocore: the function needs nothing boto3
adds on top, and not importing boto3 (with s3transfer) takes tens of milliseconds off every cold
start. The attribute mapping of one small record is easier to read written out anyway.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from service.config import (
    DEFAULT_DYNAMODB_CONNECT_TIMEOUT_MS,
    DEFAULT_DYNAMODB_MAX_ATTEMPTS,
    DEFAULT_DYNAMODB_READ_TIMEOUT_MS,
)
from service.errors import ItemConflict, ItemNotFound, WriteOutcomeUnknown
from service.faults import unknown_outcome_cause
from service.models import Item
from service.schema import TABLE_HASH_KEY

# Not a UUID, so it can never be an item id (ids are validated as UUIDs before any read).
READINESS_PROBE_KEY = "__readiness_probe__"

# A DynamoDB call that does not answer must fail well inside the function's timeout (10 s in
# both stacks; API Gateway gives up at 30 s), so that the caller gets a 503 rather than a timeout.
# In-region calls take milliseconds: 1 s to connect and 1 s per read leave two orders of
# magnitude. The standard retry mode retries throttling and transient errors once, with a jittered
# backoff of at most 1 s after throttling (25 ms after other transient errors, for DynamoDB).
# The values are settings (service.config), so that fault tests can run at a tenth of a second.
CONNECT_TIMEOUT_S = DEFAULT_DYNAMODB_CONNECT_TIMEOUT_MS / 1000
READ_TIMEOUT_S = DEFAULT_DYNAMODB_READ_TIMEOUT_MS / 1000
MAX_ATTEMPTS = DEFAULT_DYNAMODB_MAX_ATTEMPTS
MAX_RETRY_BACKOFF_S = 1.0


def client_config(
    connect_timeout_s: float = CONNECT_TIMEOUT_S, read_timeout_s: float = READ_TIMEOUT_S, attempts: int = MAX_ATTEMPTS
) -> Config:
    """The DynamoDB client's timeouts and retries."""
    return Config(
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        retries={"mode": "standard", "total_max_attempts": attempts},
    )


CLIENT_CONFIG = client_config()


def worst_case_call_seconds(
    connect_timeout: float = CONNECT_TIMEOUT_S,
    read_timeout: float = READ_TIMEOUT_S,
    attempts: int = MAX_ATTEMPTS,
    backoff: float = MAX_RETRY_BACKOFF_S,
) -> float:
    """The longest one DynamoDB call can take before it fails: every attempt times out, then backs off."""
    return attempts * (connect_timeout + read_timeout) + (attempts - 1) * backoff

_CONDITION_FAILED = "ConditionalCheckFailedException"

# Expression placeholders for every attribute: `name` is a DynamoDB reserved word, and one
# mapping for all expressions keeps them readable.
_NAMES = {
    "#id": TABLE_HASH_KEY,
    "#name": "name",
    "#price": "price",
    "#desc": "description",
    "#version": "version",
    "#updated": "updated_at",
}


def to_attributes(item: Item) -> dict[str, Any]:
    """The DynamoDB attribute map of an item."""
    attributes: dict[str, Any] = {
        TABLE_HASH_KEY: {"S": item.id},
        "name": {"S": item.name},
        "price": {"N": str(item.price)},
        "version": {"N": str(item.version)},
        "created_at": {"S": item.created_at},
        "updated_at": {"S": item.updated_at},
    }
    if item.description is not None:
        attributes["description"] = {"S": item.description}
    return attributes


def from_attributes(attributes: dict[str, Any]) -> Item:
    """The item stored in a DynamoDB attribute map."""
    description = attributes.get("description")
    return Item(
        id=attributes[TABLE_HASH_KEY]["S"],
        name=attributes["name"]["S"],
        price=Decimal(attributes["price"]["N"]),
        description=description["S"] if description else None,
        version=int(attributes["version"]["N"]),
        created_at=attributes["created_at"]["S"],
        updated_at=attributes["updated_at"]["S"],
    )


def _key(item_id: str) -> dict[str, Any]:
    return {TABLE_HASH_KEY: {"S": item_id}}


def _is_condition_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED


def _unknown_if_sent(exc: BotoCoreError | ClientError, item_id: str) -> None:
    """Raise WriteOutcomeUnknown if the write that failed with `exc` may have been applied."""
    cause = unknown_outcome_cause(exc)
    if cause is not None:
        raise WriteOutcomeUnknown(item_id, cause) from exc


class ItemRepository:
    """Items in one DynamoDB table."""

    def __init__(self, table_name: str, client: Any, config: Config = CLIENT_CONFIG) -> None:
        self.table_name = table_name
        self.client = client
        self.config = config

    @staticmethod
    def new_client(region: str, config: Config = CLIENT_CONFIG) -> Any:
        """A DynamoDB client with the function's timeouts; the endpoint follows the standard AWS settings."""
        return botocore.session.get_session().create_client("dynamodb", region_name=region, config=config)

    @classmethod
    def create(cls, table_name: str, region: str, config: Config = CLIENT_CONFIG) -> ItemRepository:
        """A repository with its own client."""
        return cls(table_name, cls.new_client(region, config), config)

    def reconnect(self, region: str) -> None:
        """Replace the client (a SnapStart restore: see service.handler), with the same limits."""
        self.client = self.new_client(region, self.config)

    def put_new(self, item: Item) -> None:
        """Store a new item; ItemConflict if its id is taken."""
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=to_attributes(item),
                ConditionExpression="attribute_not_exists(#id)",
                ExpressionAttributeNames={"#id": TABLE_HASH_KEY},
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                raise ItemConflict(item.id, f"item {item.id} already exists") from None
            _unknown_if_sent(exc, item.id)
            raise
        except BotoCoreError as exc:
            _unknown_if_sent(exc, item.id)
            raise

    def get(self, item_id: str, *, consistent: bool = False) -> Item | None:
        """The item with this id, or None; `consistent` for a strongly consistent read."""
        request: dict[str, Any] = {"TableName": self.table_name, "Key": _key(item_id)}
        if consistent:
            request["ConsistentRead"] = True
        response = self.client.get_item(**request)
        attributes = response.get("Item")
        return from_attributes(attributes) if attributes else None

    def scan_page(self, limit: int, start_after: str | None) -> tuple[list[Item], str | None]:
        """Up to `limit` items after the item id `start_after`, and the id to continue after."""
        request: dict[str, Any] = {"TableName": self.table_name, "Limit": limit}
        if start_after is not None:
            request["ExclusiveStartKey"] = _key(start_after)
        response = self.client.scan(**request)
        last_key = response.get("LastEvaluatedKey")
        items = [from_attributes(attributes) for attributes in response.get("Items", [])]
        return items, (last_key[TABLE_HASH_KEY]["S"] if last_key else None)

    def replace(
        self,
        item_id: str,
        expected_version: int,
        *,
        name: str,
        price: Decimal,
        description: str | None,
        updated_at: str,
    ) -> Item:
        """Replace the mutable fields if the stored version is `expected_version`.

        ItemNotFound if there is no such item, ItemConflict if the version is stale.
        """
        values: dict[str, Any] = {
            ":name": {"S": name},
            ":price": {"N": str(price)},
            ":expected": {"N": str(expected_version)},
            ":next": {"N": str(expected_version + 1)},
            ":updated": {"S": updated_at},
        }
        update = "SET #name = :name, #price = :price, #version = :next, #updated = :updated"
        if description is None:
            update += " REMOVE #desc"
        else:
            update += ", #desc = :desc"
            values[":desc"] = {"S": description}
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=_key(item_id),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(#id) AND #version = :expected",
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except BotoCoreError as exc:
            _unknown_if_sent(exc, item_id)
            raise
        except ClientError as exc:
            if not _is_condition_failure(exc):
                _unknown_if_sent(exc, item_id)
                raise
            # The failed condition returns the stored item, which tells a missing item from a
            # stale version without a second read.
            current = exc.response.get("Item")
            if not current:
                raise ItemNotFound(item_id) from None
            current_version = int(current["version"]["N"])
            raise ItemConflict(
                item_id,
                f"item {item_id} is at version {current_version}, not {expected_version}",
                current_version=current_version,
            ) from None
        return from_attributes(response["Attributes"])

    def delete(self, item_id: str) -> bool:
        """Delete the item if present; whether there was one. Deleting twice is not an error."""
        try:
            response = self.client.delete_item(TableName=self.table_name, Key=_key(item_id), ReturnValues="ALL_OLD")
        except (BotoCoreError, ClientError) as exc:
            _unknown_if_sent(exc, item_id)
            raise
        return bool(response.get("Attributes"))

    def ping(self, table_name: str | None = None) -> float:
        """Read a key that never exists (in this table, or `table_name`) and return the round trip in ms.

        GetItem rather than DescribeTable: the function's role allows item operations only, and
        a read exercises the same path (permissions, network, table) as real requests.
        """
        started = time.perf_counter()
        self.client.get_item(
            TableName=table_name or self.table_name,
            Key=_key(READINESS_PROBE_KEY),
            ProjectionExpression="#id",
            ExpressionAttributeNames={"#id": TABLE_HASH_KEY},
        )
        return (time.perf_counter() - started) * 1000.0
