"""Which failures of DynamoDB mean "unavailable, retry later" (503) rather than a bug (500), and
which leave a write's outcome unknown.

The botocore client has already retried transient errors when one of these reaches the handler
(see `repository.CLIENT_CONFIG`), so the honest answer is to send the caller away for a moment.
A missing table is a dependency that is absent: also a 503, naming it. Anything else (a denied
permission, a malformed request) is a defect that a retry does not fix.

A request that never reached DynamoDB (connection refused, connect timeout) or that DynamoDB
refused (throttling) changed nothing. One that was sent and got no answer (read timeout, closed
connection) or a server error may have been applied: for a write, its outcome is unknown.
"""

from __future__ import annotations

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

# Retry-After for every 503: the client's own backoff is cheap; one second keeps retries spread.
RETRY_AFTER_SECONDS = 1

_UNAVAILABLE_CODES = frozenset(
    {
        # throttling that outlasted the client's retries
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        # the service's own failures
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


MISSING_CODE = "ResourceNotFoundException"


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps (Powertools' idempotency errors wrap the botocore error they met)."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in found):
        found.append(current)
        wrapped = [arg for arg in current.args if isinstance(arg, BaseException)]
        current = current.__cause__ or (wrapped[0] if wrapped else None) or current.__context__
    return found


def missing_dependency(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps) says the table does not exist."""
    return any(
        isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") == MISSING_CODE
        for error in _chain(exc)
    )


def unknown_outcome_cause(exc: BaseException) -> str | None:
    """The name of the failure in `exc` if a write that met it may have been applied, else None."""
    for error in _chain(exc):
        if isinstance(error, ConnectionError):
            return None
        if isinstance(error, HTTPClientError):
            return type(error).__name__
        if isinstance(error, ClientError):
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = str(error.response.get("Error", {}).get("Code", ""))
            return (code or f"HTTP {status}") if isinstance(status, int) and status >= 500 else None
    return None


def unavailable_cause(exc: BaseException) -> str | None:
    """The name of the dependency failure in `exc` (or what it wraps), or None if it is not one.

    Connection refused, connect and read timeouts and closed connections are botocore's
    ConnectionError and HTTPClientError; error responses count by code, and any 5xx status.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    # Powertools' idempotency errors wrap the botocore error they met; follow the chain.
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | HTTPClientError):
            return type(current).__name__
        if isinstance(current, ClientError):
            code = str(current.response.get("Error", {}).get("Code", ""))
            status = current.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in _UNAVAILABLE_CODES or (isinstance(status, int) and status >= 500):
                return code or f"HTTP {status}"
            return None
        wrapped = [arg for arg in current.args if isinstance(arg, BaseException)]
        current = current.__cause__ or (wrapped[0] if wrapped else None) or current.__context__
    return None
