"""One pull request comment with every stack's preview: resources changed, the policy pack's verdict and the
monthly cost estimate before -> after. Each push updates the same comment, found by its marker; each stack's
preview job rewrites its own section of it.

    python -m tools.pr_comment        # in the preview job; everything comes from the environment:
    GITHUB_TOKEN, GITHUB_REPOSITORY, PR_NUMBER, STACK_NAME, OUTCOME (the preview step's), PREVIEW_FILE
    (the file its text was written to, also when the pack refused: a missing file reads as no text), COSTS
    (`python -m tools.cost_change`'s JSON), RUN_URL

The stacks' jobs run in parallel and GitHub has no conditional update of a comment: after writing, the job
reads the comment back and writes again (at most `ATTEMPTS` times) if another job's write replaced its
section. Standard library only: it runs with nothing installed.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.cost_change import cost_line

MARKER = "<!-- prodready-preview -->"
# The identity of a workflow's GITHUB_TOKEN: only its comments are ever edited.
BOT = "github-actions[bot]"
ATTEMPTS = 5
API = "https://api.github.com"
# Pulumi's summary of a preview: "    + 3 to create", "    +-1 to replace", "    12 unchanged".
_COUNT = re.compile(r"^\s*(?:[+~-]{1,2}\s*)?(\d+)\s+(to create|to update|to delete|to replace|unchanged)\b")
_KINDS = {"to create": "create", "to update": "update", "to delete": "delete", "to replace": "replace",
          "unchanged": "same"}
# A policy violation line of Pulumi's "Policies:" block: "- [mandatory]  iam-no-wildcards  (...)".
_VIOLATION = re.compile(r"^\s*-\s*\[(mandatory|advisory|remediate)\]\s+(\S+)")


@dataclass(frozen=True)
class PreviewSummary:
    """What a preview's text says: resource changes by kind, and the policy violations by level."""

    changes: dict[str, int] = field(default_factory=dict)
    violations: dict[str, list[str]] = field(default_factory=dict)


def summarize(text: str) -> PreviewSummary:
    """The counts of the "Resources:" block and the violations of the "Policies:" block of `pulumi preview`."""
    changes: dict[str, int] = {}
    violations: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in ("Resources:", "Policies:", "Outputs:", "Diagnostics:"):
            section = stripped
            continue
        if section == "Resources:" and (match := _COUNT.match(line)):
            changes[_KINDS[match.group(2)]] = int(match.group(1))
        elif section == "Policies:" and (match := _VIOLATION.match(line)):
            violations.setdefault(match.group(1), []).append(match.group(2))
    return PreviewSummary(changes, violations)


def verdict(outcome: str, summary: PreviewSummary) -> str:
    mandatory = summary.violations.get("mandatory", [])
    advisory = summary.violations.get("advisory", [])
    if mandatory:
        return f"refused: {len(mandatory)} mandatory violation(s) ({', '.join(sorted(set(mandatory)))})"
    if outcome != "success":
        return f"preview {outcome}: see the run"
    if advisory:
        return f"passes, {len(advisory)} advisory violation(s) ({', '.join(sorted(set(advisory)))})"
    return "passes, no violation"


def section(stack: str, outcome: str, summary: PreviewSummary, cost: Mapping[str, Any] | None, run_url: str) -> str:
    """One stack's part of the comment, between its own markers."""
    order = ("create", "update", "replace", "delete", "same")
    counts = ", ".join(f"{summary.changes[k]} {'unchanged' if k == 'same' else k}" for k in order
                       if summary.changes.get(k)) or "not known (see the run)"
    lines = [
        f"<!-- stack:{stack} -->",
        f"### `{stack}`",
        "",
        f"- **Resources**: {counts}",
        f"- **Policy pack**: {verdict(outcome, summary)}",
        f"- **Monthly cost estimate** (offline plan, configured traffic): {cost_line(cost)}",
        *([f"- [The preview's run and full diff]({run_url})"] if run_url else []),
        f"<!-- /stack:{stack} -->",
    ]
    return "\n".join(lines)


def merge(body: str | None, stack: str, text: str) -> str:
    """The comment's body with `stack`'s section replaced (or added); the other stacks' sections kept, in order."""
    sections: dict[str, str] = {}
    for match in re.finditer(r"<!-- stack:([^ ]+) -->.*?<!-- /stack:\1 -->", body or "", re.S):
        sections[match.group(1)] = match.group(0)
    sections[stack] = text
    parts = [MARKER, "## Preview of this pull request", ""]
    parts += [sections[name] for name in sorted(sections)]
    return "\n".join(parts) + "\n"


Request = Callable[[str, str, Any], Any]


def github(token: str) -> Request:
    """`request(method, path, body)` against GitHub's REST API with the job's token."""
    def request(method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{API}{path}", data=data, method=method, headers={
            "Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as response:
            return json.loads(response.read() or b"null")
    return request


def find_comment(request: Request, repository: str, number: int) -> dict[str, Any] | None:
    """The workflow's own comment with the marker, if there is one (other people's comments are never touched)."""
    page = 1
    while True:
        comments = request("GET", f"/repos/{repository}/issues/{number}/comments?per_page=100&page={page}", None)
        for comment in comments:
            if MARKER in (comment.get("body") or "") and (comment.get("user") or {}).get("login") == BOT:
                return dict(comment)
        if len(comments) < 100:
            return None
        page += 1


def publish(request: Request, repository: str, number: int, stack: str, text: str,
            pause: Callable[[float], None] = time.sleep) -> str:
    """Write `stack`'s section into the one comment; returns its URL."""
    for attempt in range(ATTEMPTS):
        comment = find_comment(request, repository, number)
        body = merge(comment["body"] if comment else None, stack, text)
        if comment is None:
            written = request("POST", f"/repos/{repository}/issues/{number}/comments", {"body": body})
        else:
            written = request("PATCH", f"/repos/{repository}/issues/comments/{comment['id']}", {"body": body})
        # Another stack's job may have written in between: ours must be in what the comment now says.
        current = find_comment(request, repository, number)
        if current is not None and text in current["body"]:
            return str(current.get("html_url") or written.get("html_url") or "")
        pause(1.0 + attempt)
    raise RuntimeError(f"the preview comment kept losing the {stack} section after {ATTEMPTS} attempts")


def _preview_text(path: str | None) -> str:
    # A file, not a variable: a large diff is beyond what one environment variable may hold (128 KiB on Linux).
    try:
        return Path(path).read_text(errors="replace") if path else ""
    except FileNotFoundError:
        return ""  # the preview never started (e.g. credentials refused): the verdict says "see the run"


def main(environ: Mapping[str, str] = os.environ, request: Request | None = None) -> int:
    stack = environ["STACK_NAME"]
    costs = json.loads(environ.get("COSTS") or "{}")
    text = section(stack, environ.get("OUTCOME", "unknown"), summarize(_preview_text(environ.get("PREVIEW_FILE"))),
                   costs.get(stack), environ.get("RUN_URL", ""))
    print(text)
    number = int(environ["PR_NUMBER"])
    url = publish(request or github(environ["GITHUB_TOKEN"]), environ["GITHUB_REPOSITORY"], number, stack, text)
    print(f"preview comment: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
