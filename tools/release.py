"""Releases of the API function: what is live, stop a deployment in progress, roll back.

    python -m tools.release status --stack dev
    python -m tools.release stop --stack prod          # stops the deployment in progress; it rolls back
    python -m tools.release rollback --stack prod      # back to the version the last release replaced
    python -m tools.release rollback --stack prod --to-version 41 \\
        --deployment-config CodeDeployDefault.LambdaAllAtOnce

The live alias moves only through the stack's CodeDeploy deployment group, and so does a rollback:
the group's alarms watch it and the pre-traffic hook of the release it undoes checks the old version
first (--hook names another, --no-hook skips it when the hook itself is broken).

Names come from the stack outputs (`pulumi stack output --json -s STACK`: releaseApplication,
releaseDeploymentGroup, functionName, liveAlias, region) or from --outputs FILE; each can be given as
a flag instead, and given them all no Pulumi CLI is needed. Progress goes to standard error, the
report to standard output (--json: one JSON object).

Exit codes: 0 ok; 1 the last release failed or was rolled back, the rollback failed or was refused,
or AWS refused a call; 2 usage error (names that cannot be found, bad flags).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.delivery.deployments import Deployments, ReleaseFailed

OUTPUT_KEYS = {
    "application": "releaseApplication",
    "group": "releaseDeploymentGroup",
    "function": "functionName",
    "alias": "liveAlias",
    "region": "region",
}
DEFAULT_ALIAS = "live"
PULUMI_TIMEOUT_S = 120


class UsageError(Exception):
    """The command line, or the stack outputs it points at, do not say what to act on."""


@dataclass(frozen=True)
class Target:
    """What the command acts on."""

    application: str
    group: str
    function: str
    alias: str
    region: str

    def label(self) -> str:
        """`function:alias (application A, group G, region)`, the first line of every report."""
        return f"{self.function}:{self.alias} (application {self.application}, group {self.group}, {self.region})"


def stack_outputs(stack: str) -> dict[str, Any]:
    """`pulumi stack output --json -s STACK`, parsed."""
    try:
        completed = subprocess.run(
            ["pulumi", "stack", "output", "--json", "-s", stack],
            capture_output=True,
            text=True,
            timeout=PULUMI_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError(
            "the Pulumi CLI is not on PATH: pass --application, --group, --function and --region instead of --stack"
        ) from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"`pulumi stack output -s {stack}` did not answer within {PULUMI_TIMEOUT_S}s") from None
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UsageError(f"`pulumi stack output -s {stack}` failed: {detail[0]}")
    return _outputs_object(completed.stdout, f"the outputs of stack {stack}")


def read_outputs(source: str) -> dict[str, Any]:
    """Stack outputs from a `pulumi stack output --json` file, or - for standard input."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as exc:
        raise UsageError(f"cannot read the stack outputs: {exc}") from None
    return _outputs_object(text, source)


def _outputs_object(text: str, where: str) -> dict[str, Any]:
    try:
        outputs = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{where} are not JSON: {exc}") from None
    if not isinstance(outputs, dict):
        raise UsageError(f"{where} are not a JSON object (`pulumi stack output --json`)")
    return outputs


def default_region() -> str | None:
    """The region of the AWS configuration (AWS_REGION, the profile), if any."""
    import boto3

    return boto3.session.Session().region_name


def resolve(args: argparse.Namespace, region_default: Callable[[], str | None] = default_region) -> Target:
    """Flags first, then the stack outputs (read only when a flag is missing), then defaults."""
    given = {name: getattr(args, name) for name in OUTPUT_KEYS}
    outputs: Mapping[str, Any] = {}
    if args.outputs:
        outputs = read_outputs(args.outputs)
    elif args.stack and not all(given.values()):
        outputs = stack_outputs(args.stack)
    values: dict[str, str] = {}
    for name, key in OUTPUT_KEYS.items():
        value = given[name] or outputs.get(key)
        if value is not None and not isinstance(value, str):
            raise UsageError(f"the stack output `{key}` is not a string: {value!r}")
        values[name] = value or ""
    values["alias"] = values["alias"] or DEFAULT_ALIAS
    values["region"] = values["region"] or region_default() or ""
    missing = [f"--{name}" for name in ("application", "group", "function", "region") if not values[name]]
    if missing:
        source = f"the outputs of stack {args.stack}" if args.stack and not args.outputs else "the stack outputs"
        hint = f"{source} lack them" if args.stack or args.outputs else "or --stack STACK to read them from its outputs"
        raise UsageError(f"missing {', '.join(missing)} ({hint})")
    return Target(**values)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack", help="Pulumi stack whose outputs name what to act on")
    common.add_argument("--outputs", help="`pulumi stack output --json` file, or - for stdin (instead of --stack)")
    common.add_argument("--region", help="AWS region (default: the `region` output, then the AWS configuration)")
    common.add_argument("--application", help="CodeDeploy application (default: the `releaseApplication` output)")
    common.add_argument("--group", help="deployment group (default: the `releaseDeploymentGroup` output)")
    common.add_argument("--function", help="Lambda function (default: the `functionName` output)")
    common.add_argument("--alias", help="alias CodeDeploy moves (default: the `liveAlias` output, else live)")
    common.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    common.add_argument("--poll", type=float, default=10.0, help="seconds between polls while waiting (default 10)")

    parser = argparse.ArgumentParser(
        prog="python -m tools.release",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{status,stop,rollback}")
    commands.add_parser("status", parents=[common], help="the last release, its alarms, rollback and what is live")
    stop = commands.add_parser("stop", parents=[common], help="stop the deployment in progress, with rollback")
    stop.add_argument("--timeout", type=float, default=300.0,
                      help="seconds to wait for it to stop and roll back (default 300; 0: do not wait)")
    rollback = commands.add_parser("rollback", parents=[common], help="shift the alias back through CodeDeploy")
    rollback.add_argument("--to-version", help="version to return to (default: the one the last release replaced)")
    hooks = rollback.add_mutually_exclusive_group()
    hooks.add_argument("--hook", help="pre-traffic hook function (default: the one of the release undone)")
    hooks.add_argument("--no-hook", action="store_true", help="deploy without a pre-traffic hook")
    rollback.add_argument("--deployment-config",
                          help="traffic shifting for this deployment only, e.g. CodeDeployDefault.LambdaAllAtOnce")
    rollback.add_argument("--timeout", type=float, default=1800.0,
                          help="seconds before the rollback is stopped (default 1800)")
    rollback.add_argument("--watch-alarms", action="store_true",
                          help="let the group's alarms stop the rollback too (default: off for it, as AWS "
                               "recommends when returning to a known-good version; needs "
                               "codedeploy:UpdateDeploymentGroup)")
    return parser


def _emit(result: Mapping[str, Any], lines: list[str], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True, default=str))
    else:
        print("\n".join(lines), flush=True)


