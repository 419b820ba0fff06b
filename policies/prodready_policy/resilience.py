"""Resilience: every DynamoDB table backed up by a plan that keeps its backups long enough and copies
them to another region."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import Policy, Severity

from prodready_policy.base import Config, PolicySpec, stack_policy
from prodready_policy.values import ResourceView, as_list, get, is_unknown, number

DYNAMODB_TABLE = "aws:dynamodb/table:Table"
BACKUP_PLAN = "aws:backup/plan:Plan"
BACKUP_SELECTION = "aws:backup/selection:Selection"
BACKUP_VAULT = "aws:backup/vault:Vault"

BACKUP_PLAN_POLICY = PolicySpec(
    name="dynamodb-backup-plan",
    description=(
        "Requires every DynamoDB table to be selected by an AWS Backup plan whose backups are kept at least "
        "the stack's minimum, with a copy to a vault in another region kept as long."
    ),
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Turn on resilience in Pulumi.<stack>.yaml (resilience.enabled, resilience.copyRegion): the program "
        "then selects every table by ARN in an aws.backup.Selection of a plan whose rule keeps backups "
        "resilience.retentionDays and copies them (copy_actions) to a vault in the copy region."
    ),
    config_properties={
        "minRetentionDays": {"type": "number", "minimum": 1, "default": 7,
                             "description": "Shortest retention of a backup and of its copy, in days."},
        "requireCopyToAnotherRegion": {"type": "boolean", "default": True,
                                       "description": "A rule must copy each backup to a vault in another region."},
    },
)


def arn_region(arn: Any) -> str | None:
    """`arn:aws:backup:eu-central-1:...` -> `eu-central-1`; None for anything else (unknown included)."""
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return None
    parts = arn.split(":")
    return parts[3] or None if len(parts) > 3 else None


def _region_of(resource: ResourceView) -> str | None:
    own = arn_region(get(resource.props, "arn"))
    if own:
        return own
    region = get(resource.props, "region")
    if isinstance(region, str) and region:
        return region
    region = get(resource.provider_props, "region")
    return region if isinstance(region, str) and region else None


def _kept_days(lifecycle: Any) -> float | Any | None:
    """Days a lifecycle keeps a recovery point; None when it never deletes it (kept for ever)."""
    if is_unknown(lifecycle):
        return lifecycle
    return number(get(lifecycle, "deleteAfter"))


def _plan_problems(
    plan: ResourceView, table_region: str | None, vaults: list[ResourceView], config: Config
) -> list[str]:
    """What keeps a plan from protecting a table of `table_region` (empty when nothing does)."""
    rules = get(plan.props, "rules")
    if is_unknown(rules):
        return []
    minimum = float(config["minRetentionDays"])
    label = f"backup plan '{get(plan.props, 'name', default=plan.name)}'"
    best: list[str] | None = None
    for rule in as_list(rules):
        problems = []
        kept = _kept_days(get(rule, "lifecycle"))
        if not is_unknown(kept) and kept is not None and kept < minimum:
            problems.append(f"{label} keeps backups {kept:g} days; the stack requires at least {minimum:g}")
        if config["requireCopyToAnotherRegion"]:
            copies = [c for c in as_list(get(rule, "copyActions")) if _copies_elsewhere(c, table_region, vaults)]
            if not copies:
                problems.append(f"{label} copies no backup to a vault in another region")
            else:
                kept_copies = [_kept_days(get(c, "lifecycle")) for c in copies]
                if all(not is_unknown(k) and k is not None and k < minimum for k in kept_copies):
                    shortest = min(k for k in kept_copies if k is not None)
                    problems.append(
                        f"{label} keeps its copies in another region {shortest:g} days; the stack requires at "
                        f"least {minimum:g}"
                    )
        if not problems:
            return []
        best = problems if best is None or len(problems) < len(best) else best
    return best or [f"{label} has no rule"]


def _copies_elsewhere(copy_action: Any, table_region: str | None, vaults: list[ResourceView]) -> bool:
    destination = get(copy_action, "destinationVaultArn")
    if is_unknown(destination):
        # At preview the copy vault's ARN is not known yet: judge by the vaults of this stack, by region.
        regions = {_region_of(vault) for vault in vaults}
        return table_region is None or any(region and region != table_region for region in regions)
    region = arn_region(destination)
    return region is not None and (table_region is None or region != table_region)


def check_backup_plans(resources: list[ResourceView], config: Config) -> Iterator[tuple[str | None, str]]:
    tables = [r for r in resources if r.type == DYNAMODB_TABLE]
    if not tables:
        return
    plans = {r.urn: r for r in resources if r.type == BACKUP_PLAN}
    vaults = [r for r in resources if r.type == BACKUP_VAULT]
    selections = [r for r in resources if r.type == BACKUP_SELECTION]
    for table in tables:
        name = get(table.props, "name", default=table.name)
        label = f"DynamoDB table '{name if not is_unknown(name) else table.name}'"
        arn = get(table.props, "arn")
        selecting = [
            s for s in selections
            if table.urn in s.sources("resources")
            or (isinstance(arn, str) and arn in [v for v in as_list(get(s.props, "resources")) if isinstance(v, str)])
        ]
        chosen = [plans[urn] for s in selecting for urn in s.sources("planId") if urn in plans]
        if not chosen:
            yield table.urn, f"{label} is selected by no AWS Backup plan (no aws.backup.Selection lists its ARN)."
            continue
        findings = [_plan_problems(plan, arn_region(arn) or _region_of(table), vaults, config) for plan in chosen]
        if all(findings):
            for problem in findings[0]:
                yield table.urn, f"{label}: {problem}."


def policies() -> list[Policy]:
    return [stack_policy(BACKUP_PLAN_POLICY, check_backup_plans)]
