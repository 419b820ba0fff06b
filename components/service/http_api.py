"""API Gateway v2 HTTP API in front of one Lambda function: JWT-authorized routes, access logs, throttling."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.types import HTTP_API

STAGE_NAME = "$default"
# The catch-all route key: whatever no other route matches.
CATCH_ALL_ROUTE = "$default"
# Outranks the catch-all for OPTIONS, so that browsers' CORS preflights (which carry no token) are not
# refused by the catch-all's authorizer; API Gateway answers preflights (Origin and
# Access-Control-Request-Method) from the CORS configuration. Any other OPTIONS request reaches the
# function without a token: it answers 204 with `Allow` or 404, reads and writes nothing, and is held
# by the stage's throttling and the function's reserved concurrency.
PREFLIGHT_ROUTE = "OPTIONS /{proxy+}"
# Where API Gateway's JWT authorizer finds the token.
TOKEN_SOURCE = "$request.header.Authorization"

# HTTP API access-log fields ($context variables); JSON so Logs Insights discovers every field.
ACCESS_LOG_FIELDS: dict[str, str] = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "requestTimeEpoch": "$context.requestTimeEpoch",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "integrationError": "$context.integration.error",
    "integrationErrorMessage": "$context.integrationErrorMessage",
    "errorMessage": "$context.error.message",
    "authorizerError": "$context.authorizer.error",
    "caller": "$context.authorizer.claims.sub",
    "userAgent": "$context.identity.userAgent",
}


@dataclass(frozen=True)
class CorsRules:
    """The API's CORS configuration, as API Gateway applies it (and the local server mimics it)."""

    allow_origins: tuple[str, ...]
    """Origins whose browsers may call the API."""
    allow_methods: tuple[str, ...]
    """Methods a preflight may ask for."""
    allow_headers: tuple[str, ...]
    """Request headers a preflight may ask for (lower case)."""
    expose_headers: tuple[str, ...]
    """Response headers a browser script may read."""
    max_age_seconds: int
    """How long a browser may cache a preflight answer."""


def cors_rules(origins: Sequence[str], route_keys: Sequence[str]) -> CorsRules | None:
    """The CORS configuration for these origins and routes; None (CORS off) without origins."""
    if not origins:
        return None
    methods = {key.split(" ", 1)[0] for key in route_keys if " " in key}
    return CorsRules(
        allow_origins=tuple(origins),
        allow_methods=tuple(sorted(methods | {"OPTIONS"})),
        allow_headers=("authorization", "content-type", "idempotency-key", "x-correlation-id"),
        expose_headers=("location", "retry-after", "x-correlation-id"),
        max_age_seconds=300,
    )


def access_log_format() -> str:
    """The stage's access-log format string (one JSON object per request)."""
    return json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":"))


@dataclass(frozen=True)
class JwtAuthorization:
    """The API's JWT authorizer and what each route requires of a token."""

    issuer: pulumi.Input[str]
    """Issuer URL (`iss`); API Gateway reads the signing keys from its OIDC discovery document."""
    audiences: Sequence[pulumi.Input[str]]
    """Accepted `aud` values, or `client_id` when a token has no `aud` (Cognito access tokens)."""
    route_scopes: Mapping[str, Sequence[str]]
    """Per route key, the scopes (as tokens carry them) of which a token needs one."""
    public_route_keys: Sequence[str] = ()
    """Routes reached without a token (health checks)."""


@dataclass(frozen=True)
class RouteAuthorization:
    """How one route is authorized: `NONE`, or `JWT` with the scopes of which a token needs one."""

    authorization_type: str
    scopes: tuple[str, ...] = ()


