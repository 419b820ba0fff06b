"""`python -m tools.gen_taggable_types`: regenerate the policy pack's list of taggable AWS types.

The pack decides "taggable" from the pulumi-aws SDK itself rather than a hand-kept list: a type is
taggable when its resource class takes a `tags` input and reports `tags_all`, the provider-computed
merge with the provider's default tags. (Three types take a `tags` input without `tags_all`:
autoscaling groups, whose tags are a list of propagation settings, and two types whose `tags` is a
selector of *other* resources; none of them is a tagged resource in the sense of the policy.)

Importing all of pulumi_aws takes ~15 s and the pack must not need pulumi-aws when the engine runs
it, so the result is committed as data next to the rules; a test fails when it drifts from the
pinned SDK. Run this after bumping pulumi-aws.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from tools.plan.mocks import _resource_classes

PROJECT_DIR = Path(__file__).resolve().parents[1]
OUTPUT = PROJECT_DIR / "policies" / "prodready_policy" / "taggable_types.json"


def taggable_types() -> list[str]:
    """Type tokens of every pulumi-aws resource that carries AWS tags with provider default tags."""
    found: list[str] = []
    for token, (module_name, class_name) in sorted(_resource_classes().items()):
        cls = getattr(importlib.import_module(module_name), class_name, None)
        if cls is None:
            continue
        params = inspect.signature(cls._internal_init).parameters
        if "tags" in params and isinstance(inspect.getattr_static(cls, "tags_all", None), property):
            found.append(token)
    return found


def document() -> dict[str, Any]:
    return {
        "generatedBy": "python -m tools.gen_taggable_types",
        "source": {"package": "pulumi-aws", "version": metadata.version("pulumi-aws")},
        "rule": "resource class takes a `tags` input and reports `tags_all` (provider default tags apply)",
        "types": taggable_types(),
    }


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gen_taggable_types", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file is out of date")
    args = parser.parse_args(argv)
    text = render(document())
    if args.check:
        current = OUTPUT.read_text() if OUTPUT.exists() else ""
        if current != text:
            print(
                f"{OUTPUT.relative_to(PROJECT_DIR)} is out of date; run python -m tools.gen_taggable_types",
                file=sys.stderr,
            )
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {len(json.loads(text)['types'])} taggable types to {OUTPUT.relative_to(PROJECT_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
