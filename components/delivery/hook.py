"""`PreTrafficHook`: the function CodeDeploy calls before any traffic moves to a new version.

It invokes the version under test directly, with the API Gateway events of the readiness route and a
read, and reports the result to CodeDeploy: a version that cannot start or cannot reach its table never
gets a request. It is a function like the service's own (log group with retention, customer-managed
key in prod, tracing, least-privilege role) and monitoring watches it like one. `hook_function` builds
it, and the post-traffic hook (components/delivery/post_traffic_hook.py) the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.delivery import documents
from components.service.function import Function, FunctionArgs
from components.service.settings import LambdaConfig
from components.types import PRE_TRAFFIC_HOOK

HOOK_PACKAGE = "pre_traffic"
HOOK_HANDLER = "pre_traffic.handler.lambda_handler"
# What both hooks run: reading the deployment, invoking, judging, reporting (app/traffic_hooks).
SHARED_PACKAGE = "traffic_hooks"
# CodeDeploy waits up to an hour for a hook; the checks take seconds, and a hook that hangs should fail
# the release within a minute, not hold it.
HOOK_TIMEOUT_SECONDS = 60
HOOK_MEMORY_MB = 256


@dataclass(frozen=True)
class TrafficHookArgs:
    name_prefix: str
    """Stack prefix: the hook is `<prefix>-pre-traffic` (or `-post-traffic`), the group it reports to
    `<prefix>-live`."""
    service_name: str
    """Powertools service name of the hook's logs and traces."""
    region: str
    """Region of the hook, the service function and the deployment group."""
    code_dir: Path
    """The Lambda source root (the repository's app/); a hook ships its own package and `traffic_hooks`."""
    target_function_arn: pulumi.Input[str]
    """Unqualified ARN of the service function; the hook may invoke its published versions only."""
    function: LambdaConfig
    """The service function's settings (architecture, Powertools layer version, log level)."""
    log_retention_days: int
    """Retention of the hook's log group."""
    metrics_namespace: str
    """The service's metrics namespace."""
    read_scope: str
    """OAuth scope of the read the hook makes as an authorized caller would."""
    logs_kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed key of the log group (prod)."""
    retain_logs: bool = False
    """Keep the hook's log group when the stack is destroyed."""
    mask_sensitive_data: bool = False
    """Mask identifiers in its logs like the service's (a failed check logs an excerpt of the response)."""


PreTrafficHookArgs = TrafficHookArgs


def hook_function(
    parent: pulumi.Resource,
    name: str,
    args: TrafficHookArgs,
    *,
    function_name: str,
    packages: Sequence[str],
    handler: str,
    stage: str,
    alias: str | None = None,
) -> Function:
    """A traffic hook's function, child of `parent`: the service's function standards, a role that may
    read and report its deployments and invoke the versions of the one function (or, with `alias`, that
    alias only)."""
    names = documents.delivery_names(args.name_prefix)

    # The group does not exist yet (it names the hooks): its ARN is computed from its fixed name, in the
    # partition and account of the function it deploys (arn:<partition>:lambda:<region>:<account>:...).
    def statements(function_arn: str) -> list:
        partition, account = function_arn.split(":")[1], function_arn.split(":")[4]
        group_arn = documents.deployment_group_arn(partition, args.region, account, names)
        return documents.hook_statements(group_arn, function_arn, alias)

    return Function(
        name,
        FunctionArgs(
            function_name=function_name,
            code_dir=args.code_dir,
            handler=handler,
            packages=tuple(packages),
            region=args.region,
            memory_mb=HOOK_MEMORY_MB,
            timeout_seconds=HOOK_TIMEOUT_SECONDS,
            log_retention_days=args.log_retention_days,
            service_name=f"{args.service_name}-{stage}",
            metrics_namespace=args.metrics_namespace,
            architecture=args.function.architecture,
            log_level=args.function.log_level,
            powertools_layer_version=args.function.powertools_layer_version,
            environment={"READ_SCOPE": args.read_scope},
            extra_statements=pulumi.Output.from_input(args.target_function_arn).apply(statements),
            retain_logs=args.retain_logs,
            logs_kms_key_arn=args.logs_kms_key_arn,
            mask_sensitive_data=args.mask_sensitive_data,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


class PreTrafficHook(pulumi.ComponentResource):
    """The BeforeAllowTraffic hook of a stack's releases."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: PreTrafficHookArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(PRE_TRAFFIC_HOOK, name, None, opts)
        function = hook_function(
            self, f"{name}-function", args,
            function_name=documents.delivery_names(args.name_prefix).hook_function,
            packages=(HOOK_PACKAGE, SHARED_PACKAGE), handler=HOOK_HANDLER, stage="pre-traffic",
        )
        self.function_name = function.function_name
        self.function_arn = function.arn
        self.log_group_name = function.log_group_name
        self.register_outputs(
            {"functionName": self.function_name, "arn": self.function_arn, "logGroupName": self.log_group_name}
        )
