"""Idempotent creates: Powertools' Idempotency utility over its DynamoDB persistence layer.

A client that retries `POST /items` with the same `Idempotency-Key` (after a timeout, say) gets
the first response again instead of a second item. The record is keyed by the caller's exact
identity (issuer and subject, or issuer and client id) and the key, so two clients choosing the
same key never see each other's items, and it holds a hash of the
payload, so the same key with another body is refused (Powertools' payload validation).

Powertools' idempotency package imports boto3 (its persistence layer), which the function otherwise
never loads; it is imported on the first request that carries the header, so cold starts do not
pay for it, and its errors are translated here into the service's own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from service.errors import DependencyFailed, IdempotencyKeyReused
from service.models import ItemCreate

# The records' key prefix: stable across refactors of the code (Powertools' default is the
# function's module and name), so a deploy does not forget the keys of requests in flight.
KEY_PREFIX = "items.create"


def canonical_payload(payload: ItemCreate) -> dict[str, Any]:
    """The create's fields in one spelling per value, as hashed for payload validation."""
    return {
        "name": payload.name,
        # Already canonical (models._canonical_price): 12.50 and 12.5 are the same request.
        "price": str(payload.price),
        "description": payload.description,
    }


# Fixed forever: an item's id is derived from its create's scoped key, so changing this would give
# a retry of a create in flight during a deploy another id (and a second item).
ITEM_ID_NAMESPACE = uuid.UUID("6b0f7c52-3f0e-4b8e-9a55-2c1d0e7f4a31")


def scoped_key(identity: tuple[str, ...] | None, key: str) -> str:
    """The record key: the caller's exact identity and the client's key, as a JSON array.

    The identity is never normalised or shortened (`carol` and `  carol ` are two callers), and
    JSON keeps its parts apart whatever characters they hold; Powertools hashes the whole string.
    """
    return json.dumps([*(identity or ()), key], separators=(",", ":"), ensure_ascii=False)


def item_id_for(identity: tuple[str, ...] | None, key: str) -> str:
    """The id of the item a keyed create writes: the same for every retry of it, and for no other.

    With it the item's own conditional write makes the create idempotent, whatever happened to the
    idempotency record: a retry finds the item if an earlier attempt stored it and stores it if not.
    """
    return str(uuid.uuid5(ITEM_ID_NAMESPACE, scoped_key(identity, key)))

IDEMPOTENCY_TABLE = "idempotency_table"


class IdempotentCreates:
    """Runs a create at most once per (caller, Idempotency-Key) within the TTL."""

    def __init__(self, table_name: str, ttl_seconds: int, client_factory: Callable[[], Any]) -> None:
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds
        self._client_factory = client_factory
        self._config: Any = None
        self._create: Callable[..., dict[str, Any]] | None = None

    def reset(self) -> None:
        """Forget the persistence layer, so the next create builds one on the current client."""
        self._config = None
        self._create = None

    def _build(self) -> Callable[..., dict[str, Any]]:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        # The table's defaults are Powertools' own: partition key `id`, TTL attribute `expiration`.
        persistence = DynamoDBPersistenceLayer(table_name=self.table_name, boto3_client=self._client_factory())
        self._config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="payload",
            expires_after_seconds=self.ttl_seconds,
            raise_on_no_idempotency_key=True,
        )

        def run(*, request: dict[str, Any], operation: Callable[[], dict[str, Any]]) -> dict[str, Any]:
            return operation()

        return idempotent_function(
            run,
            data_keyword_argument="request",
            persistence_store=persistence,
            config=self._config,
            key_prefix=KEY_PREFIX,
        )

    def run(
        self,
        *,
        caller: tuple[str, ...] | None,
        key: str,
        payload: ItemCreate,
        lambda_context: Any,
        operation: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        """`operation()`'s result, or the result it had the first time for this key.

        `operation` must be idempotent itself (the create writes the item under `item_id_for`): a
        request that finds the key's record still in progress runs it again at once, which returns
        the stored item if the first request's write landed and writes it if not. A record in
        progress can outlive the request that wrote it, which answered already (its write timed
        out, and so did releasing the record), so it is no reason to make the client wait.

        Raises IdempotencyKeyReused (same key, other payload) and DependencyFailed (the idempotency
        table failed, with the botocore error behind it). What `operation` raises passes through,
        after its in-progress record is deleted (when that is possible) so that a retry can succeed;
        a result is returned even when saving it in the record failed: the item exists.
        """
        if self._create is None:
            self._create = self._build()
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyInconsistentStateError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        # The in-progress record expires when this invocation would time out, so that a request
        # killed mid-way does not lock its key for the whole TTL.
        self._config.register_lambda_context(lambda_context)
        request = {"key": scoped_key(caller, key), "payload": canonical_payload(payload)}
        ran: dict[str, Any] = {}

        def tracked() -> dict[str, Any]:
            try:
                ran["result"] = operation()
            except Exception as exc:
                ran["error"] = exc
                raise
            return ran["result"]

        try:
            return self._create(request=request, operation=tracked)
        except IdempotencyValidationError:
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different body") from None
        except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError):
            # An inconsistent state is a record changing under Powertools several times in a row;
            # either way the item's own conditional write settles it.
            return operation()
        except IdempotencyPersistenceLayerError as exc:
            if "result" in ran:
                # Stored, but the record could not be completed: the item is the answer, and a retry
                # finds it through the record in progress.
                return ran["result"]
            if "error" in ran:
                # The create failed and its record could not be released: the create's error is the answer.
                raise ran["error"] from exc
            cause = next((arg for arg in exc.args if isinstance(arg, BotoCoreError | ClientError)), None)
            if cause is None:
                raise
            raise DependencyFailed(IDEMPOTENCY_TABLE, cause) from exc
