"""`make serve`: the API on 127.0.0.1:$PORT (default 8080) over an embedded DynamoDB fake.

PORT=0 picks a free port. The URL is printed once the API is ready; Ctrl-C or SIGTERM stops it.
stdout carries that line and then only what the function prints (as in Lambda); the server's own
messages go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType

from tools.local_api import DEFAULT_PORT, READY_MARKER, LocalApi


def _port_from_environment() -> int:
    raw = os.environ.get("PORT", "")
    try:
        return int(raw) if raw else DEFAULT_PORT
    except ValueError:
        raise SystemExit(f"PORT must be a number, got {raw!r}") from None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM stops the server the same way Ctrl-C does, so it always cleans up.
    raise KeyboardInterrupt


def configure_logging(verbose: bool) -> None:
    """Server messages to stderr; the function's own loggers write to stdout and do not propagate."""
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    logging.getLogger("tools.local_api").setLevel(logging.DEBUG if verbose else logging.INFO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.serve", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: $PORT or 8080)")
    parser.add_argument("--verbose", action="store_true", help="log every request and disconnect on stderr")
    args = parser.parse_args(argv)
    port = args.port if args.port is not None else _port_from_environment()
    configure_logging(args.verbose)

    api = LocalApi(port=port)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        url = api.start()
        print(
            f"{READY_MARKER}{url} (table {api.table_name} on the DynamoDB fake at {api.dynamodb_endpoint})",
            flush=True,
        )
        print(
            f"  try: curl {url}/health/ready  |  "
            f'curl -H "Authorization: Bearer $(python -m tools.token --scope items.write)" '
            f'-H "Content-Type: application/json" -X POST {url}/items -d \'{{"name":"pen","price":2.5}}\'',
            file=sys.stderr,
        )
        api.serve_forever()
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"cannot serve on 127.0.0.1:{port}: {exc}", file=sys.stderr)
        return 1
    finally:
        api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
