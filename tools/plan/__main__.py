"""`python -m tools.plan --stack dev`: the offline plan of a stack.

Prints the resource tree, the count by type, the alarms, the release (the deployment group's alarms,
its lifecycle hooks, the cold-start signals) and the monthly cost estimate, and writes
build/plan-<stack>.json and build/cost-<stack>.json. Invalid config exits 2 with the validation
message and writes nothing. Then runs the policy pack (policies/) on the plan as the engine would,
with policies/config/<stack>.json: violations by policy, and exit 1 on any mandatory one.

`--program bootstrap --stack main` plans bootstrap/ (the CI roles and the team's state backend) the same
way, with the same pack and the prod profile's policy config; it has no alarms, release or cost model.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys
import time
from pathlib import Path

from app.service.routes import ROUTE_KEYS, ROUTE_THROTTLE_CLASSES
from components.config import ConfigError, load_stack_config
from tools.plan.cost import estimate, render_estimate
from tools.plan.harness import PROJECT_DIR, Plan, project_name, run_plan, stack_config
from tools.plan.policy import PolicyConfigError, PolicyPackProcess, render_report, run_policy_pack
from tools.plan.report import render_alarm_summary, render_counts, render_release, render_tree

# Young-generation collections every 50,000 allocations instead of 700 while the plan runs: the
# program allocates hundreds of thousands of short-lived objects (the SDK's outputs, futures and
# protobuf messages per registration) while pulumi-aws's modules, tens of thousands of long-lived
# objects, stay loaded, and every older-generation collection walks them all. About 0.3 s of CPU
# for the prod stack; peak memory grows by about 2 MB (measured with /usr/bin/time).
PLAN_GC_THRESHOLDS = (50_000, 20, 100)
# The programs of this repository: the service's (the project root) and the account bootstrap's.
PROGRAMS = {"service": PROJECT_DIR, "bootstrap": PROJECT_DIR / "bootstrap"}
# The bootstrap's account-level resources are judged by the strictest profile's config.
BOOTSTRAP_POLICY_CONFIG = PROJECT_DIR / "policies" / "config" / "prod.json"


def main(argv: list[str] | None = None) -> int:
    previous = gc.get_threshold()
    gc.set_threshold(*PLAN_GC_THRESHOLDS)
    try:
        return _plan(argv)
    finally:
        gc.set_threshold(*previous)


def _plan(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="make plan", description=__doc__)
    parser.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to plan (default: dev)")
    parser.add_argument("--out", type=Path, default=None, help="plan JSON path (default: build/plan-<stack>.json)")
    parser.add_argument("--project-dir", type=Path, default=None, help="Pulumi project to plan")
    parser.add_argument("--program", choices=sorted(PROGRAMS), default="service",
                        help="which program of the repository (default: service; bootstrap: bootstrap/)")
    parser.add_argument("--no-policy", action="store_true", help="skip the policy pack (plan and cost only)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    args.bootstrap = args.program == "bootstrap"
    project_dir = (args.project_dir or PROGRAMS[args.program]).resolve()
    args.project_dir = project_dir
    # The bootstrap program has no pack of its own: the service's pack judges it.
    pack_dir = PROJECT_DIR / "policies" if args.bootstrap else project_dir / "policies"
    run_pack = not args.no_policy and (pack_dir / "PulumiPolicy.yaml").exists()
    with contextlib.ExitStack() as stack:
        try:
            # The pack process starts up (imports, gRPC server) while the program runs; it serves both
            # views of the plan and stops when the plan is done.
            pack = stack.enter_context(start_policy_pack(args.stack, project_dir, pack_dir)) if run_pack else None
            plan = run_plan(args.stack, project_dir=project_dir)
        except (ConfigError, FileNotFoundError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return _report(args, plan, started, pack, pack_dir)


def start_policy_pack(stack: str, project_dir: Path, pack_dir: Path) -> PolicyPackProcess:
    """The pack process for a plan of `stack`, started as the engine starts it (the stack's config,
    secrets as placeholders, in its environment); raises FileNotFoundError for an unknown stack."""
    config, _ = stack_config(stack, project_dir)
    return PolicyPackProcess(pack_dir, project=project_name(project_dir), stack=stack, stack_config=config)


def _report(args: argparse.Namespace, plan: Plan, started: float, pack: PolicyPackProcess | None,
            pack_dir: Path) -> int:
    """Print and write the plan and its cost, then run the pack on it; the exit status of `make plan`."""
    print(render_tree(plan))
    print()
    print(render_counts(plan))
    if args.bootstrap:
        out = args.out or PROJECT_DIR / "build" / f"plan-bootstrap-{args.stack}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(plan.to_json(), indent=2, sort_keys=False) + "\n")
        print(f"\nplan for bootstrap stack '{args.stack}' written to {_shown(out)} in "
              f"{time.perf_counter() - started:.1f} s")
        return _judge(args, plan, pack, pack_dir, BOOTSTRAP_POLICY_CONFIG)
    print()
    print(render_alarm_summary(plan))
    release = render_release(plan)
    if release:
        print()
        print(release)

    out = args.out or args.project_dir.resolve() / "build" / f"plan-{args.stack}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(plan.to_json(), indent=2, sort_keys=False) + "\n")

    # Monthly cost estimate of what this plan creates, against the stack's budget; its JSON sits
    # next to the plan file (docs/plan-format.md).
    config = load_stack_config(
        plan.stack, plan.config, route_keys=ROUTE_KEYS, throttle_classes=ROUTE_THROTTLE_CLASSES
    )
    cost = estimate(
        plan, config.traffic, budget_usd=config.cost.monthly_budget_usd, warn_share=config.cost.estimate_warn_share
    )
    print()
    print(render_estimate(cost))
    cost_out = out.with_name(f"cost-{args.stack}.json")
    cost_out.write_text(json.dumps(cost.to_json(), indent=2) + "\n")
    elapsed = time.perf_counter() - started
    print(f"\nplan for stack '{args.stack}' written to {_shown(out)} in {elapsed:.1f} s")
    return _judge(args, plan, pack, pack_dir, None)


def _shown(path: Path) -> Path:
    return path.relative_to(PROJECT_DIR) if path.is_relative_to(PROJECT_DIR) else path


def _judge(args: argparse.Namespace, plan: Plan, pack: PolicyPackProcess | None, pack_dir: Path,
           config_path: Path | None) -> int:
    """The policy pack's verdict on the plan: the exit status of `make plan`."""
    if args.no_policy:
        return 0

    # The policy pack, driven over its Analyzer service like `pulumi preview --policy-pack policies
    # --policy-pack-config policies/config/<stack>.json` drives it, for a first preview (values
    # computed on create unknown) and for the update (all known). The plan file is already written.
    if pack is None:
        print(f"\nno policy pack in {pack_dir.name}/: policies not checked")
        return 0
    try:
        report = run_policy_pack(plan, pack_dir=pack_dir, pack=pack, config_path=config_path)
    except PolicyConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print()
    print(render_report(report))
    return 1 if report.mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
