"""The bootstrap program under the mocks: its roles trust what the stacks' workflows present, its stacks and
regions are the committed stacks', the state bucket has its protections, and the policy pack passes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.bootstrap import permissions
from components.config import ConfigError
from tests.conftest import COMMITTED_STACKS
from tools.plan.__main__ import BOOTSTRAP_POLICY_CONFIG, PROGRAMS, main
from tools.plan.harness import Plan, PlannedResource, run_plan
from tools.plan.policy import POLICY_PACK_DIR, run_policy_pack

BOOTSTRAP = PROGRAMS["bootstrap"]
REPO = "example-org/prodready"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return run_plan("main", project_dir=BOOTSTRAP)


def _named(plan: Plan, type_token: str, name: str) -> PlannedResource:
    (found,) = [r for r in plan.of_type(type_token) if r.name == name]
    return found


def _document(resource: PlannedResource, prop: str) -> dict[str, Any]:
    return json.loads(resource.inputs[prop])


def _bucket_setting(plan: Plan, type_token: str) -> PlannedResource:
    return plan.one(type_token)


def test_the_oidc_provider_is_github_s_with_sts_audience_and_no_thumbprint(plan: Plan) -> None:
    provider = plan.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert "thumbprintLists" not in provider.inputs


def test_each_committed_stack_has_a_preview_and_a_deploy_role_trusting_its_subjects(plan: Plan) -> None:
    provider_arn = plan.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").outputs["arn"]
    roles = {r.name: r for r in plan.of_type("aws:iam/role:Role")}
    assert set(roles) == {f"ci-{s}-{kind}" for s in COMMITTED_STACKS for kind in ("preview", "deploy")}
    for stack in COMMITTED_STACKS:
        deploy = _document(roles[f"ci-{stack}-deploy"], "assumeRolePolicy")
        assert deploy == permissions.deploy_trust_policy(provider_arn, REPO, stack)
        (statement,) = deploy["Statement"]
        assert statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == (
            f"repo:{REPO}:environment:{stack}")
        preview = _document(roles[f"ci-{stack}-preview"], "assumeRolePolicy")
        assert preview["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == [
            f"repo:{REPO}:pull_request", f"repo:{REPO}:ref:refs/heads/main"]


def test_the_bootstrap_stacks_and_regions_are_the_committed_stacks(plan: Plan, plans: dict[str, Plan]) -> None:
    configured = json.loads(plan.config["prodready-bootstrap:stacks"])
    assert [s["name"] for s in configured] == list(COMMITTED_STACKS)
    for entry in configured:
        # Every region a stack's providers reach: its own, the backup copy's, us-east-1's billing and edge.
        regions = {r.inputs["region"] for r in plans[entry["name"]].of_type("pulumi:providers:aws")}
        assert set(entry["regions"]) == regions, entry["name"]


def test_policies_in_the_plan_are_the_documents_and_scope_each_stack(plan: Plan) -> None:
    for stack in COMMITTED_STACKS:
        preview = _document(_named(plan, "aws:iam/rolePolicy:RolePolicy", f"ci-{stack}-preview-policy"), "policy")
        deploy = _document(_named(plan, "aws:iam/rolePolicy:RolePolicy", f"ci-{stack}-deploy-policy"), "policy")
        assert permissions.actions_of(preview) & set(permissions.DATA_READ_ACTIONS) == set()
        # The Deny of data reads is in the inline policy: it wins over every policy attached to the role.
        assert permissions.actions_of(preview, "Deny") == set(permissions.DATA_READ_ACTIONS)
        for group in permissions.POLICY_GROUPS:
            attached = _document(_named(plan, "aws:iam/policy:Policy", f"ci-{stack}-preview-{group}"), "policy")
            assert permissions.actions_of(attached) & set(permissions.DATA_READ_ACTIONS) == set(), group
        assert not any("*" in a for a in permissions.actions_of(deploy) | permissions.actions_of(preview))
        # The state: only this stack's file and lock.
        (lock,) = [s for s in preview["Statement"] if s.get("Sid") == "OwnStackLock"]
        assert lock["Resource"][0].endswith(f"/.pulumi/locks/organization/prodready/{stack}/*")
        # The deploy role may never change the CI roles, its own included.
        (deny,) = [s for s in deploy["Statement"] if s.get("Sid") == "NeverChangeTheCiRoles"]
        assert any(r.endswith(f"role/ci-{stack}-deploy-" + r.rsplit("-", 1)[-1]) for r in deny["Resource"])


def test_every_role_s_policies_in_the_plan_fit_iam_s_quotas(plan: Plan) -> None:
    policies = {r.outputs["arn"]: r for r in plan.of_type("aws:iam/policy:Policy")}
    inline = plan.of_type("aws:iam/rolePolicy:RolePolicy")
    attachments = plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    for role in plan.of_type("aws:iam/role:Role"):
        own = [p for p in inline if p.inputs["role"] == role.outputs["name"] or p.inputs["role"] == role.id]
        assert sum(permissions.policy_size(_document(p, "policy")) for p in own) <= 10_240, role.name
        attached = [policies[a.inputs["policyArn"]] for a in attachments if a.inputs["role"] == role.outputs["name"]]
        assert 0 < len(attached) <= 10, role.name
        for policy in attached:
            assert permissions.policy_size(_document(policy, "policy")) <= 6_144, policy.name
    # Every statement of the documents is in the plan: the union of a deploy role's policies is its document.
    for stack in COMMITTED_STACKS:
        names = {f"ci-{stack}-deploy-{g}" for g in permissions.POLICY_GROUPS}
        attached_sids = {s["Sid"] for p in policies.values() if p.name in names
                         for s in _document(p, "policy")["Statement"]}
        inline_sids = {s["Sid"] for s in _document(_named(plan, "aws:iam/rolePolicy:RolePolicy",
                                                           f"ci-{stack}-deploy-policy"), "policy")["Statement"]}
        scope = permissions.Scope("123456789012", ["eu-west-1"], "catalog")
        assert attached_sids | inline_sids == {s["Sid"] for s in permissions.deploy_policy(
            scope, permissions.Backend("b", "k", "s", "prodready", stack, "eu-west-1"), ["r"])["Statement"]}


def test_the_state_bucket_is_private_versioned_encrypted_with_its_own_key_and_tls_only(plan: Plan) -> None:
    bucket = plan.one("aws:s3/bucket:Bucket")
    assert bucket.protect
    name = bucket.outputs["bucket"]
    keys = {r.name: r for r in plan.of_type("aws:kms/key:Key")}
    state_key = keys["state-state-key"]
    for key in keys.values():
        assert key.inputs["enableKeyRotation"] is True
        assert json.loads(key.inputs["policy"])["Statement"], key.name
    versioning = plan.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["bucket"] == name
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    sse = plan.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    (rule,) = sse.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms",
                                                          "kmsMasterKeyId": state_key.outputs["arn"]}
    block = plan.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[flag] is True for flag in
               ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    ownership = plan.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    (deny,) = _document(plan.one("aws:s3/bucketPolicy:BucketPolicy"), "policy")["Statement"]
    arn = bucket.outputs["arn"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [arn, f"{arn}/*"]
    lifecycle = plan.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    rules = {r["id"]: r for r in lifecycle.inputs["rules"]}
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    assert versioning.urn in lifecycle.dependencies


def test_outputs_name_the_backend_the_secrets_provider_and_the_roles(plan: Plan) -> None:
    bucket = plan.one("aws:s3/bucket:Bucket").outputs["bucket"]
    assert plan.outputs["backendUrl"] == f"s3://{bucket}"
    assert plan.outputs["secretsProvider"] == "awskms://alias/prodready-secrets?region=eu-west-1"
    roles = {r.name: r.outputs["arn"] for r in plan.of_type("aws:iam/role:Role")}
    assert plan.outputs["deployRoleArns"] == {s: roles[f"ci-{s}-deploy"] for s in COMMITTED_STACKS}
    assert plan.outputs["previewRoleArns"] == {s: roles[f"ci-{s}-preview"] for s in COMMITTED_STACKS}
    assert all(arn.startswith("arn:aws:iam::123456789012:role/ci-") for arn in roles.values())


def test_the_policy_pack_passes_the_bootstrap_with_no_violation(plan: Plan) -> None:
    report = run_policy_pack(plan, config_path=BOOTSTRAP_POLICY_CONFIG, pack_dir=POLICY_PACK_DIR)
    assert [(v.policy, v.urn, v.message) for v in report.violations] == []
    assert report.resources == len(plan.resources) and report.views == ("preview", "update")


def test_the_pack_refuses_a_preview_role_with_a_wildcard_action(plan: Plan) -> None:
    import copy
    from dataclasses import replace

    broken = copy.deepcopy(plan)
    policy = _named(broken, "aws:iam/rolePolicy:RolePolicy", "ci-prod-preview-policy")
    document = json.loads(policy.inputs["policy"])
    document["Statement"].append({"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"})
    policy.inputs["policy"] = policy.outputs["policy"] = json.dumps(document)
    report = run_policy_pack(replace(broken), config_path=BOOTSTRAP_POLICY_CONFIG, pack_dir=POLICY_PACK_DIR,
                             views=("update",))
    assert {(v.policy, v.urn) for v in report.mandatory} == {("iam-no-wildcards", policy.urn)}


@pytest.mark.parametrize(("key", "value", "named"), [
    ("prodready-bootstrap:repository", "not a repository", "prodready-bootstrap:repository"),
    ("prodready-bootstrap:accountId", "12345", "prodready-bootstrap:accountId"),
    ("prodready-bootstrap:stacks", [{"name": "prod", "regions": ["mars-1"]}], "prodready-bootstrap:stacks.0.regions"),
    ("prodready-bootstrap:stacks", [{"name": "a", "regions": ["eu-west-1"]}, {"name": "a", "regions": ["eu-west-1"]}],
     "prodready-bootstrap:stacks"),
    ("prodready:repository", "x/y", "prodready:repository"),
])
def test_bad_config_names_the_key_and_stack_and_registers_nothing(key: str, value: Any, named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        run_plan("main", project_dir=BOOTSTRAP, config_overrides={key: value})
    assert "stack 'main'" in str(raised.value) and named in str(raised.value)


def test_make_plan_of_the_bootstrap_writes_its_plan_and_passes_the_pack(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan.json"
    assert main(["--program", "bootstrap", "--stack", "main", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "policy violations: 0 mandatory, 0 advisory" in printed
    assert json.loads(out.read_text())["project"] == "prodready-bootstrap"
    bad = tmp_path / "bad.json"
    assert main(["--program", "bootstrap", "--stack", "nope", "--out", str(bad)]) == 2
    assert not bad.exists()
