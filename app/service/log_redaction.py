"""Redaction of sensitive values in the function's JSON logs.

Done in the formatter, the last step before a line is written, so that every line is covered:
logged events (POWERTOOLS_LOGGER_LOG_EVENT), extra keys and exception details alike. Raw request
text gets the same rules as parsed fields: a path is percent-decoded before looking for e-mail
addresses, a raw query string has the values of its sensitive parameters replaced, and a raw body
is parsed (JSON, or a form) and redacted as data, or else redacted by pattern; a logged body is
also cut to a bounded length.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, unquote_plus

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

REDACTED = "[REDACTED]"

# Compared without case and without "-" and "_", so header spellings (X-Api-Key), snake_case and
# camelCase (clientSecret) all match.
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
        "passwd",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "auth_token",
        "x_auth_token",
        "session_token",
        "x_amz_security_token",
        "private_key",
        "email",
        "email_address",
    }
)
_COMPACT_KEYS = frozenset(key.replace("_", "") for key in SENSITIVE_KEYS)

# A logged body is cut to this many characters; longer ones are not parsed at all (the pattern
# rules run on the part that is kept), so logging stays cheap whatever the client sent.
MAX_LOGGED_BODY_CHARS = 2048
MAX_PARSED_BODY_CHARS = 64 * 1024

# Bounded as RFC 5321 bounds addresses (64-character local part, 63-character labels): the match
# work per "@" is bounded too, so a long string of address-like characters stays linear.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,63}")
_KEY_ALTERNATIVES = "|".join(sorted((key.replace("_", "[-_]?") for key in SENSITIVE_KEYS), key=len, reverse=True))
# "password": "..." in JSON-like text, even cut short before the closing quote.
_QUOTED_VALUE = re.compile(rf'(?i)("(?:{_KEY_ALTERNATIVES})"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}}\]\s]+)')
# password=... in form-like text; "Authorization: Bearer ..." in header-like text, to the line's end.
_ASSIGNED_VALUE = re.compile(rf"(?i)(\b(?:{_KEY_ALTERNATIVES})\s*=\s*)([^&\s,;]+)")
_HEADER_VALUE = re.compile(rf"(?im)(\b(?:{_KEY_ALTERNATIVES})[ \t]*:[ \t]*)([^\r\n]+)")
_CREDENTIALS = re.compile(r"(?i)\b(Bearer|Basic|Digest|Negotiate)\s+[A-Za-z0-9._~+/=-]+")
# A JWT anywhere (header.payload.signature, the header always base64url of '{"'): an access token
# in an exception message or a copied header.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_CREDENTIAL_SCHEMES = ("bearer", "basic", "digest", "negotiate")
# In ordinary text ("a basic teapot") only what looks like a credential: 16 or more token characters.
_CREDENTIALS_IN_TEXT = re.compile(r"(?i)\b(Bearer|Basic|Digest|Negotiate)\s+[A-Za-z0-9._~+/=-]{16,}")
_FORM = re.compile(r"^[^=&\s]+=[^&\s]*(?:&[^=&\s]+=[^&\s]*)*$")


@lru_cache(maxsize=4096)
def _is_sensitive(key: object) -> bool:
    # Cached: every line repeats the same few dozen keys (bounded, as headers are caller-chosen).
    return str(key).lower().replace("-", "").replace("_", "") in _COMPACT_KEYS


def redact_text(text: str) -> str:
    """`text` with e-mail addresses replaced, also where percent-encoding hides the "@", and with
    bearer credentials and JWTs replaced wherever they appear."""
    # Each cheap substring test skips its regex for the vast majority of strings.
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    lowered = text.lower() if len(text) < 100_000 else text[:100_000].lower()
    if any(scheme in lowered for scheme in _CREDENTIAL_SCHEMES):
        text = _CREDENTIALS_IN_TEXT.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    if "%40" in text:
        decoded = unquote(text)
        if _EMAIL.search(decoded):
            return _EMAIL.sub(REDACTED, decoded)
    if "@" in text:
        return _EMAIL.sub(REDACTED, text)
    return text


def redact_query(raw: str) -> str:
    """A raw query string with the values of sensitive parameters, and e-mail addresses, replaced."""
    pairs = []
    for part in raw.split("&"):
        name, separator, value = part.partition("=")
        if separator and _is_sensitive(unquote_plus(name)):
            value = REDACTED
        else:
            value = redact_text(unquote_plus(value)) if "%40" in value or "@" in value else value
        pairs.append(f"{name}{separator}{value}")
    return "&".join(pairs)


def redact_by_pattern(text: str) -> str:
    """Free text redacted by what sensitive values look like in it (for bodies that do not parse)."""
    text = _QUOTED_VALUE.sub(lambda match: f'{match.group(1)}"{REDACTED}"', text)
    text = _ASSIGNED_VALUE.sub(lambda match: f"{match.group(1)}{REDACTED}", text)
    text = _HEADER_VALUE.sub(lambda match: f"{match.group(1)}{REDACTED}", text)
    text = _CREDENTIALS.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    return redact_text(text)


def _cut(text: str) -> str:
    if len(text) <= MAX_LOGGED_BODY_CHARS:
        return text
    return f"{text[:MAX_LOGGED_BODY_CHARS]}…[{len(text) - MAX_LOGGED_BODY_CHARS} more characters]"


def redact_body(body: str, *, is_base64: bool = False, content_type: str | None = None) -> str:
    """A raw request body, redacted as data when it parses (JSON or a form), else by pattern; bounded."""
    text = body
    if is_base64:
        try:
            text = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return f"[{len(body)} characters of base64 that are not UTF-8 text]"
    if len(text) > MAX_PARSED_BODY_CHARS:
        # Only the part that is kept is redacted, and nothing after it is written.
        rest = len(text) - MAX_LOGGED_BODY_CHARS
        return f"{redact_by_pattern(text[:MAX_LOGGED_BODY_CHARS])}…[{rest} more characters]"
    stripped = text.lstrip()
    if stripped[:1] in {"{", "["}:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return _cut(redact_by_pattern(text))
        # ASCII-escaped: a lone surrogate from a JSON escape must not make the line unwritable.
        return _cut(json.dumps(redact(data)))
    form = (content_type or "").lower().startswith("application/x-www-form-urlencoded")
    if form or _FORM.fullmatch(stripped):
        return _cut(redact_query(text))
    return _cut(redact_by_pattern(text))


def _content_type(headers: Any) -> str | None:
    if not isinstance(headers, dict):
        return None
    for name, value in headers.items():
        if str(name).lower() == "content-type":
            return str(value)
    return None


def _redact_mapping(value: dict[Any, Any]) -> dict[Any, Any]:
    redacted: dict[Any, Any] = {}
    for key, inner in value.items():
        if _is_sensitive(key):
            redacted[key] = REDACTED
        elif key == "body" and isinstance(inner, str):
            redacted[key] = redact_body(
                inner,
                is_base64=bool(value.get("isBase64Encoded")),
                content_type=_content_type(value.get("headers")),
            )
        elif key == "rawQueryString" and isinstance(inner, str):
            redacted[key] = redact_query(inner)
        else:
            redacted[key] = redact(inner)
    # The body is logged decoded, so it must no longer claim to be base64.
    if value.get("isBase64Encoded") is True and isinstance(value.get("body"), str):
        redacted["isBase64Encoded"] = False
    return redacted


def redact(value: Any) -> Any:
    """A copy of `value` with sensitive keys' values, e-mail addresses and raw request text redacted."""
    if isinstance(value, dict):
        return _redact_mapping(value)
    if isinstance(value, list | tuple):
        return [redact(inner) for inner in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, redacting each record before it is serialized."""

    def serialize(self, log: dict[str, Any]) -> str:
        return super().serialize(redact(log))
