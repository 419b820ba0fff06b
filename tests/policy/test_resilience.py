"""dynamodb-backup-plan: each finding must fire on the broken case and stay quiet on the correct one,
as the rule alone (synthetic stacks) and inside the pack over the committed prod plan."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from prodready_policy.resilience import (
    BACKUP_PLAN_POLICY,
    BUCKET_BASELINE,
    arn_region,
    check_backup_plans,
    check_bucket_baseline,
)

from components.iam import tls_only_bucket_policy
from tests.policy.builders import ACCOUNT, REGION, UNKNOWN, StackBuilder, mutate, remove, stack_views
from tests.policy.conftest import summary
from tools.plan.harness import Plan, PlannedResource
from tools.plan.policy import VIEWS

PROD = BACKUP_PLAN_POLICY.effective_config({"minRetentionDays": 30})
COPY_REGION = "eu-central-1"


def _vault(stack: StackBuilder, name: str, region: str) -> str:
    return stack.add("aws:backup/vault:Vault", f"{name}-vault", {"name": name},
                     {"arn": f"arn:aws:backup:{region}:{ACCOUNT}:backup-vault:{name}"})


def _backed_up(stack: StackBuilder, *, keep: Any = 30.0, copy_keep: Any = 30.0, copy_region: str | None = COPY_REGION,
               tables: tuple[str, ...] = ("items",), select: tuple[str, ...] | None = None) -> dict[str, str]:
    urns = {name: stack.table(name) for name in tables}
    _vault(stack, "primary", REGION)
    rule: dict[str, Any] = {"ruleName": "scheduled", "targetVaultName": "primary", "lifecycle": {"deleteAfter": keep}}
    if copy_region is not None:
        _vault(stack, "copy", copy_region)
        rule["copyActions"] = [{"destinationVaultArn": f"arn:aws:backup:{copy_region}:{ACCOUNT}:backup-vault:copy",
                                "lifecycle": {"deleteAfter": copy_keep}}]
    plan = stack.add("aws:backup/plan:Plan", "plan", {"name": "catalog-prod-backup", "rules": [rule]}, {})
    chosen = select if select is not None else tables
    stack.add("aws:backup/selection:Selection", "selection", {
        "planId": "plan-id", "iamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/backup",
        "resources": [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}" for name in chosen],
    }, deps={"planId": [plan]})
    return urns


def _findings(stack: StackBuilder | Plan, config: dict[str, Any] = PROD) -> list[tuple[str, str]]:
    plan = stack.plan() if isinstance(stack, StackBuilder) else stack
    findings = check_backup_plans(stack_views(plan), config)
    return sorted((str(urn).rsplit("::", 1)[-1], message) for urn, message in findings)


def test_a_table_backed_up_30_days_with_a_copy_in_another_region_passes():
    stack = StackBuilder("prod")
    _backed_up(stack, tables=("items", "idempotency"))
    assert _findings(stack) == []


def test_a_stack_without_tables_has_nothing_to_back_up():
    assert _findings(StackBuilder("prod")) == []


def test_a_table_no_selection_lists_fires():
    stack = StackBuilder("prod")
    _backed_up(stack, tables=("items", "idempotency"), select=("items",))
    assert _findings(stack) == [("idempotency-table", "DynamoDB table 'idempotency' is selected by no AWS Backup plan "
                                                      "(no aws.backup.Selection lists its ARN).")]


def test_a_stack_with_no_plan_at_all_fires_for_each_table():
    stack = StackBuilder("prod")
    stack.table("items")
    stack.table("idempotency")
    assert [name for name, _ in _findings(stack)] == ["idempotency-table", "items-table"]


def test_short_retention_fires_and_the_minimum_itself_passes():
    stack = StackBuilder("prod")
    _backed_up(stack, keep=14.0)
    assert _findings(stack) == [("items-table", "DynamoDB table 'items': backup plan 'catalog-prod-backup' keeps "
                                                "backups 14 days; the stack requires at least 30.")]
    exact = StackBuilder("prod")
    _backed_up(exact, keep=30.0)
    assert _findings(exact) == []


def test_kept_for_ever_satisfies_any_minimum():
    stack = StackBuilder("prod")
    _backed_up(stack, keep=None, copy_keep=None)
    assert _findings(stack) == []


def test_no_copy_or_a_copy_in_the_same_region_fires():
    none = StackBuilder("prod")
    _backed_up(none, copy_region=None)
    assert _findings(none) == [("items-table", "DynamoDB table 'items': backup plan 'catalog-prod-backup' copies no "
                                               "backup to a vault in another region.")]
    same = StackBuilder("prod")
    _backed_up(same, copy_region=REGION)
    assert [m for _, m in _findings(same)] == [_findings(none)[0][1]]
    # Without the copy requirement, a plan that keeps its backups long enough is enough.
    assert _findings(none, BACKUP_PLAN_POLICY.effective_config({"minRetentionDays": 30,
                                                                "requireCopyToAnotherRegion": False})) == []


def test_copies_kept_too_short_fire():
    stack = StackBuilder("prod")
    _backed_up(stack, copy_keep=7.0)
    assert _findings(stack) == [("items-table", "DynamoDB table 'items': backup plan 'catalog-prod-backup' keeps its "
                                                "copies in another region 7 days; the stack requires at least 30.")]


def test_unknown_arns_at_preview_are_judged_by_the_vaults_regions():
    stack = StackBuilder("prod")
    _backed_up(stack)
    plan = stack.plan()
    for resource in plan.resources:
        if resource.type == "aws:backup/plan:Plan":
            resource.outputs["rules"][0]["copyActions"][0]["destinationVaultArn"] = UNKNOWN
        if resource.type == "aws:backup/selection:Selection":
            resource.outputs["resources"] = UNKNOWN
            resource.property_dependencies["resources"] = [
                r.urn for r in plan.resources if r.type == "aws:dynamodb/table:Table"]
    assert _findings(plan) == []
    # A copy vault in the table's own region is still refused at preview.
    for resource in plan.resources:
        if resource.name == "copy-vault":
            resource.outputs["arn"] = f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:copy"
    assert [name for name, _ in _findings(plan)] == ["items-table"]


def test_arn_region():
    assert arn_region(f"arn:aws:backup:{COPY_REGION}:{ACCOUNT}:backup-vault:copy") == COPY_REGION
    assert arn_region(UNKNOWN) is None and arn_region("not-an-arn") is None


# -- the committed prod plan, through the pack ------------------------------------------------------


def _set_rule(change: Callable[[dict[str, Any]], None]) -> Callable[[PlannedResource], None]:
    def apply(resource: PlannedResource) -> None:
        for props in (resource.inputs, resource.outputs):
            change(props["rules"][0])
    return apply


@pytest.mark.parametrize("view", VIEWS)
def test_a_prod_plan_without_the_backup_selection_is_refused(view: str, prod_plan: Plan, analyze):
    report = analyze(remove(prod_plan, "$aws:backup/selection:Selection::catalog-backup-selection"), views=(view,))
    found = summary(report)
    assert {policy for policy, _, _ in found} == {"dynamodb-backup-plan"}
    assert sorted(name for _, name, _ in found) == ["catalog-idempotency-dynamodb", "catalog-table-dynamodb"]
    assert all("is selected by no AWS Backup plan" in message for _, _, message in found)


@pytest.mark.parametrize("view", VIEWS)
def test_a_prod_plan_whose_copy_action_is_dropped_is_refused(view: str, prod_plan: Plan, analyze):
    broken = mutate(prod_plan, "$aws:backup/plan:Plan::catalog-backup-plan",
                    _set_rule(lambda rule: rule.pop("copyActions")))
    found = summary(analyze(broken, views=(view,)))
    assert len(found) == 2 and all(p == "dynamodb-backup-plan" and "copies no backup to a vault in another region" in m
                                   for p, _, m in found)


def test_a_prod_plan_keeping_backups_a_week_is_refused(prod_plan: Plan, analyze):
    broken = mutate(prod_plan, "$aws:backup/plan:Plan::catalog-backup-plan",
                    _set_rule(lambda rule: rule["lifecycle"].update(deleteAfter=7.0)))
    found = summary(analyze(broken))
    assert len(found) == 2 and all("keeps backups 7 days; the stack requires at least 30" in m for _, _, m in found)


# -- s3-bucket-baseline ---------------------------------------------------------------------------------

BASELINE = BUCKET_BASELINE.effective_config({})
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"


def _bucket(stack: StackBuilder, name: str = "archive", *, sse: str | None = "aws:kms", block: bool = True,
            policy: Any = "tls") -> str:
    arn = f"arn:aws:s3:::{name}"
    urn = stack.add("aws:s3/bucket:Bucket", f"{name}-bucket", {}, {"bucket": name, "arn": arn})
    if sse is not None:
        stack.add(SSE, f"{name}-sse", {"bucket": name, "rules": [
            {"applyServerSideEncryptionByDefault": {"sseAlgorithm": sse}, "bucketKeyEnabled": True}]})
    stack.add(PAB, f"{name}-pab", {"bucket": name, "blockPublicAcls": True, "blockPublicPolicy": True,
                                   "ignorePublicAcls": True, "restrictPublicBuckets": block})
    if policy == "tls":
        policy = json.dumps(tls_only_bucket_policy(arn))
    if policy is not None:
        stack.add(BUCKET_POLICY, f"{name}-policy", {"bucket": name, "policy": policy})
    return urn


def _baseline(stack: StackBuilder | Plan) -> list[tuple[str, str]]:
    plan = stack.plan() if isinstance(stack, StackBuilder) else stack
    return sorted((str(u).rsplit("::", 1)[-1], m) for u, m in check_bucket_baseline(stack_views(plan), BASELINE))


def test_an_encrypted_closed_tls_only_bucket_passes_with_kms_or_aes256():
    stack = StackBuilder("prod")
    _bucket(stack)
    _bucket(stack, "artifacts", sse="AES256")
    assert _baseline(stack) == []


def test_a_bucket_without_encryption_or_with_an_unlisted_algorithm_fires():
    stack = StackBuilder("prod")
    _bucket(stack, sse=None)
    assert _baseline(stack) == [("archive-bucket", "S3 bucket 'archive' has no default encryption with AES256 or "
                                                   "aws:kms or aws:kms:dsse.")]
    odd = StackBuilder("prod")
    _bucket(odd, sse="none")
    assert "(got none)" in _baseline(odd)[0][1]


def test_a_public_access_block_with_one_setting_off_fires():
    stack = StackBuilder("prod")
    _bucket(stack, block=False)
    assert _baseline(stack) == [("archive-bucket", "S3 bucket 'archive' has no public access block with all of "
                                                   "blockPublicAcls, blockPublicPolicy, ignorePublicAcls, "
                                                   "restrictPublicBuckets.")]


@pytest.mark.parametrize("policy", [
    None,
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                        "Resource": "arn:aws:s3:::archive/*"}]}),
    # A TLS deny that covers only the objects leaves bucket-level calls open.
    json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::archive/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}),
    "not json",
], ids=["no-policy", "no-deny", "objects-only", "not-json"])
def test_a_bucket_reachable_without_tls_fires(policy: Any):
    stack = StackBuilder("prod")
    _bucket(stack, policy=policy)
    assert _baseline(stack) == [("archive-bucket", "S3 bucket 'archive' has no bucket policy denying requests "
                                                   "without TLS (aws:SecureTransport false).")]


def test_settings_of_another_bucket_do_not_count_and_unknowns_at_preview_do_not_fire():
    stack = StackBuilder("prod")
    _bucket(stack, "other")
    stack.add("aws:s3/bucket:Bucket", "bare-bucket", {}, {"bucket": "bare", "arn": "arn:aws:s3:::bare"})
    assert [name for name, _ in _baseline(stack)] == ["bare-bucket"] * 3
    preview = StackBuilder("prod")
    bucket = preview.add("aws:s3/bucket:Bucket", "new-bucket", {}, {"bucket": UNKNOWN, "arn": UNKNOWN})
    for type_, name, props in ((SSE, "sse", {"rules": [{"applyServerSideEncryptionByDefault":
                                                         {"sseAlgorithm": "aws:kms"}}]}),
                               (PAB, "pab", dict.fromkeys(("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                           "restrictPublicBuckets"), True)),
                               (BUCKET_POLICY, "policy", {"policy": UNKNOWN})):
        preview.add(type_, name, {"bucket": UNKNOWN, **props}, deps={"bucket": [bucket]})
    assert _baseline(preview) == []


@pytest.mark.parametrize("view", VIEWS)
def test_the_prod_archive_bucket_without_its_policy_is_refused(view: str, prod_plan: Plan, analyze):
    report = analyze(remove(prod_plan, "$aws:s3/bucketPolicy:BucketPolicy::catalog-log-archive-policy"), views=(view,))
    ((policy, name, message),) = summary(report)
    assert (policy, name) == ("s3-bucket-baseline", "catalog-log-archive-bucket")
    assert message.endswith("has no bucket policy denying requests without TLS (aws:SecureTransport false).")


def test_the_prod_archive_bucket_with_an_open_public_access_block_is_refused(prod_plan: Plan, analyze):
    block = "$aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock::catalog-log-archive-public-access"
    broken = mutate(prod_plan, block,
                    lambda r: [props.update(restrictPublicBuckets=False) for props in (r.inputs, r.outputs)])
    found = summary(analyze(broken))
    assert [(p, n) for p, n, _ in found] == [("s3-bucket-baseline", "catalog-log-archive-bucket")]
