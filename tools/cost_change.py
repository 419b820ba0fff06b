"""The monthly cost estimate of each stack before and after a change, from two sets of offline plans'
`cost-<stack>.json` (docs/plan-format.md): the base's and this commit's.

    python -m tools.cost_change --before build/base --after build [--github]
    python -m tools.cost_change --before build/base --after build --summary prod --since <commit>
    pulumi stack history --json -s <stack> | python -m tools.cost_change --deployed-commit

The first prints `{"<stack>": {"before": 41.2, "after": 43.9}, ...}` (the totals at the configured traffic,
USD; `before` is null for a stack the base does not have); `--github` prints it as the step output
`costs=...`. `--summary` prints one stack's change as Markdown for a job summary, `--since` naming the base
commit. `--deployed-commit` prints `commit=<sha>` (a step output), the commit of the stack's last successful
update, read from its update history; `commit=` when there is none. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# What `pulumi up` records of the checkout it ran in (the update's environment in the stack's history).
GIT_HEAD = "git.head"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def monthly_total(path: Path) -> float | None:
    """The estimate's total at the configured traffic, or None where there is no estimate."""
    if not path.exists():
        return None
    document: dict[str, Any] = json.loads(path.read_text())
    return float(document["totals"]["traffic"]["total"])


def changes(before: Path, after: Path) -> dict[str, dict[str, float | None]]:
    """Every stack with an estimate after the change, with its estimate before it."""
    found: dict[str, dict[str, float | None]] = {}
    for path in sorted(after.glob("cost-*.json")):
        stack = path.name.removeprefix("cost-").removesuffix(".json")
        found[stack] = {"before": monthly_total(before / path.name), "after": monthly_total(path)}
    return found


def _usd(amount: float) -> str:
    return f"{amount:,.2f} USD"


def cost_line(cost: Mapping[str, Any] | None) -> str:
    """`before -> after (+delta)` of the monthly estimate at the configured traffic, from `changes`."""
    if not cost or cost.get("after") is None:
        return "no estimate"
    after = float(cost["after"])
    if cost.get("before") is None:
        return f"{_usd(after)} (new stack)"
    before = float(cost["before"])
    delta = after - before
    sign = "+" if delta >= 0 else "-"
    return f"{_usd(before)} -> {_usd(after)} ({sign}{_usd(abs(delta))})"


def last_deployed_commit(history: Sequence[Mapping[str, Any]]) -> str | None:
    """The commit of the newest successful `pulumi up` in a stack's history (`pulumi stack history --json`
    lists the newest first); refreshes, destroys and failed updates are not what the stack runs."""
    for update in history:
        if update.get("kind") != "update" or update.get("result") != "succeeded":
            continue
        head = str((update.get("environment") or {}).get(GIT_HEAD, ""))
        # A well-formed commit only: it becomes a checkout's ref.
        return head if _COMMIT.match(head) else None
    return None


def summary(stack: str, cost: Mapping[str, Any] | None, since: str) -> str:
    """One stack's cost change as Markdown for a job summary."""
    if since:
        base = f"against `{since[:12]}`, the commit {stack} last deployed"
    else:
        base = f"no earlier successful update of {stack} in its history: this commit's estimate only"
    if since and cost and cost.get("after") is not None and cost.get("before") is None:
        base += " (whose offline plan gave no estimate)"
    return (f"### Monthly cost estimate of {stack}\n\n{cost_line(cost)}: offline plan at the configured "
            f"traffic, {base}.\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cost_change", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="directory of the base's cost-<stack>.json")
    parser.add_argument("--after", type=Path, help="directory of this commit's cost-<stack>.json")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--github", action="store_true", help="print as the step output costs=<json>")
    output.add_argument("--summary", metavar="STACK", help="print STACK's change as Markdown")
    output.add_argument("--deployed-commit", action="store_true",
                        help="read `pulumi stack history --json` on stdin; print commit=<last deployed commit>")
    parser.add_argument("--since", default="", help="with --summary: the base's commit, empty if there is none")
    args = parser.parse_args(argv)
    if args.deployed_commit:
        print(f"commit={last_deployed_commit(json.load(sys.stdin)) or ''}")
        return 0
    if args.before is None or args.after is None:
        parser.error("--before and --after are required")
    found = changes(args.before, args.after)
    if args.summary:
        print(summary(args.summary, found.get(args.summary), args.since))
        return 0
    text = json.dumps(found, sort_keys=True)
    print(f"costs={text}" if args.github else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
