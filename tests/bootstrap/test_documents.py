"""The CI roles' documents as data: trust pinned to exact subjects, no wildcard actions, no data reads on the
preview roles, every resource type the program can create covered, what docs/ci.md lists granted."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from components.bootstrap import permissions
from components.bootstrap.permissions import Backend, Scope
from components.iam import PolicyDocument
from tests.grants import wildcard_findings
from tools.plan import mocks

PROJECT_DIR = Path(__file__).resolve().parents[2]
REPO = "example-org/prodready"
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
SCOPE = Scope("123456789012", ("eu-west-1", "us-east-1"), "catalog")
BACKEND = Backend("arn:aws:s3:::state-bucket-1234567", "arn:aws:kms:eu-west-1:123456789012:key/state",
                  "arn:aws:kms:eu-west-1:123456789012:key/secrets", "prodready", "prod", "eu-west-1")
# Types the plan mocks model that the program never creates: the bootstrap's own and IAM managed policies.
NOT_THE_PROGRAM_S = {"aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:iam/policy:Policy",
                     "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                     "aws:s3/bucketV2:BucketV2", "aws:s3/bucketObject:BucketObject",
                     "aws:s3/bucketObjectv2:BucketObjectv2"}
# What docs/ci.md says a deploy role needs besides the resources' own calls (the release, cost tags, the smoke
# test and the signals step).
DOCUMENTED_DEPLOY_ACTIONS = {
    "codedeploy:CreateDeployment", "codedeploy:GetDeployment", "codedeploy:BatchGetDeployments",
    "codedeploy:GetApplicationRevision", "codedeploy:GetDeploymentGroup", "codedeploy:ListDeployments",
    "codedeploy:ListDeploymentTargets", "codedeploy:BatchGetDeploymentTargets", "codedeploy:StopDeployment",
    "codedeploy:GetDeploymentConfig", "codedeploy:UpdateDeploymentGroup", "lambda:GetAlias", "lambda:GetFunction",
    "lambda:GetFunctionConfiguration", "lambda:ListVersionsByFunction", "lambda:ListAliases",
    "lambda:DeleteFunction", "cloudwatch:DescribeAlarms", "ce:UpdateCostAllocationTagsStatus",
    "ce:ListCostAllocationTags", "cognito-idp:DescribeUserPoolClient", "cloudwatch:GetMetricData",
    "logs:DescribeMetricFilters",
}


def _statements(document: dict, action: str, effect: str = "Allow") -> list[dict]:
    return [s for s in document["Statement"] if s["Effect"] == effect and action in
            ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]


def test_every_resource_type_the_program_can_create_has_its_reads() -> None:
    modelled = set(mocks._SHAPES) | set(mocks.DYNAMIC_PROVIDERS)
    missing = modelled - NOT_THE_PROGRAM_S - permissions.covered_types() - {"pulumi-python:dynamic/prodready:Release"}
    assert missing == set()
    golden = {line.split("::")[2].rsplit("$", 1)[-1] for path in (PROJECT_DIR / "tests" / "golden").glob("urns-*.txt")
              for line in path.read_text().splitlines() if line.startswith("urn:")}
    aws_types = {t for t in golden if t.startswith("aws:")}
    # The canary's script object: its Read is a HeadObject, granted on the script's keys only.
    assert aws_types - permissions.covered_types() == {"aws:s3/bucketObjectv2:BucketObjectv2"}


@pytest.mark.parametrize("build", [
    lambda: permissions.preview_policy(SCOPE, BACKEND),
    lambda: permissions.deploy_policy(SCOPE, BACKEND, ["arn:aws:iam::123456789012:role/ci-prod-deploy"]),
], ids=["preview", "deploy"])
def test_no_wildcard_action_and_only_resourceless_actions_on_star(build: Callable[[], PolicyDocument]) -> None:
    document = build()
    for action in permissions.actions_of(document):
        assert "*" not in action, action
    assert wildcard_findings(document) == []


def test_preview_policy_reads_no_data() -> None:
    document = permissions.preview_policy(SCOPE, BACKEND)
    allowed = permissions.actions_of(document)
    assert allowed & set(permissions.DATA_READ_ACTIONS) == set()
    # The data reads are also denied outright, whatever else is ever attached to the role.
    assert permissions.actions_of(document, "Deny") == set(permissions.DATA_READ_ACTIONS)
    assert {"dynamodb:Scan", "dynamodb:Query", "dynamodb:GetItem", "logs:GetLogEvents", "logs:FilterLogEvents",
            "secretsmanager:GetSecretValue"} <= set(permissions.DATA_READ_ACTIONS)
    # No write of any resource of the stack: only its lock object in the backend.
    writes = {a for a in allowed if re.match(r"^[a-z0-9-]+:(Create|Update|Delete|Put|Tag|Untag|Set)", a)}
    assert writes == {"s3:PutObject", "s3:DeleteObject"}
    (lock,) = _statements(document, "s3:PutObject")
    assert lock["Resource"] == [f"{BACKEND.bucket_arn}/.pulumi/locks/organization/prodready/prod/*"]
    # Objects: the canary's script (its Read is a HeadObject) and the stack's own state, nothing else.
    objects = sorted(r for s in _statements(document, "s3:GetObject") for r in s["Resource"])
    assert objects == sorted(["arn:aws:s3:::catalog*-canary-artifacts-*/code/*",
                              f"{BACKEND.bucket_arn}/.pulumi/stacks/prodready/prod.json*",
                              f"{BACKEND.bucket_arn}/.pulumi/meta.yaml"])
    # KMS: decrypt the stack's secrets, and the state objects only through S3; never another key.
    decrypt = _statements(document, "kms:Decrypt")
    assert sorted(r for s in decrypt for r in s["Resource"]) == sorted([BACKEND.state_key_arn, BACKEND.secrets_key_arn])
    (state_key,) = [s for s in decrypt if s["Resource"] == [BACKEND.state_key_arn]]
    assert state_key["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}


def test_deploy_policy_has_what_docs_ci_md_lists() -> None:
    allowed = permissions.actions_of(permissions.deploy_policy(SCOPE, BACKEND))
    assert DOCUMENTED_DEPLOY_ACTIONS - allowed == set()
    text = (PROJECT_DIR / "docs" / "ci.md").read_text()
    for action in DOCUMENTED_DEPLOY_ACTIONS:
        assert action.split(":")[1] in text, action


def test_deploy_policy_passes_only_its_own_roles_and_never_changes_the_ci_roles() -> None:
    ci_roles = ["arn:aws:iam::123456789012:role/ci-prod-preview-1", "arn:aws:iam::123456789012:role/ci-prod-deploy-1"]
    document = permissions.deploy_policy(SCOPE, BACKEND, ci_roles)
    (passing,) = _statements(document, "iam:PassRole")
    assert passing["Resource"] == ["arn:aws:iam::123456789012:role/catalog-*"]
    assert "iam:PassedToService" in passing["Condition"]["StringEquals"]
    (deny,) = _statements(document, "iam:UpdateAssumeRolePolicy", "Deny")
    assert deny["Resource"] == ci_roles
    # IAM changes reach the service's roles only.
    (iam,) = [s for s in document["Statement"] if s.get("Sid") == "IamManage"]
    assert iam["Resource"] == ["arn:aws:iam::123456789012:role/catalog-*"]


def test_resourceless_actions_are_on_the_pack_s_allow_list() -> None:
    from prodready_policy.security import RESOURCELESS_ACTIONS

    assert set(permissions.RESOURCELESS_READ) | set(permissions.RESOURCELESS_WRITE) <= set(RESOURCELESS_ACTIONS)
    # The preview role gets none of the writes among them.
    preview = permissions.actions_of(permissions.preview_policy(SCOPE, BACKEND))
    assert preview & set(permissions.RESOURCELESS_WRITE) == set()


def test_deploy_trust_is_the_stack_s_environment_of_the_repository_only() -> None:
    document = permissions.deploy_trust_policy(PROVIDER, REPO, "prod")
    (statement,) = document["Statement"]
    assert statement["Principal"] == {"Federated": PROVIDER}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:example-org/prodready:environment:prod",
    }}


def test_preview_trust_is_pull_requests_and_main_of_the_repository_only() -> None:
    (statement,) = permissions.preview_trust_policy(PROVIDER, REPO)["Statement"]
    assert statement["Principal"] == {"Federated": PROVIDER}
    # Exact values only (no StringLike): no other repository, branch, tag or environment matches.
    assert statement["Condition"] == {"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": ["repo:example-org/prodready:pull_request",
                                                    "repo:example-org/prodready:ref:refs/heads/main"],
    }}


def test_secrets_key_policy_passes_the_pack_s_key_rule() -> None:
    from prodready_policy.access import _statement_findings

    assert list(_statement_findings(permissions.secrets_key_policy("123456789012"), "123456789012", set())) == []


def _token(sub: str, aud: str = "sts.amazonaws.com") -> dict[str, str]:
    return {"token.actions.githubusercontent.com:sub": sub, "token.actions.githubusercontent.com:aud": aud}


@pytest.mark.parametrize(("sub", "aud", "preview", "deploy"), [
    ("repo:example-org/prodready:pull_request", "sts.amazonaws.com", True, False),
    ("repo:example-org/prodready:ref:refs/heads/main", "sts.amazonaws.com", True, False),
    ("repo:example-org/prodready:environment:prod", "sts.amazonaws.com", False, True),
    # Another stack's environment, another branch, a fork or look-alike repository, another audience.
    ("repo:example-org/prodready:environment:dev", "sts.amazonaws.com", False, False),
    ("repo:example-org/prodready:ref:refs/heads/feature", "sts.amazonaws.com", False, False),
    ("repo:someone/prodready:pull_request", "sts.amazonaws.com", False, False),
    ("repo:example-org/prodready-fork:environment:prod", "sts.amazonaws.com", False, False),
    ("repo:example-org/prodready:environment:prod", "api://AzureADTokenExchange", False, False),
])
def test_who_may_assume_the_roles(sub: str, aud: str, preview: bool, deploy: bool) -> None:
    from tests.grants import can

    principal = f"Federated:{PROVIDER}"
    context = _token(sub, aud)
    assert can(permissions.preview_trust_policy(PROVIDER, REPO), principal, "sts:AssumeRoleWithWebIdentity",
               "*", context) is preview
    assert can(permissions.deploy_trust_policy(PROVIDER, REPO, "prod"), principal,
               "sts:AssumeRoleWithWebIdentity", "*", context) is deploy


CHATBOT_TYPES = {"aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration",
                 "aws:chatbot/teamsChannelConfiguration:TeamsChannelConfiguration"}


@pytest.mark.parametrize("token", sorted(CHATBOT_TYPES))
def test_chat_channel_configurations_are_refreshed_and_deployed_on_their_global_arns(token: str) -> None:
    from fnmatch import fnmatch

    from tools.plan.mocks import _SHAPES, _Ctx

    assert token in permissions.covered_types()
    preview = permissions.preview_policy(SCOPE, BACKEND)
    deploy = permissions.deploy_policy(SCOPE, BACKEND)
    # The provider's Reads (Slack by ARN, Teams by team id) and tags: resourceless, so on the "*" statements.
    reads = {"chatbot:DescribeSlackChannelConfigurations", "chatbot:ListMicrosoftTeamsChannelConfigurations",
             "chatbot:ListTagsForResource"}
    (preview_reads,) = [s for s in preview["Statement"] if s["Sid"] == "ResourcelessReads"]
    assert reads <= set(preview_reads["Action"])
    assert {a for a in permissions.actions_of(preview) if a.startswith("chatbot:")} == reads
    # No statement with an empty Action (chatbot has no resource-scoped read).
    assert all(s["Action"] for document in (preview, deploy) for s in document["Statement"])
    (manage,) = [s for s in deploy["Statement"] if s["Sid"] == "ChatbotManage"]
    assert {"chatbot:UpdateSlackChannelConfiguration", "chatbot:DeleteSlackChannelConfiguration",
            "chatbot:UpdateMicrosoftTeamsChannelConfiguration", "chatbot:DeleteMicrosoftTeamsChannelConfiguration",
            "chatbot:TagResource", "chatbot:UntagResource"} == set(manage["Action"])
    (calls,) = [s for s in deploy["Statement"] if s["Sid"] == "ResourcelessCalls"]
    assert {"chatbot:CreateSlackChannelConfiguration", "chatbot:CreateMicrosoftTeamsChannelConfiguration",
            *reads} <= set(calls["Action"])
    # The ARN the engine reports (no region: us-east-2, the default chat API region, is not in SCOPE's list).
    assert "us-east-2" not in SCOPE.regions
    inputs = {"configurationName": "catalog-prod-slack-c07ez1abc23", "teamId": "8f6c1a52-0000-4000-8000-000000000000"}
    _, outputs = _SHAPES[token](_Ctx(token, "chat", "seed", inputs, "us-east-2", SCOPE.account_id), "chat")
    assert any(fnmatch(outputs["chatConfigurationArn"], pattern) for pattern in manage["Resource"])
    # The configurations' role is passed to Chatbot.
    (passing,) = _statements(deploy, "iam:PassRole")
    assert "chatbot.amazonaws.com" in passing["Condition"]["StringEquals"]["iam:PassedToService"]


REGIONS = ("eu-west-1", "eu-central-1", "us-east-1")
CI_ROLES = ["arn:aws:iam::123456789012:role/ci-prod-preview-abcdefg",
            "arn:aws:iam::123456789012:role/ci-prod-deploy-abcdefg"]
# IAM and AWS STS quotas: the sum of a role's inline policies, a customer managed policy, policies per role.
INLINE_LIMIT, MANAGED_LIMIT, ATTACHED_LIMIT = 10_240, 6_144, 10


@pytest.mark.parametrize("count", [1, 2, 3])
def test_every_role_s_policies_fit_iam_s_quotas(count: int) -> None:
    scope = Scope("123456789012", REGIONS[:count], "catalog")
    for inline, attached in (
        (permissions.preview_inline_policy(scope, BACKEND), permissions.service_policies(scope, write=False)),
        (permissions.deploy_inline_policy(scope, BACKEND, CI_ROLES), permissions.service_policies(scope, write=True)),
    ):
        assert permissions.policy_size(inline) <= INLINE_LIMIT
        assert len(attached) <= ATTACHED_LIMIT
        for group, document in attached.items():
            assert permissions.policy_size(document) <= MANAGED_LIMIT, group
            assert document["Statement"], group


def test_policy_size_counts_no_whitespace() -> None:
    assert permissions.policy_size({"Version": "2012-10-17", "Statement": []}) == len(
        '{"Version":"2012-10-17","Statement":[]}')


def test_every_service_is_in_exactly_one_policy_group() -> None:
    grouped = [s for services in permissions.POLICY_GROUPS.values() for s in services]
    assert sorted(grouped) == sorted(permissions.SERVICES)


@pytest.mark.parametrize(("region", "allowed"), [("eu-west-1", True), ("us-east-1", True), ("ap-south-1", False)])
def test_a_regional_call_is_allowed_in_the_stack_s_regions_only(region: str, allowed: bool) -> None:
    from fnmatch import fnmatch

    document = permissions.deploy_policy(SCOPE, BACKEND, CI_ROLES)
    arn = f"arn:aws:lambda:{region}:123456789012:function:catalog-api-abc1234"
    (manage,) = _statements(document, "lambda:UpdateFunctionCode")
    assert any(fnmatch(arn, pattern) for pattern in manage["Resource"]) is allowed


def test_deploy_role_may_use_the_published_layers_of_the_stack_s_regions() -> None:
    from fnmatch import fnmatch

    from components.service.function import opentelemetry_layer_arn, powertools_layer_arn

    document = permissions.deploy_policy(SCOPE, BACKEND, CI_ROLES)
    assert "lambda:GetLayerVersionByArn" not in permissions.actions_of(document)
    (layers,) = [s for s in document["Statement"] if s.get("Sid") == "UsePublishedLayers"]
    assert layers["Action"] == ["lambda:GetLayerVersion"]
    for region in SCOPE.regions:
        for arn in (powertools_layer_arn(region, "x86_64", 7), powertools_layer_arn(region, "arm64", 7),
                    opentelemetry_layer_arn(region, 13)):
            assert any(fnmatch(arn, pattern) for pattern in layers["Resource"]), arn
    # Only AWS's layers: another account's, or another layer of theirs, is not matched.
    assert not any(fnmatch("arn:aws:lambda:eu-west-1:999999999999:layer:AWSOpenTelemetryDistroPython:13", p)
                   for p in layers["Resource"])
    assert not any(fnmatch("arn:aws:lambda:eu-west-1:017000801446:layer:Other:1", p) for p in layers["Resource"])
    assert not any(fnmatch(powertools_layer_arn("ap-south-1", "arm64", 7), p) for p in layers["Resource"])


def test_the_zone_lookup_of_the_custom_domain_is_granted() -> None:
    from prodready_policy.security import RESOURCELESS_ACTIONS

    for document in (permissions.preview_policy(SCOPE, BACKEND), permissions.deploy_policy(SCOPE, BACKEND)):
        (star,) = [s for s in document["Statement"] if s["Resource"] == "*" and s["Effect"] == "Allow"]
        assert "route53:ListHostedZones" in star["Action"]
        (zones,) = [s for s in document["Statement"] if "route53:ListTagsForResource" in s["Action"]]
        assert "arn:aws:route53:::hostedzone/*" in zones["Resource"]
    assert RESOURCELESS_ACTIONS.count("route53:ListHostedZones") == 1
    assert len(RESOURCELESS_ACTIONS) == len(set(RESOURCELESS_ACTIONS))


def test_the_state_keys_are_the_diy_backend_s_for_a_project_stack() -> None:
    document = permissions.deploy_policy(SCOPE, BACKEND)
    (listing,) = _statements(document, "s3:ListBucket", "Allow")[-1:]
    assert listing["Condition"]["StringLike"]["s3:prefix"] == [
        ".pulumi/meta.yaml", ".pulumi/stacks/prodready/prod.json*", ".pulumi/locks/organization/prodready/prod/*",
        ".pulumi/history/prodready/prod/*", ".pulumi/backups/prodready/prod/*"]
