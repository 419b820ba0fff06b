"""Headers every response of the function carries, and the one page that needs its own policy."""

from __future__ import annotations

import base64
import hashlib
import re

CORRELATION_ID_HEADER = "X-Correlation-ID"
CONTENT_SECURITY_POLICY = "Content-Security-Policy"

# An API answers JSON to programs: no browser should render, frame, cache or sniff it.
SECURITY_HEADERS: dict[str, str] = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    CONTENT_SECURITY_POLICY: "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def docs_content_security_policy(html: str) -> str:
    """The policy for the Swagger UI page: exactly its own inline scripts (by hash), its styles.

    The page inlines Powertools' copy of Swagger UI and the document; nothing else may run, it
    may only call this API (`connect-src 'self'`, for "Try it out"), and it still cannot be framed.
    """
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def add_security_headers(headers: dict[str, str]) -> dict[str, str]:
    """`headers` with the security headers added; a route's own Content-Security-Policy wins."""
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    return headers
