"""Human-readable views of a plan: the resource tree and the count by type."""

from __future__ import annotations

from collections import Counter

from tools.plan.harness import Plan, PlannedResource


def _label(resource: PlannedResource) -> str:
    flags = [flag for flag, on in (("protected", resource.protect), ("retained", resource.retain_on_delete)) if on]
    physical = f"  [{resource.id}]" if resource.custom and resource.id else ""
    suffix = f"  ({', '.join(flags)})" if flags else ""
    return f"{resource.type}  {resource.name}{physical}{suffix}"


def render_tree(plan: Plan) -> str:
    """Components and their children, indented under the stack."""
    children: dict[str | None, list[PlannedResource]] = {}
    urns = {r.urn for r in plan.resources}
    for resource in plan.resources:
        parent = resource.parent if resource.parent in urns else None
        children.setdefault(parent, []).append(resource)

    lines = [f"pulumi:pulumi:Stack  {plan.project}-{plan.stack}"]

    def walk(parent: str | None, prefix: str) -> None:
        kids = sorted(children.get(parent, []), key=lambda r: (r.custom, r.type, r.name))
        for index, resource in enumerate(kids):
            last = index == len(kids) - 1
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{_label(resource)}")
            walk(resource.urn, prefix + ("   " if last else "│  "))

    walk(None, "")
    return "\n".join(lines)


def render_counts(plan: Plan) -> str:
    """Custom resources by type, most numerous first, and the totals."""
    counts = Counter(r.type for r in plan.resources if r.custom)
    components = sum(1 for r in plan.resources if not r.custom)
    width = max((len(t) for t in counts), default=10)
    lines = [f"{count:>5}  {type_}" for type_, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines.append(f"{sum(counts.values()):>5}  {'resources':<{width}}  (+{components} components)")
    return "\n".join(lines)
