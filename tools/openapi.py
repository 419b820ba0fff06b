"""`python -m tools.openapi`: print the API's OpenAPI document; `--write` regenerates docs/openapi.json.

The document comes from the function's own routes and models (`service.openapi.document`), so it
is what the deployed API validates and answers; a test fails when the committed copy falls behind.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
APP_DIR = REPO_ROOT / "app"
DOCUMENT_PATH = REPO_ROOT / "docs" / "openapi.json"


def rendered_document() -> str:
    """The document as committed (sorted keys, trailing newline), generated from the handler."""
    if str(APP_DIR) not in sys.path:
        sys.path.insert(0, str(APP_DIR))
    # The handler reads its settings at import; none of them changes the document, but the
    # import must not need an AWS region or credentials from the developer's environment.
    os.environ.setdefault("AWS_REGION", "us-east-1")
    from service import handler, openapi

    return openapi.render(openapi.document(handler.app))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.openapi", description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {DOCUMENT_PATH.relative_to(REPO_ROOT)}")
    args = parser.parse_args(argv)
    text = rendered_document()
    if args.write:
        DOCUMENT_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {DOCUMENT_PATH.relative_to(REPO_ROOT)}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
