"""A local token issuer and API Gateway's JWT authorizer, for the local server.

The deployed API checks tokens with an HTTP API JWT authorizer in front of Cognito; locally an RS256
key generated on first use under `build/local-auth/` (never committed) signs the tokens and the same
rules check them, so a request refused in AWS is refused locally with the same status and body.

The authorizer follows "Control access to HTTP APIs with JWT authorizers in API Gateway"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html):

- "Check the identitySource for a token. The identitySource can include only the token, or the
  token prefixed with Bearer." (the identity source here is the Authorization header)
- "Check the token's algorithm and signature by using the public key that is fetched from the
  issuer's jwks_uri. Currently, only RSA-based algorithms are supported."
- "kid - The token must have a header claim that matches the key in the jwks_uri that signed the
  token." "iss - Must match the issuer that is configured for the authorizer." "exp - Must be
  after the current time in UTC." "nbf - Must be before the current time in UTC." "iat - Must be
  before the current time in UTC." "scope or scp - The token must include at least one of the
  scopes in the route's authorizationScopes."
- "For API Gateway to authorize a request, the JWT's aud or client_id claim must match one of the
  audience entries that's configured for the authorizer. API Gateway validates client_id only if
  aud is not present. When both aud and client_id are present, API Gateway evaluates aud."

A refused token is `401 {"message":"Unauthorized"}` with a `www-authenticate: Bearer scope=""
error="invalid_token" error_description="..."` header, as "My API returns 401" on
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html
shows; a valid token without the route's scopes is `403 {"message":"Forbidden"}` (the
`error="insufficient_scope"` header there is observed behaviour, not documented).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

REPO_ROOT = Path(__file__).resolve().parents[1]
APP_DIR = REPO_ROOT / "app"
KEY_DIR = REPO_ROOT / "build" / "local-auth"
KEY_FILE_NAME = "signing-key.pem"

# Fixed, whatever port the server runs on, so a token minted before a restart stays valid.
LOCAL_ISSUER = "https://issuer.prodready.localhost"
# The local app client id: Cognito client-credentials tokens carry it as client_id and no aud.
LOCAL_AUDIENCE = "prodready-local-client"
SIGNING_ALGORITHM = "RS256"
# What API Gateway accepts: "Currently, only RSA-based algorithms are supported."
ACCEPTED_ALGORITHMS: tuple[str, ...] = ("RS256", "RS384", "RS512")
RSA_KEY_BITS = 2048

_key_lock = threading.Lock()
_key_cache: dict[Path, rsa.RSAPrivateKey] = {}


def _routes() -> Any:
    # routes.py is pure data under app/, which is on sys.path only inside the function or a test.
    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    from service import routes

    return routes


def api_scopes() -> tuple[str, ...]:
    """The scope names the API's routes require, unprefixed (as the local issuer mints them)."""
    return tuple(_routes().SCOPES)


# --- the signing key ----------------------------------------------------------------------------


def _read_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} holds a {type(key).__name__}, not an RSA private key; delete it to get a new one")
    return key


