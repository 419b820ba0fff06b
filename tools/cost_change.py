"""The monthly cost estimate of each stack before and after a change, from two sets of offline plans'
`cost-<stack>.json` (docs/plan-format.md): the base branch's and this commit's.

    python -m tools.cost_change --before build/base --after build [--github]

Prints `{"<stack>": {"before": 41.2, "after": 43.9}, ...}` (the totals at the configured traffic, USD; `before`
is null for a stack the base does not have); `--github` prints it as the step output `costs=...`. Standard
library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cost_change", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="directory of the base's cost-<stack>.json")
    parser.add_argument("--after", type=Path, required=True, help="directory of this commit's cost-<stack>.json")
    parser.add_argument("--github", action="store_true", help="print as the step output costs=<json>")
    args = parser.parse_args(argv)
    text = json.dumps(changes(args.before, args.after), sort_keys=True)
    print(f"costs={text}" if args.github else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
