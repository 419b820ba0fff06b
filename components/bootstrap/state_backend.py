"""A Pulumi state backend for a team: a private, versioned S3 bucket encrypted with its own KMS key, and a
KMS key for the stacks' secrets (`pulumi stack init --secrets-provider awskms://...`)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.bootstrap.permissions import secrets_key_policy
from components.buckets import abort_incomplete_uploads_rule, private_bucket
from components.iam import tls_only_bucket_policy
from components.resilience.documents import archive_key_policy
from components.types import STATE_BACKEND


@dataclass(frozen=True)
class StateBackendArgs:
    account_id: str
    """The account the keys' policies name."""
    region: str
    """The bucket's and the keys' region (the keys are used only through S3 of this region)."""
    alias_prefix: str
    """`alias/<prefix>-state` and `alias/<prefix>-secrets`."""
    noncurrent_version_days: int
    """How long an older version of a state file is kept after it is replaced or deleted."""
    partition: str = "aws"
    """The AWS partition of the ARNs."""


class StateBackend(pulumi.ComponentResource):
    """The bucket (protected: `pulumi destroy` refuses to delete the team's state) and the two keys."""

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(STATE_BACKEND, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        state_key = aws.kms.Key(
            f"{name}-state-key",
            description="Pulumi state bucket: SSE-KMS of the stacks' state files",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            # Administered by the account, used only through S3 of this region.
            policy=pulumi.Output.json_dumps(archive_key_policy(args.account_id, args.region, args.partition)),
            opts=child,
        )
        aws.kms.Alias(f"{name}-state-key-alias", name=f"alias/{args.alias_prefix}-state",
                      target_key_id=state_key.key_id, opts=child)
        self.secrets_key = aws.kms.Key(
            f"{name}-secrets-key",
            description="Pulumi secrets provider (awskms) of the stacks",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(secrets_key_policy(args.account_id, args.partition)),
            opts=child,
        )
        self.secrets_alias = aws.kms.Alias(f"{name}-secrets-key-alias", name=f"alias/{args.alias_prefix}-secrets",
                                           target_key_id=self.secrets_key.key_id, opts=child)
        self.bucket = aws.s3.Bucket(f"{name}-bucket", opts=pulumi.ResourceOptions(parent=self, protect=True))
        baseline = private_bucket(f"{name}-bucket", self.bucket, self, kms_key_arn=state_key.arn)
        versioning = aws.s3.BucketVersioning(
            f"{name}-bucket-versioning", bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-bucket-lifecycle",
            bucket=self.bucket.id,
            rules=[
                # Every update writes a new version of the stack's file: older ones are a recovery window.
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_version_days),
                ),
                abort_incomplete_uploads_rule(),
            ],
            # S3 refuses a noncurrent-version rule before versioning is on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.json_dumps(self.bucket.arn.apply(tls_only_bucket_policy)),
            # S3 refuses a bucket policy while the public access block is being applied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[baseline.public_access]),
        )
        self.state_key = state_key
        self.backend_url = pulumi.Output.concat("s3://", self.bucket.bucket)
        self.secrets_provider = pulumi.Output.concat("awskms://", self.secrets_alias.name, "?region=", args.region)
        self.register_outputs({"backendUrl": self.backend_url, "secretsProvider": self.secrets_provider,
                               "bucketArn": self.bucket.arn})
