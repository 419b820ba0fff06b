"""`SafeDelivery`: a stack's releases go through CodeDeploy, never straight to all traffic.

A CodeDeploy application (compute platform Lambda) and one deployment group shift the live alias in the
configured shape (canary, linear, all at once) after the pre-traffic hook passed, with the release alarms
watching, then runs the post-traffic hook against the alias; any alarm, a failed hook or a stop on
request rolls the alias back. The `Release` resource makes
`pulumi up` start each deployment and wait for its end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.delivery import documents
from components.delivery.release import Release, ReleaseArgs
from components.delivery.settings import DeliveryConfig
from components.types import SAFE_DELIVERY


@dataclass(frozen=True)
class SafeDeliveryArgs:
    name_prefix: str
    """Stack prefix of the application, group, role and configuration names."""
    region: str
    """Region of the function and the deployment group."""
    delivery: DeliveryConfig
    """Traffic shifting shape and the traffic check switches."""
    function_name: pulumi.Input[str]
    """The service function."""
    function_arn: pulumi.Input[str]
    """Its unqualified ARN (Lambda authorises alias reads and updates on the function)."""
    alias_name: pulumi.Input[str]
    """Its live alias (what the API invokes)."""
    alias_arn: pulumi.Input[str]
    """ARN of the alias: the only thing the service role may shift."""
    target_version: pulumi.Input[str]
    """The function's latest published version: what `pulumi up` releases."""
    alarm_names: pulumi.Input[list[str]]
    """Alarms that judge a release (at most 10): any in ALARM stops and rolls back the deployment."""
    hook_function_name: pulumi.Input[str] | None = None
    """The pre-traffic hook; None when delivery.preTrafficCheck is off."""
    hook_function_arn: pulumi.Input[str] | None = None
    """Its ARN (the service role may invoke it, nothing else)."""
    post_hook_function_name: pulumi.Input[str] | None = None
    """The post-traffic hook; None when delivery.postTrafficCheck is off."""
    post_hook_function_arn: pulumi.Input[str] | None = None
    """Its ARN (the service role may invoke it too)."""
    notification_topic_arn: pulumi.Input[str] | None = None
    """Topic told of each release's start, success, failure and rollback (the warning alert topic)."""
    notification_key_arn: pulumi.Input[str] | None = None
    """Customer-managed key of that topic."""
    source_version: str = ""
    """Content hash of the sources released (the deployment's description)."""
    freeze_alarm_names: pulumi.Input[list[str]] | None = None
    """With delivery.freezeOnErrorBudget: the availability burn-rate alarms that freeze releases."""


