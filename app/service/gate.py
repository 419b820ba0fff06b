"""Checks on a request's body made before anything parses it: size, encoding, media type.

Pure functions of the event, run by the handler before the resolver: a 6 MB body is refused
after measuring it, never after building a 44 MB list of everything wrong with it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from service.errors import FieldError
from service.routes import BODY_ROUTE_KEYS

_BODY_ROUTES = frozenset(BODY_ROUTE_KEYS)
JSON_MEDIA_TYPE = "application/json"
# RFC 8259's insignificant whitespace; str.strip() would also skip characters JSON refuses.
_JSON_WHITESPACE = " \t\n\r"


@dataclass(frozen=True)
class Rejection:
    """Why a request is refused before routing: the status, the error code, what to tell the client."""

    status: int
    code: str
    message: str
    details: tuple[FieldError, ...] = ()
    max_bytes: int | None = None


@dataclass(frozen=True)
class Admission:
    """The request may proceed, as `event`: the body decoded to text, a JSON media type as `application/json`."""

    event: dict[str, Any]


def _header(headers: dict[str, Any], name: str) -> str | None:
    # Payload 2.0 lower-cases header names; other producers of events may not.
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if str(key).lower() == name:
                return str(candidate)
    return None if value is None else str(value)


def is_json_media_type(content_type: str | None) -> bool:
    """`application/json` or `application/*+json`, with no parameter but `charset=utf-8`."""
    if not content_type:
        return False
    media_type, *parameters = (part.strip() for part in content_type.split(";"))
    kind, _, subtype = media_type.lower().partition("/")
    if kind != "application" or not (subtype == "json" or (subtype.endswith("+json") and len(subtype) > 5)):
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() != "charset" or value.strip().strip('"').lower() not in {"utf-8", "utf8"}:
            return False
    return True


def _too_large(max_bytes: int) -> Rejection:
    return Rejection(
        413, "payload_too_large", f"the request body is larger than {max_bytes} bytes", max_bytes=max_bytes
    )


def _bad_encoding(message: str) -> Rejection:
    return Rejection(
        400,
        "validation_error",
        "the request is invalid",
        details=({"field": "body", "message": message, "type": "encoding"},),
    )


def admit(event: dict[str, Any], route_key: str, max_bytes: int) -> Admission | Rejection:
    """Refuse a body over `max_bytes` (decoded), undecodable, or not JSON on a route that reads one."""
    body = event.get("body")
    if not body:
        return Admission(event)
    text = str(body)
    is_base64 = bool(event.get("isBase64Encoded"))
    reads_body = route_key in _BODY_ROUTES
    # Size first, and without decoding when the length alone decides it: 4 base64 characters
    # decode to at least 3 bytes (less at most 2 of padding), a character is 1 to 4 bytes of UTF-8.
    if ((len(text) * 3) // 4 - 2 if is_base64 else len(text)) > max_bytes:
        return _too_large(max_bytes)
    raw: bytes | None = None
    if is_base64:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return _bad_encoding("is not valid base64") if reads_body else Admission(event)
        size = len(raw)
    else:
        size = len(text) if len(text) * 4 <= max_bytes else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        return _too_large(max_bytes)
    if not reads_body:
        return Admission(event)

    headers = event.get("headers") or {}
    if not is_json_media_type(_header(headers, "content-type")):
        return Rejection(
            415,
            "unsupported_media_type",
            "send the body as application/json (charset utf-8), or an application/*+json type",
        )
    if raw is not None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _bad_encoding("is not valid UTF-8")
    if text.lstrip(_JSON_WHITESPACE).startswith("["):
        # Every item body is an object; the resolver would read a one-element array as its element
        # (it unwraps lists for repeated query parameters, and does so for bodies too).
        return Rejection(
            400,
            "validation_error",
            "the request is invalid",
            details=({"field": "body", "message": "must be a JSON object", "type": "model_attributes_type"},),
        )
    # The resolver parses only `application/json` as JSON, and would decode base64 a second time.
    normalized = {key: value for key, value in headers.items() if str(key).lower() != "content-type"}
    normalized["content-type"] = JSON_MEDIA_TYPE
    return Admission({**event, "headers": normalized, "body": text, "isBase64Encoded": False})