def route_authorizations(
    route_keys: Sequence[str], authorization: JwtAuthorization | None, *, catch_all: bool, cors: bool
) -> dict[str, RouteAuthorization]:
    """Every route the API gets and its authorization. Pure.

    Without an authorizer every route is open (dev's explicit `mode: none`). With one, a route is
    public only if listed; the catch-all wants a valid token with any scope; the preflight route (with
    CORS and an authorizer) is open, since browsers send preflights without credentials.
    """
    keys = [*route_keys, *([CATCH_ALL_ROUTE] if catch_all else [])]
    if authorization is None:
        return {key: RouteAuthorization("NONE") for key in keys}
    unknown = sorted(set(authorization.route_scopes) - set(route_keys))
    if unknown:
        raise ValueError(f"scopes given for routes the API does not have: {unknown}")
    routes: dict[str, RouteAuthorization] = {}
    for key in keys:
        if key in authorization.public_route_keys:
            routes[key] = RouteAuthorization("NONE")
        elif key == CATCH_ALL_ROUTE:
            routes[key] = RouteAuthorization("JWT")
        elif authorization.route_scopes.get(key):
            routes[key] = RouteAuthorization("JWT", tuple(authorization.route_scopes[key]))
        else:
            raise ValueError(f"route {key!r} is neither public nor given the scopes it requires")
    if cors and catch_all:
        routes[PREFLIGHT_ROUTE] = RouteAuthorization("NONE")
    return routes


def route_slug(route_key: str) -> str:
    """A stable logical-name suffix for a route key: `GET /items/{id}` -> `get-items-id`."""
    return re.sub(r"[^a-z0-9]+", "-", route_key.lower()).strip("-")


@dataclass(frozen=True)
class HttpApiArgs:
    api_name: str
    """Physical API name."""
    function_name: pulumi.Input[str]
    """Name of the Lambda function that serves every route."""
    function_invoke_arn: pulumi.Input[str]
    """Invoke ARN of what the integration calls (the function's alias, so never `$LATEST`)."""
    route_keys: Sequence[str]
    """Route keys (`METHOD /path`) the function serves."""
    throttling_rate_limit: float
    """Default route steady-state requests per second."""
    throttling_burst_limit: int
    """Default route burst."""
    access_log_retention_days: int
    """Retention of the access-log group."""
    integration_timeout_ms: int = 30000
    """Integration timeout (50-30000 ms)."""
    cors_origins: Sequence[str] = ()
    """Allowed CORS origins; empty leaves CORS off."""
    detailed_metrics: bool = False
    """Per-route metrics."""
    catch_all: bool = True
    """Also send unmatched requests (`$default` route) to the function, so an unknown path gets the
    service's JSON 404 and a wrong method its 405 with `Allow`, not API Gateway's bare 404. Such
    requests are throttled like any other route."""
    retain_logs: bool = False
    """Keep the access-log group when the stack is destroyed or the group replaced."""
    authorization: JwtAuthorization | None = None
    """The JWT authorizer and each route's scopes; None leaves every route open (dev only)."""
    route_throttling: Mapping[str, tuple[float, int]] = field(default_factory=dict)
    """Per route key, (rate, burst) overriding the stage default."""
    logs_kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed key for the access-log group; None keeps CloudWatch Logs' own encryption."""
    function_qualifier: pulumi.Input[str] | None = None
    """The alias the integration invokes: the invoke permission is granted on it alone."""
    disable_execute_api_endpoint: bool = False
    """Refuse requests to the execute-api URL: clients reach the API through its custom domain only."""


