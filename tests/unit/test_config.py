"""Stack config validation: profiles, overrides and every kind of mistake named by key and stack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.service.routes import ROUTE_KEYS, ROUTE_THROTTLE_CLASSES
from components.config import ConfigError, StackConfig, load_stack_config
from components.service.settings import ApiConfig, RouteThrottle
from components.settings import CLOUDWATCH_RETENTION_DAYS
from tests.conftest import COMMITTED_STACKS
from tools.plan.harness import stack_config


def _raw(stack: str = "dev", **overrides: Any) -> dict[str, Any]:
    raw, _ = stack_config(stack)
    for key, value in overrides.items():
        full = key.replace("__", ":")
        if value is None:
            raw.pop(full, None)
        else:
            raw[full] = value if isinstance(value, str) else json.dumps(value)
    return raw


def _problems(stack: str, raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(stack, raw)
    assert caught.value.stack == stack
    assert f"stack '{stack}'" in str(caught.value)
    return caught.value.problems


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_committed_stack_files_validate(stack: str) -> None:
    config = load_stack_config(stack, _raw(stack))
    assert isinstance(config, StackConfig)
    assert config.environment == stack
    assert config.tags == {
        "Project": "prodready",
        "Environment": stack,
        "Service": "catalog",
        "Owner": config.owner,
        "CostCenter": config.cost_center,
        "ManagedBy": "pulumi",
    }


def test_config_is_frozen() -> None:
    config = load_stack_config("dev", _raw())
    with pytest.raises(ValueError, match="frozen"):
        config.owner = "someone-else"  # type: ignore[misc]


def test_profile_fills_what_the_stack_file_leaves_out() -> None:
    raw = _raw("prod", prodready__lambda={"memoryMb": 1024, "timeoutSeconds": 5})
    config = load_stack_config("prod", raw)
    assert config.lambda_.memory_mb == 1024
    # Not in the override: the prod profile supplies it.
    assert config.lambda_.reserved_concurrency == 100
    assert config.data_protection.customer_managed_key is True


def test_dev_and_prod_differ_in_protection() -> None:
    dev = load_stack_config("dev", _raw("dev"))
    prod = load_stack_config("prod", _raw("prod"))
    assert not dev.data_protection.deletion_protection and not dev.data_protection.protect_resources
    assert prod.data_protection.deletion_protection and prod.data_protection.protect_resources


def test_unknown_top_level_key_is_named() -> None:
    problems = _problems("dev", _raw(prodready__tabel='{"billingMode": "PROVISIONED"}'))
    assert len(problems) == 1
    assert problems[0].startswith("prodready:tabel: unknown config key (value '{\"billingMode\": \"PROVISIONED\"}') "
                                  "(did you mean 'table'?)")


def test_unknown_nested_key_is_named_with_its_path() -> None:
    problems = _problems("dev", _raw(prodready__api={"throttlingRateLimit": 5, "throttlingBurstLimit": 10,
                                                      "corsOrigin": ["https://a.example"]}))
    assert problems == ["prodready:api.corsOrigin: unknown config key (value ['https://a.example']) "
                        "(did you mean 'corsOrigins'?)"]


def test_unknown_key_inside_a_list_item_is_named() -> None:
    raw = _raw(prodready__table={"globalSecondaryIndexes": [{"name": "by-name", "hashKey": "name", "sortKey": "x"}]})
    problems = _problems("dev", raw)
    assert problems == ["prodready:table.globalSecondaryIndexes[0].sortKey: unknown config key (value 'x')"]


def test_wrong_type_names_key_and_value() -> None:
    problems = _problems("dev", _raw(prodready__lambda={"memoryMb": "lots", "timeoutSeconds": 10}))
    assert len(problems) == 1
    assert problems[0].startswith("prodready:lambda.memoryMb:")
    assert "'lots'" in problems[0]


def test_out_of_range_number() -> None:
    problems = _problems("prod", _raw("prod", prodready__lambda={"memoryMb": 512, "timeoutSeconds": 60}))
    assert problems == ["prodready:lambda.timeoutSeconds: Input should be less than or equal to 29 (got 60)"]


def test_star_cors_origin_refused_in_prod_only() -> None:
    api = {"throttlingRateLimit": 5, "throttlingBurstLimit": 10, "corsOrigins": ["*"]}
    problems = _problems("prod", _raw("prod", prodready__api=api))
    assert problems == ["prodready:api.corsOrigins: '*' is not allowed in a prod stack; list the exact origins"]
    assert load_stack_config("dev", _raw("dev", prodready__api=api)).api.cors_origins == ("*",)


@pytest.mark.parametrize("days", [0, 10, 400 + 1, 9999])
def test_retention_cloudwatch_does_not_accept(days: int) -> None:
    problems = _problems("dev", _raw(prodready__logs={"retentionDays": days, "accessLogRetentionDays": 14}))
    assert len(problems) == 1
    assert problems[0].startswith("prodready:logs.retentionDays:")
    assert f"(got {days})" in problems[0]


@pytest.mark.parametrize("days", CLOUDWATCH_RETENTION_DAYS)
def test_every_retention_cloudwatch_accepts_is_accepted(days: int) -> None:
    config = load_stack_config("dev", _raw(prodready__logs={"retentionDays": days, "accessLogRetentionDays": 14}))
    assert config.logs.retention_days == days


def test_prod_refuses_to_switch_off_data_protection() -> None:
    raw = _raw("prod", prodready__dataProtection={"deletionProtection": False, "pointInTimeRecovery": False,
                                                   "customerManagedKey": True, "protectResources": False})
    problems = _problems("prod", raw)
    assert sorted(problems) == [
        "prodready:dataProtection.deletionProtection: must be true in a prod stack (got False)",
        "prodready:dataProtection.pointInTimeRecovery: must be true in a prod stack (got False)",
        "prodready:dataProtection.protectResources: must be true in a prod stack (got False)",
    ]


def test_prod_access_logs_kept_at_least_90_days() -> None:
    problems = _problems("prod", _raw("prod", prodready__logs={"retentionDays": 30, "accessLogRetentionDays": 60}))
    assert problems == ["prodready:logs.accessLogRetentionDays: prod keeps access logs at least 90 days (got 60)"]


def test_several_mistakes_are_all_reported_at_once() -> None:
    raw = _raw(prodready__lambda={"memoryMb": 64, "timeoutSeconds": 10, "architecture": "sparc"},
               prodready__owner="")
    problems = _problems("dev", raw)
    assert {p.split(":")[1].split(" ")[0] for p in problems} == {
        "lambda.memoryMb", "lambda.architecture", "owner"
    }


def test_missing_profile_and_region() -> None:
    problems = _problems("staging", _raw(prodready__profile=None, aws__region=None))
    assert problems[0].startswith("prodready:profile: required; set it to one of ['dev', 'prod']")
    assert problems[1].startswith("aws:region: required")


def test_an_environment_that_is_not_the_stack_s_name_is_refused_with_the_reason() -> None:
    # The shortcut a new user takes: a staging stack file saying `environment: prod` for prod's settings.
    problems = _problems("staging", _raw("prod", prodready__environment="prod"))
    assert problems == [
        "prodready:environment: 'prod' is not this stack's name: its resources would be tagged Environment=prod "
        "and counted by that environment's budget and cost reports, and prod's by this one's. Remove it (it "
        "defaults to the stack's name); for prod's defaults and protections set prodready:profile instead"]


def test_stack_files_from_before_profiles_still_mean_the_same() -> None:
    # `environment: prod` in the prod stack chose the prod profile; it still does.
    legacy = _raw("prod", prodready__profile=None, prodready__environment="prod")
    config = load_stack_config("prod", legacy)
    assert (config.profile, config.environment) == ("prod", "prod")
    assert _problems("prod", _raw("prod", prodready__profile="qa")) == [
        "prodready:profile: 'qa' is not one of ['dev', 'prod']"]


def test_provisioned_billing_needs_capacity() -> None:
    problems = _problems("dev", _raw(prodready__table={"billingMode": "PROVISIONED"}))
    assert problems == [
        "prodready:table: billingMode PROVISIONED needs readCapacity and writeCapacity (got {'billingMode': "
        "'PROVISIONED'})"
    ]


def test_other_namespaces_are_not_ours_to_police() -> None:
    config = load_stack_config("dev", _raw(aws__profile="default", pulumi__template="x"))
    assert config.region == "eu-west-1"


def _api(stack: str, **changes: Any) -> dict[str, Any]:
    raw, _ = stack_config(stack)
    return {**json.loads(raw["prodready:api"]), **changes}


def _route_problems(stack: str, **changes: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(stack, _raw(stack, prodready__api=_api(stack, **changes)), route_keys=ROUTE_KEYS,
                          throttle_classes=ROUTE_THROTTLE_CLASSES)
    return caught.value.problems


def test_both_stacks_default_to_cognito_and_throttle_writes_below_reads() -> None:
    for stack in COMMITTED_STACKS:
        api = load_stack_config(stack, _raw(stack), route_keys=ROUTE_KEYS, throttle_classes=ROUTE_THROTTLE_CLASSES).api
        assert api.auth.mode == "cognito"
        limits = api.route_limits(ROUTE_THROTTLE_CLASSES)
        assert set(limits) == {"POST /items", "PUT /items/{id}", "DELETE /items/{id}"}
        assert all(r.rate_limit < api.throttling_rate_limit for r in limits.values()), stack


def test_mode_none_is_allowed_in_dev_only_when_written() -> None:
    config = load_stack_config("dev", _raw(prodready__api=_api("dev", auth={"mode": "none"})))
    assert config.api.auth.mode == "none"
    problems = _route_problems("prod", auth={"mode": "none"})
    assert problems == [
        "prodready:api.auth.mode: 'none' is refused in a prod stack: every non-public route needs an authorizer "
        "(use cognito or jwt)"
    ]


@pytest.mark.parametrize(("auth", "expected"), [
    ({"mode": "jwt", "audience": ["x"]}, "mode jwt needs issuer"),
    ({"mode": "jwt", "issuer": "https://issuer.example.com/"}, "mode jwt needs audience"),
    ({"mode": "jwt", "issuer": "http://issuer.example.com/", "audience": ["x"]}, "should match pattern"),
    ({"mode": "cognito", "issuer": "https://issuer.example.com/"}, "issuer do(es) not apply to mode cognito"),
    ({"mode": "none", "domainPrefix": "catalog-auth"}, "domainPrefix do(es) not apply to mode none"),
    ({"mode": "cognito", "domainPrefix": "my-aws-login"}, "domainPrefix may not contain aws"),
    ({"mode": "oauth"}, "Input should be 'cognito', 'jwt' or 'none'"),
])
def test_bad_auth_settings_are_named(auth: dict[str, Any], expected: str) -> None:
    problems = _route_problems("dev", auth=auth)
    assert len(problems) == 1, problems
    assert problems[0].startswith("prodready:api.auth"), problems
    assert expected in problems[0], problems


def test_route_throttling_names_unknown_routes_and_bad_limits() -> None:
    problems = _route_problems("prod", routeThrottling={"PATCH /items": {"rateLimit": 1, "burstLimit": 2}})
    assert len(problems) == 1 and problems[0].startswith("prodready:api.routeThrottling: unknown route key(s)")
    assert "PATCH /items" in problems[0]
    problems = _route_problems("prod", routeThrottling={"POST /items": {"rateLimit": 50, "burstLimit": 10}})
    assert problems == ['prodready:api.routeThrottling["POST /items"]: burstLimit (10) must be >= rateLimit (50) '
                        "(got {'rateLimit': 50, 'burstLimit': 10})"]


def test_throttle_classes_must_be_classes_of_the_route_table() -> None:
    writes = {"writes": {"rateLimit": 1, "burstLimit": 2}}
    with pytest.raises(ConfigError) as caught:
        load_stack_config("prod", _raw("prod", prodready__api=_api("prod", throttleClasses=writes)),
                          route_keys=ROUTE_KEYS, throttle_classes=ROUTE_THROTTLE_CLASSES)
    assert str(caught.value).startswith("invalid configuration for stack 'prod' (1 problem(s))")
    (problem,) = caught.value.problems
    assert problem.startswith("prodready:api.throttleClasses: unknown throttle class(es) ['writes']; the API's "
                              "routes have classes ['health', 'read', 'write'] (got {"), problem


def test_a_routes_own_throttling_wins_over_its_class() -> None:
    classes = {"GET /a": "read", "POST /a": "write", "PUT /a": "write"}
    write, own = RouteThrottle(rate_limit=10, burst_limit=20), RouteThrottle(rate_limit=5, burst_limit=10)
    api = ApiConfig(throttling_rate_limit=50, throttling_burst_limit=100, throttle_classes={"write": write},
                    route_throttling={"PUT /a": own})

    assert api.route_limits(classes) == {"POST /a": write, "PUT /a": own}
    assert ApiConfig(throttling_rate_limit=50, throttling_burst_limit=100).route_limits(classes) == {}
    with pytest.raises(ValueError, match=r"no route has throttle class\(es\) \['write'\]"):
        api.route_limits({"GET /a": "read"})


def test_prod_refuses_log_groups_without_a_customer_managed_key() -> None:
    logs = {"retentionDays": 90, "accessLogRetentionDays": 365, "customerManagedKey": False}
    with pytest.raises(ConfigError) as caught:
        load_stack_config("prod", _raw("prod", prodready__logs=logs))
    assert caught.value.problems == ["prodready:logs.customerManagedKey: must be true in a prod stack (got False)"]


def test_snapstart_is_on_in_prod_and_off_in_dev_by_default() -> None:
    assert load_stack_config("prod", _raw("prod")).lambda_.snap_start is True
    assert load_stack_config("dev", _raw("dev")).lambda_.snap_start is False


def _lambda(stack: str, **changes: Any) -> dict[str, Any]:
    raw, _ = stack_config(stack)
    return {**json.loads(raw.get("prodready:lambda", "{}")), **changes}


def test_combinations_lambda_refuses_are_refused_naming_the_keys() -> None:
    # SnapStart is on in prod's profile: provisioned concurrency alone conflicts with it.
    problems = _problems("prod", _raw("prod", prodready__lambda=_lambda("prod", provisionedConcurrency=5)))
    assert len(problems) == 1 and problems[0].startswith(
        "prodready:lambda: snapStart and provisionedConcurrency: Lambda does not support SnapStart with provisioned "
        "concurrency; choose one")
    problems = _problems("prod", _raw("prod", prodready__lambda=_lambda(
        "prod", snapStart=False, provisionedConcurrency=101)))
    assert problems[0].startswith("prodready:lambda: provisionedConcurrency (101) cannot exceed reservedConcurrency "
                                  "(100)")
    accepted = load_stack_config("prod", _raw("prod", prodready__lambda=_lambda(
        "prod", snapStart=False, provisionedConcurrency=100)))
    assert accepted.lambda_.provisioned_concurrency == 100


def test_delivery_defaults_and_bad_values_are_named() -> None:
    prod, dev = load_stack_config("prod", _raw("prod")).delivery, load_stack_config("dev", _raw("dev")).delivery
    assert (prod.strategy, prod.percentage, prod.interval_minutes, prod.pre_traffic_check) == ("canary", 10, 5, True)
    assert (dev.strategy, dev.pre_traffic_check) == ("all-at-once", True)
    assert _problems("prod", _raw("prod", prodready__delivery={"strategy": "blue"})) == [
        "prodready:delivery.strategy: Input should be 'canary', 'linear' or 'all-at-once' (got 'blue')"]
    assert _problems("prod", _raw("prod", prodready__delivery={"percentage": 100}))[0].startswith(
        "prodready:delivery.percentage: Input should be less than or equal to 99")


def test_the_post_traffic_check_is_on_in_both_profiles_and_takes_a_boolean_only() -> None:
    for stack in ("prod", "dev"):
        assert load_stack_config(stack, _raw(stack)).delivery.post_traffic_check is True
    off = load_stack_config("dev", _raw("dev", prodready__delivery={"strategy": "all-at-once",
                                                                     "postTrafficCheck": False}))
    assert off.delivery.post_traffic_check is False
    for value in ("no", "yes", 1):
        assert _problems("prod", _raw("prod", prodready__delivery={"postTrafficCheck": value})) == [
            f"prodready:delivery.postTrafficCheck: Input should be a valid boolean (got {value!r})"]


@pytest.mark.parametrize("origin", ["http://localhost.evil.example", "http://example.com", "https://example.com/app",
                                    "https://", "ftp://example.com", "https://example.com:99999x"])
def test_origins_that_are_not_an_origin_or_not_local_over_http_are_refused(origin: str) -> None:
    api = {"throttlingRateLimit": 5, "throttlingBurstLimit": 10, "corsOrigins": [origin]}
    problems = _problems("dev", _raw("dev", prodready__api=api))
    assert len(problems) == 1 and problems[0].startswith(f"prodready:api.corsOrigins: CORS origin {origin!r} must be")


def test_local_http_origins_are_for_dev_only() -> None:
    api = {"throttlingRateLimit": 5, "throttlingBurstLimit": 10,
           "corsOrigins": ["http://localhost:3000", "http://127.0.0.1", "https://app.example.com:8443"]}
    assert len(load_stack_config("dev", _raw("dev", prodready__api=api)).api.cors_origins) == 3
    problems = _problems("prod", _raw("prod", prodready__api=api))
    assert problems == ["prodready:api.corsOrigins: plain http origins ['http://localhost:3000', 'http://127.0.0.1'] "
                        "are not allowed in a prod stack; use https"]


def test_a_release_longer_than_the_deploy_credentials_last_is_refused_naming_the_keys() -> None:
    # Linear 10% every 10 minutes: 9 steps of shifting (90 min) plus 15 for CodeDeploy and the hooks.
    slow = {"strategy": "linear", "percentage": 10, "intervalMinutes": 10}
    (problem,) = _problems("prod", _raw("prod", prodready__delivery=slow))
    assert problem.startswith("prodready:delivery: a linear release of 10% every 10 min takes up to 105 min (90 of "
                              "traffic shifting, 15 for CodeDeploy and the hooks), more than maxReleaseMinutes (45)")
    assert "deploy role's session duration and the CI job's timeout" in problem
    # A canary of 30 minutes fits the default exactly; one more minute does not.
    assert load_stack_config("prod", _raw("prod", prodready__delivery={"intervalMinutes": 30})).delivery \
        .release_minutes == 45
    assert _problems("prod", _raw("prod", prodready__delivery={"intervalMinutes": 31}))
    # Raised together with the role's session, a long release is accepted.
    raised = load_stack_config("prod", _raw("prod", prodready__delivery={**slow, "maxReleaseMinutes": 120}))
    assert raised.delivery.release_minutes == 105


def test_release_windows_are_validated_naming_the_key() -> None:
    window = {"days": ["Tue", "Wed", "Thu"], "startHour": 2, "endHour": 4}
    config = load_stack_config("prod", _raw("prod", prodready__delivery={"windows": [window]}))
    assert [str(w.window()) for w in config.delivery.windows] == ["Tue-Thu 02:00-04:00 UTC"]
    (problem,) = _problems("prod", _raw("prod", prodready__delivery={"windows": [{**window, "startHour": 4}]}))
    assert problem.startswith("prodready:delivery.windows[0]") or "delivery.windows" in problem, problem
    assert "startHour (4) must be before endHour (4)" in problem
    (problem,) = _problems("prod", _raw("prod", prodready__delivery={"windows": [{**window, "days": ["Friday"]}]}))
    assert "delivery.windows" in problem and "days" in problem, problem
    (problem,) = _problems("prod", _raw("prod", prodready__delivery={"windows": [window, window]}))
    assert "the same window is declared twice" in problem


def test_the_error_budget_freeze_needs_the_burn_rate_alarms_it_reads() -> None:
    monitoring = json.loads(_raw("prod")["prodready:monitoring"])
    monitoring["slo"] = {**monitoring.get("slo", {}), "burnRateAlerts": False}
    raw = _raw("prod", prodready__delivery={"freezeOnErrorBudget": True}, prodready__monitoring=monitoring)
    (problem,) = _problems("prod", raw)
    assert "delivery.freezeOnErrorBudget" in problem and "monitoring.slo.burnRateAlerts" in problem
    assert load_stack_config("prod", _raw("prod", prodready__delivery={"freezeOnErrorBudget": True})) \
        .delivery.freeze_on_error_budget


# -- the AWS provider's own settings


def test_the_aws_settings_of_a_stack_file_reach_the_provider_as_its_arguments() -> None:
    raw = _raw("dev", aws__profile="catalog-dev", aws__allowedAccountIds=["123456789012"],
               aws__assumeRoles=[{"roleArn": "arn:aws:iam::123456789012:role/deploy", "sessionName": "ci",
                                  "externalId": "x-1"}], aws__maxRetries="5")
    settings = load_stack_config("dev", raw).aws_provider
    assert settings == {
        "profile": "catalog-dev",
        "allowed_account_ids": ["123456789012"],
        "assume_roles": [{"role_arn": "arn:aws:iam::123456789012:role/deploy", "session_name": "ci",
                          "external_id": "x-1"}],
        "max_retries": 5,
    }


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("aws__allowedAccountId", ["123456789012"],
     "aws:allowedAccountId: an AWS provider setting this program does not pass on (did you mean 'allowedAccountIds'?)"),
    ("aws__defaultTags", {"tags": {"Team": "x"}}, "aws:defaultTags: not honoured: the program tags every resource"),
    ("aws__accessKey", "AKIA...", "aws:accessKey: not honoured: never keep credentials in a stack file"),
    ("aws__allowedAccountIds", ["12345"], "aws:allowedAccountIds: account ids are 12 digits (got ['12345'])"),
    ("aws__allowedAccountIds", "123456789012", "aws:allowedAccountIds: a list expected"),
    ("aws__assumeRoles", [{"sessionName": "ci"}], "aws:assumeRoles: each role needs a roleArn"),
])
def test_aws_settings_the_program_cannot_honour_are_refused_by_name(key: str, value: Any, expected: str) -> None:
    problems = _problems("dev", _raw("dev", **{key: value}))
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_the_prod_profile_requires_the_account_it_may_deploy_to() -> None:
    problems = _problems("prod", _raw("prod", aws__allowedAccountIds=None))
    assert problems == ["aws:allowedAccountIds: required with the prod profile: the AWS provider then "
                        "refuses to deploy into any other account (pulumi config set --path "
                        "'aws:allowedAccountIds[0]' <account id>)"]
    assert load_stack_config("dev", _raw("dev")).aws_provider == {}  # dev may leave it out


def test_a_config_error_is_a_pulumi_run_error_so_the_engine_prints_only_its_message() -> None:
    from pulumi.errors import RunError

    with pytest.raises(RunError, match="invalid configuration for stack 'dev'"):
        load_stack_config("dev", _raw("dev", prodready__tabel="{}"))
