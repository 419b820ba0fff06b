"""Access and encryption: authorized API routes, explicit KMS key policies, encrypted log groups."""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from pulumi_policy import Policy, Severity

from prodready_policy.base import Config, PolicySpec, of_types, resource_policy, stack_policy, string_list
from prodready_policy.types import APIGATEWAYV2_API as HTTP_API
from prodready_policy.types import APIGATEWAYV2_ROUTE as HTTP_ROUTE
from prodready_policy.types import CLOUDWATCH_LOG_GROUP as LOG_GROUP
from prodready_policy.types import KMS_KEY, KMS_KEY_POLICY
from prodready_policy.values import ResourceView, as_list, get, is_unknown, json_value

AUTHORIZED_TYPES = frozenset({"JWT", "AWS_IAM", "CUSTOM"})

ROUTE_AUTHORIZATION = PolicySpec(
    name="api-route-authorization",
    description=(
        "Requires every HTTP API route to have an authorizer (JWT, IAM or a Lambda authorizer), except the "
        "route keys the stack lists as public and CORS preflight routes of an API whose CORS configuration "
        "API Gateway answers them from."
    ),
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Set authorization_type='JWT' and authorizer_id=<authorizer>.id (with authorization_scopes) on the "
        "aws.apigatewayv2.Route; routes that must be reached without a token (health checks) go in the "
        "stack's publicRouteKeys. Configure prodready:api.auth (cognito or jwt) rather than mode none."
    ),
    config_properties={
        "publicRouteKeys": string_list("Route keys reached without authorization (e.g. health checks).", []),
        "allowPreflightRoutes": {
            "type": "boolean", "default": True,
            "description": "OPTIONS routes of an API with a CORS configuration may be open (browsers send "
                           "preflights without credentials; API Gateway answers them from the configuration).",
        },
    },
)


def _route_api_keys(route: ResourceView) -> set[str]:
    """Keys of the API a route belongs to: its id when known, and the resources its apiId came from."""
    keys = {f"urn:{urn}" for urn in route.sources("apiId")}
    api_id = get(route.props, "apiId")
    if isinstance(api_id, str) and not is_unknown(api_id):
        keys.add(f"id:{api_id}")
    return keys


def _api_keys(api: ResourceView) -> set[str]:
    keys = {f"urn:{api.urn}"}
    endpoint = get(api.props, "apiEndpoint")
    if isinstance(endpoint, str) and not is_unknown(endpoint):
        # https://<api id>.execute-api.<region>.amazonaws.com
        keys.add(f"id:{endpoint.removeprefix('https://').split('.', 1)[0]}")
    return keys


def check_route_authorization(resources: list[ResourceView], config: Config) -> Iterator[tuple[str | None, str]]:
    cors_apis: set[str] = set()
    for api in resources:
        if api.type == HTTP_API:
            cors = get(api.props, "corsConfiguration")
            if cors is not None and (is_unknown(cors) or get(cors, "allowOrigins")):
                cors_apis |= _api_keys(api)
    public = set(config["publicRouteKeys"])
    for route in resources:
        if route.type != HTTP_ROUTE:
            continue
        key = get(route.props, "routeKey")
        if is_unknown(key) or key in public:
            continue
        kind = get(route.props, "authorizationType", default="NONE")
        if is_unknown(kind):
            continue
        if kind not in AUTHORIZED_TYPES:
            preflight = isinstance(key, str) and key.startswith("OPTIONS ")
            if preflight and config["allowPreflightRoutes"] and _route_api_keys(route) & cors_apis:
                continue
            yield route.urn, (
                f"route '{key}' is reachable without authorization (authorizationType {kind}); it is not one of the "
                f"stack's public routes ({', '.join(sorted(public)) or 'none'})."
            )
        elif kind != "AWS_IAM":
            authorizer = get(route.props, "authorizerId")
            if not is_unknown(authorizer) and not authorizer:
                yield route.urn, f"route '{key}' has authorizationType {kind} but no authorizerId."


KEY_POLICY = PolicySpec(
    name="kms-key-policy",
    description=(
        "Requires every KMS key to have an explicit key policy, and prohibits statements that allow kms:* (or "
        "*) to any principal other than the key's own account, or cryptographic use (decrypt, encrypt, data "
        "keys, re-encryption, grants) to anyone, another account or a service without a condition that "
        "limits it to this account or one service."
    ),
    severity=Severity.HIGH,
    remediation_steps=(
        "Give aws.kms.Key a policy=<document> built as data (components/service/keys.py): the account "
        "administers the key through IAM, and cryptographic use goes only to the service that needs it "
        "(kms:ViaService, or a service principal with an encryption-context condition)."
    ),
    config_properties={
        "trustedAccountIds": string_list(
            "Accounts besides the key's own whose root may be granted kms:* (a central key-administration "
            "account, say).", []),
    },
)

_ACCOUNT_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")


def _grants_everything(statement: dict[str, Any]) -> bool:
    actions = [str(a).lower() for a in as_list(statement.get("Action"))]
    return any(action in ("*", "kms:*") for action in actions) or "NotAction" in statement


# What lets a principal read or wrap data with the key (IAM action names are case-insensitive).
CRYPTO_ACTIONS = ("kms:decrypt", "kms:encrypt", "kms:generatedatakey", "kms:generatedatakeywithoutplaintext",
                  "kms:generatedatakeypair", "kms:reencryptfrom", "kms:reencryptto", "kms:creategrant")
