"""Resilience: every DynamoDB table backed up by a plan that keeps its backups long enough and copies
them to another region; every S3 bucket (the log archive, canary artifacts) encrypted, closed to the
public and reachable over TLS only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import Policy, Severity

from prodready_policy.base import Config, PolicySpec, stack_policy
from prodready_policy.types import (
    BACKUP_PLAN,
    BACKUP_SELECTION,
    BACKUP_VAULT,
    DYNAMODB_TABLE,
    S3_BUCKET,
    S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION,
    S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION_V2,
    S3_BUCKET_V2,
)
from prodready_policy.types import S3_BUCKET_POLICY as BUCKET_POLICY
from prodready_policy.types import S3_BUCKET_PUBLIC_ACCESS_BLOCK as PUBLIC_ACCESS_BLOCK
from prodready_policy.values import ResourceView, as_list, get, is_unknown, json_value, number

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
    # Which selections list a table, by the ARNs they name or (at preview) what those were computed from:
    # one pass over them, so the rule stays linear in the stack's size.
    by_source: dict[str, list[ResourceView]] = {}
    by_arn: dict[str, list[ResourceView]] = {}
    for selection in (r for r in resources if r.type == BACKUP_SELECTION):
        for urn in set(selection.sources("resources")):
            by_source.setdefault(urn, []).append(selection)
        for value in {v for v in as_list(get(selection.props, "resources")) if isinstance(v, str)}:
            by_arn.setdefault(value, []).append(selection)
    for table in tables:
        name = get(table.props, "name", default=table.name)
        label = f"DynamoDB table '{name if not is_unknown(name) else table.name}'"
        arn = get(table.props, "arn")
        selecting = list({s.urn: s for s in [*by_source.get(table.urn, []),
                                             *(by_arn.get(arn, []) if isinstance(arn, str) else [])]}.values())
        chosen = [plans[urn] for s in selecting for urn in s.sources("planId") if urn in plans]
        if not chosen:
            yield table.urn, f"{label} is selected by no AWS Backup plan (no aws.backup.Selection lists its ARN)."
            continue
        findings = [_plan_problems(plan, arn_region(arn) or _region_of(table), vaults, config) for plan in chosen]
        if all(findings):
            for problem in findings[0]:
                yield table.urn, f"{label}: {problem}."


# -- S3 buckets ---------------------------------------------------------------------------------------

BUCKET_TYPES = (S3_BUCKET, S3_BUCKET_V2)
SSE_TYPES = (S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION,
             S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION_V2)
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")

BUCKET_BASELINE = PolicySpec(
    name="s3-bucket-baseline",
    description=(
        "Requires every S3 bucket to have default encryption with an allowed algorithm, a public access block "
        "with all four settings on, and a bucket policy that denies requests not made over TLS."
    ),
    severity=Severity.HIGH,
    remediation_steps=(
        "Give each aws.s3.Bucket an aws.s3.BucketServerSideEncryptionConfiguration (aws:kms with a stack key, or "
        "AES256), an aws.s3.BucketPublicAccessBlock with block_public_acls, block_public_policy, "
        "ignore_public_acls and restrict_public_buckets true, and an aws.s3.BucketPolicy with a Deny statement "
        "on the bucket and its objects when aws:SecureTransport is false (see "
        "components/iam.py tls_only_bucket_policy)."
    ),
    config_properties={
        "allowedSseAlgorithms": {"type": "array", "items": {"type": "string"}, "uniqueItems": True,
                                 "default": ["AES256", "aws:kms", "aws:kms:dsse"],
                                 "description": "Default encryption algorithms a bucket may use."},
    },
)


class _BucketSettings:
    """A bucket's configuration resources (encryption, public access block, policy), found by the bucket name
    they name, or at preview by what that name was computed from; indexed in one pass over the stack."""

    def __init__(self, resources: list[ResourceView]) -> None:
        self._by_name: dict[str, list[ResourceView]] = {}
        self._by_source: dict[str, list[ResourceView]] = {}
        for resource in resources:
            if resource.type not in (*SSE_TYPES, PUBLIC_ACCESS_BLOCK, BUCKET_POLICY):
                continue
            target = get(resource.props, "bucket")
            if isinstance(target, str):
                self._by_name.setdefault(target, []).append(resource)
            elif is_unknown(target):
                for urn in set(resource.sources("bucket")):
                    self._by_source.setdefault(urn, []).append(resource)

    def of(self, bucket: ResourceView, types: tuple[str, ...]) -> list[ResourceView]:
        name = get(bucket.props, "bucket")
        found = [*(self._by_name.get(name, []) if isinstance(name, str) else []), *self._by_source.get(bucket.urn, [])]
        return [r for r in found if r.type in types]


def _denies_plain_http(document: Any, bucket_arn: Any) -> bool:
    for statement in as_list(get(document, "Statement")):
        if get(statement, "Effect") != "Deny":
            continue
        secure = get(statement, "Condition", "Bool", "aws:SecureTransport")
        if str(secure).lower() != "false":
            continue
        actions = {str(a) for a in as_list(get(statement, "Action"))}
        if not actions & {"s3:*", "*"}:
            continue
        resources = {str(r) for r in as_list(get(statement, "Resource"))}
        if "*" in resources or not isinstance(bucket_arn, str) or {bucket_arn, f"{bucket_arn}/*"} <= resources:
            return True
    return False


def check_bucket_baseline(resources: list[ResourceView], config: Config) -> Iterator[tuple[str | None, str]]:
    allowed = [str(a) for a in config["allowedSseAlgorithms"]]
    settings = _BucketSettings(resources)
    for bucket in (r for r in resources if r.type in BUCKET_TYPES):
        name = get(bucket.props, "bucket", default=bucket.name)
        label = f"S3 bucket '{name if not is_unknown(name) else bucket.name}'"
        algorithms = [
            get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
            for sse in settings.of(bucket, SSE_TYPES) for rule in as_list(get(sse.props, "rules"))
        ]
        if not any(is_unknown(a) or a in allowed for a in algorithms):
            got = f" (got {', '.join(str(a) for a in algorithms)})" if algorithms else ""
            yield bucket.urn, f"{label} has no default encryption with {' or '.join(allowed)}{got}."
        blocks = settings.of(bucket, (PUBLIC_ACCESS_BLOCK,))
        if not any(all(get(b.props, flag) is True or is_unknown(get(b.props, flag)) for flag in PUBLIC_ACCESS_FLAGS)
                   for b in blocks):
            yield bucket.urn, f"{label} has no public access block with all of {', '.join(PUBLIC_ACCESS_FLAGS)}."
        policies = settings.of(bucket, (BUCKET_POLICY,))
        tls_only = False
        for policy in policies:
            text = get(policy.props, "policy")
            if is_unknown(text):
                tls_only = True
                continue
            try:
                document = json_value(text)
            except ValueError:
                continue
            tls_only = tls_only or _denies_plain_http(document, get(bucket.props, "arn"))
        if not tls_only:
            yield bucket.urn, f"{label} has no bucket policy denying requests without TLS (aws:SecureTransport false)."


def policies() -> list[Policy]:
    return [stack_policy(BACKUP_PLAN_POLICY, check_backup_plans), stack_policy(BUCKET_BASELINE, check_bucket_baseline)]
