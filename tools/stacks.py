"""The committed stacks, from the `Pulumi.<stack>.yaml` files: what CI, the pipeline and the tests iterate.

Adding a stack file adds the stack everywhere; removing it removes it. Each stack's profile (dev or prod)
chooses its policy config (`policies/config/<profile>.json`) and its place in the release order: dev
profile first, then prod-profile stacks by `prodready:pipeline.order`, the ones that need an approval
(`pipeline.approval`) last.

`python -m tools.stacks` prints them as JSON, in release order; `--names` one name a line (for `.ci/run`);
`--policy-config STACK` the policy config of one (for `make preview|up`); `--github` the workflows' job
matrices as step outputs (`all`, `unapproved`, `approved`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
POLICY_CONFIG_DIR = Path("policies") / "config"
# A deploy job's time beyond its release: the wait for a failed release's rollback (Deployments.SETTLE_SECONDS,
# 5 min), the signals check's wait for metrics (10 min), setup, the update's other resources, the smoke test.
JOB_MARGIN_MINUTES = 5 + 10 + 30


@dataclass(frozen=True)
class CommittedStack:
    """One `Pulumi.<stack>.yaml` as the pipeline needs it."""

    stack: str
    """The stack's name (the file's middle part)."""
    profile: str
    """dev or prod: defaults and protections."""
    order: int
    """Release order (ascending)."""
    approval: bool
    """Whether a person approves its deployment (a GitHub environment with required reviewers)."""
    policy_config: str
    """The policy pack's config for it, relative to the project."""
    timeout_minutes: int
    """The deploy job's timeout: the longest release its config allows, plus the update around it."""
    variable_suffix: str
    """Its part of repository variable names (`AWS_PREVIEW_ROLE_ARN_<suffix>`): upper case, `_` for `-`."""


def committed_stacks(project_dir: Path = PROJECT_DIR) -> list[CommittedStack]:
    """Every committed stack, in release order."""
    from tools.plan.harness import committed_config

    stacks = []
    for path in sorted(project_dir.glob("Pulumi.*.yaml")):
        name = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        config = committed_config(name, project_dir)
        stacks.append(CommittedStack(
            stack=name, profile=config.profile, order=config.pipeline.order, approval=config.pipeline.approval,
            policy_config=str(POLICY_CONFIG_DIR / f"{config.profile}.json"),
            timeout_minutes=config.delivery.release_minutes + JOB_MARGIN_MINUTES,
            variable_suffix=re.sub(r"[^A-Z0-9_]", "_", name.upper()),
        ))
    return sorted(stacks, key=lambda s: (s.order, s.approval, s.stack))


def policy_config_path(stack: str, project_dir: Path = PROJECT_DIR) -> Path:
    """The policy pack's config for `stack` (its profile's); only that stack's file is read."""
    from tools.plan.harness import committed_config

    if not (project_dir / f"Pulumi.{stack}.yaml").exists():
        raise FileNotFoundError(f"no stack file Pulumi.{stack}.yaml in {project_dir.name}")
    return project_dir / POLICY_CONFIG_DIR / f"{committed_config(stack, project_dir).profile}.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.stacks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", action="store_true", help="print the names only, one per line")
    parser.add_argument("--policy-config", metavar="STACK", help="print STACK's policy config path")
    parser.add_argument("--github", action="store_true", help="print the workflows' matrices as step outputs")
    args = parser.parse_args(argv)
    stacks = committed_stacks()
    if args.policy_config:
        print(policy_config_path(args.policy_config).relative_to(PROJECT_DIR))
    elif args.names:
        print("\n".join(s.stack for s in stacks))
    elif args.github:
        for key, chosen in (("all", stacks), ("unapproved", [s for s in stacks if not s.approval]),
                            ("approved", [s for s in stacks if s.approval])):
            print(f"{key}={json.dumps([asdict(s) for s in chosen])}")
    else:
        json.dump([asdict(s) for s in stacks], sys.stdout)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