def _status(deployments: Deployments, target: Target, as_json: bool) -> int:
    detail = deployments.status(target.application, target.group, target.function, target.alias)
    failed = detail["status"] in ("Failed", "Stopped")
    if detail["status"] == "None":
        live = Deployments.traffic(detail["routing"])
        lines = [f"release of {target.label()}", f"  no deployment yet; live now: {live}"]
    else:
        lines = [f"release of {target.label()}", *Deployments.summary(detail)]
    if failed:
        verdict = "FAILED (rolled back)" if detail.get("rolledBack") else "FAILED"
    else:
        verdict = "IN PROGRESS" if detail.get("inProgress") else "OK"
    _emit(detail, [*lines, f"RESULT: {verdict}"], as_json)
    return 1 if failed else 0


def _stop(deployments: Deployments, target: Target, args: argparse.Namespace) -> int:
    result = deployments.stop(
        target.application, target.group, function=target.function, alias=target.alias,
        wait_seconds=args.timeout, poll_seconds=args.poll,
    )
    if not result["deploymentId"]:
        lines = [f"release of {target.label()}", "  no deployment in progress: nothing to stop", "RESULT: OK"]
    else:
        lines = [f"release of {target.label()}",
                 f"  stop requested for deployment {result['deploymentId']} ({result['stopStatus']})"]
        if "routing" in result:
            lines += Deployments.summary(result)
        else:
            lines.append(f"  deployment {result['deploymentId']} is {result['status']}; "
                         f"`python -m tools.release status` shows how it ends")
        lines.append("RESULT: OK (stopped)")
    _emit(result, lines, args.json)
    return 0


def _rollback(deployments: Deployments, target: Target, args: argparse.Namespace) -> int:
    try:
        result = deployments.rollback(
            target.application, target.group, target.function, target.alias, args.to_version,
            hook_function=args.hook, skip_hook=args.no_hook, timeout_seconds=args.timeout,
            poll_seconds=args.poll, deployment_config=args.deployment_config, watch_alarms=args.watch_alarms,
        )
    except ReleaseFailed as failed:
        _emit({"error": str(failed), **failed.detail}, [f"release of {target.label()}", str(failed),
                                                       "RESULT: FAILED"], args.json)
        return 1
    lines = [
        f"release of {target.label()}",
        f"  rolled back from version {result['rolledBackFrom']} to {result['liveVersion']} "
        f"(deployment {result['deploymentId']})",
        "RESULT: OK",
    ]
    _emit(result, lines, args.json)
    return 0


def main(argv: list[str] | None = None, *, factory: Callable[[str], Deployments] | None = None) -> int:
    """Run one command; `factory(region)` makes the Deployments (tests inject clients and time)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.poll <= 0 or getattr(args, "timeout", 0.0) < 0:
        parser.error("--poll must be positive and --timeout not negative")
    try:
        target = resolve(args)
    except UsageError as exc:
        parser.error(str(exc))
    from botocore.exceptions import BotoCoreError, ClientError

    deployments = (factory or Deployments)(target.region)
    # The hints in its messages name this stack's commands.
    deployments.stack = getattr(args, "stack", None) or deployments.stack
    try:
        if args.command == "status":
            return _status(deployments, target, args.json)
        if args.command == "stop":
            return _stop(deployments, target, args)
        return _rollback(deployments, target, args)
    except (ClientError, BotoCoreError) as exc:
        print(f"{args.command} failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
