"""The committed stacks, from the `Pulumi.<stack>.yaml` files: what CI, the pipeline and the tests iterate.

Adding a stack file adds the stack everywhere; removing it removes it. Each stack's profile (dev or prod)
chooses its policy config (`policies/config/<profile>.json`) and its place in the release order: dev
profile first, then prod-profile stacks by `prodready:pipeline.order`, the ones that need an approval
(`pipeline.approval`) last.

`python -m tools.stacks` prints them as JSON, in release order, for workflows and scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[1]
POLICY_CONFIG_DIR = Path("policies") / "config"


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


def _stack_file(path: Path) -> dict[str, object]:
    return dict((yaml.safe_load(path.read_text()) or {}).get("config") or {})


def committed_stacks(project_dir: Path = PROJECT_DIR) -> list[CommittedStack]:
    """Every committed stack, in release order."""
    from components.config import pipeline_defaults, profile_of

    stacks = []
    for path in sorted(project_dir.glob("Pulumi.*.yaml")):
        name = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        config = _stack_file(path)
        profile = profile_of(name, config)
        pipeline = {**pipeline_defaults(profile), **dict(config.get("prodready:pipeline") or {})}  # type: ignore[arg-type]
        stacks.append(CommittedStack(
            stack=name, profile=profile, order=int(pipeline["order"]), approval=bool(pipeline["approval"]),
            policy_config=str(POLICY_CONFIG_DIR / f"{profile}.json"),
        ))
    return sorted(stacks, key=lambda s: (s.order, s.approval, s.stack))


def policy_config_path(stack: str, project_dir: Path = PROJECT_DIR) -> Path:
    """The policy pack's config for `stack` (its profile's)."""
    for committed in committed_stacks(project_dir):
        if committed.stack == stack:
            return project_dir / committed.policy_config
    raise FileNotFoundError(f"no stack file Pulumi.{stack}.yaml in {project_dir.name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.stacks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", action="store_true", help="print the names only, one per line")
    args = parser.parse_args(argv)
    stacks = committed_stacks()
    if args.names:
        print("\n".join(s.stack for s in stacks))
    else:
        json.dump([asdict(s) for s in stacks], sys.stdout)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