def _create_key(path: Path) -> None:
    """Write a new key to `path` unless one is there, so that racing creators agree on one key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        # Readers see no file or a whole file, never a partial one. A hard link publishes the key
        # only if no other process got there first (os.replace would let the last writer win and
        # leave the first one signing with a key nobody else has); where links are unsupported,
        # fall back to os.replace.
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        except OSError:
            if not path.exists():
                os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def signing_key(directory: Path = KEY_DIR, *, reload: bool = False) -> rsa.RSAPrivateKey:
    """The local signing key, created on first use (under `directory`, 0600)."""
    path = Path(directory) / KEY_FILE_NAME
    with _key_lock:
        if not reload and path in _key_cache and path.exists():
            return _key_cache[path]
        if not path.exists():
            _create_key(path)
        key = _read_key(path)
        _key_cache[path] = key
        return key


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def key_id(public_key: rsa.RSAPublicKey) -> str:
    """The key's RFC 7638 JWK thumbprint (SHA-256), used as its `kid`."""
    numbers = public_key.public_numbers()
    # RFC 7638 section 3: the required members only, in lexicographic order, no whitespace.
    canonical = json.dumps(
        {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    """The public key as a JWK, with the `kid`, `alg` and `use` a JWKS publishes."""
    jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    return {**jwk, "kid": key_id(public_key), "alg": SIGNING_ALGORITHM, "use": "sig"}


def jwks(directory: Path = KEY_DIR) -> dict[str, Any]:
    """The JSON Web Key Set with the local signing key's public half."""
    return {"keys": [public_jwk(signing_key(directory).public_key())]}


def openid_configuration(jwks_uri: str, issuer: str = LOCAL_ISSUER) -> dict[str, Any]:
    """An OpenID discovery document for the local issuer (what API Gateway reads `jwks_uri` from)."""
    return {
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "response_types_supported": ["token"],
        "grant_types_supported": ["client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "scopes_supported": list(api_scopes()),
    }


# --- tokens -------------------------------------------------------------------------------------


def mint_token(
    scopes: Sequence[str],
    *,
    subject: str = "local-user",
    lifetime_s: int = 3600,
    audience: str | None = None,
    issuer: str | None = None,
    key: rsa.RSAPrivateKey | None = None,
    now: float | None = None,
    client_id: str = LOCAL_AUDIENCE,
) -> str:
    """An access token shaped like a Cognito client-credentials one, signed with the local key.

    Claims: `sub`, `client_id`, `scope` (space-separated; left out for no scopes), `token_use`,
    `iss`, `exp`, `iat`, `jti`, and `aud` only when `audience` is given (Cognito access tokens
    have none, so API Gateway checks `client_id`).
    """
    if isinstance(scopes, str):
        raise TypeError("scopes must be a sequence of scope names, not one string")
    signer = key if key is not None else signing_key()
    issued_at = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "sub": subject,
        "client_id": client_id,
        "token_use": "access",
        "iss": issuer if issuer is not None else LOCAL_ISSUER,
        "iat": issued_at,
        "exp": issued_at + int(lifetime_s),
        "jti": str(uuid.uuid4()),
    }
    if scopes:
        claims["scope"] = " ".join(scopes)
    if audience is not None:
        claims["aud"] = audience
    return jwt.encode(claims, signer, algorithm=SIGNING_ALGORITHM, headers={"kid": key_id(signer.public_key())})


# --- the authorizer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthDecision:
    """What the authorizer decided for one request."""

    status: int
    """200 to invoke the function, else 401 or 403."""
    reason: str
    """Why, for the `www-authenticate` error description and the server's log."""
    authorizer: dict[str, Any] | None = None
    """`requestContext.authorizer` for the event; None for a public route."""

    @property
    def allowed(self) -> bool:
        return self.status == 200

    @property
    def body(self) -> dict[str, str]:
        return {"message": "Unauthorized" if self.status == 401 else "Forbidden"}

    @property
    def www_authenticate(self) -> str | None:
        # A quoted-string may not hold a bare double quote (RFC 9110 section 5.6.4).
        description = self.reason.replace("\\", "").replace('"', "'")
        if self.status == 401:
            return f'Bearer scope="" error="invalid_token" error_description="{description}"'
        if self.status == 403:
            return f'Bearer scope="" error="insufficient_scope" error_description="{description}"'
        return None


def route_scopes_table(scope_prefix: str = "") -> dict[str, tuple[str, ...] | None]:
    """Route key -> the scopes it requires (any one of them), or None for a public route.

    An empty tuple: a valid token, whatever its scopes. That is the catch-all, which the stack
    authorizes with the JWT authorizer and no authorization scopes (`route_authorizations` in
    components/service/http_api.py). CORS preflights reach the function through their own route
    without authorization, as `service.routes` declares.
    """
    routes = _routes()
    table: dict[str, tuple[str, ...] | None] = {key: None for key in routes.PUBLIC_ROUTE_KEYS}
    table[routes.PREFLIGHT_ROUTE] = None
    for key, scopes in routes.ROUTE_SCOPES.items():
        table[key] = tuple(scope_prefix + scope for scope in scopes)
    table[routes.CATCH_ALL_ROUTE] = ()
    return table


def claim_string(value: Any) -> str:
    """A claim value as API Gateway passes it to the integration: always a string.

    Numbers and booleans are stringified and arrays become `[a b]` (observed in delivered events,
    e.g. `cognito:groups`); objects fall back to JSON text.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(claim_string(item) for item in value) + "]"
    return json.dumps(value, separators=(",", ":"))


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    """The scopes a token carries, from `scope` (space-separated) and/or `scp` (list or string)."""
    found: list[str] = []
    for name in ("scope", "scp"):
        value = claims.get(name)
        items: Iterable[Any] = value.split() if isinstance(value, str) else value if isinstance(value, list) else ()
        found.extend(str(item) for item in items if str(item) not in found)
    return found


def bearer_token(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> str | None:
    """The token in the Authorization header, with or without its `Bearer ` prefix; None if absent."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    values = [value for name, value in pairs if name.lower() == "authorization"]
    if not values:
        return None
    value = values[0].strip()
    if value.startswith("Bearer "):
        value = value[len("Bearer ") :].strip()
    return value or None


class JwtAuthorizer:
    """API Gateway's JWT authorizer: one issuer, its audiences, and the scopes each route requires."""

    def __init__(
        self,
        *,
        issuer: str,
        audiences: Sequence[str],
        public_key: Callable[[str], rsa.RSAPublicKey | None],
        route_scopes: Mapping[str, tuple[str, ...] | None],
    ) -> None:
        self.issuer = issuer
        self.audiences = tuple(audiences)
        self._public_key = public_key
        self.route_scopes = dict(route_scopes)

    def authorize(self, headers: Mapping[str, str] | Iterable[tuple[str, str]], route_key: str) -> AuthDecision:
        """The decision for a request to `route_key` carrying `headers`."""
        if route_key not in self.route_scopes:
            raise KeyError(f"route {route_key!r} is neither public nor has scopes in the route table")
        required = self.route_scopes[route_key]
        if required is None:
            return AuthDecision(200, "public route")
        token = bearer_token(headers)
        if token is None:
            return AuthDecision(401, "the request has no token in the Authorization header")
        try:
            claims = self._verify(token)
        except _Refused as refused:
            return AuthDecision(401, str(refused))
        carried = token_scopes(claims)
        matched = [scope for scope in carried if scope in required]
        if required and not matched:
            return AuthDecision(403, f"the token has none of the route's scopes ({' '.join(required)})")
        context = {
            "jwt": {
                "claims": {name: claim_string(value) for name, value in claims.items() if value is not None},
                # The route's scopes the token carried; null on a route that requires none (observed).
                "scopes": matched if required else None,
            }
        }
        return AuthDecision(200, "authorized", context)

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            # DecodeError for text that is no JWT, InvalidTokenError for a header PyJWT refuses (a kid
            # that is not a string): either way a token API Gateway refuses, never a failure of ours.
            raise _Refused(f"the token is not a well-formed JWT: {exc}") from None
        if "crit" in header:
            # RFC 7515 section 4.1.11: a recipient that does not understand every extension `crit` names
            # (or finds it malformed) must reject the token; this authorizer understands none.
            raise _Refused("the token's crit header names extensions this authorizer does not support")
        algorithm = header.get("alg")
        if algorithm not in ACCEPTED_ALGORITHMS:
            raise _Refused(f"signing method {algorithm} is invalid")
        kid = header.get("kid")
        key = self._public_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise _Refused("the token's kid matches no key of the issuer")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(ACCEPTED_ALGORITHMS),
                issuer=self.issuer,
                options={"require": ["exp", "iat"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise _Refused("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise _Refused("the token is not valid yet") from None
        except jwt.InvalidIssuerError:
            raise _Refused("the token does not have a valid issuer") from None
        except jwt.InvalidSignatureError:
            raise _Refused("the token's signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise _Refused(f"the token is invalid: {exc}") from None
        for name in _NUMERIC_DATE_CLAIMS:
            # RFC 7519 section 2: a NumericDate is a JSON number. PyJWT converts with int(), so "9999999999"
            # or true would pass as a date.
            if name in claims and (isinstance(claims[name], bool) or not isinstance(claims[name], int | float)):
                raise _Refused(f"the token's {name} claim is not a NumericDate")
        if not self._audience_ok(claims):
            raise _Refused("the token does not have a valid audience")
        return claims

    def _audience_ok(self, claims: Mapping[str, Any]) -> bool:
        if "aud" in claims:
            audience = claims["aud"]
            candidates = audience if isinstance(audience, list) else [audience]
            return any(isinstance(value, str) and value in self.audiences for value in candidates)
        return claims.get("client_id") in self.audiences


_NUMERIC_DATE_CLAIMS = ("exp", "nbf", "iat")


class _Refused(Exception):
    """A token API Gateway would answer 401 to."""


def local_public_key(directory: Path = KEY_DIR) -> Callable[[str], rsa.RSAPublicKey | None]:
    """The key lookup the local authorizer uses: by `kid`, re-reading the key file on a miss.

    Re-reading stands in for API Gateway refreshing the issuer's JWKS, so a key created again
    (after `make clean`) is picked up without a restart.
    """

    def lookup(kid: str) -> rsa.RSAPublicKey | None:
        for reload in (False, True):
            public = signing_key(directory, reload=reload).public_key()
            if key_id(public) == kid:
                return public
        return None

    return lookup


def local_authorizer(directory: Path = KEY_DIR) -> JwtAuthorizer:
    """The authorizer the local server applies: the local issuer and app client, unprefixed scopes."""
    return JwtAuthorizer(
        issuer=LOCAL_ISSUER,
        audiences=(LOCAL_AUDIENCE,),
        public_key=local_public_key(directory),
        route_scopes=route_scopes_table(""),
    )


_default_authorizer: JwtAuthorizer | None = None


def authorize(headers: Mapping[str, str] | Iterable[tuple[str, str]], route_key: str) -> AuthDecision:
    """The local authorizer's decision for a request to `route_key` carrying `headers`."""
    global _default_authorizer
    if _default_authorizer is None:
        _default_authorizer = local_authorizer()
    return _default_authorizer.authorize(headers, route_key)
