"""The service components under Pulumi's mocks, on the committed stacks and on config variations."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pulumi
import pytest
from pulumi.runtime import settings as pulumi_settings

from app.service.routes import ROUTE_KEYS
from components.config import ConfigError
from components.iam import IDEMPOTENCY_ACTIONS, ITEM_ACTIONS
from components.service.http_api import ACCESS_LOG_FIELDS
from tests.conftest import COMMITTED_STACKS, service_function
from tests.grants import wildcard_findings
from tools.plan.harness import Plan, PlannedResource, committed_config, run_plan, stack_config
from tools.plan.mocks import inspect_props

TABLE = "aws:dynamodb/table:Table"
FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
STAGE = "aws:apigatewayv2/stage:Stage"
KMS_KEY = "aws:kms/key:Key"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
REQUIRED_TAGS = {"Project", "Environment", "Service", "Owner", "CostCenter", "ManagedBy"}



def _in_component(plan: Plan, type_token: str, component: str) -> list[PlannedResource]:
    parents = {r.urn for r in plan.of_type(component)}
    return [r for r in plan.of_type(type_token) if r.parent in parents]


def _live_alias(plan: Plan) -> PlannedResource:
    (alias,) = plan.of_type("aws:lambda/alias:Alias")
    return alias


def _service_table(plan: Plan) -> PlannedResource:
    (table,) = [t for t in _in_component(plan, TABLE, "prodready:table:Table") if t.name == "catalog-table-dynamodb"]
    return table


def _table_key(plan: Plan, table: str = "catalog-table") -> list[PlannedResource]:
    return [k for k in _in_component(plan, KMS_KEY, "prodready:table:Table") if k.name == f"{table}-key"]


def test_prod_table_is_protected(prod_plan: Plan) -> None:
    table = _service_table(prod_plan)
    assert table.inputs["deletionProtectionEnabled"] is True, table.urn
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}, table.urn
    assert table.protect and table.retain_on_delete, table.urn
    (key,) = _table_key(prod_plan)
    assert table.inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key.outputs["arn"]}, table.urn
    assert key.inputs["enableKeyRotation"] is True and key.protect, key.urn
    assert key.urn in table.dependencies


def test_dev_table_differs_exactly_as_its_config_says(dev_plan: Plan, prod_plan: Plan) -> None:
    dev, prod = _service_table(dev_plan), _service_table(prod_plan)
    dev_config = committed_config("dev")
    assert dev.inputs["deletionProtectionEnabled"] is dev_config.data_protection.deletion_protection is False
    assert dev.inputs["pointInTimeRecovery"] == {"enabled": dev_config.data_protection.point_in_time_recovery}
    assert dev.inputs["serverSideEncryption"] == {"enabled": True}  # AWS-managed key, no CMK
    assert not dev.protect and not dev.retain_on_delete
    assert _in_component(dev_plan, KMS_KEY, "prodready:table:Table") == []
    assert dev_plan.of_type(KMS_KEY) and all("logs" not in k.name for k in dev_plan.of_type(KMS_KEY))
    # Same schema otherwise: billing, key, TTL.
    for field in ("billingMode", "hashKey", "ttl"):
        assert dev.inputs[field] == prod.inputs[field], field
    # prod's config adds a GSI; dev's does not.
    assert "globalSecondaryIndexes" not in dev.inputs
    assert [g["name"] for g in prod.inputs["globalSecondaryIndexes"]] == ["by-name"]


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_role_policy_is_least_privilege(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    for resource in plan.of_type(ROLE_POLICY):
        document = json.loads(resource.inputs["policy"])
        assert wildcard_findings(document) == [], resource.urn
    (policy,) = [p for p in _in_component(plan, ROLE_POLICY, "prodready:function:Function")
                 if p.name == "catalog-function-policy"]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    table = _service_table(plan)
    (idempotency,) = [t for t in plan.of_type(TABLE) if t.name == "catalog-idempotency-dynamodb"]
    assert sorted(statements["IdempotencyRecords"]["Action"]) == sorted(IDEMPOTENCY_ACTIONS)
    assert statements["IdempotencyRecords"]["Resource"] == [idempotency.outputs["arn"]]
    log_group = next(r for r in plan.of_type(LOG_GROUP) if r.inputs["name"] == f"/aws/lambda/catalog-{stack}-api")
    assert statements["WriteOwnLogGroup"]["Resource"] == [f"{log_group.outputs['arn']}:*"]
    assert sorted(statements["TableItems"]["Action"]) == sorted(ITEM_ACTIONS)
    indexes = [g["name"] for g in table.inputs.get("globalSecondaryIndexes", [])]
    assert statements["TableItems"]["Resource"] == [
        table.outputs["arn"], *(f"{table.outputs['arn']}/index/{i}" for i in indexes)
    ]
    assert statements["XRayWrite"]["Resource"] == "*"  # the one form X-Ray offers
    prod_profile = committed_config(stack).profile == "prod"
    assert ("TableKeyViaDynamoDB" in statements) is prod_profile
    assert ("IdempotencyKeyViaDynamoDB" in statements) is prod_profile
    assert set(statements) <= {"WriteOwnLogGroup", "XRayWrite", "TableItems", "TableKeyViaDynamoDB",
                               "IdempotencyRecords", "IdempotencyKeyViaDynamoDB"}


def _function_policy(plan: Plan) -> dict[str, dict[str, object]]:
    (policy,) = [p for p in _in_component(plan, ROLE_POLICY, "prodready:function:Function")
                 if p.name == "catalog-function-policy"]
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


@pytest.mark.parametrize(("stack", "provider"), [("dev", "xray-sdk"), ("prod", "opentelemetry")])
def test_each_tracing_provider_gets_its_layer_environment_and_permissions(
    plan_with: Callable[..., Plan], plans: dict[str, Plan], stack: str, provider: str
) -> None:
    # Each committed stack's opposite: dev (opentelemetry) back on the SDK, prod (xray-sdk) on OpenTelemetry.
    raw, _ = stack_config(stack)
    function_config = json.loads(raw.get("prodready:lambda", "{}"))
    plan = plan_with(stack, {"prodready:lambda": {**function_config, "tracing": {"provider": provider}}})
    inputs = service_function(plan).inputs
    env = inputs["environment"]["variables"]
    otel_layers = [arn for arn in inputs["layers"] if ":layer:AWSOpenTelemetryDistroPython:" in arn]
    assert env["TRACING_PROVIDER"] == provider
    if provider == "opentelemetry":
        assert otel_layers == ["arn:aws:lambda:eu-west-1:615299751070:layer:AWSOpenTelemetryDistroPython:16"]
        assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/otel-instrument"
        assert env["OTEL_AWS_APPLICATION_SIGNALS_ENABLED"] == "false"
    else:
        assert otel_layers == []
        assert "AWS_LAMBDA_EXEC_WRAPPER" not in env and not any(k.startswith("OTEL_") for k in env)
    # Either way Lambda's active tracing makes the sampling decision and runs the daemon endpoint both send
    # to, and the role writes segments with the same two actions (X-Ray offers them on "*" only).
    assert inputs["tracingConfig"] == {"mode": "Active"}
    statements = _function_policy(plan)
    assert statements["XRayWrite"]["Action"] == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    assert statements == _function_policy(plans[stack])


def test_a_layer_arn_given_in_full_is_used_as_given(plan_with: Callable[..., Plan]) -> None:
    own = "arn:aws:lambda:eu-west-1:123456789012:layer:otel-python:3"
    raw, _ = stack_config("dev")
    function_config = json.loads(raw.get("prodready:lambda", "{}"))
    plan = plan_with("dev", {"prodready:lambda": {
        **function_config, "tracing": {"provider": "opentelemetry", "openTelemetryLayerArn": own}}})
    assert service_function(plan).inputs["layers"][1:] == [own]


def test_wildcard_findings_fire_on_broad_statements() -> None:
    broad = {"Statement": [
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:eu-west-1:1:table/t"},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "arn:aws:logs:*:*:*"},
    ]}
    findings = wildcard_findings(broad)
    assert len(findings) == 3
    scoped = {"Statement": [
        {"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "arn:aws:logs:eu-west-1:1:log-group:/x:*"},
        {"Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"},
    ]}
    assert wildcard_findings(scoped) == []


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_every_function_has_its_explicit_log_group(plans: dict[str, Plan], stack: str) -> None:
    plan, config = plans[stack], committed_config(stack)
    groups = {r.inputs["name"]: r for r in plan.of_type(LOG_GROUP)}
    for function in plan.of_type(FUNCTION):
        name = function.inputs["name"]
        group = groups.get(f"/aws/lambda/{name}")
        assert group is not None, f"{function.urn}: no log group /aws/lambda/{name}"
        assert group.inputs["retentionInDays"] == config.logs.retention_days, group.urn
        logging = function.inputs["loggingConfig"]
        assert logging == {"logFormat": "JSON", "logGroup": group.inputs["name"],
                           "applicationLogLevel": logging["applicationLogLevel"], "systemLogLevel": "INFO"}
        assert group.urn in function.dependencies, function.urn
        assert group.retain_on_delete is config.data_protection.protect_resources, group.urn


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_function_runtime_tracing_sizing_and_powertools(plans: dict[str, Plan], stack: str) -> None:
    plan, config = plans[stack], committed_config(stack)
    function = service_function(plan)
    inputs = function.inputs
    assert inputs["runtime"] == "python3.13"
    assert inputs["architectures"] == [config.lambda_.architecture]
    assert inputs["tracingConfig"] == {"mode": "Active"}
    assert inputs["memorySize"] == config.lambda_.memory_mb
    assert inputs["timeout"] == config.lambda_.timeout_seconds
    expected_reserved = config.lambda_.reserved_concurrency or -1
    assert inputs["reservedConcurrentExecutions"] == expected_reserved
    assert inputs["handler"] == "service.handler.lambda_handler"
    tracing = config.lambda_.tracing
    assert inputs["layers"] == [
        f"arn:aws:lambda:{config.region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-"
        f"{config.lambda_.architecture}:{config.lambda_.powertools_layer_version}",
        *([f"arn:aws:lambda:{config.region}:615299751070:layer:AWSOpenTelemetryDistroPython:"
           f"{tracing.layer_version(config.region)}"] if tracing.provider == "opentelemetry" else []),
    ]
    env = inputs["environment"]["variables"]
    assert env["TRACING_PROVIDER"] == tracing.provider
    assert env["POWERTOOLS_SERVICE_NAME"] == config.service
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == f"prodready/{config.prefix}"
    assert env["POWERTOOLS_LOG_LEVEL"] == config.lambda_.log_level
    assert float(env["POWERTOOLS_LOGGER_SAMPLE_RATE"]) == config.lambda_.debug_sample_rate
    assert env["TABLE_NAME"] == _service_table(plan).outputs["name"]
    (idempotency,) = [t for t in plan.of_type(TABLE) if t.name == "catalog-idempotency-dynamodb"]
    assert env["IDEMPOTENCY_TABLE_NAME"] == idempotency.outputs["name"]
    assert env["IDEMPOTENCY_TTL_SECONDS"] == str(config.api.idempotency_ttl_seconds)
    assert env["MAX_REQUEST_BODY_BYTES"] == str(config.api.max_body_kb * 1024) == "65536"
    assert env["OPENAPI_ENABLED"] == "false"
    shipped = set(inputs["code"]["__archive"]["assets"])
    assert "service/handler.py" in shipped and not any("__pycache__" in p for p in shipped)
    # Its own package only: the pre-traffic hook's code is not in the service's archive.
    assert {p.split("/")[0] for p in shipped} == {"service"}
    # Every code or configuration change publishes a version; SnapStart as the stack says.
    assert inputs["publish"] is True
    assert inputs.get("snapStart") == ({"applyOn": "PublishedVersions"} if config.lambda_.snap_start else None)
    alias = _live_alias(plan)
    assert (alias.inputs["name"], alias.inputs["functionName"]) == ("live", function.outputs["name"])
    assert alias.inputs["functionVersion"] == function.outputs["version"]
    # Only CodeDeploy moves the alias after its creation: Pulumi never resets a release in progress.
    assert sorted(alias.ignore_changes) == ["description", "functionVersion", "routingConfig"]


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_api_stage_logs_and_throttles(plans: dict[str, Plan], stack: str) -> None:
    plan, config = plans[stack], committed_config(stack)
    stage = plan.one(STAGE)
    access = next(r for r in plan.of_type(LOG_GROUP) if r.inputs["name"].endswith("/access-logs"))
    settings = stage.inputs["accessLogSettings"]
    assert settings["destinationArn"] == access.outputs["arn"], stage.urn
    assert json.loads(settings["format"]) == ACCESS_LOG_FIELDS
    assert access.inputs["retentionInDays"] == config.logs.access_log_retention_days
    route = stage.inputs["defaultRouteSettings"]
    assert route["throttlingRateLimit"] == config.api.throttling_rate_limit
    assert route["throttlingBurstLimit"] == config.api.throttling_burst_limit
    assert stage.inputs["name"] == "$default" and stage.inputs["autoDeploy"] is True


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_routes_integration_and_invoke_permission(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    api = plan.one("aws:apigatewayv2/api:Api")
    routes = plan.of_type("aws:apigatewayv2/route:Route")
    # The app's routes, $default so unmatched requests reach the app's JSON 404/405, and (CORS with an
    # authorizer) the open preflight route.
    assert sorted(r.inputs["routeKey"] for r in routes) == sorted([*ROUTE_KEYS, "$default", "OPTIONS /{proxy+}"])
    integration = plan.one("aws:apigatewayv2/integration:Integration")
    assert integration.inputs["payloadFormatVersion"] == "2.0"
    # The integration and the invoke permission target the live alias, never $LATEST.
    alias = _live_alias(plan)
    assert integration.inputs["integrationUri"] == alias.outputs["invokeArn"]
    assert alias.outputs["invokeArn"].endswith(f"function:catalog-{stack}-api:live/invocations")
    assert {r.inputs["target"] for r in routes} == {f"integrations/{integration.id}"}
    # The API's one permission (prod's restore-test trigger has its own, for EventBridge).
    (permission,) = [p for p in plan.of_type("aws:lambda/permission:Permission")
                     if p.inputs["principal"] != "events.amazonaws.com"]
    assert permission.inputs["principal"] == "apigateway.amazonaws.com"
    assert permission.inputs["qualifier"] == "live"
    # The integration moves to what the permission allows only after the permission exists.
    assert permission.urn in integration.dependencies
    assert permission.inputs["sourceArn"] == f"{api.outputs['executionArn']}/$default/*"
    cors = api.inputs.get("corsConfiguration")
    assert cors and cors["allowOrigins"] == list(committed_config(stack).api.cors_origins)


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_every_taggable_resource_carries_the_stack_tags(plans: dict[str, Plan], stack: str) -> None:
    plan, config = plans[stack], committed_config(stack)
    taggable = [r for r in plan.resources if r.custom and "tags" in inspect_props(r.type)]
    assert len(taggable) >= 6
    for resource in taggable:
        tags = resource.outputs.get("tagsAll", {})
        assert set(tags) >= REQUIRED_TAGS, f"{resource.urn} lacks {REQUIRED_TAGS - set(tags)}"
        assert tags["Environment"] == config.environment, resource.urn
    # Every AWS resource goes through an explicit provider that applies the stack's tags: the stack's
    # own, or the cost guard's us-east-1 one (billing metrics exist only there).
    providers = {p.urn: p for p in plan.of_type("pulumi:providers:aws")}
    for provider in providers.values():
        assert json.loads(provider.inputs["defaultTags"])["tags"] == config.tags, provider.urn
    for resource in plan.resources:
        if resource.custom and resource.type.startswith("aws:") and resource.provider:
            assert resource.provider_urn in providers, resource.urn


def test_components_and_children_form_the_tree(prod_plan: Plan) -> None:
    service = prod_plan.one("prodready:service:ServerlessService")
    kinds = sorted(r.type for r in prod_plan.children(service.urn))
    assert {"prodready:function:Function", "prodready:http_api:HttpApi", "prodready:table:Table"} <= set(kinds)
    assert "prodready:auth:ApiAuth" in kinds
    for component in ("prodready:function:Function", "prodready:http_api:HttpApi", "prodready:table:Table",
                      "prodready:auth:ApiAuth"):
        for node in prod_plan.of_type(component):
            children = prod_plan.children(node.urn)
            assert children, node.urn
            assert all(child.name.startswith(f"{node.name}-") for child in children), node.urn
    # The service's own children are named after it too.
    assert all(child.name.startswith(f"{service.name}-") for child in prod_plan.children(service.urn))


def test_outputs_are_known_after_create(prod_plan: Plan) -> None:
    outputs = prod_plan.outputs
    assert outputs["apiUrl"].startswith("https://") and ".execute-api.eu-west-1.amazonaws.com/" in outputs["apiUrl"]
    assert outputs["functionName"] == "catalog-prod-api"
    assert outputs["logGroupNames"]["function"] == "/aws/lambda/catalog-prod-api"
    # Autonamed like the engine does: <logical>-<7 hex>.
    assert re.fullmatch(r"catalog-table-dynamodb-[0-9a-f]{7}", outputs["tableName"]), outputs["tableName"]


def test_turning_off_a_prod_only_feature_in_dev_changes_exactly_it(
    dev_plan: Plan, plan_with: Callable[..., Plan]
) -> None:
    base = dev_plan
    with_key = plan_with("dev", {"prodready:dataProtection": {
        "deletionProtection": False, "pointInTimeRecovery": True, "customerManagedKey": True,
        "protectResources": False}})
    added = sorted({(r.type, r.name) for r in with_key.resources} - {(r.type, r.name) for r in base.resources})
    assert added == [
        ("aws:kms/alias:Alias", "catalog-idempotency-key-alias"), ("aws:kms/alias:Alias", "catalog-table-key-alias"),
        ("aws:kms/key:Key", "catalog-idempotency-key"), ("aws:kms/key:Key", "catalog-table-key"),
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        {"prodready:lambda": {"memoryMb": 64, "timeoutSeconds": 10}},
        {"prodready:tabel": "{}"},
        {"prodready:logs": {"retentionDays": 0, "accessLogRetentionDays": 14}},
        {"prodready:lambda": {"memoryMb": 256, "timeoutSeconds": 10, "tracing": {"provider": "jaeger"}}},
    ],
)
def test_invalid_config_registers_no_resources(overrides: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        run_plan("dev", config_overrides=overrides)
    monitor = pulumi_settings.get_monitor()
    assert monitor.records == [], [r.urn for r in monitor.records]
    assert monitor.resources == {}


def test_missing_webhook_secret_stops_before_any_resource() -> None:
    raw, _ = stack_config("prod")
    monitoring = json.loads(raw["prodready:monitoring"])
    monitoring["webhookSecrets"] = {"critical": "alerting:criticalWebhookUrl"}
    with pytest.raises(pulumi.ConfigMissingError, match="alerting:criticalWebhookUrl"):
        run_plan("prod", config_overrides={"prodready:monitoring": monitoring})
    assert pulumi_settings.get_monitor().records == []


def test_webhook_secret_subscribes_the_endpoint_and_the_plan_never_shows_it() -> None:
    raw, _ = stack_config("prod")
    monitoring = json.loads(raw["prodready:monitoring"])
    monitoring["webhookSecrets"] = {"critical": "alerting:criticalWebhookUrl"}
    plan = run_plan("prod", config_overrides={"prodready:monitoring": monitoring,
                                              "alerting:criticalWebhookUrl": "https://events.example.com/hook"})
    (webhook,) = [s for s in plan.of_type("aws:sns/topicSubscription:TopicSubscription")
                  if s.inputs["protocol"] == "https"]
    assert webhook.inputs["endpoint"] == {"__secret": "[secret]"}
    assert "critical" in webhook.inputs["topic"]
    # The value arrives as a secret (require_secret) and no resource in the plan shows it.
    assert "events.example.com" not in json.dumps([r.to_json() for r in plan.resources])
