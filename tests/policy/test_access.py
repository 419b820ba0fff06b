"""Access and encryption rules: each must fire on the broken case and stay quiet on the correct one."""

from __future__ import annotations

import json

import pytest
from prodready_policy.access import (
    KEY_POLICY,
    LOG_ENCRYPTION,
    ROUTE_AUTHORIZATION,
    check_key_policy,
    check_log_group_encryption,
    check_route_authorization,
)
from prodready_policy.values import ResourceView

from components.alerting.documents import alert_key_policy
from components.service import keys
from tests.policy.builders import ACCOUNT, REGION, UNKNOWN, StackBuilder, mutate, remove, stack_views
from tests.policy.conftest import only
from tools.plan.harness import Plan

PUBLIC = {"publicRouteKeys": ["GET /health/live"]}


def _routes(stack: StackBuilder, **config: object) -> list[tuple[str, str]]:
    findings = check_route_authorization(stack_views(stack.plan()), ROUTE_AUTHORIZATION.effective_config(config))
    return sorted((urn.rsplit("::", 1)[-1], message) for urn, message in findings)


def _api_with(stack: StackBuilder, routes: dict[str, dict[str, object]], cors: bool = True) -> str:
    api = stack.add("aws:apigatewayv2/api:Api", "api", {
        "name": "catalog", "protocolType": "HTTP",
        **({"corsConfiguration": {"allowOrigins": ["https://catalog.example.com"]}} if cors else {}),
    }, {"apiEndpoint": f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com"})
    for key, extra in routes.items():
        stack.add("aws:apigatewayv2/route:Route", f"route-{key.split()[0].lower()}{key.split()[1].replace('/', '-')}",
                  {"apiId": "a1b2c3d4e5", "routeKey": key, **extra}, deps={"apiId": [api]})
    return api


JWT = {"authorizationType": "JWT", "authorizerId": "abc123", "authorizationScopes": ["catalog/items.read"]}


def test_authorized_public_and_preflight_routes_pass():
    stack = StackBuilder()
    _api_with(stack, {"GET /items": JWT, "$default /": {"authorizationType": "JWT", "authorizerId": "abc123"},
                      "GET /health/live": {}, "OPTIONS /{proxy+}": {"authorizationType": "NONE"}})
    assert _routes(stack, **PUBLIC) == []


def test_open_routes_fire_unless_public_or_a_preflight_answered_by_cors():
    stack = StackBuilder()
    _api_with(stack, {"POST /items": {"authorizationType": "NONE"}, "DELETE /items/{id}": {},
                      "GET /health/live": {}, "OPTIONS /{proxy+}": {}}, cors=False)
    findings = _routes(stack, **PUBLIC)
    assert [name for name, _ in findings] == ["route-delete-items-{id}", "route-options-{proxy+}", "route-post-items"]
    assert findings[2][1] == ("route 'POST /items' is reachable without authorization (authorizationType NONE); "
                              "it is not one of the stack's public routes (GET /health/live).")


def test_a_jwt_route_without_an_authorizer_fires_and_unknowns_at_preview_do_not():
    stack = StackBuilder()
    _api_with(stack, {"GET /items": {"authorizationType": "JWT"},
                      "PUT /items/{id}": {"authorizationType": "JWT", "authorizerId": UNKNOWN},
                      "GET /x": {"authorizationType": UNKNOWN}})
    assert _routes(stack) == [("route-get-items", "route 'GET /items' has authorizationType JWT but no authorizerId.")]


def test_preflight_routes_may_be_closed_by_config():
    stack = StackBuilder()
    _api_with(stack, {"OPTIONS /{proxy+}": {}})
    assert _routes(stack) == []
    assert len(_routes(stack, allowPreflightRoutes=False)) == 1


def _keys(stack: StackBuilder) -> list[tuple[str, str]]:
    findings = check_key_policy(stack_views(stack.plan()), KEY_POLICY.effective_config({}))
    return sorted((urn.rsplit("::", 1)[-1], message) for urn, message in findings)


def _key(stack: StackBuilder, name: str, policy: object, account: str = ACCOUNT) -> str:
    inputs = {} if policy is None else {"policy": policy if isinstance(policy, str) else json.dumps(policy)}
    return stack.add("aws:kms/key:Key", name, inputs, {"arn": f"arn:aws:kms:{REGION}:{account}:key/{name}",
                                                       "keyId": name})


def test_the_programs_key_policies_pass():
    stack = StackBuilder()
    _key(stack, "table", keys.table_key_policy(ACCOUNT, REGION))
    _key(stack, "logs", keys.logs_key_policy(ACCOUNT, REGION, ["/aws/lambda/x-*"]))
    # The alert key lets the account administer it with kms:*: the account, and no one else.
    _key(stack, "alerts", alert_key_policy(ACCOUNT))
    _key(stack, "preview", UNKNOWN)
    assert _keys(stack) == []


def test_keys_without_a_policy_or_granting_kms_star_to_others_fire():
    stack = StackBuilder()
    _key(stack, "default", None)
    _key(stack, "everyone", {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}]})
    other = {"AWS": "arn:aws:iam::210987654321:root"}
    _key(stack, "other-account", {"Statement": [{"Effect": "Allow", "Principal": other, "Action": "kms:*",
                                                  "Resource": "*"}]})
    logs = {"Service": "logs.eu-west-1.amazonaws.com"}
    _key(stack, "service", {"Statement": [{"Effect": "Allow", "Principal": logs, "Action": ["kms:*"],
                                           "Resource": "*"}]})
    _key(stack, "role", {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ops"},
                                        "Action": "*", "Resource": "*"}]})
    _key(stack, "garbage", "{not json")
    assert _keys(stack) == [
        ("default", "KMS key 'default' has no explicit key policy (KMS's default grants the account kms:*)."),
        ("everyone", "KMS key 'everyone': Statement[0] allows kms:* to *."),
        ("garbage", "KMS key 'garbage' policy is not valid JSON."),
        ("other-account", "KMS key 'other-account': Statement[0] allows kms:* to arn:aws:iam::210987654321:root."),
        ("role", f"KMS key 'role': Statement[0] allows kms:* to arn:aws:iam::{ACCOUNT}:role/ops."),
        ("service", "KMS key 'service': Statement[0] allows kms:* to Service:logs.eu-west-1.amazonaws.com."),
    ]


