"""Deployment and drift notifications: one message per stack to an incoming webhook (Slack, Microsoft Teams,
Google Chat and Mattermost all accept a JSON body with a `text` field).

    DEPLOY_WEBHOOK_URL=https://hooks.slack.com/services/... \\
        python -m tools.notify --stack prod --result failure --run-url "$RUN_URL" --version 42

Without DEPLOY_WEBHOOK_URL it prints the message and exits 0: the webhook is optional. A webhook that
refuses the message is reported and exits 1, so a broken notification is seen, but the workflow step
runs after the deployment and cannot undo it. Standard library only: it runs with nothing installed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

WEBHOOK_VARIABLE = "DEPLOY_WEBHOOK_URL"
# GitHub's job.status values.
RESULTS = {"success": "succeeded", "failure": "FAILED", "cancelled": "was cancelled"}


# What a failure of each kind of run means, and where to look.
FAILURE_HINTS = {
    "deployment": ("the run says which step failed; if it was the release, CodeDeploy rolled it back and "
                   "`python -m tools.release status` says why"),
    "drift check": ("the live resources differ from the program, or the check could not run: the run's "
                    "summary lists the drifted resources; `make preview STACK={stack}` shows the same"),
}
EVENTS = {"deployment": "deployment", "drift": "drift check"}


def message(
    stack: str, result: str, *, run_url: str = "", version: str = "", commit: str = "", event: str = "deployment"
) -> str:
    """The one line a channel shows for a stack's deployment or nightly drift check."""
    what = EVENTS.get(event, event)
    parts = [f"prodready {stack}: {what} {RESULTS.get(result, result)}"]
    if version:
        parts.append(f"live version {version}")
    if commit:
        parts.append(f"commit {commit[:12]}")
    text = ", ".join(parts)
    if result == "failure" and what in FAILURE_HINTS:
        text += f" ({FAILURE_HINTS[what].format(stack=stack)})"
    return f"{text}. {run_url}".strip() if run_url else f"{text}."


def send(url: str, text: str, timeout: float = 10.0) -> int:
    """POST {"text": ...} to the webhook; the HTTP status it answered."""
    request = urllib.request.Request(
        url, data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.notify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--result", required=True, help="success, failure or cancelled (GitHub's job.status)")
    parser.add_argument("--run-url", default="", help="link to the workflow run")
    parser.add_argument("--version", default="", help="the function version live after the deployment")
    parser.add_argument("--commit", default="", help="the commit deployed")
    parser.add_argument("--event", choices=sorted(EVENTS), default="deployment",
                        help="what ran: a deployment (default) or the nightly drift check")
    args = parser.parse_args(argv)
    text = message(args.stack, args.result, run_url=args.run_url, version=args.version, commit=args.commit,
                   event=args.event)
    url = os.environ.get(WEBHOOK_VARIABLE, "").strip()
    if not url:
        print(f"{text}\n({WEBHOOK_VARIABLE} is not set: not sent)")
        return 0
    if not url.startswith("https://"):
        print(f"{WEBHOOK_VARIABLE} must be an https:// URL; not sent", file=sys.stderr)
        return 1
    try:
        status = send(url, text)
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        # Never print the URL: it is the secret.
        print(f"the webhook refused the notification: {getattr(error, 'code', '') or error.__class__.__name__}",
              file=sys.stderr)
        return 1
    print(f"{text}\n(sent: HTTP {status})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