class HttpApi(pulumi.ComponentResource):
    """An HTTP API with a Lambda proxy integration and a logged, throttled $default stage."""

    api_id: pulumi.Output[str]
    api_endpoint: pulumi.Output[str]
    execution_arn: pulumi.Output[str]
    stage_name: pulumi.Output[str]
    url: pulumi.Output[str]
    access_log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: HttpApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(HTTP_API, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        cors = None
        rules = cors_rules(args.cors_origins, args.route_keys)
        if rules is not None:
            cors = aws.apigatewayv2.ApiCorsConfigurationArgs(
                allow_origins=list(rules.allow_origins),
                allow_methods=list(rules.allow_methods),
                allow_headers=list(rules.allow_headers),
                expose_headers=list(rules.expose_headers),
                max_age=rules.max_age_seconds,
            )
        api = aws.apigatewayv2.Api(
            f"{name}-gateway",
            name=args.api_name,
            protocol_type="HTTP",
            description=f"HTTP API of {args.api_name}",
            cors_configuration=cors,
            # Left out unless set, so a stack without a domain registers the API as it always did.
            disable_execute_api_endpoint=True if args.disable_execute_api_endpoint else None,
            opts=child,
        )

        permission = aws.lambda_.Permission(
            f"{name}-invoke-permission",
            action="lambda:InvokeFunction",
            function=args.function_name,
            qualifier=args.function_qualifier,
            principal="apigateway.amazonaws.com",
            # Only this API's stage may invoke: any route and method of it, nothing else.
            source_arn=api.execution_arn.apply(lambda arn: f"{arn}/{STAGE_NAME}/*"),
            opts=child,
        )
        integration = aws.apigatewayv2.Integration(
            f"{name}-integration",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=args.function_invoke_arn,
            payload_format_version="2.0",
            timeout_milliseconds=args.integration_timeout_ms,
            # The integration points at what the permission lets it invoke only once that permission
            # exists: when both change (the move to the alias), requests never meet a refusal.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
        authorizer = None
        if args.authorization is not None:
            authorizer = aws.apigatewayv2.Authorizer(
                f"{name}-authorizer",
                api_id=api.id,
                name=f"{args.api_name}-jwt",
                authorizer_type="JWT",
                identity_sources=[TOKEN_SOURCE],
                jwt_configuration=aws.apigatewayv2.AuthorizerJwtConfigurationArgs(
                    issuer=args.authorization.issuer,
                    audiences=list(args.authorization.audiences),
                ),
                opts=child,
            )
        authorizations = route_authorizations(
            args.route_keys, args.authorization, catch_all=args.catch_all, cors=cors is not None
        )
        unknown = sorted(set(args.route_throttling) - set(authorizations))
        if unknown:
            raise ValueError(f"throttling given for routes the API does not have: {unknown}")
        routes = [
            aws.apigatewayv2.Route(
                f"{name}-route-{route_slug(key)}",
                api_id=api.id,
                route_key=key,
                target=integration.id.apply(lambda integration_id: f"integrations/{integration_id}"),
                authorization_type=auth.authorization_type,
                authorizer_id=authorizer.id if authorizer is not None and auth.authorization_type == "JWT" else None,
                authorization_scopes=list(auth.scopes) or None,
                opts=child,
            )
            for key, auth in authorizations.items()
        ]

        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=f"/aws/apigateway/{args.api_name}/access-logs",
            retention_in_days=args.access_log_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain_logs),
        )
        stage = aws.apigatewayv2.Stage(
            f"{name}-stage",
            api_id=api.id,
            name=STAGE_NAME,
            auto_deploy=True,
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=access_logs.arn,
                format=access_log_format(),
            ),
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=args.throttling_rate_limit,
                throttling_burst_limit=args.throttling_burst_limit,
                detailed_metrics_enabled=args.detailed_metrics,
            ),
            route_settings=[
                aws.apigatewayv2.StageRouteSettingArgs(
                    route_key=key, throttling_rate_limit=rate, throttling_burst_limit=burst,
                    detailed_metrics_enabled=args.detailed_metrics,
                )
                for key, (rate, burst) in sorted(args.route_throttling.items())
            ] or None,
            # Auto-deploy publishes what exists; routes first, so the first deployment is complete (and
            # route settings may only name routes that exist).
            opts=pulumi.ResourceOptions(parent=self, depends_on=routes),
        )

        self.api_id = api.id
        self.api_endpoint = api.api_endpoint
        self.execution_arn = api.execution_arn
        self.stage_name = stage.name
        self.url = stage.invoke_url
        self.access_log_group_name = access_logs.name
        self.register_outputs(
            {
                "apiId": self.api_id,
                "stageName": self.stage_name,
                "url": self.url,
                "accessLogGroupName": self.access_log_group_name,
            }
        )