def test_a_separate_key_policy_resource_counts_as_explicit():
    stack = StackBuilder()
    key = _key(stack, "k", None)
    stack.add("aws:kms/keyPolicy:KeyPolicy", "k-policy", {"keyId": UNKNOWN,
                                                          "policy": json.dumps(keys.table_key_policy(ACCOUNT, REGION))},
              deps={"keyId": [key]})
    assert _keys(stack) == []


@pytest.mark.parametrize("props, reported", [
    ({"name": "/aws/lambda/api", "kmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/k"}, False),
    ({"name": "/aws/lambda/api", "kmsKeyId": UNKNOWN}, False),
    ({"name": "/aws/lambda/api"}, True),
    ({"name": "/aws/lambda/api", "kmsKeyId": ""}, True),
])
def test_log_group_encryption(props: dict, reported: bool):
    view = ResourceView("urn:g", "aws:cloudwatch/logGroup:LogGroup", "g", props)
    assert bool(list(check_log_group_encryption(view, LOG_ENCRYPTION.effective_config({})))) == reported
    exempt = LOG_ENCRYPTION.effective_config({"exemptLogGroupPatterns": ["/aws/lambda/*"]})
    assert list(check_log_group_encryption(view, exempt)) == []


# -- through the pack, on the committed prod stack -----------------------------------------------------


def _set(key: str, value: object):
    def change(resource):
        for props in (resource.inputs, resource.outputs):
            if value is None:
                props.pop(key, None)
            else:
                props[key] = value
    return change


