"""AuditTrail: a CloudTrail trail of the stack, for the security-incident runbook's "who did what".

The trail records the region's management events (global services such as IAM included) and the data
events of the stack's tables (every item read and write), with log file validation, into a bucket of its
own: public access blocked, owner-enforced, versioned, TLS-only, expiring after `auditTrail.retentionDays`.
Log files are encrypted with the trail's key, which CloudTrail may use for this trail only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.alerting.documents import partition_of
from components.buckets import private_bucket
from components.resilience import documents as docs
from components.resilience.settings import AuditTrailConfig
from components.types import AUDIT_TRAIL


def trail_name(prefix: str) -> str:
    return f"{prefix}-audit"


@dataclass(frozen=True)
class AuditTrailArgs:
    name_prefix: str
    """Prefix of every physical name, `<service>-<stack>`."""
    region: str
    """The stack's region (the trail's home region)."""
    config: AuditTrailConfig
    """Which events, and how long their log files are kept."""
    table_arns: Sequence[pulumi.Input[str]] = field(default_factory=list)
    """Tables whose data events the trail records."""
    retain: bool = False
    """Pulumi `protect` and `retainOnDelete` on the bucket and its key (evidence outlives the stack)."""


class AuditTrail(pulumi.ComponentResource):
    """Key, bucket (and its settings) and the trail."""

    trail_arn: pulumi.Output[str]
    bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: AuditTrailArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(AUDIT_TRAIL, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        retained = pulumi.ResourceOptions(parent=self, protect=args.retain, retain_on_delete=args.retain)
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        account_id = identity.account_id
        partition = identity.arn.apply(partition_of)
        physical = trail_name(args.name_prefix)
        # Known before the trail exists: the key and bucket policies name it.
        arn = pulumi.Output.all(partition, account_id).apply(
            lambda v: docs.trail_arn(v[0], args.region, v[1], physical))

        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts the audit trail of {args.name_prefix}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(pulumi.Output.all(account_id, arn, partition).apply(
                lambda v: docs.trail_key_policy(v[0], v[1], v[2]))),
            opts=retained,
        )
        aws.kms.Alias(f"{name}-key-alias", name=f"alias/{physical}", target_key_id=key.key_id, opts=child)

        bucket = aws.s3.Bucket(f"{name}-bucket", force_destroy=not args.retain, opts=retained)
        # CloudTrail encrypts every log and digest file with the trail's key itself; the bucket default
        # (SSE-S3) only covers anything else written there.
        public_access = private_bucket(name, bucket, self).public_access
        aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-trail-logs",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.config.retention_days),
                noncurrent_version_expiration=(
                    aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(noncurrent_days=30)
                ),
            )],
            opts=child,
        )
        bucket_policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(pulumi.Output.all(bucket.arn, account_id, arn).apply(
                lambda v: docs.trail_bucket_policy(v[0], v[1], v[2]))),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )

        selectors = docs.trail_event_selectors(list(args.table_arns), args.config.management_events,
                                               args.config.data_events)
        trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=physical,
            s3_bucket_name=bucket.bucket,
            kms_key_id=key.arn,
            enable_log_file_validation=True,
            include_global_service_events=args.config.management_events,
            is_multi_region_trail=False,
            advanced_event_selectors=[
                aws.cloudtrail.TrailAdvancedEventSelectorArgs(
                    name=selector["name"],
                    field_selectors=[aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs(
                        field=f["field"], equals=f["equals"]) for f in selector["fieldSelectors"]],
                )
                for selector in selectors
            ],
            # CloudTrail checks it can write (bucket policy) and encrypt (key policy) when the trail is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[bucket_policy, key]),
        )

        self.trail_arn = trail.arn
        self.bucket_name = bucket.bucket
        self.register_outputs({"trailArn": self.trail_arn, "bucketName": self.bucket_name})
