"""A private S3 bucket's baseline settings, as every bucket of the stack has them: all public access blocked,
objects owned by the bucket owner (no ACLs), and default encryption. The `s3-bucket-baseline` policy checks
the same three (and the TLS-only policy each bucket's component writes for its own principals)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class BucketBaseline:
    """The settings' resources: a bucket policy must wait for the public access block (S3 refuses it while
    the block is being applied)."""

    public_access: aws.s3.BucketPublicAccessBlock
    encryption: aws.s3.BucketServerSideEncryptionConfiguration


def private_bucket(
    prefix: str, bucket: aws.s3.Bucket, parent: pulumi.Resource, kms_key_arn: pulumi.Input[str] | None = None
) -> BucketBaseline:
    """`<prefix>-public-access`, `<prefix>-ownership` and `<prefix>-encryption` for `bucket`, children of
    `parent`: SSE-KMS with `kms_key_arn` and an S3 bucket key (one data key per bucket for a while instead of
    a KMS request per object), else SSE-S3 (AES256)."""
    child = pulumi.ResourceOptions(parent=parent)
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{prefix}-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True, opts=child,
    )
    aws.s3.BucketOwnershipControls(
        f"{prefix}-ownership", bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=child,
    )
    default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
        sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn,
    ) if kms_key_arn is not None else (
        aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(sse_algorithm="AES256")
    )
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{prefix}-encryption",
        bucket=bucket.id,
        rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=default,
            bucket_key_enabled=True if kms_key_arn is not None else None,
        )],
        opts=child,
    )
    return BucketBaseline(public_access, encryption)


def abort_incomplete_uploads_rule() -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    """The lifecycle rule every bucket of ours carries: parts of an upload never completed are billed as
    stored until removed, so they go after a day."""
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="abort-incomplete-uploads",
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=1),
    )
