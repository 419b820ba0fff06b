"""One self-contained HTML page of what a stack will be, from its offline plan.

    python -m tools.plan --stack prod          # writes build/plan-prod.json and build/cost-prod.json
    python -m tools.report --stack prod        # writes build/report-prod.html

The page has no network reference (inline CSS, SVG and a few lines of script): each dashboard laid out
as CloudWatch lays it out (widgets on its 24-column grid at their x, y, width and height, with titles,
metrics and threshold annotations), alarm routing (alarm -> composite -> topic -> subscription), the
resource tree by component, the monthly cost by category, and the policy pack's verdict on the plan.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from components.types import CLOUDWATCH_COMPOSITE_ALARM as COMPOSITE
from components.types import CLOUDWATCH_DASHBOARD as DASHBOARD
from components.types import CLOUDWATCH_METRIC_ALARM as METRIC_ALARM
from components.types import SNS_TOPIC_SUBSCRIPTION as SUBSCRIPTION

BUILD = Path(__file__).resolve().parents[1] / "build"
ROW_PX = 30  # height of one grid unit; CloudWatch's rows are about that
_RULE_REF = re.compile(r'ALARM\(\s*"?([^")]+?)"?\s*\)')

STYLE = """
body{font:14px system-ui,sans-serif;margin:24px;color:#16191f;background:#f2f3f3}
h1{font-size:22px}h2{font-size:18px;margin-top:32px}
section{background:#fff;padding:16px;border-radius:6px;margin:16px 0}
.grid{display:grid;grid-template-columns:repeat(24,1fr);grid-auto-rows:ROWpx;gap:4px;background:#e9ebed;padding:4px}
.widget{background:#fff;border:1px solid #d5dbdb;overflow:hidden;padding:4px 6px;font-size:11px;position:relative}
.widget h4{margin:0 0 2px;font-size:12px}.widget ul{margin:0;padding-left:14px}.widget svg{width:100%;height:40px}
.muted{color:#687078}.crit{color:#d62728}.warn{color:#c45500}table{border-collapse:collapse;width:100%;font-size:12px}
td,th{border-bottom:1px solid #eaeded;padding:3px 6px;text-align:left;vertical-align:top}
.tree ul{padding-left:18px;margin:0}.tree li{font-size:12px}.bar{fill:#0073bb}.pass{color:#1d8102}.fail{color:#d13212}
""".replace("ROW", str(ROW_PX))

# After layout, the page records what the browser actually drew (non-empty boxes), for tests and for a reader.
SCRIPT = """
const seen = sel => [...document.querySelectorAll(sel)].filter(e => {
  const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).map(e => e.dataset.key);
document.body.dataset.drawn = JSON.stringify({widgets: seen('[data-widget]'), alarms: seen('[data-alarm]')});
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _resources(plan: Mapping[str, Any], type_: str) -> list[Mapping[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == type_]


def _metric_label(row: Sequence[Any]) -> str:
    options = row[-1] if row and isinstance(row[-1], dict) else {}
    if "expression" in options:
        return options.get("label") or options["expression"]
    names = [str(part) for part in row if not isinstance(part, dict)]
    name = names[1] if len(names) > 1 else "?"
    label = options.get("label") or (f"{name} {options['stat']}" if options.get("stat") else name)
    return label if options.get("visible", True) else ""


def _annotation_svg(lines: Sequence[Mapping[str, Any]]) -> str:
    """Horizontal annotations as lines at their value's height, on a scale up to the largest one."""
    top = max((float(a.get("value") or 0) for a in lines), default=0) or 1
    parts = []
    for a in lines:
        y = 38 - 34 * float(a.get("value") or 0) / top
        color = a.get("color") or "#7f7f7f"
        parts.append(f'<line x1="0" x2="100%" y1="{y:.1f}" y2="{y:.1f}" stroke="{_e(color)}" stroke-dasharray="4 2"/>'
                     f'<text x="2" y="{max(y - 2, 8):.1f}" font-size="9" fill="{_e(color)}">'
                     f'{_e(a.get("label", ""))}</text>')
    return f'<svg role="img" aria-label="thresholds">{"".join(parts)}</svg>'


def render_widget(key: str, widget: Mapping[str, Any]) -> str:
    props = widget.get("properties", {})
    style = (f'grid-column:{widget["x"] + 1} / span {widget["width"]};'
             f'grid-row:{widget["y"] + 1} / span {widget["height"]}')
    title = props.get("title") or widget["type"]
    body = ""
    if widget["type"] == "metric":
        labels = [label for row in props.get("metrics", []) if (label := _metric_label(row))]
        body = "<ul>" + "".join(f"<li>{_e(label)}</li>" for label in labels) + "</ul>"
        horizontal = (props.get("annotations") or {}).get("horizontal") or []
        if horizontal:
            body += _annotation_svg(horizontal)
    elif widget["type"] == "text":
        body = f'<div class="muted">{_e(props.get("markdown", ""))[:600]}</div>'
    elif widget["type"] == "alarm":
        body = f'<div class="muted">{len(props.get("alarms", []))} alarms</div>'
    elif widget["type"] == "log":
        body = f'<div class="muted">{_e(props.get("query", ""))[:300]}</div>'
    return (f'<div class="widget" data-widget data-key="{_e(key)}" style="{style}">'
            f"<h4>{_e(title)}</h4>{body}</div>")


def dashboards(plan: Mapping[str, Any]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    found = []
    for dashboard in _resources(plan, DASHBOARD):
        body = dashboard["inputs"].get("dashboardBody") or "{}"
        widgets = (json.loads(body) if isinstance(body, str) else body).get("widgets", [])
        found.append((dashboard["inputs"].get("dashboardName") or dashboard["name"], widgets))
    return found


def alarm_routes(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each alarm with its severity, the composites that read it, its topics and their subscriptions."""
    subscriptions: dict[str, list[str]] = defaultdict(list)
    for sub in _resources(plan, SUBSCRIPTION):
        subscriptions[sub["inputs"]["topic"]].append(sub["inputs"]["protocol"])
    alarms = [(a, a["inputs"].get("name") or a["inputs"].get("alarmName")) for a in
              (*_resources(plan, METRIC_ALARM), *_resources(plan, COMPOSITE))]
    parents: dict[str, list[str]] = defaultdict(list)
    for alarm, name in alarms:
        for child in _RULE_REF.findall(alarm["inputs"].get("alarmRule") or ""):
            parents[child.split(":alarm:")[-1]].append(name)
    routes = []
    for alarm, name in alarms:
        topics = [t for t in alarm["inputs"].get("alarmActions") or [] if ":sns:" in str(t)]
        routes.append({
            "name": name, "severity": (alarm["inputs"].get("tags") or {}).get("Severity", ""),
            "composite": alarm["type"] == COMPOSITE, "via": parents.get(name, []),
            "topics": [t.rsplit(":", 1)[-1] for t in topics],
            "subscriptions": sorted({p for t in topics for p in subscriptions.get(t, [])}),
        })
    return routes


def _tree(plan: Mapping[str, Any]) -> str:
    children: dict[str | None, list[Mapping[str, Any]]] = defaultdict(list)
    urns = {r["urn"] for r in plan["resources"]}
    for r in plan["resources"]:
        children[r["parent"] if r.get("parent") in urns else None].append(r)

    def walk(parent: str | None) -> str:
        kids = sorted(children.get(parent, []), key=lambda r: (r["custom"], r["type"], r["name"]))
        if not kids:
            return ""
        items = []
        for r in kids:
            label = f'<b>{_e(r["name"])}</b> <span class="muted">{_e(r["type"])}</span>'
            items.append(f"<li>{label}{walk(r['urn'])}</li>")
        return "<ul>" + "".join(items) + "</ul>"

    return f'<div class="tree">{walk(None)}</div>'


def _cost(cost: Mapping[str, Any]) -> str:
    by_layer: dict[str, float] = defaultdict(float)
    for line in cost.get("lines", []):
        by_layer[line["layer"]] += float(line.get("atTraffic") or 0)
    top = max(by_layer.values(), default=0) or 1
    rows = []
    for i, (layer, usd) in enumerate(sorted(by_layer.items(), key=lambda kv: -kv[1])):
        y = i * 26
        rows.append(f'<text x="0" y="{y + 16}" font-size="12">{_e(layer)}</text>'
                    f'<rect class="bar" x="120" y="{y + 4}" height="16" width="{400 * usd / top:.1f}"/>'
                    f'<text x="{128 + 400 * usd / top:.1f}" y="{y + 16}" font-size="12">${usd:,.2f}</text>')
    total = sum(by_layer.values())
    return (f'<svg role="img" aria-label="monthly cost by category" width="640" height="{26 * len(rows) + 8}">'
            f'{"".join(rows)}</svg><p>Total at the expected traffic: <b>${total:,.2f}</b> per month '
            f'({_e(cost.get("currency", "USD"))}, prices as of {_e(cost.get("pricesAsOf", "?"))}).</p>')


def _verdict(verdict: Mapping[str, Any] | None) -> str:
    if verdict is None:
        return '<p class="muted">Policy pack not run for this page (--no-policy).</p>'
    violations = verdict.get("violations", [])
    mandatory = [v for v in violations if v["mandatory"]]
    head = (f'<p class="{"fail" if mandatory else "pass"}"><b>{"FAIL" if mandatory else "PASS"}</b>: '
            f'{len(mandatory)} mandatory, {len(violations) - len(mandatory)} advisory violations over '
            f'{verdict["policies"]} policies and {verdict["resources"]} resources.</p>')
    rows = "".join(f"<tr><td>{_e(v['policy'])}</td><td>{_e(v['urn'])}</td><td>{_e(v['message'])}</td></tr>"
                   for v in violations)
    return head + (f"<table><tr><th>policy</th><th>resource</th><th>message</th></tr>{rows}</table>" if rows else "")


def render(plan: Mapping[str, Any], cost: Mapping[str, Any], verdict: Mapping[str, Any] | None) -> str:
    stack = plan["stack"]
    parts = [f"<h1>{_e(plan['project'])} / {_e(stack)}: what the stack will be</h1>"]
    for name, widgets in dashboards(plan):
        cells = "".join(render_widget(f"{name}#{i}", w) for i, w in enumerate(widgets))
        parts.append(f'<section><h2>Dashboard {_e(name)} ({len(widgets)} widgets)</h2>'
                     f'<div class="grid">{cells}</div></section>')
    rows = []
    for route in alarm_routes(plan):
        severity = {"critical": "crit", "warning": "warn"}.get(route["severity"], "")
        via = " -> ".join(route["via"]) or "-"
        rows.append(
            f'<tr data-alarm data-key="{_e(route["name"])}"><td>{_e(route["name"])}'
            f'{" (composite)" if route["composite"] else ""}</td><td class="{severity}">{_e(route["severity"])}</td>'
            f'<td>{_e(via)}</td><td>{_e(", ".join(route["topics"]) or "-")}</td>'
            f'<td>{_e(", ".join(route["subscriptions"]) or "-")}</td></tr>')
    parts.append(f"<section><h2>Alarm routing ({len(rows)} alarms)</h2><table><tr><th>alarm</th><th>severity</th>"
                 f"<th>read by composite</th><th>notifies topic</th><th>subscriptions</th></tr>{''.join(rows)}"
                 f"</table></section>")
    parts.append(f"<section><h2>Resources by component ({len(plan['resources'])})</h2>{_tree(plan)}</section>")
    parts.append(f"<section><h2>Monthly cost by category</h2>{_cost(cost)}</section>")
    parts.append(f"<section><h2>Policy verdict</h2>{_verdict(verdict)}</section>")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(stack)} report</title>'
            f"<style>{STYLE}</style></head><body>{''.join(parts)}<script>{SCRIPT}</script></body></html>\n")


def policy_verdict(stack: str) -> dict[str, Any]:
    """The policy pack's verdict on the stack's plan (the program is run again under the mocks)."""
    from tools.plan.harness import run_plan
    from tools.plan.policy import run_policy_pack

    report = run_policy_pack(run_plan(stack))
    return {
        "policies": len(report.pack.policies), "resources": report.resources,
        "violations": [{"policy": v.policy, "urn": v.urn, "message": v.message, "mandatory": v.mandatory}
                       for v in report.violations],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.report", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--build", type=Path, default=BUILD, help="where plan-<stack>.json and cost-<stack>.json are")
    parser.add_argument("--no-policy", action="store_true", help="leave the policy verdict out")
    args = parser.parse_args(argv)
    try:
        plan = json.loads((args.build / f"plan-{args.stack}.json").read_text())
        cost = json.loads((args.build / f"cost-{args.stack}.json").read_text())
    except OSError as error:
        parser.error(f"{error}; run `python -m tools.plan --stack {args.stack}` first")
    verdict = None if args.no_policy else policy_verdict(args.stack)
    out = args.build / f"report-{args.stack}.html"
    out.write_text(render(plan, cost, verdict))
    print(f"report for stack '{args.stack}' written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
