"""Print a bearer token the local server accepts (signed with the local key, see tools.local_auth).

    curl -H "Authorization: Bearer $(python -m tools.token --scope items.write)" \\
         -H "Content-Type: application/json" -X POST localhost:8080/items -d '{"name":"pen","price":2.5}'

Give --scope once per scope (items.read, items.write); the token is printed on one line.
"""

from __future__ import annotations

import argparse
import sys

from tools.local_auth import api_scopes, mint_token


def _positive_seconds(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--lifetime must be a whole number of seconds, got {raw!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"--lifetime must be positive, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    valid = api_scopes()
    parser = argparse.ArgumentParser(prog="python -m tools.token", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scope",
        action="append",
        required=True,
        metavar="SCOPE",
        help=f"a scope the token carries; repeat for several ({', '.join(valid)})",
    )
    parser.add_argument("--lifetime", type=_positive_seconds, default=3600, help="seconds until it expires (3600)")
    parser.add_argument("--subject", default="local-user", help="the token's sub claim (local-user)")
    args = parser.parse_args(argv)

    unknown = [scope for scope in args.scope if scope not in valid]
    if unknown:
        parser.error(f"unknown scope {unknown[0]!r}; valid scopes: {', '.join(valid)}")
    scopes = list(dict.fromkeys(args.scope))
    print(mint_token(scopes, subject=args.subject, lifetime_s=args.lifetime))
    return 0


if __name__ == "__main__":
    sys.exit(main())