def test_an_open_write_route_in_prod_is_refused(prod_plan: Plan, analyze):
    (route,) = [r for r in prod_plan.of_type("aws:apigatewayv2/route:Route") if r.inputs["routeKey"] == "POST /items"]
    broken = mutate(prod_plan, route.urn, _set("authorizationType", "NONE"))
    violations = only(analyze(broken), "api-route-authorization")
    assert [(v.urn, v.enforcement_level) for v in violations] == [(route.urn, "mandatory")]


def test_a_key_without_policy_and_an_unencrypted_log_group_in_prod_are_refused(prod_plan: Plan, analyze):
    (key,) = [k for k in prod_plan.of_type("aws:kms/key:Key") if k.name == "catalog-table-key"]
    (group,) = [g for g in prod_plan.of_type("aws:cloudwatch/logGroup:LogGroup") if g.name == "catalog-function-logs"]
    broken = mutate(mutate(prod_plan, key.urn, _set("policy", None)), group.urn, _set("kmsKeyId", None))
    report = analyze(broken)
    assert [v.urn for v in only(report, "kms-key-policy")] == [key.urn]
    assert [v.urn for v in only(report, "log-group-encryption")] == [group.urn]


def test_dev_reports_unencrypted_groups_nowhere_and_open_routes_as_advisory(dev_plan: Plan, analyze):
    report = analyze(dev_plan)
    assert only(report, "log-group-encryption") == []
    (route,) = [r for r in dev_plan.of_type("aws:apigatewayv2/route:Route") if r.inputs["routeKey"] == "GET /items"]
    broken = remove(mutate(dev_plan, route.urn, _set("authorizationType", "NONE")), "catalog-http-authorizer")
    (violation,) = only(analyze(broken), "api-route-authorization")
    assert violation.urn == route.urn and violation.enforcement_level == "advisory"


def test_unconditioned_crypto_use_by_anyone_another_account_or_a_service_fires():
    stack = StackBuilder()
    crypto = ["kms:Decrypt", "kms:GenerateDataKey*"]
    _key(stack, "anyone", {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": crypto, "Resource": "*"}]})
    _key(stack, "foreign", {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
                                           "Action": "kms:Decrypt*", "Resource": "*"}]})
    _key(stack, "upper-case", {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "KMS:*",
                                              "Resource": "*"}]})
    _key(stack, "service", {"Statement": [{"Effect": "Allow", "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
                                           "Action": crypto, "Resource": "*"}]})
    found = dict(_keys(stack))
    assert found == {
        "anyone": "KMS key 'anyone': Statement[0] lets * use the key (decrypt, encrypt or grant) with no condition "
                  "limiting it to this account or one service.",
        "foreign": "KMS key 'foreign': Statement[0] lets arn:aws:iam::210987654321:root use the key (decrypt, encrypt "
                   "or grant) with no condition limiting it to this account or one service.",
        "upper-case": "KMS key 'upper-case': Statement[0] allows kms:* to *.",
        "service": "KMS key 'service': Statement[0] lets Service:logs.eu-west-1.amazonaws.com use the key (decrypt, "
                   "encrypt or grant) with no condition limiting it to this account or one service.",
    }


def test_crypto_use_limited_to_a_service_or_this_account_passes():
    stack = StackBuilder()
    via = {"StringEquals": {"kms:ViaService": f"dynamodb.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}}
    _key(stack, "via-dynamodb", {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                "Action": ["kms:Decrypt", "kms:CreateGrant"], "Resource": "*",
                                                "Condition": via}]})
    role = {"AWS": f"arn:aws:iam::{ACCOUNT}:role/api"}
    _key(stack, "own-role", {"Statement": [{"Effect": "Allow", "Principal": role, "Action": "kms:Decrypt",
                                            "Resource": "*"}]})
    source = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    _key(stack, "service-for-us", {"Statement": [{"Effect": "Allow", "Principal": {"Service": "budgets.amazonaws.com"},
                                                  "Action": "kms:GenerateDataKey*", "Resource": "*",
                                                  "Condition": source}]})
    assert _keys(stack) == []
