"""The pull request's preview comment: what it reads from a preview, what it says, and that every push and
every stack's job updates the one comment (the workflow's own, found by its marker) without losing a section."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tools import cost_change, pr_comment

# `pulumi preview` output as the CLI prints it: the summary blocks after the diff.
PREVIEW = """\
Previewing update (org/prodready/dev)

     Type                                  Name          Plan
     pulumi:pulumi:Stack                   prodready-dev
 +   ├─ aws:cloudwatch:MetricAlarm         new-alarm     create
 ~   └─ aws:lambda:Function                catalog       update

Policies:
    ❌ prodready-guard@v0.1.0 (local: policies)
        - [mandatory]  iam-no-wildcards  (aws:iam/rolePolicy:RolePolicy: x)
          Prohibits IAM identity policies that allow `*` actions
        - [advisory]  lambda-safe-deployment  (pulumi:pulumi:Stack: prodready-dev)

Resources:
    + 1 to create
    ~ 1 to update
    +-2 to replace
    310 unchanged
"""
CLEAN = ("Policies:\n    ✅ prodready-guard@v0.1.0 (local: policies)\n\n"
         "Resources:\n    + 3 to create\n    12 unchanged\n")


def test_the_summary_reads_the_change_counts_and_the_violations() -> None:
    summary = pr_comment.summarize(PREVIEW)
    assert summary.changes == {"create": 1, "update": 1, "replace": 2, "same": 310}
    assert summary.violations == {"mandatory": ["iam-no-wildcards"], "advisory": ["lambda-safe-deployment"]}
    assert pr_comment.summarize(CLEAN).violations == {}
    assert pr_comment.summarize("").changes == {}


@pytest.mark.parametrize(("outcome", "text", "expected"), [
    ("failure", PREVIEW, "refused: 1 mandatory violation(s) (iam-no-wildcards)"),
    ("success", CLEAN, "passes, no violation"),
    ("success", PREVIEW.replace("- [mandatory]  iam-no-wildcards", "note"),
     "passes, 1 advisory violation(s) (lambda-safe-deployment)"),
    # A preview that failed for another reason (credentials, a provider error) is not a pass.
    ("failure", CLEAN, "preview failure: see the run"),
])
def test_the_verdict(outcome: str, text: str, expected: str) -> None:
    assert pr_comment.verdict(outcome, pr_comment.summarize(text)) == expected


@pytest.mark.parametrize(("cost", "expected"), [
    ({"before": 40.0, "after": 43.5}, "40.00 USD -> 43.50 USD (+3.50 USD)"),
    ({"before": 43.5, "after": 40.0}, "43.50 USD -> 40.00 USD (-3.50 USD)"),
    ({"before": None, "after": 12.0}, "12.00 USD (new stack)"),
    (None, "no estimate"),
])
def test_the_cost_line(cost: dict[str, Any] | None, expected: str) -> None:
    assert pr_comment.cost_line(cost) == expected


def test_a_section_says_changes_verdict_and_cost() -> None:
    text = pr_comment.section("dev", "success", pr_comment.summarize(CLEAN), {"before": 1.0, "after": 2.0},
                              "https://github.com/o/r/actions/runs/1")
    assert "3 create, 12 unchanged" in text and "passes, no violation" in text
    assert "1.00 USD -> 2.00 USD (+1.00 USD)" in text and "(https://github.com/o/r/actions/runs/1)" in text
    assert text.startswith("<!-- stack:dev -->") and text.endswith("<!-- /stack:dev -->")


def test_merging_replaces_only_the_stack_s_own_section() -> None:
    dev = pr_comment.section("dev", "success", pr_comment.summarize(CLEAN), None, "")
    prod = pr_comment.section("prod", "failure", pr_comment.summarize(PREVIEW), None, "")
    body = pr_comment.merge(pr_comment.merge(None, "prod", prod), "dev", dev)
    assert body.startswith(pr_comment.MARKER) and dev in body and prod in body
    assert body.index(dev) < body.index(prod)  # by stack name, whatever order the jobs finished in
    more = PREVIEW.replace("+ 1 to create", "+ 9 to create")
    newer = pr_comment.section("dev", "success", pr_comment.summarize(more), None, "")
    updated = pr_comment.merge(body, "dev", newer)
    assert newer in updated and dev not in updated and prod in updated
    assert updated.count("<!-- stack:dev -->") == 1


class FakeGitHub:
    """GitHub's issue comments API for one pull request; `interfere` lets another job write in between."""

    def __init__(self, comments: list[dict[str, Any]] | None = None) -> None:
        self.comments = comments or []
        self.writes: list[tuple[str, str]] = []
        self.interfere: list[str] = []

    def __call__(self, method: str, path: str, body: Any) -> Any:
        if method == "GET":
            assert path.startswith("/repos/o/r/issues/7/comments?per_page=100&page=")
            page = int(path.rsplit("=", 1)[1])
            return self.comments[(page - 1) * 100:page * 100]
        self.writes.append((method, path))
        if method == "POST":
            assert path == "/repos/o/r/issues/7/comments"
            comment = {"id": 900 + len(self.comments), "body": body["body"], "user": {"login": pr_comment.BOT},
                       "html_url": "https://github.com/o/r/pull/7#c"}
            self.comments.append(comment)
        else:
            (comment,) = [c for c in self.comments if path == f"/repos/o/r/issues/comments/{c['id']}"]
            comment["body"] = body["body"]
        if self.interfere:
            # Another stack's job read the comment before this write and now writes its own version.
            comment["body"] = self.interfere.pop(0)
        return comment


