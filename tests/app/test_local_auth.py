"""The local issuer and API Gateway's JWT authorizer rules, in process (a fake function behind the gateway)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from service.routes import ROUTE_KEYS

from tools.local_api import Invoker, LocalGateway
from tools.local_auth import (
    LOCAL_AUDIENCE,
    LOCAL_ISSUER,
    claim_string,
    jwks,
    key_id,
    local_authorizer,
    mint_token,
    signing_key,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

# Status per route for: no token, read token, write token, both scopes. Written out by hand from
# the route table's intent: health is public, reads need items.read, writes need items.write, and
# anything unrouted ($default) needs a valid token.
MATRIX: dict[str, tuple[str, str, tuple[int, int, int, int]]] = {
    "GET /health/live": ("GET", "/health/live", (200, 200, 200, 200)),
    "GET /health/ready": ("GET", "/health/ready", (200, 200, 200, 200)),
    "GET /items": ("GET", "/items", (401, 200, 403, 200)),
    "POST /items": ("POST", "/items", (401, 403, 200, 200)),
    "GET /items/{id}": ("GET", "/items/abc", (401, 200, 403, 200)),
    "PUT /items/{id}": ("PUT", "/items/abc", (401, 403, 200, 200)),
    "DELETE /items/{id}": ("DELETE", "/items/abc", (401, 403, 200, 200)),
    "$default": ("GET", "/nowhere", (401, 200, 200, 200)),
}
TOKEN_KINDS = ("none", "read", "write", "both")
TOKEN_SCOPES = {"read": ["items.read"], "write": ["items.write"], "both": ["items.read", "items.write"]}


class FakeFunction:
    """Stands in for the handler: records each event, answers 200."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "local-auth"


@pytest.fixture
def key(key_dir: Path) -> rsa.RSAPrivateKey:
    return signing_key(key_dir)


@pytest.fixture
def function() -> FakeFunction:
    return FakeFunction()


@pytest.fixture
def gateway(function: FakeFunction, key_dir: Path, key: rsa.RSAPrivateKey) -> LocalGateway:
    return LocalGateway(Invoker(function, "us-east-1"), authorize=local_authorizer(key_dir).authorize)


def send(gateway: LocalGateway, method: str, path: str, token: str | None = None, raw_authorization: str | None = None):
    headers = [("Host", "127.0.0.1:8080")]
    if token is not None:
        headers.append(("Authorization", f"Bearer {token}"))
    if raw_authorization is not None:
        headers.append(("Authorization", raw_authorization))
    return gateway.respond(method=method, target=path, headers=headers, body=b"", source_ip="127.0.0.1")


def test_the_matrix_covers_every_route_key():
    assert set(MATRIX) == {*ROUTE_KEYS, "$default"}


@pytest.mark.parametrize("route_key", sorted(MATRIX))
def test_every_route_answers_as_api_gateway_would_for_each_kind_of_token(route_key, gateway, function, key):
    method, path, expected = MATRIX[route_key]
    statuses = []
    for kind in TOKEN_KINDS:
        token = None if kind == "none" else mint_token(TOKEN_SCOPES[kind], key=key)
        statuses.append(send(gateway, method, path, token).status)

    assert tuple(statuses) == expected
    assert [event["routeKey"] for event in function.events] == [route_key] * expected.count(200)


def test_refusals_carry_api_gateways_bodies_and_www_authenticate(gateway, function, key):
    unauthorized = send(gateway, "POST", "/items")
    forbidden = send(gateway, "POST", "/items", mint_token(["items.read"], key=key))

    assert (unauthorized.status, json.loads(unauthorized.body)) == (401, {"message": "Unauthorized"})
    assert (forbidden.status, json.loads(forbidden.body)) == (403, {"message": "Forbidden"})
    assert dict(unauthorized.headers)["Content-Type"] == "application/json"
    assert dict(unauthorized.headers)["WWW-Authenticate"].startswith('Bearer scope="" error="invalid_token"')
    assert 'error="insufficient_scope"' in dict(forbidden.headers)["WWW-Authenticate"]
    assert function.events == [], "a refused request never reaches the function"


