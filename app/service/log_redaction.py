"""Redaction of sensitive values in the function's JSON logs.

Done in the formatter, the last step before a line is written, so that every line is covered:
logged events (POWERTOOLS_LOGGER_LOG_EVENT), extra keys and exception details alike.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

REDACTED = "[REDACTED]"

# Compared after lower-casing and turning "-" into "_", so header spellings match too.
SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "cookie",
        "cookies",
        "set_cookie",
        "x_api_key",
        "api_key",
        "password",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "x_amz_security_token",
        "email",
        "email_address",
    }
)

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def _is_sensitive(key: object) -> bool:
    return str(key).lower().replace("-", "_") in SENSITIVE_KEYS


def redact(value: Any) -> Any:
    """A copy of `value` with sensitive keys' values and e-mail addresses replaced."""
    if isinstance(value, dict):
        return {key: REDACTED if _is_sensitive(key) else redact(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [redact(inner) for inner in value]
    # The "@" test skips the regex for the vast majority of strings.
    if isinstance(value, str) and "@" in value:
        return _EMAIL.sub(REDACTED, value)
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, redacting each record before it is serialized."""

    def serialize(self, log: dict[str, Any]) -> str:
        return super().serialize(redact(log))
