"""prodready-bootstrap: GitHub's OIDC provider, the stacks' preview and deploy roles, and the team's state
backend. Reads and validates the config once, then composes the components."""

from __future__ import annotations

import sys
from pathlib import Path

# The components live in the project root, beside this directory; the engine runs this program from here.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pulumi
import pulumi_aws as aws

from components.bootstrap.ci_roles import CiRoles, CiRolesArgs
from components.bootstrap.settings import load_bootstrap_config
from components.bootstrap.state_backend import StateBackend, StateBackendArgs
from components.config import raw_pulumi_config

config = load_bootstrap_config(pulumi.get_stack(), raw_pulumi_config())
provider = aws.Provider(
    "aws",
    region=config.region,
    allowed_account_ids=[config.account_id],
    default_tags=aws.ProviderDefaultTagsArgs(tags=config.tags(pulumi.get_stack())),
)
with_provider = pulumi.ResourceOptions(providers=[provider])

backend = StateBackend("state", StateBackendArgs(
    account_id=config.account_id, region=config.region, alias_prefix=config.project,
    noncurrent_version_days=config.noncurrent_version_days,
), opts=with_provider)
roles = CiRoles("ci", CiRolesArgs(
    repository=config.repository, account_id=config.account_id, service=config.service, project=config.project,
    stacks=config.stacks, state_bucket_arn=backend.bucket.arn, state_key_arn=backend.state_key.arn,
    secrets_key_arn=backend.secrets_key.arn, region=config.region,
), opts=with_provider)

pulumi.export("backendUrl", backend.backend_url)
pulumi.export("secretsProvider", backend.secrets_provider)
pulumi.export("oidcProviderArn", roles.provider.arn)
pulumi.export("previewRoleArns", {name: role.arn for name, role in roles.preview_roles.items()})
pulumi.export("deployRoleArns", {name: role.arn for name, role in roles.deploy_roles.items()})
