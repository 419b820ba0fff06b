"""The stack report page, opened in headless Chromium: every dashboard widget and every alarm is drawn.

Chromium is Debian's `chromium` package; where it is absent the browser test is skipped, saying so.
The screenshot stays under build/ for a person to look at.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tools import report
from tools.plan.__main__ import main as plan_main

# A browser, and the report of a plan: left out of `make test-fast`.
pytestmark = pytest.mark.slow

BUILD = Path(__file__).resolve().parents[2] / "build"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, str]:
    build = tmp_path_factory.mktemp("build")
    assert plan_main(["--stack", "prod", "--out", str(build / "plan-prod.json"), "--no-policy"]) == 0
    assert report.main(["--stack", "prod", "--build", str(build)]) == 0
    plan = json.loads((build / "plan-prod.json").read_text())
    return build / "report-prod.html", plan, (build / "report-prod.html").read_text()


def _expected(plan: dict) -> tuple[set[str], set[str]]:
    widgets = {f"{name}#{i}" for name, ws in report.dashboards(plan) for i in range(len(ws))}
    alarms = {r["name"] for r in report.alarm_routes(plan)}
    return widgets, alarms


def test_the_page_is_self_contained_and_lists_every_widget_alarm_and_verdict(page) -> None:
    _, plan, text = page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), "the page must not reach the network"
    widgets, alarms = _expected(plan)
    in_plan = [r for r in plan["resources"] if r["type"] in (report.METRIC_ALARM, report.COMPOSITE)]
    assert len(widgets) > 60 and len(alarms) == len(in_plan) > 60
    for alarm in alarms:
        assert f'data-alarm data-key="{html.escape(alarm, quote=True)}"' in text, alarm
    # The roll-up pages through the critical topic, its members through it.
    assert "catalog-prod-service-critical-rollup-critical (composite)" in text
    assert "PASS</b>: 0 mandatory" in text  # the pack's verdict on this plan
    assert "Monthly cost by category" in text and "<svg" in text


def test_widgets_sit_on_the_24_column_grid_where_the_dashboard_body_puts_them(page) -> None:
    _, plan, text = page
    (name, widgets), *_ = [(n, w) for n, w in report.dashboards(plan) if n == "catalog-prod"]
    for i, widget in enumerate(widgets):
        style = (f'grid-column:{widget["x"] + 1} / span {widget["width"]};'
                 f'grid-row:{widget["y"] + 1} / span {widget["height"]}')
        assert f'data-key="{name}#{i}" style="{style}"' in text, widget.get("properties", {}).get("title")
    # Each threshold annotation is drawn as a line with its label.
    annotated = [w for w in widgets if (w["properties"].get("annotations") or {}).get("horizontal")]
    assert annotated and text.count("<line ") >= sum(len(w["properties"]["annotations"]["horizontal"])
                                                     for w in annotated)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian package `chromium`)")
def test_chromium_draws_every_widget_and_every_alarm_and_keeps_a_screenshot(page) -> None:
    path, plan, _ = page
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run([*flags, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    drawn = json.loads(html.unescape(re.search(r'data-drawn="([^"]*)"', dom).group(1)))
    widgets, alarms = _expected(plan)
    assert set(drawn["widgets"]) == widgets  # each with a non-empty box after layout
    assert set(drawn["alarms"]) == alarms
    BUILD.mkdir(exist_ok=True)
    shot = BUILD / "report-prod.png"
    subprocess.run([*flags, "--window-size=1400,4000", f"--screenshot={shot}", path.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 10_000
