"""lambda-safe-deployment: API integrations invoke an alias that a deployment group releases with
alarm rollback, through releases that run both traffic hooks. Each case must fire on the broken stack
and stay quiet on the correct one."""

from __future__ import annotations

from typing import Any

from prodready_policy.delivery import SAFE_DEPLOYMENT, check_safe_deployment

from tests.policy.builders import ACCOUNT, REGION, UNKNOWN, StackBuilder, mutate, stack_views
from tests.policy.conftest import only

FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:api"


def _invoke_arn(target: str) -> str:
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{target}/invocations"


GOOD_GROUP: dict[str, Any] = {
    "appName": "catalog", "deploymentGroupName": "catalog-live",
    "deploymentStyle": {"deploymentOption": "WITH_TRAFFIC_CONTROL", "deploymentType": "BLUE_GREEN"},
    "alarmConfiguration": {"enabled": True, "alarms": ["catalog-api-alias-error-rate"]},
    "autoRollbackConfiguration": {"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM",
                                                               "DEPLOYMENT_STOP_ON_REQUEST"]},
}


HOOKS = {"hookFunction": "catalog-pre-traffic", "afterHookFunction": "catalog-post-traffic"}


def _stack(*, uri: Any = None, group: dict[str, Any] | None = GOOD_GROUP, release: bool = True,
           alias_name: str = "live", hooks: dict[str, Any] | None = None) -> StackBuilder:
    """A served alias, its group and the release linking them; `hooks` the release's hook inputs (default:
    both, each computed from a hook function of the stack)."""
    stack = StackBuilder()
    function = stack.function("api")
    hook_functions = {key: stack.function(name) for key, name in HOOKS.items()}
    alias = stack.add("aws:lambda/alias:Alias", "api-live", {"name": alias_name, "functionName": "api"},
                      {"arn": f"{FUNCTION_ARN}:{alias_name}", "invokeArn": _invoke_arn(f"{FUNCTION_ARN}:{alias_name}")},
                      deps={"functionName": [function]})
    integration_uri = _invoke_arn(f"{FUNCTION_ARN}:{alias_name}") if uri is None else uri
    deps = {"integrationUri": [alias]} if uri is None or uri is UNKNOWN else {}
    stack.add("aws:apigatewayv2/integration:Integration", "api-integration",
              {"apiId": "a1b2c3d4e5", "integrationType": "AWS_PROXY", "integrationUri": integration_uri}, deps=deps)
    if group is not None:
        group_urn = stack.add("aws:codedeploy/deploymentGroup:DeploymentGroup", "delivery-group", group)
        if release:
            given = HOOKS if hooks is None else hooks
            stack.add("pulumi-python:dynamic/prodready:Release", "delivery-release",
                      {"functionName": "api", "alias": alias_name, "deploymentGroup": "catalog-live", **given},
                      deps={"functionName": [function], "alias": [alias], "deploymentGroup": [group_urn],
                            **{key: [hook_functions[key]] for key, value in given.items()
                               if key in hook_functions and value == HOOKS[key]}})
    return stack


def _findings(stack: StackBuilder, **config: object) -> list[tuple[str, str]]:
    found = check_safe_deployment(stack_views(stack.plan()), SAFE_DEPLOYMENT.effective_config(config))
    return [((urn or "").rsplit("::", 1)[-1], message) for urn, message in found]


def test_alias_released_by_a_group_with_alarm_rollback_passes():
    assert _findings(_stack()) == []


def test_alias_known_only_through_dependencies_during_a_preview_passes():
    assert _findings(_stack(uri=UNKNOWN)) == []


def test_unqualified_function_fires():
    findings = _findings(_stack(uri=_invoke_arn(FUNCTION_ARN)))
    assert findings == [("api-integration", "integration 'api-integration' invokes function 'api' unqualified "
                                            "($LATEST): every deployment would send all traffic to new code at once.")]


def test_latest_and_pinned_versions_fire():
    assert "unqualified ($LATEST)" in _findings(_stack(uri=_invoke_arn(f"{FUNCTION_ARN}:$LATEST")))[0][1]
    assert "invokes version 7 of 'api': a pinned version bypasses traffic shifting" in \
        _findings(_stack(uri=_invoke_arn(f"{FUNCTION_ARN}:7")))[0][1]