def _unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def _signed(claims: dict[str, Any], header: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    """An RS256 token with exactly this header, which PyJWT's encoder would refuse to write (a kid that is not
    a string, say)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signing_input = _unsigned(claims, {"alg": "RS256", **header})[:-1]
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": "local-user",
        "client_id": LOCAL_AUDIENCE,
        "scope": "items.write",
        "token_use": "access",
        "iss": LOCAL_ISSUER,
        "iat": now,
        "exp": now + 3600,
        "jti": "j-1",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def bad_tokens(key: rsa.RSAPrivateKey) -> dict[str, str]:
    kid = key_id(key.public_key())
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "expired": mint_token(["items.write"], key=key, now=time.time() - 7200, lifetime_s=3600),
        "another audience": mint_token(["items.write"], key=key, audience="someone-else"),
        "another client without aud": mint_token(["items.write"], key=key, client_id="someone-else"),
        "another issuer": mint_token(["items.write"], key=key, issuer="https://issuer.example.invalid"),
        "another key, own kid": mint_token(["items.write"], key=other_key),
        "another key, our kid": jwt.encode(_claims(), other_key, algorithm="RS256", headers={"kid": kid}),
        "alg none": _unsigned(_claims(), {"alg": "none", "kid": kid}),
        "alg none via PyJWT": jwt.encode(_claims(), None, algorithm="none", headers={"kid": kid}),
        "HS256": jwt.encode(_claims(), "a-shared-secret-of-32-bytes-or-more!", algorithm="HS256", headers={"kid": kid}),
        "no kid": jwt.encode(_claims(), key, algorithm="RS256"),
        "no exp": jwt.encode(_claims(exp=None), key, algorithm="RS256", headers={"kid": kid}),
        "not yet valid (nbf)": jwt.encode(
            _claims(nbf=int(time.time()) + 600), key, algorithm="RS256", headers={"kid": kid}
        ),
        "issued in the future": jwt.encode(
            _claims(iat=int(time.time()) + 600), key, algorithm="RS256", headers={"kid": kid}
        ),
        "garbage": "not-a-jwt",
        "three garbage parts": "abc.def.ghi",
        "kid a number": _signed(_claims(), {"kid": 7}, key),
        "kid a list": _signed(_claims(), {"kid": [kid]}, key),
        "kid an object": _signed(_claims(), {"kid": {"id": kid}}, key),
        "crit names an unknown extension": _signed(_claims(), {"kid": kid, "crit": ["x-unknown"], "x-unknown": 1}, key),
        "crit not a list": _signed(_claims(), {"kid": kid, "crit": "x-unknown"}, key),
        "crit empty": _signed(_claims(), {"kid": kid, "crit": []}, key),
        "exp a string": _signed(_claims(exp=str(int(time.time()) + 3600)), {"kid": kid}, key),
        "exp a boolean": _signed(_claims(exp=True), {"kid": kid}, key),
        "iat a string": _signed(_claims(iat=str(int(time.time()))), {"kid": kid}, key),
        "nbf a string": _signed(_claims(nbf=str(int(time.time()) - 60)), {"kid": kid}, key),
        "header not an object": "WzFd." + _signed(_claims(), {"kid": kid}, key).split(".", 1)[1],
    }


@pytest.mark.parametrize(
    "kind",
    [
        "expired",
        "another audience",
        "another client without aud",
        "another issuer",
        "another key, own kid",
        "another key, our kid",
        "alg none",
        "alg none via PyJWT",
        "HS256",
        "no kid",
        "no exp",
        "not yet valid (nbf)",
        "issued in the future",
        "garbage",
        "three garbage parts",
        "kid a number",
        "kid a list",
        "kid an object",
        "crit names an unknown extension",
        "crit not a list",
        "crit empty",
        "exp a string",
        "exp a boolean",
        "iat a string",
        "nbf a string",
        "header not an object",
    ],
)
def test_a_token_api_gateway_would_refuse_is_401(kind, gateway, function, key):
    reply = send(gateway, "POST", "/items", bad_tokens(key)[kind])

    assert (reply.status, json.loads(reply.body)) == (401, {"message": "Unauthorized"})
    assert function.events == []


def test_a_token_signed_by_hand_is_accepted_when_nothing_is_wrong_with_it(gateway, function, key):
    # The hand-made signer above writes valid tokens: the refusals of its odd headers are the headers' doing.
    token = _signed(_claims(), {"kid": key_id(key.public_key()), "typ": "JWT"}, key)

    assert send(gateway, "POST", "/items", token).status == 200


def test_aud_is_evaluated_when_present_and_client_id_only_without_it(gateway, key):
    kid = key_id(key.public_key())
    aud_ok_client_wrong = jwt.encode(
        _claims(aud=LOCAL_AUDIENCE, client_id="someone-else"), key, algorithm="RS256", headers={"kid": kid}
    )
    aud_wrong_client_ok = jwt.encode(_claims(aud="someone-else"), key, algorithm="RS256", headers={"kid": kid})
    aud_list = jwt.encode(_claims(aud=["other", LOCAL_AUDIENCE]), key, algorithm="RS256", headers={"kid": kid})

    assert send(gateway, "POST", "/items", aud_ok_client_wrong).status == 200
    assert send(gateway, "POST", "/items", aud_wrong_client_ok).status == 401
    assert send(gateway, "POST", "/items", aud_list).status == 200


def test_the_token_may_come_bare_or_after_bearer_and_scopes_may_be_in_scp(gateway, key):
    kid = key_id(key.public_key())
    scp_token = jwt.encode(_claims(scope=None, scp=["items.write"]), key, algorithm="RS256", headers={"kid": kid})

    assert send(gateway, "POST", "/items", raw_authorization=mint_token(["items.write"], key=key)).status == 200
    assert send(gateway, "POST", "/items", scp_token).status == 200
    assert send(gateway, "POST", "/items", raw_authorization="Bearer ").status == 401


def test_the_catch_all_wants_a_valid_token_whatever_its_scopes(gateway, function, key):
    # As the stack authorizes $default: the JWT authorizer without authorization scopes.
    assert send(gateway, "GET", "/nowhere", mint_token([], key=key)).status == 200
    assert send(gateway, "GET", "/nowhere", mint_token(["profile"], key=key)).status == 200
    assert send(gateway, "GET", "/nowhere", bad_tokens(key)["expired"]).status == 401

    assert [event["requestContext"]["authorizer"]["jwt"]["scopes"] for event in function.events] == [None, None]


def test_claims_reach_the_event_where_api_gateway_puts_them_as_strings(gateway, function, key):
    token = mint_token(["items.read", "items.write"], key=key, subject="alice", now=1_700_000_000.0, lifetime_s=10**9)

    assert send(gateway, "POST", "/items", token).status == 200

    authorizer = function.events[0]["requestContext"]["authorizer"]
    claims = authorizer["jwt"]["claims"]
    assert set(authorizer) == {"jwt"}
    assert claims["sub"] == "alice"
    assert claims["client_id"] == LOCAL_AUDIENCE
    assert claims["scope"] == "items.read items.write"
    assert claims["token_use"] == "access"
    assert claims["iss"] == LOCAL_ISSUER
    assert (claims["iat"], claims["exp"]) == ("1700000000", "2700000000")
    assert all(isinstance(value, str) for value in claims.values())
    # The route's scopes that the token carried: POST /items requires items.write.
    assert authorizer["jwt"]["scopes"] == ["items.write"]


def test_public_routes_get_no_authorizer_context_even_with_a_token(gateway, function, key):
    send(gateway, "GET", "/health/live", mint_token(["items.read"], key=key))
    send(gateway, "GET", "/health/live")

    assert [("authorizer" in event["requestContext"]) for event in function.events] == [False, False]


def test_docs_paths_are_public_locally(gateway, function):
    assert [send(gateway, "GET", path).status for path in ("/openapi.json", "/docs", "/docs/index.css")] == [200] * 3
    assert send(gateway, "POST", "/docs").status == 401
    assert send(gateway, "GET", "/docsx").status == 401


@pytest.mark.parametrize(
    ("value", "expected"),
    [("text", "text"), (1800000000, "1800000000"), (True, "true"), (["admin", "ops"], "[admin ops]"), (2.5, "2.5")],
)
def test_claim_values_are_rendered_as_api_gateway_renders_them(value, expected):
    assert claim_string(value) == expected


# --- the issuer ------------------------------------------------------------------------------


def test_a_minted_token_has_the_claims_of_a_cognito_client_credentials_token(key):
    token = mint_token(["items.read", "items.write"], key=key, subject="svc", lifetime_s=600, now=2_000_000_000)

    claims = jwt.decode(
        token, key.public_key(), algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims == {
        "sub": "svc",
        "client_id": LOCAL_AUDIENCE,
        "scope": "items.read items.write",
        "token_use": "access",
        "iss": LOCAL_ISSUER,
        "iat": 2_000_000_000,
        "exp": 2_000_000_600,
        "jti": claims["jti"],
    }
    assert len(claims["jti"]) == 36
    assert jwt.get_unverified_header(token)["kid"] == key_id(key.public_key())
    assert "aud" in jwt.decode(mint_token(["items.read"], key=key, audience="x"), options={"verify_signature": False})


def test_key_id_is_the_rfc_7638_thumbprint():
    # RFC 7638 section 3.1: this key's SHA-256 thumbprint is NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknj"
        "hMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qM"
        "QvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJ"
        "zKnqDKgw"
    )
    modulus = int.from_bytes(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4)), "big")
    public = rsa.RSAPublicNumbers(65537, modulus).public_key()

    assert key_id(public) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_the_jwks_publishes_the_key_that_verifies_minted_tokens(key_dir, key):
    published = jwks(key_dir)
    token = mint_token(["items.read"], key=key)

    (entry,) = published["keys"]
    assert (entry["kty"], entry["alg"], entry["use"], entry["kid"]) == ("RSA", "RS256", "sig", key_id(key.public_key()))
    assert "d" not in entry, "only the public half is published"
    verified = jwt.decode(token, jwt.PyJWK(entry).key, algorithms=["RS256"])
    assert verified["scope"] == "items.read"


def test_the_key_file_is_private_and_reused(key_dir, key):
    path = key_dir / "signing-key.pem"

    assert path.stat().st_mode & 0o777 == 0o600
    assert key_id(signing_key(key_dir, reload=True).public_key()) == key_id(key.public_key())
    assert [entry.name for entry in key_dir.iterdir()] == ["signing-key.pem"], "no temporary file is left"


def test_processes_creating_the_key_at_once_agree_on_one(tmp_path):
    directory = tmp_path / "race"
    go = tmp_path / "go"
    script = (
        "import sys, time; from pathlib import Path\n"
        "from tools.local_auth import key_id, signing_key\n"
        "while not Path(sys.argv[2]).exists(): time.sleep(0.001)\n"
        "print(key_id(signing_key(Path(sys.argv[1])).public_key()))\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(directory), str(go)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    time.sleep(1.0)  # let every interpreter reach the start line
    go.touch()
    kids = [process.communicate(timeout=60)[0].strip() for process in processes]

    on_disk = key_id(signing_key(directory, reload=True).public_key())
    assert kids == [on_disk] * 4


def test_the_gateway_is_a_plain_wsgi_app_too(gateway, function, key):
    from werkzeug.test import Client

    client = Client(gateway)
    token = mint_token(["items.write"], key=key)

    refused = client.post("/items", data=b"{}")
    served = client.post("/items?x=1", data=b'{"a": 1}', headers={"Authorization": f"Bearer {token}"})

    assert (refused.status_code, refused.json) == (401, {"message": "Unauthorized"})
    assert served.status_code == 200
    (event,) = function.events
    assert (event["rawPath"], event["rawQueryString"], event["body"]) == ("/items", "x=1", '{"a": 1}')
    assert event["requestContext"]["authorizer"]["jwt"]["scopes"] == ["items.write"]