class SafeDelivery(pulumi.ComponentResource):
    """CodeDeploy traffic shifting with alarm rollback for one function alias."""

    application_name: pulumi.Output[str]
    deployment_group_name: pulumi.Output[str]
    deployment_config_name: pulumi.Output[str]
    live_version: pulumi.Output[str]

    def __init__(self, name: str, args: SafeDeliveryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(SAFE_DELIVERY, name, None, opts)
        names = documents.delivery_names(args.name_prefix)
        application = self._application(name, names)
        config_name = self._deployment_config(name, args)
        role, role_policy = self._service_role(name, args)
        group = self._deployment_group(name, args, names, application, config_name, role, role_policy)
        release = self._release(name, args, application, group)

        self.application_name = application.name
        self.deployment_group_name = group.deployment_group_name
        self.deployment_config_name = pulumi.Output.from_input(config_name)
        self.live_version = release.live_version
        self.register_outputs(
            {
                "applicationName": self.application_name,
                "deploymentGroupName": self.deployment_group_name,
                "deploymentConfigName": self.deployment_config_name,
                "liveVersion": self.live_version,
            }
        )

    def _application(self, name: str, names: documents.DeliveryNames) -> aws.codedeploy.Application:
        return aws.codedeploy.Application(
            f"{name}-application",
            name=names.application,
            compute_platform="Lambda",
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _deployment_config(self, name: str, args: SafeDeliveryArgs) -> pulumi.Input[str]:
        shift = documents.traffic_shift(args.name_prefix, args.delivery)
        if shift.routing is None:
            return shift.name
        routing = shift.routing
        canary = routing.get("timeBasedCanary")
        linear = routing.get("timeBasedLinear")
        config = aws.codedeploy.DeploymentConfig(
            f"{name}-config",
            deployment_config_name=shift.name,
            compute_platform="Lambda",
            traffic_routing_config=aws.codedeploy.DeploymentConfigTrafficRoutingConfigArgs(
                type=routing["type"],
                time_based_canary=aws.codedeploy.DeploymentConfigTrafficRoutingConfigTimeBasedCanaryArgs(
                    percentage=canary["percentage"], interval=canary["interval"]
                ) if canary else None,
                time_based_linear=aws.codedeploy.DeploymentConfigTrafficRoutingConfigTimeBasedLinearArgs(
                    percentage=linear["percentage"], interval=linear["interval"]
                ) if linear else None,
            ),
            # A configuration cannot be changed; a new shape has a new name and replaces it, created first
            # so the group always has one.
            opts=pulumi.ResourceOptions(parent=self),
        )
        return config.deployment_config_name

    def _service_role(self, name: str, args: SafeDeliveryArgs) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        role = aws.iam.Role(
            f"{name}-role",
            description=f"CodeDeploy service role of {args.name_prefix}'s releases",
            assume_role_policy=json.dumps(documents.service_role_trust()),
            opts=pulumi.ResourceOptions(parent=self),
        )
        document = pulumi.Output.all(
            args.function_arn, args.alias_arn, args.hook_function_arn, args.notification_topic_arn,
            args.notification_key_arn, args.post_hook_function_arn,
        ).apply(lambda v: documents.service_role_policy(*v))
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(document),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role, policy

    def _deployment_group(
        self,
        name: str,
        args: SafeDeliveryArgs,
        names: documents.DeliveryNames,
        application: aws.codedeploy.Application,
        config_name: pulumi.Input[str],
        role: aws.iam.Role,
        role_policy: aws.iam.RolePolicy,
    ) -> aws.codedeploy.DeploymentGroup:
        alarms = pulumi.Output.from_input(args.alarm_names).apply(
            lambda names_: documents.check_release_alarms(list(names_))
        )
        triggers: list[Any] = []
        if args.notification_topic_arn is not None:
            triggers.append(aws.codedeploy.DeploymentGroupTriggerConfigurationArgs(
                trigger_name=f"{args.name_prefix}-releases",
                trigger_events=list(documents.NOTIFIED_EVENTS),
                trigger_target_arn=args.notification_topic_arn,
            ))
        return aws.codedeploy.DeploymentGroup(
            f"{name}-group",
            app_name=application.name,
            deployment_group_name=names.group,
            service_role_arn=role.arn,
            deployment_config_name=config_name,
            # Lambda deployments are blue/green with traffic control: the alias is weighted between the
            # live and the new version, step by step.
            deployment_style=aws.codedeploy.DeploymentGroupDeploymentStyleArgs(
                deployment_option="WITH_TRAFFIC_CONTROL", deployment_type="BLUE_GREEN"
            ),
            alarm_configuration=aws.codedeploy.DeploymentGroupAlarmConfigurationArgs(
                enabled=True,
                alarms=alarms,
                # An alarm CodeDeploy cannot read must stop the release, not be skipped.
                ignore_poll_alarm_failure=False,
            ),
            auto_rollback_configuration=aws.codedeploy.DeploymentGroupAutoRollbackConfigurationArgs(
                enabled=True, events=list(documents.ROLLBACK_EVENTS)
            ),
            trigger_configurations=triggers or None,
            # The role's permissions must be in place before CodeDeploy first uses it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )

    def _release(
        self,
        name: str,
        args: SafeDeliveryArgs,
        application: aws.codedeploy.Application,
        group: aws.codedeploy.DeploymentGroup,
    ) -> Release:
        hook = args.hook_function_name if args.delivery.pre_traffic_check else None
        post_hook = args.post_hook_function_name if args.delivery.post_traffic_check else None
        return Release(
            f"{name}-release",
            ReleaseArgs(
                application=application.name,
                deployment_group=group.deployment_group_name,
                function_name=args.function_name,
                alias=args.alias_name,
                target_version=args.target_version,
                hook_function=hook,
                region=args.region,
                timeout_seconds=documents.release_timeout_seconds(args.delivery),
                description=f"{args.name_prefix} source {args.source_version}" if args.source_version else "",
                retry_failed=args.delivery.retry_failed_version,
                keep_versions=args.delivery.keep_versions,
                after_hook_function=post_hook,
                windows=tuple(w.model_dump(by_alias=True) for w in args.delivery.windows),
                outside_window=args.delivery.outside_window,
                freeze_alarms=args.freeze_alarm_names if args.delivery.freeze_on_error_budget else None,
                ignore_error_budget=args.delivery.ignore_error_budget,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[group]),
        )