def test_preview_integration_computed_from_the_function_itself_fires():
    stack = StackBuilder()
    function = stack.function("api")
    stack.add("aws:apigatewayv2/integration:Integration", "api-integration",
              {"integrationType": "AWS_PROXY", "integrationUri": UNKNOWN}, deps={"integrationUri": [function]})
    assert _findings(stack) == [("api-integration", "integration 'api-integration' invokes function 'api-lambda' "
                                                    "itself (its $LATEST), not an alias a deployment shifts.")]


def test_alias_without_any_deployment_group_fires():
    findings = _findings(_stack(group=None))
    assert findings == [("api-live", "alias 'api-live' serves an API but no CodeDeploy deployment group releases "
                                     "it: new versions would reach it without traffic shifting or rollback.")]


def test_the_alias_served_is_the_invoked_functions_among_aliases_of_the_same_name():
    """Every function may have its `live`: the integration's is found by function and alias name, in any order."""
    stack = StackBuilder()
    stack.add("aws:lambda/alias:Alias", "worker-live", {"name": "live", "functionName": "worker"})
    stack.add("aws:lambda/alias:Alias", "api-live", {"name": "live", "functionName": "api"})
    stack.add("aws:apigatewayv2/integration:Integration", "api-integration",
              {"apiId": "a1b2c3d4e5", "integrationType": "AWS_PROXY",
               "integrationUri": _invoke_arn(f"{FUNCTION_ARN}:live")})
    assert [name for name, _ in _findings(stack)] == ["api-live"]

def test_a_group_that_releases_something_else_does_not_count():
    assert [name for name, _ in _findings(_stack(release=False))] == ["api-live"]
    stack = _stack(release=False)
    other = stack.add("aws:lambda/alias:Alias", "worker-live", {"name": "live", "functionName": "worker"})
    group = stack.urn("aws:codedeploy/deploymentGroup:DeploymentGroup", "delivery-group")
    stack.add("pulumi-python:dynamic/prodready:Release", "worker-release", {"alias": "live"},
              deps={"alias": [other], "deploymentGroup": [group]})
    assert [name for name, _ in _findings(stack)] == ["api-live"]


def test_group_without_rollback_on_alarm_fires():
    group = {**GOOD_GROUP, "autoRollbackConfiguration": {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}}
    assert _findings(_stack(group=group)) == [(
        "delivery-group", "deployment group 'delivery-group' does not roll back automatically on "
                          "DEPLOYMENT_STOP_ON_ALARM, so a bad release of alias 'api-live' stays live.")]
    disabled = {**GOOD_GROUP, "autoRollbackConfiguration": {"enabled": False, "events": list(
        GOOD_GROUP["autoRollbackConfiguration"]["events"])}}
    assert "autoRollbackConfiguration is disabled" in _findings(_stack(group=disabled))[0][1]


def test_group_watching_no_alarms_fires():
    for alarms in ({"enabled": True, "alarms": []}, {"enabled": False, "alarms": ["x"]}):
        findings = _findings(_stack(group={**GOOD_GROUP, "alarmConfiguration": alarms}))
        assert findings == [("delivery-group", "deployment group 'delivery-group' watches no alarms "
                             "(alarmConfiguration), so a bad release of alias 'api-live' stays live.")]


def test_a_shape_the_stack_forbids_fires_and_others_pass():
    all_at_once = {**GOOD_GROUP, "deploymentConfigName": "CodeDeployDefault.LambdaAllAtOnce"}
    prod = {"forbiddenDeploymentConfigs": ["CodeDeployDefault.LambdaAllAtOnce"]}
    assert _findings(_stack(group=all_at_once), **prod) == [(
        "delivery-group", "deployment group 'delivery-group' shifts traffic with CodeDeployDefault.LambdaAllAtOnce, "
                          "which this stack forbids, so a bad release of alias 'api-live' stays live.")]
    assert _findings(_stack(group={**GOOD_GROUP, "deploymentConfigName": "catalog-prod-canary-10pct-5min"}),
                     **prod) == []
    assert _findings(_stack(group=all_at_once)) == []  # dev's config forbids nothing


def test_dev_plan_judged_by_prods_config_is_refused_for_releasing_all_at_once(dev_plan, analyze):
    from tools.plan.policy import POLICY_PACK_DIR

    report = analyze(dev_plan, config=POLICY_PACK_DIR / "config" / "prod.json")
    (violation,) = only(report, "lambda-safe-deployment")
    assert "CodeDeployDefault.LambdaAllAtOnce" in violation.message and violation.mandatory


HOOK_MESSAGE = ("a release of alias 'api-live' must check the new version before traffic moves and the service "
                "after it has moved, so that a failed check rolls it back.")