def test_the_first_push_creates_the_comment_and_later_ones_edit_it() -> None:
    github = FakeGitHub([{"id": 1, "body": "LGTM", "user": {"login": "someone"}}])
    dev = pr_comment.section("dev", "success", pr_comment.summarize(CLEAN), None, "")
    pr_comment.publish(github, "o/r", 7, "dev", dev, pause=lambda _: None)
    assert [m for m, _ in github.writes] == ["POST"]
    prod = pr_comment.section("prod", "success", pr_comment.summarize(CLEAN), None, "")
    pr_comment.publish(github, "o/r", 7, "prod", prod, pause=lambda _: None)
    assert github.writes[-1] == ("PATCH", "/repos/o/r/issues/comments/901")
    assert len(github.comments) == 2 and github.comments[0]["body"] == "LGTM"
    assert dev in github.comments[1]["body"] and prod in github.comments[1]["body"]


def test_someone_else_s_comment_with_the_marker_is_never_edited() -> None:
    github = FakeGitHub([{"id": 1, "body": pr_comment.MARKER + " copied", "user": {"login": "someone"}}])
    pr_comment.publish(github, "o/r", 7, "dev", "<!-- stack:dev -->x<!-- /stack:dev -->", pause=lambda _: None)
    assert github.writes == [("POST", "/repos/o/r/issues/7/comments")]
    assert github.comments[0]["body"] == pr_comment.MARKER + " copied"


def test_a_section_lost_to_another_job_s_write_is_written_again() -> None:
    github = FakeGitHub()
    prod = pr_comment.section("prod", "success", pr_comment.summarize(CLEAN), None, "")
    github.interfere = [pr_comment.merge(None, "prod", prod)]  # prod's job wrote without dev's section
    dev = pr_comment.section("dev", "success", pr_comment.summarize(CLEAN), None, "")
    pauses: list[float] = []
    pr_comment.publish(github, "o/r", 7, "dev", dev, pause=pauses.append)
    assert [m for m, _ in github.writes] == ["POST", "PATCH"] and pauses == [1.0]
    assert dev in github.comments[0]["body"] and prod in github.comments[0]["body"]


def test_it_gives_up_after_its_attempts() -> None:
    github = FakeGitHub()
    github.interfere = ["x"] * pr_comment.ATTEMPTS
    with pytest.raises(RuntimeError, match="after 5 attempts"):
        pr_comment.publish(github, "o/r", 7, "dev", "<!-- stack:dev -->y<!-- /stack:dev -->", pause=lambda _: None)


def test_comments_past_the_first_page_are_found() -> None:
    others = [{"id": n, "body": "chatter", "user": {"login": "someone"}} for n in range(150)]
    ours = {"id": 999, "body": pr_comment.MARKER, "user": {"login": pr_comment.BOT}}
    github = FakeGitHub([*others, ours])
    assert pr_comment.find_comment(github, "o/r", 7) == ours


def test_main_reads_everything_from_the_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    github = FakeGitHub()
    # A refused preview: the step failed, and its text (written by `tee`) still names the violation.
    preview = tmp_path / "preview.txt"
    preview.write_text(PREVIEW)
    environ = {"STACK_NAME": "prod", "PR_NUMBER": "7", "GITHUB_REPOSITORY": "o/r", "OUTCOME": "failure",
               "PREVIEW_FILE": str(preview), "COSTS": json.dumps({"prod": {"before": 80.0, "after": 95.25}}),
               "RUN_URL": "https://github.com/o/r/actions/runs/3"}
    assert pr_comment.main(environ, github) == 0
    body = github.comments[0]["body"]
    assert "refused: 1 mandatory violation(s)" in body and "80.00 USD -> 95.25 USD (+15.25 USD)" in body


def test_a_preview_that_never_wrote_its_file_is_reported_as_failed(tmp_path: Path) -> None:
    github = FakeGitHub()
    environ = {"STACK_NAME": "dev", "PR_NUMBER": "7", "GITHUB_REPOSITORY": "o/r", "OUTCOME": "failure",
               "PREVIEW_FILE": str(tmp_path / "missing.txt")}
    assert pr_comment.main(environ, github) == 0
    body = github.comments[0]["body"]
    assert "preview failure: see the run" in body and "not known (see the run)" in body


