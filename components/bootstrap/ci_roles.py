"""GitHub Actions' way into the account: the OIDC identity provider, and per stack a preview role (metadata
reads only) and a deploy role (what `pulumi up` of that stack calls), each trusting exact workflow subjects of
one repository."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.bootstrap import permissions
from components.bootstrap.settings import CiStack
from components.iam import PolicyDocument
from components.types import CI_ROLES


@dataclass(frozen=True)
class CiRolesArgs:
    repository: str
    """GitHub `owner/name` whose workflows may assume the roles."""
    account_id: str
    """The account of the stacks."""
    service: str
    """The stacks' `prodready:service` (their role and bucket names start with it)."""
    project: str
    """The Pulumi project of the stacks (their state's keys)."""
    stacks: Sequence[CiStack]
    """The stacks that get roles."""
    state_bucket_arn: pulumi.Input[str]
    """The team's state bucket."""
    state_key_arn: pulumi.Input[str]
    """Its SSE-KMS key."""
    secrets_key_arn: pulumi.Input[str]
    """The stacks' secrets key."""
    region: str
    """The state bucket's region."""
    partition: str = "aws"
    """The AWS partition of the ARNs."""


class CiRoles(pulumi.ComponentResource):
    """`<name>-github-oidc`, and `<name>-<stack>-preview` and `<name>-<stack>-deploy` for each stack, each with
    its inline policy and one attached customer managed policy per group of services
    (`<name>-<stack>-<role>-<group>`)."""

    def __init__(self, name: str, args: CiRolesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(CI_ROLES, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # No thumbprint: IAM validates GitHub's OIDC endpoint against its library of trusted root CAs, and a
        # thumbprint given for GitHub is kept but never used (IAM's UpdateOpenIDConnectProviderThumbprint).
        self.provider = aws.iam.OpenIdConnectProvider(
            f"{name}-github-oidc",
            url=f"https://{permissions.GITHUB_ISSUER}",
            client_id_lists=[permissions.GITHUB_AUDIENCE],
            opts=child,
        )
        self.preview_roles: dict[str, aws.iam.Role] = {}
        self.deploy_roles: dict[str, aws.iam.Role] = {}
        for stack in args.stacks:
            scope = permissions.Scope(args.account_id, stack.regions, args.service, args.partition)
            backend = pulumi.Output.all(args.state_bucket_arn, args.state_key_arn, args.secrets_key_arn).apply(
                functools.partial(_backend, args, stack.name))
            preview = aws.iam.Role(
                f"{name}-{stack.name}-preview",
                description=f"pulumi preview --refresh of {args.project}/{stack.name} from GitHub Actions",
                assume_role_policy=pulumi.Output.json_dumps(
                    self.provider.arn.apply(lambda arn: permissions.preview_trust_policy(arn, args.repository))),
                max_session_duration=3600,
                opts=child,
            )
            aws.iam.RolePolicy(
                f"{name}-{stack.name}-preview-policy",
                role=preview.id,
                policy=pulumi.Output.json_dumps(backend.apply(functools.partial(_preview_policy, scope))),
                opts=child,
            )
            _attach(f"{name}-{stack.name}-preview", preview, permissions.service_policies(scope, write=False),
                    f"refresh reads of {args.project}/{stack.name}", child)
            deploy = aws.iam.Role(
                f"{name}-{stack.name}-deploy",
                description=f"pulumi up of {args.project}/{stack.name} from its GitHub environment",
                assume_role_policy=pulumi.Output.json_dumps(self.provider.arn.apply(
                    functools.partial(_deploy_trust, args.repository, stack.github_environment))),
                # The longest deploy job (a canary release and the signals wait) fits in one session.
                max_session_duration=3 * 3600,
                opts=child,
            )
            aws.iam.RolePolicy(
                f"{name}-{stack.name}-deploy-policy",
                role=deploy.id,
                policy=pulumi.Output.json_dumps(pulumi.Output.all(backend, preview.arn, deploy.arn).apply(
                    functools.partial(_deploy_policy, scope))),
                opts=child,
            )
            _attach(f"{name}-{stack.name}-deploy", deploy, permissions.service_policies(scope, write=True),
                    f"pulumi up of {args.project}/{stack.name}", child)
            self.preview_roles[stack.name] = preview
            self.deploy_roles[stack.name] = deploy
        self.register_outputs({
            "oidcProviderArn": self.provider.arn,
            "previewRoleArns": {k: v.arn for k, v in self.preview_roles.items()},
            "deployRoleArns": {k: v.arn for k, v in self.deploy_roles.items()},
        })


def _attach(prefix: str, role: aws.iam.Role, documents: dict[str, PolicyDocument], purpose: str,
            opts: pulumi.ResourceOptions) -> None:
    """One customer managed policy per group of the role's service statements, attached to it: IAM's 10,240
    characters for a role's inline policies do not hold them all."""
    for group, document in documents.items():
        policy = aws.iam.Policy(
            f"{prefix}-{group}",
            description=f"{purpose}: {', '.join(permissions.POLICY_GROUPS[group])}",
            policy=json.dumps(document),
            opts=opts,
        )
        aws.iam.RolePolicyAttachment(f"{prefix}-{group}", role=role.name, policy_arn=policy.arn, opts=opts)


# The apply callbacks, bound to one stack with functools.partial (a lambda binding the loop variable through a
# default cannot be typed: python/mypy#15459).
def _backend(args: CiRolesArgs, stack_name: str, arns: list[Any]) -> permissions.Backend:
    return permissions.Backend(arns[0], arns[1], arns[2], args.project, stack_name, args.region)


def _preview_policy(scope: permissions.Scope, backend: permissions.Backend) -> PolicyDocument:
    return permissions.preview_inline_policy(scope, backend)


def _deploy_trust(repository: str, environment: str, provider_arn: str) -> PolicyDocument:
    return permissions.deploy_trust_policy(provider_arn, repository, environment)


def _deploy_policy(scope: permissions.Scope, values: list[Any]) -> PolicyDocument:
    return permissions.deploy_inline_policy(scope, values[0], protected_roles=[values[1], values[2]])
