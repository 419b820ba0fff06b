"""Redaction of sensitive values in the function's JSON logs.

Done in the formatter, the last step before a line is written, so that every line is covered:
logged events (POWERTOOLS_LOGGER_LOG_EVENT), extra keys and exception details alike. Two rules:

- by name: the value of any key, query parameter, header or `name=value` pair whose name is
  password-like in any case and spelling (password, PWD, X-Pass, db_password, clientSecret, ...);
- by shape, in every string wherever it sits (path, raw query, header values, body fields known or
  not, claims, the correlation id): JWTs, bearer credentials, e-mail addresses, card numbers
  (Luhn-checked, also when sent as a JSON number), looked for again after undoing percent-encoding
  up to three times (an address encoded twice still shows).

A raw body is parsed (JSON, or a form) and redacted as data, or else redacted by pattern; a logged
body is also cut to a bounded length. Every pattern is bounded, so hostile text stays linear.
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
from aws_lambda_powertools.logging.types import LogRecord

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
        "pwd",
        "pass",
        "passphrase",
    }
)
_COMPACT_KEYS = frozenset(key.replace("_", "") for key in SENSITIVE_KEYS)
# A name holding any of these is password-like whatever surrounds it (db_password, newPassword,
# userPwd); "pass" alone is not one of them, or passenger and bypass_cache would be.
_SENSITIVE_WORDS = frozenset({"pass", "pwd", "pin", "cvv", "cvc"})
_WORD_BOUNDARY = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_SENSITIVE_PARTS = ("password", "passwd", "passphrase", "pwd", "secret", "credential", "privatekey", "apikey")

# A logged body is cut to this many characters; longer ones are not parsed at all (the pattern
# rules run on the part that is kept), so logging stays cheap whatever the client sent.
MAX_LOGGED_BODY_CHARS = 2048
MAX_PARSED_BODY_CHARS = 64 * 1024

# Bounded as RFC 5321 bounds addresses (64-character local part, 63-character labels): the match
# work per "@" is bounded too, so a long string of address-like characters stays linear.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,63}")
# Names are matched by shape and judged by _is_sensitive, so that one rule decides for keys, query
# parameters and names in free text; bounded, so matching stays linear on hostile text.
# A name starts where no name character precedes it, so each run of them is tried once.
_NAME_CHARS = "A-Za-z0-9_.:-"
_NAME = rf"(?<![{_NAME_CHARS}])[{_NAME_CHARS}]{{1,64}}"
_HEADER_NAME = r"(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]{1,64}"
# "password": "..." in JSON-like text, even cut short before the closing quote.
_QUOTED_VALUE = re.compile(r'("([^"\\]{1,64})"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\]\s]+)')
# password=... in form-like text; "Authorization: Bearer ..." in header-like text, to the line's end.
_ASSIGNED_VALUE = re.compile(rf"(({_NAME})\s*=\s*)([^&\s,;]+)")
_HEADER_VALUE = re.compile(rf"(?m)(({_HEADER_NAME})[ \t]*:[ \t]*)([^\r\n]+)")
_CREDENTIALS = re.compile(r"(?i)\b(Bearer|Basic|Digest|Negotiate)\s+[A-Za-z0-9._~+/=-]+")
# A JWT anywhere (header.payload.signature, the header always base64url of '{"'): an access token
# in an exception message or a copied header.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_CREDENTIAL_SCHEMES = ("bearer", "basic", "digest", "negotiate")
# In ordinary text ("a basic teapot") only what looks like a credential: 16 or more token characters.
_CREDENTIALS_IN_TEXT = re.compile(r"(?i)\b(Bearer|Basic|Digest|Negotiate)\s+[A-Za-z0-9._~+/=-]{16,}")
_FORM = re.compile(r"^[^=&\s]+=[^&\s]*(?:&[^=&\s]+=[^&\s]*)*$")
# A payment card number: 13 to 19 digits, run together or in groups of four split by one space or
# dash, and not part of a longer run of word characters (a UUID's digit groups never match).
_CARD = re.compile(r"(?<![\w-])(?:\d{13,19}|\d{4}(?:([ -])\d{4}){2}\1\d{1,7})(?![\w-])")
# Percent-encoding is undone this many times at most: an address encoded twice (%2540) still shows.
_MAX_DECODINGS = 3


@lru_cache(maxsize=4096)
def _is_sensitive(key: object) -> bool:
    # Cached: every line repeats the same few dozen keys (bounded, as headers are caller-chosen).
    name = str(key)
    compact = name.lower().replace("-", "").replace("_", "")
    if compact in _COMPACT_KEYS or any(part in compact for part in _SENSITIVE_PARTS):
        return True
    # "pass" as a word of the name (X-Pass, db_pass, userPass), not inside one (bypass, passenger).
    return any(word.lower() in _SENSITIVE_WORDS for word in _WORD_BOUNDARY.split(name))


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check every payment card number passes."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _assigned(match: re.Match[str]) -> str:
    return f"{match.group(1)}{REDACTED}" if _is_sensitive(match.group(2)) else match.group(0)


def _card(match: re.Match[str]) -> str:
    digits = match.group(0).replace(" ", "").replace("-", "")
    return REDACTED if luhn_valid(digits) else match.group(0)


def _redact_shapes(text: str) -> str:
    # Each cheap substring test skips its regex for the vast majority of strings.
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    lowered = text.lower() if len(text) < 100_000 else text[:100_000].lower()
    if any(scheme in lowered for scheme in _CREDENTIAL_SCHEMES):
        text = _CREDENTIALS_IN_TEXT.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    if "=" in text:
        text = _ASSIGNED_VALUE.sub(_assigned, text)
    if "@" in text:
        text = _EMAIL.sub(REDACTED, text)
    return _CARD.sub(_card, text)


def redact_text(text: str) -> str:
    """`text` with what has the shape of a secret replaced: JWTs, bearer credentials, e-mail
    addresses, card numbers (Luhn-checked) and values assigned to password-like names, also where
    percent-encoding (once or more) hides them; then the decoded text is what is returned."""
    redacted = _redact_shapes(text)
    if "%" not in text:
        return redacted
    decoded = text
    for _ in range(_MAX_DECODINGS):
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
        found = _redact_shapes(decoded)
        if found != decoded:
            return found
    return redacted


def redact_query(raw: str) -> str:
    """A raw query string with the values of sensitive parameters, and e-mail addresses, replaced."""
    pairs = []
    for part in raw.split("&"):
        name, separator, value = part.partition("=")
        if separator and _is_sensitive(unquote_plus(name)):
            value = REDACTED
        else:
            decoded = unquote_plus(value)
            redacted = redact_text(decoded)
            value = value if redacted == decoded else redacted
        pairs.append(f"{name}{separator}{value}")
    return "&".join(pairs)


def redact_by_pattern(text: str) -> str:
    """Free text redacted by what sensitive values look like in it (for bodies that do not parse)."""
    text = _QUOTED_VALUE.sub(
        lambda match: f'{match.group(1)}"{REDACTED}"' if _is_sensitive(match.group(2)) else match.group(0), text
    )
    text = _ASSIGNED_VALUE.sub(_assigned, text)
    text = _HEADER_VALUE.sub(
        lambda match: f"{match.group(1)}{REDACTED}" if _is_sensitive(match.group(2)) else match.group(0), text
    )
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
    if isinstance(value, int) and not isinstance(value, bool) and 10**12 <= value < 10**19:
        # A card number sent as a JSON number.
        return REDACTED if luhn_valid(str(value)) else value
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, redacting each record before it is serialized."""

    def serialize(self, log: LogRecord) -> str:
        return super().serialize(redact(log))
