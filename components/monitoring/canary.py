"""Synthetic health check: a CloudWatch Synthetics canary requesting the API's readiness route."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components import iam
from components.buckets import abort_incomplete_uploads_rule, private_bucket
from components.types import HEALTH_CANARY

SCRIPT = Path(__file__).resolve().parent / "canary_scripts" / "health_check.js"
HANDLER = "health_check.handler"
# Node.js canaries load the handler's module from nodejs/node_modules/ in the code archive.
SCRIPT_PATH_IN_ARCHIVE = "nodejs/node_modules/health_check.js"
ARTIFACT_PREFIX = "runs/"
CODE_PREFIX = "code/"
# The canary's Lambda function is named cwsyn-<canary>-<uuid> (64 characters at most), which is why
# canary names stay within 21 characters.
MAX_CANARY_NAME = 21


def canary_name(prefix: str, suffix: str = "health") -> str:
    """`<prefix>-health`, shortened with a stable hash beyond 21 characters."""
    name = f"{prefix}-{suffix}".lower()
    if len(name) <= MAX_CANARY_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:5]
    return f"{name[:MAX_CANARY_NAME - len(digest) - 1]}-{digest}"


def script_key() -> str:
    """S3 key of the code archive; content-addressed, so a script change updates the canary."""
    return f"{CODE_PREFIX}health-check-{hashlib.sha256(SCRIPT.read_bytes()).hexdigest()[:12]}.zip"


def health_url(api_url: str, path: str) -> str:
    """`https://x.execute-api.../` + `/health/ready` without a doubled slash."""
    return f"{api_url.rstrip('/')}/{path.lstrip('/')}"


def canary_policy(
    *, bucket_arn: str, name: str, region: str, account_id: str, partition: str = "aws"
) -> dict[str, Any]:
    """Execution-role policy of a canary, as AWS documents it for a canary without KMS or VPC,
    scoped to this canary's artifact prefix and log groups."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteArtifacts",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": [f"{bucket_arn}/{ARTIFACT_PREFIX}*"],
            },
            {
                "Sid": "LocateArtifactBucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation"],
                "Resource": [bucket_arn],
            },
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [f"arn:{partition}:logs:{region}:{account_id}:log-group:/aws/lambda/cwsyn-{name}-*"],
            },
            {
                "Sid": "SyntheticsRuntime",
                "Effect": "Allow",
                "Action": ["s3:ListAllMyBuckets", "xray:PutTraceSegments"],
                # Neither action supports resource-level permissions.
                "Resource": "*",
            },
            {
                "Sid": "PublishCanaryMetrics",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": "CloudWatchSynthetics"}},
            },
        ],
    }


@dataclass(frozen=True)
class HealthCanaryArgs:
    name_prefix: str
    """Prefix of every physical name, `<service>-<stack>`."""
    region: str
    """Region of the stack (log-group ARNs in the role policy)."""
    url: pulumi.Input[str]
    """Base URL of the API stage."""
    path: str = "/health/ready"
    """Path requested on each run."""
    schedule: str = "rate(5 minutes)"
    """Synthetics schedule expression."""
    runtime_version: str = "syn-nodejs-puppeteer-15.0"
    """Synthetics runtime."""
    retention_days: int = 30
    """Days artifacts stay in S3 and run data in Synthetics."""
    timeout_seconds: int = 60
    """Run timeout."""


class HealthCanary(pulumi.ComponentResource):
    """A canary on the readiness route, its encrypted artifact bucket (with expiry) and its role."""

    canary_name: pulumi.Output[str]
    bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: HealthCanaryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(HEALTH_CANARY, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        physical_name = canary_name(args.name_prefix)

        # Artifacts are screenshots-free HAR/log files of each run: disposable, hence force_destroy.
        bucket = aws.s3.Bucket(f"{name}-artifacts", force_destroy=True, opts=child)
        baseline = private_bucket(f"{name}-artifacts", bucket, self)
        public_access, encryption = baseline.public_access, baseline.encryption
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-artifacts-expiry",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-run-artifacts",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=ARTIFACT_PREFIX),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.retention_days),
                ),
                abort_incomplete_uploads_rule(),
            ],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-artifacts-policy",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(bucket.arn.apply(iam.tls_only_bucket_policy)),
            # S3 refuses a bucket policy while the public access block is being applied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        code = aws.s3.BucketObjectv2(
            f"{name}-code",
            bucket=bucket.id,
            key=script_key(),
            source=pulumi.AssetArchive({SCRIPT_PATH_IN_ARCHIVE: pulumi.FileAsset(str(SCRIPT))}),
            content_type="application/zip",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[encryption]),
        )

        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        role = aws.iam.Role(
            f"{name}-role",
            description=f"Execution role of canary {physical_name}",
            assume_role_policy=pulumi.Output.json_dumps(iam.assume_role_policy("lambda.amazonaws.com")),
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                pulumi.Output.all(bucket.arn, identity.account_id, identity.arn).apply(
                    lambda v: canary_policy(
                        bucket_arn=v[0], name=physical_name, region=args.region, account_id=v[1],
                        partition=v[2].split(":")[1],
                    )
                )
            ),
            opts=child,
        )

        canary = aws.synthetics.Canary(
            f"{name}-synthetics",
            name=physical_name,
            artifact_s3_location=bucket.bucket.apply(lambda b: f"s3://{b}/{ARTIFACT_PREFIX}"),
            artifact_config=aws.synthetics.CanaryArtifactConfigArgs(
                s3_encryption=aws.synthetics.CanaryArtifactConfigS3EncryptionArgs(encryption_mode="SSE_S3"),
            ),
            execution_role_arn=role.arn,
            handler=HANDLER,
            runtime_version=args.runtime_version,
            s3_bucket=bucket.id,
            s3_key=code.key,
            schedule=aws.synthetics.CanaryScheduleArgs(expression=args.schedule),
            run_config=aws.synthetics.CanaryRunConfigArgs(
                timeout_in_seconds=args.timeout_seconds,
                environment_variables={
                    "HEALTH_URL": pulumi.Output.from_input(args.url).apply(lambda url: health_url(url, args.path)),
                },
            ),
            success_retention_period=args.retention_days,
            failure_retention_period=args.retention_days,
            start_canary=True,
            # Remove the canary's Lambda function and layers with it.
            delete_lambda=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )

        self.canary_name = canary.name
        self.bucket_name = bucket.bucket
        self.register_outputs({"canaryName": self.canary_name, "bucketName": self.bucket_name})
