"""Safe delivery as data: names, the deployment configuration, and the policies of the CodeDeploy
service role and the traffic hooks. Pure functions, tested without Pulumi.

What AWS documents and these follow (CodeDeploy User Guide, "Deployment configurations on an AWS Lambda
compute platform" and "AppSpec 'hooks' section"; API reference: AlarmConfiguration, TrafficRoutingConfig,
PutLifecycleEventHookExecutionStatus):
- Lambda deployments shift an alias in one of two shapes, TimeBasedCanary (one step, then the rest) and
  TimeBasedLinear (equal steps at equal intervals), or AllAtOnce;
- a deployment group watches at most 10 CloudWatch alarms and rolls back when one is in ALARM;
- a BeforeAllowTraffic hook runs before any traffic moves, an AfterAllowTraffic hook once all of it has
  moved; each must report Succeeded or Failed within an hour, else the deployment fails, and a Failed
  report fails the deployment (which rolls back: DEPLOYMENT_FAILURE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.delivery.settings import DeliveryConfig

PolicyDocument = dict[str, Any]

# AlarmConfiguration.alarms: "A maximum of 10 alarms can be added."
MAX_DEPLOYMENT_ALARMS = 10
ALL_AT_ONCE = "CodeDeployDefault.LambdaAllAtOnce"
# Every automatic rollback CodeDeploy offers: a failed hook or step, an alarm, a stop on request.
ROLLBACK_EVENTS: tuple[str, ...] = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST")
# What the deployment group tells the warning topic: every release's start and end, and any rollback.
NOTIFIED_EVENTS: tuple[str, ...] = (
    "DeploymentStart", "DeploymentSuccess", "DeploymentFailure", "DeploymentStop", "DeploymentRollback",
)
RELEASE_OVERHEAD_SECONDS = DeliveryConfig.OVERHEAD_MINUTES * 60


@dataclass(frozen=True)
class DeliveryNames:
    """The physical names of a stack's delivery resources, computable before any exists (the hook's
    role must name the deployment group it reports to, and the group names the hook)."""

    application: str
    group: str
    hook_function: str
    """The BeforeAllowTraffic hook."""
    post_hook_function: str
    """The AfterAllowTraffic hook."""


def delivery_names(name_prefix: str) -> DeliveryNames:
    return DeliveryNames(
        application=name_prefix, group=f"{name_prefix}-live", hook_function=f"{name_prefix}-pre-traffic",
        post_hook_function=f"{name_prefix}-post-traffic",
    )


@dataclass(frozen=True)
class TrafficShift:
    """A deployment configuration: a predefined one by name, or a custom one with its routing."""

    name: str
    routing: dict[str, Any] | None
    """`TrafficRoutingConfig` of a custom configuration (`type`, `timeBasedCanary`/`timeBasedLinear`);
    None for a predefined configuration."""


def traffic_shift(name_prefix: str, delivery: DeliveryConfig) -> TrafficShift:
    """The deployment configuration for `delivery`. Custom configurations carry their shape in their name:
    CodeDeploy configurations cannot be changed, so a new shape is a new configuration."""
    if delivery.strategy == "all-at-once":
        return TrafficShift(ALL_AT_ONCE, None)
    if delivery.strategy == "canary":
        return TrafficShift(
            f"{name_prefix}-canary-{delivery.percentage}pct-{delivery.interval_minutes}min",
            {"type": "TimeBasedCanary",
             "timeBasedCanary": {"percentage": delivery.percentage, "interval": delivery.interval_minutes}},
        )
    return TrafficShift(
        f"{name_prefix}-linear-{delivery.percentage}pct-every-{delivery.interval_minutes}min",
        {"type": "TimeBasedLinear",
         "timeBasedLinear": {"percentage": delivery.percentage, "interval": delivery.interval_minutes}},
    )


def release_timeout_seconds(delivery: DeliveryConfig) -> int:
    """How long `pulumi up` waits for a release before stopping it (with rollback)."""
    return delivery.release_minutes * 60


def check_release_alarms(alarm_names: list[str]) -> list[str]:
    """The alarms a deployment group may watch, or a ValueError naming why not."""
    if not alarm_names:
        raise ValueError("a release needs at least one alarm to judge it (the alias alarms and the roll-up)")
    if len(alarm_names) > MAX_DEPLOYMENT_ALARMS:
        raise ValueError(
            f"{len(alarm_names)} release alarms, but a CodeDeploy deployment group watches at most "
            f"{MAX_DEPLOYMENT_ALARMS}: {alarm_names}"
        )
    return alarm_names


def deployment_group_arn(partition: str, region: str, account_id: str, names: DeliveryNames) -> str:
    return f"arn:{partition}:codedeploy:{region}:{account_id}:deploymentgroup:{names.application}/{names.group}"


def function_arn(partition: str, region: str, account_id: str, function_name: str) -> str:
    return f"arn:{partition}:lambda:{region}:{account_id}:function:{function_name}"


def application_arn(group_arn: str) -> str:
    """The ARN of the application a deployment group ARN names (`...:deploymentgroup:<app>/<group>`)."""
    prefix, _, path = group_arn.partition(":deploymentgroup:")
    return f"{prefix}:application:{path.split('/', 1)[0]}"


def hook_statements(group_arn: str, target_function_arn: str, alias: str | None = None) -> list[dict[str, Any]]:
    """What a traffic hook calls besides logs and traces: it reads its deployment (for the version under
    test), invokes that version (the pre-traffic hook) or the alias that now serves it (`alias`, the
    post-traffic hook), and reports to CodeDeploy."""
    return [
        {
            # Both act on the deployment group: the grant AWS CDK's LambdaDeploymentGroup gives a hook
            # (grantPutLifecycleEventHookExecutionStatus) is on the group's ARN too.
            "Sid": "ReadAndReportItsDeployments",
            "Effect": "Allow",
            "Action": ["codedeploy:GetDeployment", "codedeploy:PutLifecycleEventHookExecutionStatus"],
            "Resource": group_arn,
        },
        {
            # GetDeployment returns the revision without its AppSpec: the hook reads it by its hash from the
            # application (GetApplicationRevision's resource type is the application).
            "Sid": "ReadItsRevisions",
            "Effect": "Allow",
            "Action": "codedeploy:GetApplicationRevision",
            "Resource": application_arn(group_arn),
        },
        {
            # The version under test is known only at deployment time: any published version of the
            # one function the group deploys, never another function.
            "Sid": "InvokeTheVersionUnderTest",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": f"{target_function_arn}:*",
        }
        if alias is None
        else {
            # After the shift the alias is what API Gateway invokes: the hook checks it, and nothing else.
            "Sid": "InvokeTheReleasedAlias",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": f"{target_function_arn}:{alias}",
        },
    ]


def service_role_trust() -> PolicyDocument:
    # The trust policy CodeDeploy documents for its service role ("Step 2: Create a service role for
    # CodeDeploy"). A role cannot be passed to a service in another account (iam:PassRole), so only
    # this account's deployment groups can use it.
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "codedeploy.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }],
    }


def service_role_policy(
    function_arn: str,
    alias_arn: str,
    hook_function_arn: str | None,
    notification_topic_arn: str | None,
    notification_key_arn: str | None,
    post_hook_function_arn: str | None = None,
) -> PolicyDocument:
    """CodeDeploy's service role for one function: AWSCodeDeployRoleForLambda narrowed to this stack.

    The managed policy allows its Lambda and SNS actions on `*` and invokes hooks named
    `CodeDeployHook_*`; here each is scoped to the one function, its hooks and the one topic.
    """
    statements: list[dict[str, Any]] = [
        {
            # Lambda authorises alias reads and updates on the function (the alias is a request
            # parameter; a qualified ARN in a policy does not match them), and no condition key narrows
            # them to one alias name: the function is the narrowest resource.
            "Sid": "ShiftTheLiveAlias",
            "Effect": "Allow",
            "Action": ["lambda:GetAlias", "lambda:UpdateAlias"],
            "Resource": function_arn,
        },
        {
            # Provisioned concurrency is configured on the alias itself.
            "Sid": "ReadProvisionedConcurrency",
            "Effect": "Allow",
            "Action": "lambda:GetProvisionedConcurrencyConfig",
            "Resource": alias_arn,
        },
        {
            # How CodeDeploy polls the group's alarms is not documented; its own managed policy for Lambda
            # (AWSCodeDeployRoleForLambda) grants DescribeAlarms on "*", and an alarm it cannot read stops
            # every release (ignorePollAlarmFailure is off). DescribeAlarms also returns composite alarms
            # only to a permission "scoped to *" (API reference, DescribeAlarms).
            "Sid": "ReadReleaseAlarms",
            "Effect": "Allow",
            "Action": "cloudwatch:DescribeAlarms",
            "Resource": "*",
        },
    ]
    if hook_function_arn:
        statements.append({
            "Sid": "InvokePreTrafficHook",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": hook_function_arn,
        })
    if post_hook_function_arn:
        statements.append({
            "Sid": "InvokePostTrafficHook",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": post_hook_function_arn,
        })
    if notification_topic_arn:
        statements.append({
            "Sid": "NotifyReleases",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": notification_topic_arn,
        })
        if notification_key_arn:
            statements.append({
                # The alert topics are encrypted with a customer-managed key.
                "Sid": "EncryptNotifications",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": notification_key_arn,
            })
    return {"Version": "2012-10-17", "Statement": statements}
