"""`python -m tools.dr drill --stack prod [--source pitr|copy] [--dry-run]` (see tools/dr/drill.py)."""

from __future__ import annotations

import sys

from tools.dr.drill import main

if __name__ == "__main__":
    sys.exit(main())
