"""Domain errors; the HTTP adapter maps each one to a status code."""

from __future__ import annotations

from typing import TypedDict


class FieldError(TypedDict):
    """One invalid input, named so that a client can fix it."""

    field: str
    message: str
    type: str


class ServiceError(Exception):
    """Base of the errors the service raises on purpose."""


class InvalidRequest(ServiceError):
    """The request body or a parameter is invalid; nothing was written.

    `errors` are the first problems found (a bounded list), `count` how many there were in all.
    """

    def __init__(self, errors: list[FieldError], count: int | None = None) -> None:
        super().__init__(", ".join(f"{error['field']}: {error['message']}" for error in errors))
        self.errors = errors
        self.count = len(errors) if count is None else count


class ItemNotFound(ServiceError):
    """No item has this id."""

    def __init__(self, item_id: str) -> None:
        super().__init__(f"item {item_id} not found")
        self.item_id = item_id


class ItemConflict(ServiceError):
    """A conditional write lost: the id exists already, or the version is stale."""

    def __init__(self, item_id: str, reason: str, current_version: int | None = None) -> None:
        super().__init__(reason)
        self.item_id = item_id
        self.current_version = current_version


class IdempotencyKeyReused(ServiceError):
    """An Idempotency-Key already served a create with a different body."""


class WriteOutcomeUnknown(ServiceError):
    """A write was sent and no answer came back (a timeout after sending, a closed connection, a
    server error): it may or may not have been applied. `item_id` is the item it wrote."""

    def __init__(self, item_id: str, cause: str) -> None:
        super().__init__(f"the outcome of the write of item {item_id} is unknown ({cause})")
        self.item_id = item_id
        self.cause = cause
        self.idempotency_key: str | None = None
        """The create's Idempotency-Key, for the answer to repeat (set by the route that knows it)."""


class DependencyFailed(ServiceError):
    """A call to one of the function's dependencies failed; `dependency` says which (the error is `cause`)."""

    def __init__(self, dependency: str, cause: BaseException) -> None:
        super().__init__(f"{dependency}: {type(cause).__name__}")
        self.dependency = dependency
        self.cause = cause