def test_cost_change_pairs_each_stack_s_estimate_before_and_after(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    def estimate(directory: Path, stack: str, total: float) -> None:
        directory.mkdir(exist_ok=True)
        (directory / f"cost-{stack}.json").write_text(json.dumps({"totals": {"traffic": {"total": total},
                                                                              "rest": {"total": 1.0}}}))

    estimate(tmp_path / "base", "dev", 19.5)
    estimate(tmp_path / "head", "dev", 21.0)
    estimate(tmp_path / "head", "prod", 60.0)
    assert cost_change.changes(tmp_path / "base", tmp_path / "head") == {
        "dev": {"before": 19.5, "after": 21.0}, "prod": {"before": None, "after": 60.0}}
    assert cost_change.main(["--before", str(tmp_path / "base"), "--after", str(tmp_path / "head"), "--github"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("costs=") and json.loads(out.removeprefix("costs="))["prod"]["before"] is None


def _update(kind: str, result: str, head: str | None) -> dict[str, Any]:
    environment = {"exec.kind": "cli", "git.headName": "refs/heads/main"}
    if head is not None:
        environment["git.head"] = head
    return {"version": 7, "kind": kind, "startTime": "2026-12-01T10:00:00Z", "message": "", "result": result,
            "environment": environment, "config": {}}


DEPLOYED, NEWER = "a" * 40, "b" * 40


@pytest.mark.parametrize(("history", "expected"), [
    # Newest first, as `pulumi stack history --json` lists them: the newest successful update wins.
    ([_update("update", "succeeded", NEWER), _update("update", "succeeded", DEPLOYED)], NEWER),
    # A failed update (a release rolled back) and a refresh are not what the stack runs.
    ([_update("update", "failed", NEWER), _update("refresh", "succeeded", NEWER),
      _update("update", "succeeded", DEPLOYED)], DEPLOYED),
    ([_update("update", "in-progress", NEWER), _update("update", "succeeded", DEPLOYED)], DEPLOYED),
    ([], None),
    ([_update("destroy", "succeeded", NEWER)], None),
    # Not a commit (an update run outside a checkout, or anything else): no base rather than a bad ref.
    ([_update("update", "succeeded", None)], None),
    ([_update("update", "succeeded", "main")], None),
    ([_update("update", "succeeded", "--upload-pack=x" + "a" * 26)], None),
])
def test_the_last_deployed_commit_comes_from_the_newest_successful_update(history: list[dict[str, Any]],
                                                                         expected: str | None) -> None:
    assert cost_change.last_deployed_commit(history) == expected


def test_deployed_commit_reads_the_history_on_stdin(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import io

    history = [_update("update", "failed", NEWER), _update("update", "succeeded", DEPLOYED)]
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(history)))
    assert cost_change.main(["--deployed-commit"]) == 0
    assert capsys.readouterr().out == f"commit={DEPLOYED}\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("[]"))
    assert cost_change.main(["--deployed-commit"]) == 0
    assert capsys.readouterr().out == "commit=\n"


def test_the_summary_shows_one_stack_s_change_against_its_deployed_commit(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    for directory, total in ((tmp_path / "base", 40.0), (tmp_path / "head", 43.5)):
        directory.mkdir()
        (directory / "cost-prod.json").write_text(json.dumps({"totals": {"traffic": {"total": total}}}))
    (tmp_path / "head" / "cost-dev.json").write_text(json.dumps({"totals": {"traffic": {"total": 9.0}}}))
    args = ["--before", str(tmp_path / "base"), "--after", str(tmp_path / "head"), "--summary", "prod"]
    assert cost_change.main([*args, "--since", DEPLOYED]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### Monthly cost estimate of prod\n")
    assert "40.00 USD -> 43.50 USD (+3.50 USD)" in out and f"`{DEPLOYED[:12]}`, the commit prod last deployed" in out
    assert "dev" not in out and "9.00" not in out
    # No deployed commit: no base was planned, this commit's estimate alone.
    assert cost_change.main(["--before", str(tmp_path / "none"), "--after", str(tmp_path / "head"),
                             "--summary", "prod", "--since", ""]) == 0
    out = capsys.readouterr().out
    assert "43.50 USD (new stack)" in out and "no earlier successful update of prod" in out
    # The base planned nothing for the stack although it was deployed: said so, not passed off as new.
    assert cost_change.main(["--before", str(tmp_path / "none"), "--after", str(tmp_path / "head"),
                             "--summary", "prod", "--since", DEPLOYED]) == 0
    assert "whose offline plan gave no estimate" in capsys.readouterr().out


def test_the_comparison_needs_both_directories() -> None:
    with pytest.raises(SystemExit):
        cost_change.main(["--summary", "prod"])
