"""ApiAuth: an Amazon Cognito user pool that issues the API's machine-to-machine access tokens.

The pool has no users and no sign-up; it exists to run the OAuth 2.0 client-credentials flow for
machine callers. A resource server named after the service declares the API's scopes, a domain serves
the token endpoint, and one confidential app client may request both scopes. The HTTP API's JWT
authorizer then trusts the pool as issuer and the client as audience: Cognito access tokens carry no
`aud`, and API Gateway checks `client_id` when `aud` is absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.types import API_AUTH


def token_url(domain: str, region: str) -> str:
    """The pool's OAuth 2.0 token endpoint."""
    return f"https://{domain}.auth.{region}.amazoncognito.com/oauth2/token"


def issuer_url(region: str, user_pool_id: str) -> str:
    """The `iss` of the pool's tokens, which API Gateway's authorizer is configured with."""
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def scoped(identifier: str, scope: str) -> str:
    """A resource server scope as tokens carry it: `<identifier>/<scope>`."""
    return f"{identifier}/{scope}"


def default_domain_prefix(name_prefix: str, account_id: str) -> str:
    """Token-endpoint domain prefix, unique in the region across accounts: `<prefix>-<account id>`."""
    return f"{name_prefix}-{account_id}"


@dataclass(frozen=True)
class ApiAuthArgs:
    name_prefix: str
    """Prefix of every physical name, `<service>-<stack>`."""
    region: str
    """Region of the pool (token and issuer URLs)."""
    resource_server_identifier: str
    """Identifier of the API's resource server; scopes are `<identifier>/<scope>` in tokens."""
    scopes: Sequence[str]
    """Scope names the API defines (`items.read`, `items.write`)."""
    domain_prefix: str | None = None
    """Token endpoint domain prefix; None: `<prefix>-<account id>`."""
    access_token_minutes: int = 60
    """Lifetime of an access token."""
    protect: bool = False
    """Pulumi `protect` and Cognito deletion protection on the pool: a destroy or a replacement cannot
    remove it (and with it every client secret callers hold)."""


class ApiAuth(pulumi.ComponentResource):
    """User pool, resource server with the API's scopes, token domain and one machine client."""

    issuer: pulumi.Output[str]
    client_id: pulumi.Output[str]
    token_url: pulumi.Output[str]
    user_pool_id: pulumi.Output[str]
    user_pool_arn: pulumi.Output[str]
    scopes: list[str]

    def __init__(self, name: str, args: ApiAuthArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(API_AUTH, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.scopes = [scoped(args.resource_server_identifier, scope) for scope in args.scopes]

        pool = aws.cognito.UserPool(
            f"{name}-pool",
            name=f"{args.name_prefix}-api",
            # Machine callers only: nobody signs up, an administrator would have to create any user.
            admin_create_user_config=aws.cognito.UserPoolAdminCreateUserConfigArgs(allow_admin_create_user_only=True),
            deletion_protection="ACTIVE" if args.protect else "INACTIVE",
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        resource_server = aws.cognito.ResourceServer(
            f"{name}-resource-server",
            user_pool_id=pool.id,
            identifier=args.resource_server_identifier,
            name=f"{args.name_prefix} API",
            scopes=[
                aws.cognito.ResourceServerScopeArgs(scope_name=scope, scope_description=f"{scope} on the API")
                for scope in args.scopes
            ],
            opts=child,
        )
        if args.domain_prefix:
            domain_prefix: pulumi.Input[str] = args.domain_prefix
        else:
            identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
            domain_prefix = identity.account_id.apply(lambda account: default_domain_prefix(args.name_prefix, account))
        domain = aws.cognito.UserPoolDomain(f"{name}-domain", domain=domain_prefix, user_pool_id=pool.id, opts=child)
        client = aws.cognito.UserPoolClient(
            f"{name}-machine-client",
            name=f"{args.name_prefix}-machine",
            user_pool_id=pool.id,
            generate_secret=True,
            allowed_oauth_flows=["client_credentials"],
            allowed_oauth_flows_user_pool_client=True,
            # The full scope names; known only once the resource server defines them.
            allowed_oauth_scopes=resource_server.scope_identifiers,
            supported_identity_providers=["COGNITO"],
            # No user sign-in flows: the client only exchanges its secret for access tokens.
            explicit_auth_flows=["ALLOW_REFRESH_TOKEN_AUTH"],
            access_token_validity=args.access_token_minutes,
            token_validity_units=aws.cognito.UserPoolClientTokenValidityUnitsArgs(access_token="minutes"),
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            opts=child,
        )

        self.user_pool_id = pool.id
        self.user_pool_arn = pool.arn
        self.issuer = pool.id.apply(lambda pool_id: issuer_url(args.region, pool_id))
        self.client_id = client.id
        self.token_url = domain.domain.apply(lambda d: token_url(d, args.region))
        self.register_outputs(
            {
                "issuer": self.issuer,
                "clientId": self.client_id,
                "tokenUrl": self.token_url,
                "userPoolId": self.user_pool_id,
                "scopes": self.scopes,
            }
        )