# Conditions that tie a grant to this account or to one service's use on its behalf.
LIMITING_CONDITION_KEYS = ("kms:viaservice", "kms:calleraccount", "aws:sourceaccount", "aws:sourcearn",
                           "aws:principalaccount", "aws:principalorgid", "kms:encryptioncontext:")


def _grants_crypto(statement: dict[str, Any]) -> bool:
    actions = [str(a).lower() for a in as_list(statement.get("Action"))]
    return any(fnmatch.fnmatchcase(crypto, action) for action in actions for crypto in CRYPTO_ACTIONS)


def _limited(statement: dict[str, Any]) -> bool:
    keys = [str(key).lower() for pairs in (statement.get("Condition") or {}).values() if isinstance(pairs, dict)
            for key in pairs]
    return any(key.startswith(limiting) for key in keys for limiting in LIMITING_CONDITION_KEYS)


def _of_own_account(name: str, account: str | None, trusted: set[str]) -> bool:
    """An IAM principal of the key's own (or a trusted) account: its IAM policies decide the rest."""
    match = re.match(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):", name)
    return bool(match and (account is None or match.group(1) == account or match.group(1) in trusted))


def _account_of_key(key: ResourceView) -> str | None:
    arn = get(key.props, "arn")
    if isinstance(arn, str) and arn.startswith("arn:"):
        parts = arn.split(":")
        return parts[4] if len(parts) > 4 else None
    return None


def _statement_findings(document: Any, account: str | None, trusted: set[str]) -> Iterator[str]:
    if not isinstance(document, dict):
        yield "its policy is not a policy document object"
        return
    for index, statement in enumerate(as_list(document.get("Statement"))):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        everything, crypto = _grants_everything(statement), _grants_crypto(statement)
        if not everything and not crypto:
            continue
        principal = statement.get("Principal")
        principals = (
            ["*"] if principal == "*"
            else [str(p) for kind, values in (principal or {}).items() for p in as_list(values)
                  if kind == "AWS"] + [f"{kind}:{p}" for kind, values in (principal or {}).items()
                                       for p in as_list(values) if kind != "AWS"]
        )
        for name in principals:
            match = _ACCOUNT_ROOT.match(name)
            own = bool(match and (account is None or match.group(1) == account or match.group(1) in trusted))
            if everything and not own:
                yield f"Statement[{index}] allows kms:* to {name}"
            elif crypto and not _limited(statement) and not _of_own_account(name, account, trusted):
                yield (f"Statement[{index}] lets {name} use the key (decrypt, encrypt or grant) with no condition "
                       "limiting it to this account or one service")


def check_key_policy(resources: list[ResourceView], config: Config) -> Iterator[tuple[str | None, str]]:
    separate: dict[str, list[ResourceView]] = defaultdict(list)
    keys = [r for r in resources if r.type == KMS_KEY]
    by_id: dict[str, str] = {}
    for key in keys:
        for prop in ("keyId", "arn", "id"):
            value = get(key.props, prop)
            if isinstance(value, str):
                by_id[value] = key.urn
    for resource in resources:
        if resource.type == KMS_KEY_POLICY:
            key_id = get(resource.props, "keyId")
            targets = (
                [urn for urn in resource.sources("keyId") if urn in {k.urn for k in keys}]
                if is_unknown(key_id) else [by_id.get(str(key_id), "")]
            )
            for urn in targets:
                separate[urn].append(resource)
    for key in keys:
        documents = [get(key.props, "policy")] + [get(p.props, "policy") for p in separate.get(key.urn, [])]
        documents = [d for d in documents if d is not None and d != ""]
        if not documents:
            yield key.urn, f"KMS key '{key.name}' has no explicit key policy (KMS's default grants the account kms:*)."
            continue
        for raw in documents:
            try:
                document = json_value(raw)
            except ValueError:
                yield key.urn, f"KMS key '{key.name}' policy is not valid JSON."
                continue
            if is_unknown(document):
                continue
            for finding in _statement_findings(document, _account_of_key(key), set(config["trustedAccountIds"])):
                yield key.urn, f"KMS key '{key.name}': {finding}."


LOG_ENCRYPTION = PolicySpec(
    name="log-group-encryption",
    description="Requires every CloudWatch log group to be encrypted with a customer-managed KMS key.",
    severity=Severity.HIGH,
    remediation_steps=(
        "Set kms_key_id=<key>.arn on the LogGroup, with a key policy that lets logs.<region>.amazonaws.com use "
        "the key only for the stack's log groups (kms:EncryptionContext:aws:logs:arn); in this program, "
        "prodready:logs.customerManagedKey: true."
    ),
    config_properties={
        "exemptLogGroupPatterns": string_list("Log group name patterns (fnmatch) that may stay unencrypted.", []),
    },
)


def check_log_group_encryption(resource: ResourceView, config: Config) -> Iterator[str]:
    name = get(resource.props, "name", default=resource.name)
    if isinstance(name, str) and any(fnmatch.fnmatchcase(name, p) for p in config["exemptLogGroupPatterns"]):
        return
    key = get(resource.props, "kmsKeyId")
    if is_unknown(key):
        return
    if not isinstance(key, str) or not key.strip():
        shown = name if isinstance(name, str) else resource.name
        yield f"log group '{shown}' is not encrypted with a customer-managed key (kmsKeyId is not set)."


def policies() -> list[Policy]:
    return [
        stack_policy(ROUTE_AUTHORIZATION, check_route_authorization),
        stack_policy(KEY_POLICY, check_key_policy),
        resource_policy(LOG_ENCRYPTION, of_types(LOG_GROUP), check_log_group_encryption),
    ]