def test_a_release_without_its_post_traffic_hook_fires():
    findings = _findings(_stack(hooks={"hookFunction": "catalog-pre-traffic", "afterHookFunction": ""}))
    assert findings == [("delivery-release", "release 'delivery-release' runs no AfterAllowTraffic hook "
                                             f"(afterHookFunction is empty): {HOOK_MESSAGE}")]


def test_a_release_without_any_hook_fires_once_per_missing_hook():
    findings = _findings(_stack(hooks={}))
    assert [message.split(":")[0] for _, message in findings] == [
        "release 'delivery-release' runs no BeforeAllowTraffic hook (hookFunction is empty)",
        "release 'delivery-release' runs no AfterAllowTraffic hook (afterHookFunction is empty)"]


def test_a_hook_that_is_no_function_of_the_stack_fires():
    findings = _findings(_stack(hooks={**HOOKS, "afterHookFunction": "someone-elses-hook"}))
    expected = ("release 'delivery-release' names AfterAllowTraffic hook 'someone-elses-hook', which is no "
                f"function of this stack: {HOOK_MESSAGE}")
    assert findings == [("delivery-release", expected)]


def test_hooks_named_as_the_stacks_functions_or_unknown_in_a_preview_pass():
    # Named without a recorded dependency (a literal name), but a function of the stack has that name.
    stack = _stack(hooks=dict(HOOKS))
    for resource in stack.resources:
        if resource.name == "delivery-release":
            resource.property_dependencies.pop("afterHookFunction", None)
    assert _findings(stack) == []
    assert _findings(_stack(hooks={"hookFunction": UNKNOWN, "afterHookFunction": UNKNOWN})) == []


def test_the_hooks_a_stack_requires_are_configurable():
    only_before = {"hookFunction": "catalog-pre-traffic", "afterHookFunction": ""}
    assert _findings(_stack(hooks=only_before), requiredHooks=["BeforeAllowTraffic"]) == []
    assert _findings(_stack(hooks={}), requiredHooks=[]) == []
    schema = SAFE_DEPLOYMENT.config_properties["requiredHooks"]
    assert schema["default"] == ["BeforeAllowTraffic", "AfterAllowTraffic"]
    assert schema["items"]["enum"] == ["BeforeAllowTraffic", "AfterAllowTraffic"]


def test_prod_plan_without_its_post_traffic_hook_is_refused(prod_plan, analyze):
    def drop_hook(resource):
        for props in (resource.inputs, resource.outputs):
            props["afterHookFunction"] = ""

    broken = mutate(prod_plan, "catalog-delivery-release", drop_hook)
    (violation,) = only(analyze(broken), "lambda-safe-deployment")
    assert violation.mandatory
    assert "runs no AfterAllowTraffic hook (afterHookFunction is empty)" in violation.message


def test_prod_plan_with_the_post_traffic_check_switched_off_is_refused(plan_with, analyze):
    variant = plan_with("prod", {"prodready:delivery": {"postTrafficCheck": False}})
    (violation,) = only(analyze(variant), "lambda-safe-deployment")
    assert violation.mandatory and "AfterAllowTraffic" in violation.message


def test_group_alarms_unknown_in_a_preview_are_not_judged():
    group = {**GOOD_GROUP, "alarmConfiguration": {"enabled": True, "alarms": UNKNOWN}}
    assert _findings(_stack(group=group)) == []


def test_alias_the_stack_does_not_manage_fires():
    findings = _findings(_stack(uri=_invoke_arn(f"{FUNCTION_ARN}:blue")))
    assert findings[0][0] == "api-integration"
    assert "alias 'blue' of 'api', which this stack does not manage" in findings[0][1]


def test_non_lambda_integrations_are_ignored():
    stack = StackBuilder()
    stack.add("aws:apigatewayv2/integration:Integration", "http-integration",
              {"integrationType": "HTTP_PROXY", "integrationUri": "https://backend.example.com"})
    assert _findings(stack) == []


def test_prod_plan_passes_and_fires_once_its_integration_targets_the_function(prod_plan, analyze):
    assert only(analyze(prod_plan), "lambda-safe-deployment") == []

    def unqualify(resource):
        for props in (resource.inputs, resource.outputs):
            props["integrationUri"] = props["integrationUri"].replace(":live/invocations", "/invocations")

    broken = mutate(prod_plan, "catalog-http-integration", unqualify)
    violations = only(analyze(broken), "lambda-safe-deployment")
    assert len(violations) == 1 and "unqualified ($LATEST)" in violations[0].message
    assert violations[0].mandatory
