"""Who may call the API and how its logs and keys are kept: routes, authorizer, Cognito, keys, log groups."""

from __future__ import annotations

import json
from collections.abc import Callable
from fnmatch import fnmatchcase

import pytest

from app.service.routes import PUBLIC_ROUTE_KEYS, ROUTE_KEYS, ROUTE_SCOPES, ROUTE_THROTTLE_CLASSES, ROUTES
from components.config import ConfigError
from components.service.http_api import JwtAuthorization, RouteAuthorization, route_authorizations
from tests.conftest import COMMITTED_STACKS
from tools.plan.harness import Plan, PlannedResource, committed_config, run_plan, stack_config

ROUTE = "aws:apigatewayv2/route:Route"
AUTHORIZER = "aws:apigatewayv2/authorizer:Authorizer"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY = "aws:kms/key:Key"
STAGE = "aws:apigatewayv2/stage:Stage"
READS = ("GET /items", "GET /items/{id}")
WRITES = ("POST /items", "PUT /items/{id}", "DELETE /items/{id}")


def _routes(plan: Plan) -> dict[str, PlannedResource]:
    return {r.inputs["routeKey"]: r for r in plan.of_type(ROUTE)}


def _auth(route: PlannedResource) -> tuple[str, list[str]]:
    return route.inputs.get("authorizationType", "NONE"), list(route.inputs.get("authorizationScopes") or [])


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_every_route_is_public_read_or_write_as_the_route_table_says(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    routes = _routes(plan)
    (authorizer,) = plan.of_type(AUTHORIZER)
    for key in PUBLIC_ROUTE_KEYS:
        assert _auth(routes[key]) == ("NONE", []), routes[key].urn
    for key in READS:
        assert _auth(routes[key]) == ("JWT", ["catalog/items.read"]), routes[key].urn
    for key in WRITES:
        assert _auth(routes[key]) == ("JWT", ["catalog/items.write"]), routes[key].urn
    # Unknown paths need a valid token, any scope: probing is refused before the function runs.
    assert _auth(routes["$default"]) == ("JWT", []), routes["$default"].urn
    # Browsers' preflights carry no token; the route that lets them past the catch-all invokes nothing
    # that needs one (API Gateway answers them from the CORS configuration).
    assert _auth(routes["OPTIONS /{proxy+}"]) == ("NONE", [])
    for key, route in routes.items():
        if _auth(route)[0] == "JWT":
            assert route.inputs["authorizerId"] == authorizer.id, key
        else:
            assert "authorizerId" not in route.inputs, key
    assert set(routes) == {*ROUTE_KEYS, "$default", "OPTIONS /{proxy+}"}


def test_each_route_of_the_table_is_created_with_its_own_authorization_and_throttling(prod_plan: Plan) -> None:
    routes = _routes(prod_plan)
    (stage,) = prod_plan.of_type(STAGE)
    throttled = {s["routeKey"]: (s["throttlingRateLimit"], s["throttlingBurstLimit"])
                 for s in stage.inputs["routeSettings"]}
    api = committed_config("prod").api
    for route in ROUTES:
        expected = ("NONE", []) if route.public else ("JWT", [f"catalog/{route.scope}"])
        assert _auth(routes[route.key]) == expected, route.key
        own = api.route_throttling.get(route.key) or api.throttle_classes.get(route.throttle)
        assert throttled.get(route.key) == (own and (own.rate_limit, own.burst_limit)), route.key


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_the_authorizer_trusts_the_stacks_pool_and_its_machine_client(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    (authorizer,) = plan.of_type(AUTHORIZER)
    pool = plan.one("aws:cognito/userPool:UserPool")
    client = plan.one("aws:cognito/userPoolClient:UserPoolClient")
    assert authorizer.inputs["authorizerType"] == "JWT"
    assert authorizer.inputs["identitySources"] == ["$request.header.Authorization"]
    assert authorizer.inputs["jwtConfiguration"] == {
        "issuer": f"https://cognito-idp.eu-west-1.amazonaws.com/{pool.id}",
        # Cognito access tokens carry client_id and no aud; API Gateway checks client_id then.
        "audiences": [client.id],
    }
    assert plan.outputs["authIssuer"] == authorizer.inputs["jwtConfiguration"]["issuer"]
    assert plan.outputs["authClientId"] == client.id
    assert plan.outputs["authScopes"] == ["catalog/items.read", "catalog/items.write"]


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_cognito_issues_client_credentials_tokens_with_both_scopes(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    protected = committed_config(stack).data_protection.protect_resources
    pool = plan.one("aws:cognito/userPool:UserPool")
    assert pool.inputs["deletionProtection"] == ("ACTIVE" if protected else "INACTIVE"), pool.urn
    assert pool.protect is protected and pool.retain_on_delete is protected
    assert pool.inputs["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": True}
    server = plan.one("aws:cognito/resourceServer:ResourceServer")
    assert server.inputs["identifier"] == "catalog"
    assert sorted(s["scopeName"] for s in server.inputs["scopes"]) == ["items.read", "items.write"]
    client = plan.one("aws:cognito/userPoolClient:UserPoolClient")
    inputs = client.inputs
    assert inputs["generateSecret"] is True and inputs["allowedOauthFlows"] == ["client_credentials"]
    assert inputs["allowedOauthFlowsUserPoolClient"] is True
    assert inputs["allowedOauthScopes"] == server.outputs["scopeIdentifiers"]
    assert server.urn in client.dependencies
    # The secret is Cognito's; the plan shows only that there is one.
    assert client.outputs["clientSecret"] == {"__secret": "[secret]"}
    domain = plan.one("aws:cognito/userPoolDomain:UserPoolDomain")
    assert domain.inputs["domain"] == f"catalog-{stack}-123456789012"
    assert plan.outputs["tokenUrl"] == f"https://catalog-{stack}-123456789012.auth.eu-west-1.amazoncognito.com/oauth2/token"


def test_write_routes_are_throttled_below_reads_in_prod(prod_plan: Plan) -> None:
    stage = prod_plan.one(STAGE)
    default = stage.inputs["defaultRouteSettings"]
    settings = {s["routeKey"]: s for s in stage.inputs["routeSettings"]}
    assert set(settings) == set(WRITES)
    for key, setting in settings.items():
        assert setting["throttlingRateLimit"] < default["throttlingRateLimit"], key
        assert setting["throttlingBurstLimit"] < default["throttlingBurstLimit"], key
    config = committed_config("prod").api.route_limits(ROUTE_THROTTLE_CLASSES)
    assert {k: (s["throttlingRateLimit"], s["throttlingBurstLimit"]) for k, s in settings.items()} == {
        k: (v.rate_limit, v.burst_limit) for k, v in config.items()
    }
    # Route settings may only name routes that exist, so the stage waits for them.
    route_urns = {r.urn for r in prod_plan.of_type(ROUTE)}
    assert route_urns <= set(stage.dependencies)


def _groups(plan: Plan) -> list[PlannedResource]:
    return plan.of_type(LOG_GROUP)


def test_prod_log_groups_use_a_key_that_only_their_cloudwatch_logs_may_use(prod_plan: Plan) -> None:
    (key,) = [k for k in prod_plan.of_type(KMS_KEY) if k.name == "catalog-logs-key"]
    assert key.protect and key.retain_on_delete
    groups = _groups(prod_plan)
    # The service function's, the traffic hooks', the restore-test validation's and the API's access logs.
    assert sorted(g.inputs["name"] for g in groups) == [
        "/aws/apigateway/catalog-prod/access-logs", "/aws/lambda/catalog-prod-api",
        "/aws/lambda/catalog-prod-post-traffic", "/aws/lambda/catalog-prod-pre-traffic",
        "/aws/lambda/catalog-prod-restore-check"]
    policy = json.loads(key.inputs["policy"])
    (statement,) = [s for s in policy["Statement"] if s["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}]
    patterns = statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    for group in groups:
        assert group.inputs["kmsKeyId"] == key.outputs["arn"], group.urn
        assert any(fnmatchcase(group.outputs["arn"], pattern) for pattern in patterns), group.urn
        assert key.urn in group.dependencies


def test_dev_log_groups_keep_cloudwatchs_own_encryption(dev_plan: Plan) -> None:
    assert all("kmsKeyId" not in group.inputs for group in _groups(dev_plan))
    assert [k for k in dev_plan.of_type(KMS_KEY) if k.name == "catalog-logs-key"] == []


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_every_kms_key_has_an_explicit_policy(plans: dict[str, Plan], stack: str) -> None:
    for key in plans[stack].of_type(KMS_KEY):
        document = json.loads(key.inputs["policy"])
        assert document["Statement"], key.urn


def test_table_keys_are_usable_only_through_dynamodb(prod_plan: Plan) -> None:
    table_keys = [k for k in prod_plan.of_type(KMS_KEY) if k.name in ("catalog-table-key", "catalog-idempotency-key")]
    assert len(table_keys) == 2
    for key in table_keys:
        statements = json.loads(key.inputs["policy"])["Statement"]
        crypto = [s for s in statements if "kms:Decrypt" in s["Action"]]
        assert crypto and all(
            s["Condition"]["StringEquals"]["kms:ViaService"] == "dynamodb.eu-west-1.amazonaws.com" for s in crypto
        ), key.urn


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_the_function_log_group_masks_identifiers_aws_detects(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    policies = plan.of_type("aws:cloudwatch/logDataProtectionPolicy:LogDataProtectionPolicy")
    # Every function's log group: the service's, the traffic hooks' (they log response excerpts) and, with the
    # prod profile, the restore-test validation's.
    function_groups = {g.outputs["name"] for g in _groups(plan) if g.inputs["name"].startswith("/aws/lambda/")}
    assert {p.inputs["logGroupName"] for p in policies} == function_groups
    assert len(function_groups) == {"dev": 3, "prod": 4}[committed_config(stack).profile]
    for policy in policies:
        document = json.loads(policy.inputs["policyDocument"])
        assert document["Version"] == "2021-06-01"
        operations = {next(iter(s["Operation"])) for s in document["Statement"]}
        assert operations == {"Audit", "Deidentify"}
        for statement in document["Statement"]:
            assert "arn:aws:dataprotection::aws:data-identifier/EmailAddress" in statement["DataIdentifier"]


def _with_auth(stack: str, auth: dict[str, object]) -> dict[str, object]:
    api = json.loads(stack_config(stack)[0]["prodready:api"])
    return {"prodready:api": {**api, "auth": auth}}


def test_jwt_mode_trusts_the_configured_issuer_and_creates_no_pool(plan_with: Callable[..., Plan]) -> None:
    plan = plan_with("dev", _with_auth("dev", {
        "mode": "jwt", "issuer": "https://example.eu.auth0.com/", "audience": ["https://catalog.example.com"],
        "scopePrefix": "catalog:",
    }))
    assert [r for r in plan.resources if r.type.startswith("aws:cognito/")] == []
    (authorizer,) = plan.of_type(AUTHORIZER)
    assert authorizer.inputs["jwtConfiguration"] == {
        "issuer": "https://example.eu.auth0.com/", "audiences": ["https://catalog.example.com"],
    }
    routes = _routes(plan)
    assert _auth(routes["POST /items"]) == ("JWT", ["catalog:items.write"])
    assert _auth(routes["GET /items"]) == ("JWT", ["catalog:items.read"])
    assert "tokenUrl" not in plan.outputs


def test_mode_none_in_dev_opens_every_route_and_drops_the_authorizer(plan_with: Callable[..., Plan]) -> None:
    plan = plan_with("dev", _with_auth("dev", {"mode": "none"}))
    assert plan.of_type(AUTHORIZER) == []
    routes = _routes(plan)
    assert set(routes) == {*ROUTE_KEYS, "$default"}
    assert all(_auth(route) == ("NONE", []) for route in routes.values())


def test_mode_none_is_refused_in_prod_naming_the_key_and_stack() -> None:
    with pytest.raises(ConfigError) as caught:
        run_plan("prod", config_overrides=_with_auth("prod", {"mode": "none"}))
    assert caught.value.stack == "prod"
    refused = "prodready:api.auth.mode: 'none' is refused in a prod stack"
    assert any(p.startswith(refused) for p in caught.value.problems), caught.value.problems


def test_route_authorizations_refuse_a_route_without_scopes() -> None:
    authorization = JwtAuthorization(issuer="https://i", audiences=["a"], route_scopes={"GET /items": ["r"]},
                                     public_route_keys=["GET /health/live"])
    with pytest.raises(ValueError, match="POST /items"):
        route_authorizations(["GET /health/live", "GET /items", "POST /items"], authorization, catch_all=True,
                             cors=False)
    routes = route_authorizations(["GET /health/live", "GET /items"], authorization, catch_all=True, cors=True)
    assert routes == {
        "GET /health/live": RouteAuthorization("NONE"),
        "GET /items": RouteAuthorization("JWT", ("r",)),
        "$default": RouteAuthorization("JWT"),
        "OPTIONS /{proxy+}": RouteAuthorization("NONE"),
    }
    # Without CORS there is no preflight to let through.
    assert "OPTIONS /{proxy+}" not in route_authorizations(["GET /items"], authorization, catch_all=True, cors=False)


def test_every_scoped_route_of_the_app_is_a_route_of_the_api() -> None:
    assert set(ROUTE_SCOPES) | set(PUBLIC_ROUTE_KEYS) == set(ROUTE_KEYS)
