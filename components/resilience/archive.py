"""LogArchive: the stack's logs streamed to an S3 bucket of its own, kept longer and cheaper than in
CloudWatch Logs.

CloudWatch Logs subscription filters on the given log groups -> a Firehose delivery stream -> a bucket
encrypted with the archive's own key (usable only through S3 of the region), public access blocked,
owner-enforced, versioned, TLS-only, with a lifecycle to an archive class and an expiry. Records arrive
as CloudWatch Logs sends them (gzip-compressed JSON batches), so the stream does not compress again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.alerting.documents import partition_of
from components.buckets import private_bucket
from components.iam import tls_only_bucket_policy
from components.resilience import documents as docs
from components.resilience.settings import LogArchiveConfig
from components.types import LOG_ARCHIVE

ARCHIVE_PREFIX = "logs/"
ERROR_PREFIX = "errors/"


def stream_name(prefix: str) -> str:
    return f"{prefix}-log-archive"


@dataclass(frozen=True)
class LogArchiveArgs:
    name_prefix: str
    """Prefix of every physical name, `<service>-<stack>`."""
    region: str
    """The stack's region (the bucket's and the key's)."""
    config: LogArchiveConfig
    """Lifecycle of the archive."""
    log_groups: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Log groups to archive, by a short stable key (`function`, `access`)."""
    retain: bool = False
    """Pulumi `protect` and `retainOnDelete` on the bucket and its key; without it the bucket is emptied on
    delete (force_destroy)."""


class LogArchive(pulumi.ComponentResource):
    """Key, bucket (and its settings), delivery stream, the two roles and one subscription filter per group."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    stream_name: pulumi.Output[str]

    def __init__(self, name: str, args: LogArchiveArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(LOG_ARCHIVE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        retained = pulumi.ResourceOptions(parent=self, protect=args.retain, retain_on_delete=args.retain)
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        account_id = identity.account_id
        partition = identity.arn.apply(partition_of)

        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts the log archive of {args.name_prefix}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(pulumi.Output.all(account_id, partition).apply(
                lambda v: docs.archive_key_policy(v[0], args.region, v[1]))),
            opts=retained,
        )
        aws.kms.Alias(f"{name}-key-alias", name=f"alias/{args.name_prefix}-log-archive", target_key_id=key.key_id,
                      opts=child)

        bucket = aws.s3.Bucket(f"{name}-bucket", force_destroy=not args.retain, opts=retained)
        baseline = private_bucket(name, bucket, self, kms_key_arn=key.arn)
        public_access, encryption = baseline.public_access, baseline.encryption
        aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        config = args.config
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="archive-then-expire",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    transitions=[aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                        days=config.archive_after_days, storage_class=config.storage_class)],
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=config.expire_after_days),
                    # Versioning keeps what is overwritten or deleted; 30 days is enough to undo a mistake.
                    noncurrent_version_expiration=(
                        aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(noncurrent_days=30)
                    ),
                    abort_incomplete_multipart_upload=(
                        aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                            days_after_initiation=7)
                    ),
                ),
            ],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(bucket.arn.apply(tls_only_bucket_policy)),
            # S3 refuses a bucket policy while the public access block is being applied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )

        delivery_role = aws.iam.Role(
            f"{name}-delivery-role",
            description=f"Firehose writes the log archive of {args.name_prefix}",
            assume_role_policy=pulumi.Output.json_dumps(account_id.apply(docs.firehose_trust_policy)),
            opts=child,
        )
        delivery_policy = aws.iam.RolePolicy(
            f"{name}-delivery-policy",
            role=delivery_role.id,
            policy=pulumi.Output.json_dumps(pulumi.Output.all(bucket.arn, key.arn).apply(
                lambda v: docs.firehose_delivery_policy(v[0], v[1], args.region))),
            opts=child,
        )
        stream = aws.kinesis.FirehoseDeliveryStream(
            f"{name}-stream",
            name=stream_name(args.name_prefix),
            destination="extended_s3",
            server_side_encryption=aws.kinesis.FirehoseDeliveryStreamServerSideEncryptionArgs(
                enabled=True, key_type="AWS_OWNED_CMK"),
            extended_s3_configuration=aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationArgs(
                bucket_arn=bucket.arn,
                role_arn=delivery_role.arn,
                kms_key_arn=key.arn,
                prefix=ARCHIVE_PREFIX,
                error_output_prefix=f"{ERROR_PREFIX}!{{firehose:error-output-type}}/",
                buffering_size=5,
                buffering_interval=300,
                # CloudWatch Logs already gzips what it sends.
                compression_format="UNCOMPRESSED",
            ),
            # The role must be able to write before the stream's first delivery.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[delivery_policy, encryption]),
        )

        logs_role = aws.iam.Role(
            f"{name}-logs-role",
            description=f"CloudWatch Logs feeds the log archive of {args.name_prefix}",
            assume_role_policy=pulumi.Output.json_dumps(pulumi.Output.all(account_id, partition).apply(
                lambda v: docs.logs_to_firehose_trust_policy(v[0], args.region, v[1]))),
            opts=child,
        )
        logs_policy = aws.iam.RolePolicy(
            f"{name}-logs-policy",
            role=logs_role.id,
            policy=pulumi.Output.json_dumps(stream.arn.apply(docs.logs_to_firehose_policy)),
            opts=child,
        )
        for key_name, group in args.log_groups.items():
            aws.cloudwatch.LogSubscriptionFilter(
                f"{name}-{key_name}",
                name=f"{args.name_prefix}-archive-{key_name}",
                log_group=group,
                # Everything: the archive is the complete record.
                filter_pattern="",
                destination_arn=stream.arn,
                role_arn=logs_role.arn,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[logs_policy]),
            )

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.stream_name = stream.name
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn,
                               "streamName": self.stream_name})
