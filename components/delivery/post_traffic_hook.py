"""`PostTrafficHook`: the function CodeDeploy calls once all traffic has moved to a new version.

It sends the smoke test's reads (liveness, readiness, a page of items) through the live alias, which
API Gateway invokes, requires each answer to come from the released version, and reports to CodeDeploy
before the deployment is marked succeeded: a Failed report fails the deployment and the group's
automatic rollback moves the alias back (SAM's `Hooks.PostTraffic`). Built like the pre-traffic hook
(`hook_function`: own log group, least-privilege role, tracing) and watched like it; its role may
invoke the alias only, not the function's versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.delivery import documents
from components.delivery.hook import SHARED_PACKAGE, TrafficHookArgs, hook_function
from components.types import POST_TRAFFIC_HOOK

POST_HOOK_PACKAGE = "post_traffic"
POST_HOOK_HANDLER = "post_traffic.handler.lambda_handler"


@dataclass(frozen=True)
class PostTrafficHookArgs(TrafficHookArgs):
    alias: str = field(kw_only=True)
    """The alias a release shifts and API Gateway invokes: the one thing the hook may invoke."""


class PostTrafficHook(pulumi.ComponentResource):
    """The AfterAllowTraffic hook of a stack's releases."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: PostTrafficHookArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(POST_TRAFFIC_HOOK, name, None, opts)
        function = hook_function(
            self, f"{name}-function", args,
            function_name=documents.delivery_names(args.name_prefix).post_hook_function,
            packages=(POST_HOOK_PACKAGE, SHARED_PACKAGE), handler=POST_HOOK_HANDLER, stage="post-traffic",
            alias=args.alias,
        )
        self.function_name = function.function_name
        self.function_arn = function.arn
        self.log_group_name = function.log_group_name
        self.register_outputs(
            {"functionName": self.function_name, "arn": self.function_arn, "logGroupName": self.log_group_name}
        )
