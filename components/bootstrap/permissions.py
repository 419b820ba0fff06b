"""The CI roles' policy documents as data: what `pulumi preview --refresh` reads and what `pulumi up` changes, per
AWS service the program's resource types belong to. Pure functions, tested without Pulumi.

Why a generated policy and not an AWS managed one for the preview roles:
- `ReadOnlyAccess` reads data: `s3:GetObject` on every bucket, `dynamodb:GetItem`/`Query`/`Scan`,
  `logs:GetLogEvents`/`FilterLogEvents`/`StartQuery`, `kinesis:GetRecords`, and more as services are added.
- `ViewOnlyAccess` (job function) lists and describes only what the console's lists show: for several of our
  types it has the `List*` call and not the `Describe*`/`Get*` call the provider's Read makes (it has
  `acm:ListCertificates` and not `acm:DescribeCertificate`, no `kms:GetKeyPolicy`, no `s3:GetBucketPolicy`),
  so a refresh fails with AccessDenied.
- So: exactly the read calls of the provider's Read for each resource type the program can create
  (`SERVICES`, checked against the plan mocks' types and the golden URNs by tests/bootstrap), on ARNs of the
  stack's account and regions, plus an explicit Deny of the data reads as a second line.

Size: IAM allows 10,240 characters (whitespace not counted) for the sum of a role's inline policies and 6,144 for
a customer managed policy, 10 of them attached to a role (IAM and AWS STS quotas). So the services' statements
are customer managed policies, one per group of `POLICY_GROUPS`; the inline policy keeps the state backend, the
calls on "*" and the explicit Denies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from components.iam import PolicyDocument
from components.service.function import POWERTOOLS_LAYER_ACCOUNT
from components.service.settings import OPENTELEMETRY_LAYER_ACCOUNTS
from components.types import (
    ACM_CERTIFICATE,
    ACM_CERTIFICATE_VALIDATION,
    APIGATEWAYV2_API,
    APIGATEWAYV2_API_MAPPING,
    APIGATEWAYV2_AUTHORIZER,
    APIGATEWAYV2_DOMAIN_NAME,
    APIGATEWAYV2_INTEGRATION,
    APIGATEWAYV2_ROUTE,
    APIGATEWAYV2_STAGE,
    BACKUP_PLAN,
    BACKUP_RESTORE_TESTING_PLAN,
    BACKUP_RESTORE_TESTING_SELECTION,
    BACKUP_SELECTION,
    BACKUP_VAULT,
    BACKUP_VAULT_LOCK_CONFIGURATION,
    BACKUP_VAULT_NOTIFICATIONS,
    BUDGETS_BUDGET,
    CHATBOT_SLACK_CHANNEL_CONFIGURATION,
    CHATBOT_TEAMS_CHANNEL_CONFIGURATION,
    CLOUDFRONT_DISTRIBUTION,
    CLOUDFRONT_MONITORING_SUBSCRIPTION,
    CLOUDTRAIL_TRAIL,
    CLOUDWATCH_ALARM_MUTE_RULE,
    CLOUDWATCH_COMPOSITE_ALARM,
    CLOUDWATCH_DASHBOARD,
    CLOUDWATCH_EVENT_RULE,
    CLOUDWATCH_EVENT_TARGET,
    CLOUDWATCH_LOG_DATA_PROTECTION_POLICY,
    CLOUDWATCH_LOG_GROUP,
    CLOUDWATCH_LOG_METRIC_FILTER,
    CLOUDWATCH_LOG_SUBSCRIPTION_FILTER,
    CLOUDWATCH_METRIC_ALARM,
    CLOUDWATCH_QUERY_DEFINITION,
    CODEDEPLOY_APPLICATION,
    CODEDEPLOY_DEPLOYMENT_CONFIG,
    CODEDEPLOY_DEPLOYMENT_GROUP,
    COGNITO_RESOURCE_SERVER,
    COGNITO_USER_POOL,
    COGNITO_USER_POOL_CLIENT,
    COGNITO_USER_POOL_DOMAIN,
    COSTEXPLORER_ANOMALY_MONITOR,
    COSTEXPLORER_ANOMALY_SUBSCRIPTION,
    COSTEXPLORER_COST_ALLOCATION_TAG,
    DYNAMIC_COST_ALLOCATION_TAGS,
    DYNAMODB_TABLE,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    KINESIS_FIREHOSE_DELIVERY_STREAM,
    KMS_ALIAS,
    KMS_KEY,
    LAMBDA_ALIAS,
    LAMBDA_FUNCTION,
    LAMBDA_PERMISSION,
    LAMBDA_PROVISIONED_CONCURRENCY_CONFIG,
    ROUTE53_RECORD,
    S3_BUCKET,
    S3_BUCKET_LIFECYCLE_CONFIGURATION,
    S3_BUCKET_OWNERSHIP_CONTROLS,
    S3_BUCKET_POLICY,
    S3_BUCKET_PUBLIC_ACCESS_BLOCK,
    S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION,
    S3_BUCKET_VERSIONING,
    SNS_TOPIC,
    SNS_TOPIC_POLICY,
    SNS_TOPIC_SUBSCRIPTION,
    SYNTHETICS_CANARY,
    WAFV2_WEB_ACL,
    WAFV2_WEB_ACL_LOGGING_CONFIGURATION,
    XRAY_GROUP,
    XRAY_SAMPLING_RULE,
)

GITHUB_ISSUER = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "sts.amazonaws.com"
# The default branch: the prod preview before the approval and the nightly drift check run on it.
MAIN_REF = "refs/heads/main"


@dataclass(frozen=True)
class Scope:
    """Where one stack's resources live: what the ARN patterns are built from."""

    account_id: str
    regions: Sequence[str]
    service: str
    """The stack's `prodready:service`: its buckets' names start with it."""
    partition: str = "aws"

    def regional(self, service: str, resource: str) -> list[str]:
        # One pattern per region: a `*` region (with an aws:RequestedRegion condition) would be shorter, but the
        # pack's iam-no-wildcards rule reads a `*` in an ARN's region field as region-wide.
        return [f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}" for region in self.regions]

    def global_(self, service: str, resource: str, *, account: bool = True) -> list[str]:
        return [f"arn:{self.partition}:{service}::{self.account_id if account else ''}:{resource}"]


Arns = Callable[[Scope], list[str]]


@dataclass(frozen=True)
class ServiceAccess:
    """One AWS service's share of the CI roles: the resource types it covers, the calls, the ARNs."""

    types: tuple[str, ...]
    """Pulumi type tokens whose Read/Create/Update/Delete these calls are."""
    read: tuple[str, ...]
    """Metadata reads of the provider's Read (refresh, preview): never an item, object or log event."""
    write: tuple[str, ...]
    """What create, update, delete and tagging call (deploy roles only)."""
    arns: Arns
    """The ARN patterns of the stack's resources of this service."""


def _apigateway(s: Scope) -> list[str]:
    # API Gateway's ARNs have no account; the paths are the HTTP APIs, their children, domain names and tags.
    return [f"arn:{s.partition}:apigateway:{r}::{path}" for r in s.regions
            for path in ("/apis", "/apis/*", "/domainnames", "/domainnames/*", "/tags/*")]


def _buckets(s: Scope) -> list[str]:
    # Every bucket of the stacks is autonamed from a component whose name starts with the service.
    return [f"arn:{s.partition}:s3:::{s.service}-*"]


SERVICES: dict[str, ServiceAccess] = {
    "apigateway": ServiceAccess(
        (APIGATEWAYV2_API, APIGATEWAYV2_AUTHORIZER,
         APIGATEWAYV2_INTEGRATION, APIGATEWAYV2_ROUTE,
         APIGATEWAYV2_STAGE, APIGATEWAYV2_DOMAIN_NAME,
         APIGATEWAYV2_API_MAPPING),
        # API Gateway authorises by HTTP verb on the resource path; GET reads configuration only.
        ("apigateway:GET",),
        ("apigateway:POST", "apigateway:PATCH", "apigateway:PUT", "apigateway:DELETE"),
        _apigateway,
    ),
    "backup": ServiceAccess(
        (BACKUP_PLAN, BACKUP_SELECTION, BACKUP_VAULT,
         BACKUP_VAULT_LOCK_CONFIGURATION,
         BACKUP_VAULT_NOTIFICATIONS, BACKUP_RESTORE_TESTING_PLAN,
         BACKUP_RESTORE_TESTING_SELECTION),
        ("backup:GetBackupPlan", "backup:GetBackupSelection", "backup:DescribeBackupVault",
         "backup:GetBackupVaultAccessPolicy", "backup:GetBackupVaultNotifications", "backup:ListTags",
         "backup:GetRestoreTestingPlan", "backup:GetRestoreTestingSelection"),
        ("backup:CreateBackupPlan", "backup:UpdateBackupPlan", "backup:DeleteBackupPlan",
         "backup:CreateBackupSelection", "backup:DeleteBackupSelection", "backup:CreateBackupVault",
         "backup:DeleteBackupVault", "backup:PutBackupVaultLockConfiguration",
         "backup:DeleteBackupVaultLockConfiguration", "backup:PutBackupVaultNotifications",
         "backup:DeleteBackupVaultNotifications", "backup:TagResource", "backup:UntagResource",
         "backup:CreateRestoreTestingPlan", "backup:UpdateRestoreTestingPlan", "backup:DeleteRestoreTestingPlan",
         "backup:CreateRestoreTestingSelection", "backup:UpdateRestoreTestingSelection",
         "backup:DeleteRestoreTestingSelection"),
        lambda s: [*s.regional("backup", "backup-vault:*"), *s.regional("backup", "backup-plan:*"),
                   *s.regional("backup", "restore-testing-plan:*")],
    ),
    "budgets": ServiceAccess(
        (BUDGETS_BUDGET,),
        ("budgets:ViewBudget", "budgets:ListTagsForResource"),
        ("budgets:ModifyBudget", "budgets:TagResource", "budgets:UntagResource"),
        lambda s: s.global_("budgets", "budget/*"),
    ),
    "chatbot": ServiceAccess(
        (CHATBOT_SLACK_CHANNEL_CONFIGURATION, CHATBOT_TEAMS_CHANNEL_CONFIGURATION),
        # The provider's Reads are DescribeSlackChannelConfigurations (by ARN), ListMicrosoftTeamsChannelConfigurations
        # (by team id) and ListTagsForResource; the Service Authorization Reference lists all three, and both
        # creates, without a resource type (RESOURCELESS_READ, RESOURCELESS_WRITE): nothing is left to scope.
        (),
        ("chatbot:UpdateSlackChannelConfiguration", "chatbot:DeleteSlackChannelConfiguration",
         "chatbot:UpdateMicrosoftTeamsChannelConfiguration", "chatbot:DeleteMicrosoftTeamsChannelConfiguration",
         "chatbot:TagResource", "chatbot:UntagResource"),
        # Configurations are global (no region in the ARN) whichever regional API (monitoring.chat.region) manages
        # them, so the stack's region list does not limit them.
        lambda s: s.global_("chatbot", "chat-configuration/*"),
    ),
    "cloudtrail": ServiceAccess(
        (CLOUDTRAIL_TRAIL,),
        ("cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors",
         "cloudtrail:GetInsightSelectors", "cloudtrail:ListTags"),
        ("cloudtrail:CreateTrail", "cloudtrail:UpdateTrail", "cloudtrail:DeleteTrail", "cloudtrail:StartLogging",
         "cloudtrail:StopLogging", "cloudtrail:PutEventSelectors", "cloudtrail:PutInsightSelectors",
         "cloudtrail:AddTags", "cloudtrail:RemoveTags"),
        lambda s: s.regional("cloudtrail", "trail/*"),
    ),
    "cloudwatch": ServiceAccess(
        (CLOUDWATCH_METRIC_ALARM, CLOUDWATCH_COMPOSITE_ALARM,
         CLOUDWATCH_DASHBOARD, CLOUDWATCH_ALARM_MUTE_RULE),
        ("cloudwatch:ListTagsForResource", "cloudwatch:GetDashboard", "cloudwatch:GetAlarmMuteRule"),
        ("cloudwatch:PutMetricAlarm", "cloudwatch:PutCompositeAlarm", "cloudwatch:DeleteAlarms",
         "cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards", "cloudwatch:TagResource",
         "cloudwatch:UntagResource", "cloudwatch:PutAlarmMuteRule", "cloudwatch:DeleteAlarmMuteRule"),
        lambda s: [*s.regional("cloudwatch", "alarm:*"), *s.global_("cloudwatch", "dashboard/*"),
                   *s.regional("cloudwatch", "alarm-mute-rule:*")],
    ),
    "events": ServiceAccess(
        (CLOUDWATCH_EVENT_RULE, CLOUDWATCH_EVENT_TARGET),
        ("events:DescribeRule", "events:ListTargetsByRule", "events:ListTagsForResource"),
        ("events:PutRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets", "events:TagResource",
         "events:UntagResource"),
        lambda s: s.regional("events", "rule/*"),
    ),
    "logs": ServiceAccess(
        (CLOUDWATCH_LOG_GROUP, CLOUDWATCH_LOG_METRIC_FILTER,
         CLOUDWATCH_LOG_SUBSCRIPTION_FILTER,
         CLOUDWATCH_LOG_DATA_PROTECTION_POLICY,
         CLOUDWATCH_QUERY_DEFINITION),
        ("logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
         "logs:DescribeMetricFilters", "logs:DescribeSubscriptionFilters", "logs:GetDataProtectionPolicy"),
        ("logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
         "logs:AssociateKmsKey", "logs:DisassociateKmsKey", "logs:TagResource", "logs:UntagResource",
         "logs:TagLogGroup", "logs:UntagLogGroup", "logs:PutMetricFilter", "logs:DeleteMetricFilter",
         "logs:PutSubscriptionFilter", "logs:DeleteSubscriptionFilter", "logs:PutDataProtectionPolicy",
         "logs:DeleteDataProtectionPolicy"),
        lambda s: s.regional("logs", "log-group:*"),
    ),
    "codedeploy": ServiceAccess(
        (CODEDEPLOY_APPLICATION, CODEDEPLOY_DEPLOYMENT_CONFIG,
         CODEDEPLOY_DEPLOYMENT_GROUP),
        ("codedeploy:GetApplication", "codedeploy:GetDeploymentConfig", "codedeploy:GetDeploymentGroup",
         "codedeploy:ListTagsForResource"),
        # With the release's calls inside `pulumi up` (docs/ci.md).
        ("codedeploy:CreateApplication", "codedeploy:UpdateApplication", "codedeploy:DeleteApplication",
         "codedeploy:CreateDeploymentConfig", "codedeploy:DeleteDeploymentConfig",
         "codedeploy:CreateDeploymentGroup", "codedeploy:UpdateDeploymentGroup",
         "codedeploy:DeleteDeploymentGroup", "codedeploy:TagResource", "codedeploy:UntagResource",
         "codedeploy:CreateDeployment", "codedeploy:GetDeployment", "codedeploy:BatchGetDeployments",
         "codedeploy:GetApplicationRevision", "codedeploy:ListDeployments", "codedeploy:StopDeployment"),
        lambda s: [*s.regional("codedeploy", "application:*"), *s.regional("codedeploy", "deploymentgroup:*"),
                   *s.regional("codedeploy", "deploymentconfig:*")],
    ),
    "cognito-idp": ServiceAccess(
        (COGNITO_USER_POOL, COGNITO_USER_POOL_CLIENT,
         COGNITO_RESOURCE_SERVER, COGNITO_USER_POOL_DOMAIN),
        # DescribeUserPoolClient returns the machine client's secret: the provider's Read of the client has no
        # other call, so a refresh cannot avoid it (the state stores it as a secret). ListUsers and
        # AdminGetUser (the pool's users) are not granted.
        ("cognito-idp:DescribeUserPool", "cognito-idp:GetUserPoolMfaConfig", "cognito-idp:ListTagsForResource",
         "cognito-idp:DescribeUserPoolClient", "cognito-idp:DescribeResourceServer",
         "cognito-idp:DescribeUserPoolDomain"),
        ("cognito-idp:UpdateUserPool", "cognito-idp:DeleteUserPool", "cognito-idp:SetUserPoolMfaConfig",
         "cognito-idp:TagResource", "cognito-idp:UntagResource", "cognito-idp:CreateUserPoolClient",
         "cognito-idp:UpdateUserPoolClient", "cognito-idp:DeleteUserPoolClient",
         "cognito-idp:CreateResourceServer", "cognito-idp:UpdateResourceServer",
         "cognito-idp:DeleteResourceServer", "cognito-idp:CreateUserPoolDomain",
         "cognito-idp:UpdateUserPoolDomain", "cognito-idp:DeleteUserPoolDomain"),
        lambda s: s.regional("cognito-idp", "userpool/*"),
    ),
    "ce": ServiceAccess(
        (COSTEXPLORER_ANOMALY_MONITOR, COSTEXPLORER_ANOMALY_SUBSCRIPTION,
         DYNAMIC_COST_ALLOCATION_TAGS,
         # Retired (tests/golden/retired.txt) but still in prod's state until an update drops it; its Read
         # is ListCostAllocationTags (RESOURCELESS_READ).
         COSTEXPLORER_COST_ALLOCATION_TAG),
        ("ce:GetAnomalyMonitors", "ce:GetAnomalySubscriptions", "ce:ListTagsForResource"),
        ("ce:UpdateAnomalyMonitor", "ce:DeleteAnomalyMonitor", "ce:UpdateAnomalySubscription",
         "ce:DeleteAnomalySubscription", "ce:TagResource", "ce:UntagResource"),
        lambda s: [*s.global_("ce", "anomalymonitor/*"), *s.global_("ce", "anomalysubscription/*")],
    ),
    "dynamodb": ServiceAccess(
        (DYNAMODB_TABLE,),
        ("dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTimeToLive",
         "dynamodb:ListTagsOfResource", "dynamodb:GetResourcePolicy"),
        ("dynamodb:CreateTable", "dynamodb:UpdateTable", "dynamodb:DeleteTable",
         "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive", "dynamodb:TagResource",
         "dynamodb:UntagResource"),
        lambda s: s.regional("dynamodb", "table/*"),
    ),
    "iam": ServiceAccess(
        (IAM_ROLE, IAM_ROLE_POLICY),
        ("iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
         "iam:ListRoleTags"),
        ("iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
         "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:PutRolePolicy",
         "iam:DeleteRolePolicy", "iam:ListInstanceProfilesForRole"),
        lambda s: s.global_("iam", f"role/{s.service}-*"),
    ),
    "firehose": ServiceAccess(
        (KINESIS_FIREHOSE_DELIVERY_STREAM,),
        ("firehose:DescribeDeliveryStream", "firehose:ListTagsForDeliveryStream"),
        ("firehose:CreateDeliveryStream", "firehose:DeleteDeliveryStream", "firehose:UpdateDestination",
         "firehose:TagDeliveryStream", "firehose:UntagDeliveryStream", "firehose:StartDeliveryStreamEncryption",
         "firehose:StopDeliveryStreamEncryption"),
        lambda s: s.regional("firehose", "deliverystream/*"),
    ),
    "kms": ServiceAccess(
        (KMS_KEY, KMS_ALIAS),
        ("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"),
        ("kms:PutKeyPolicy", "kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:ScheduleKeyDeletion",
         "kms:CancelKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:CreateAlias", "kms:DeleteAlias",
         "kms:UpdateAlias", "kms:UpdateKeyDescription", "kms:EnableKey", "kms:DisableKey", "kms:CreateGrant"),
        lambda s: [*s.regional("kms", "key/*"), *s.regional("kms", "alias/*")],
    ),
    "lambda": ServiceAccess(
        (LAMBDA_FUNCTION, LAMBDA_ALIAS, LAMBDA_PERMISSION,
         LAMBDA_PROVISIONED_CONCURRENCY_CONFIG),
        # GetFunction also returns a short-lived link to the deployment package: the program's own code, which
        # the repository holds anyway; the provider's Read has no other call.
        ("lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:GetFunctionCodeSigningConfig",
         "lambda:GetFunctionConcurrency", "lambda:ListVersionsByFunction", "lambda:GetAlias", "lambda:GetPolicy",
         "lambda:ListTags", "lambda:GetProvisionedConcurrencyConfig", "lambda:GetRuntimeManagementConfig",
         "lambda:ListAliases"),
        ("lambda:CreateFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration",
         "lambda:DeleteFunction", "lambda:PublishVersion", "lambda:CreateAlias", "lambda:UpdateAlias",
         "lambda:DeleteAlias", "lambda:AddPermission", "lambda:RemovePermission", "lambda:TagResource",
         "lambda:UntagResource", "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency",
         "lambda:PutProvisionedConcurrencyConfig", "lambda:DeleteProvisionedConcurrencyConfig",
         "lambda:PutRuntimeManagementConfig",
         # Synthetics creates a canary's function and layer with the caller's permissions. (The
         # GetLayerVersionByArn API is authorised as lambda:GetLayerVersion: there is no action of its own.)
         "lambda:PublishLayerVersion", "lambda:DeleteLayerVersion", "lambda:GetLayerVersion"),
        lambda s: [*s.regional("lambda", "function:*"), *s.regional("lambda", "layer:*")],
    ),
    "s3": ServiceAccess(
        (S3_BUCKET, S3_BUCKET_PUBLIC_ACCESS_BLOCK,
         S3_BUCKET_OWNERSHIP_CONTROLS,
         S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION,
         S3_BUCKET_LIFECYCLE_CONFIGURATION, S3_BUCKET_POLICY,
         S3_BUCKET_VERSIONING),
        # Bucket configuration only; s3:ListBucket is what HeadBucket (the provider's existence check) needs.
        ("s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketPolicy", "s3:GetBucketAcl", "s3:GetBucketCORS",
         "s3:GetBucketWebsite", "s3:GetBucketVersioning", "s3:GetAccelerateConfiguration",
         "s3:GetBucketRequestPayment", "s3:GetBucketLogging", "s3:GetLifecycleConfiguration",
         "s3:GetReplicationConfiguration", "s3:GetEncryptionConfiguration", "s3:GetBucketObjectLockConfiguration",
         "s3:GetBucketTagging", "s3:GetBucketOwnershipControls", "s3:GetBucketPublicAccessBlock"),
        ("s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
         "s3:PutBucketVersioning", "s3:PutLifecycleConfiguration", "s3:PutEncryptionConfiguration",
         "s3:PutBucketOwnershipControls", "s3:PutBucketPublicAccessBlock", "s3:PutBucketTagging",
         "s3:ListBucketVersions"),
        _buckets,
    ),
    "sns": ServiceAccess(
        (SNS_TOPIC, SNS_TOPIC_POLICY, SNS_TOPIC_SUBSCRIPTION),
        ("sns:GetTopicAttributes", "sns:ListTagsForResource", "sns:GetSubscriptionAttributes",
         "sns:ListSubscriptionsByTopic"),
        ("sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:Unsubscribe",
         "sns:SetSubscriptionAttributes", "sns:TagResource", "sns:UntagResource"),
        lambda s: s.regional("sns", f"{s.service}-*"),
    ),
    "synthetics": ServiceAccess(
        (SYNTHETICS_CANARY,),
        ("synthetics:GetCanary", "synthetics:ListTagsForResource"),
        ("synthetics:CreateCanary", "synthetics:UpdateCanary", "synthetics:DeleteCanary", "synthetics:StartCanary",
         "synthetics:StopCanary", "synthetics:TagResource", "synthetics:UntagResource"),
        lambda s: s.regional("synthetics", "canary:*"),
    ),
    "xray": ServiceAccess(
        (XRAY_GROUP, XRAY_SAMPLING_RULE),
        ("xray:GetGroup", "xray:ListTagsForResource"),
        ("xray:CreateGroup", "xray:UpdateGroup", "xray:DeleteGroup", "xray:CreateSamplingRule",
         "xray:UpdateSamplingRule", "xray:DeleteSamplingRule", "xray:TagResource", "xray:UntagResource"),
        lambda s: [*s.regional("xray", "group/*"), *s.regional("xray", "sampling-rule/*")],
    ),
    "acm": ServiceAccess(
        (ACM_CERTIFICATE, ACM_CERTIFICATE_VALIDATION),
        ("acm:DescribeCertificate", "acm:ListTagsForCertificate"),
        ("acm:DeleteCertificate", "acm:AddTagsToCertificate", "acm:RemoveTagsFromCertificate"),
        lambda s: s.regional("acm", "certificate/*"),
    ),
    "route53": ServiceAccess(
        (ROUTE53_RECORD,),
        # get_zone_output(name=...) (the service's custom domain) lists the zones (RESOURCELESS_READ) and reads
        # their tags.
        ("route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:GetChange",
         "route53:ListTagsForResource"),
        ("route53:ChangeResourceRecordSets",),
        lambda s: [f"arn:{s.partition}:route53:::hostedzone/*", f"arn:{s.partition}:route53:::change/*"],
    ),
    "cloudfront": ServiceAccess(
        (CLOUDFRONT_DISTRIBUTION, CLOUDFRONT_MONITORING_SUBSCRIPTION),
        ("cloudfront:GetDistribution", "cloudfront:ListTagsForResource", "cloudfront:GetMonitoringSubscription"),
        ("cloudfront:CreateDistribution", "cloudfront:CreateDistributionWithTags", "cloudfront:UpdateDistribution",
         "cloudfront:DeleteDistribution", "cloudfront:TagResource", "cloudfront:UntagResource",
         "cloudfront:CreateMonitoringSubscription", "cloudfront:DeleteMonitoringSubscription"),
        lambda s: s.global_("cloudfront", "distribution/*"),
    ),
    "wafv2": ServiceAccess(
        (WAFV2_WEB_ACL, WAFV2_WEB_ACL_LOGGING_CONFIGURATION),
        ("wafv2:GetWebACL", "wafv2:ListTagsForResource", "wafv2:GetLoggingConfiguration"),
        ("wafv2:CreateWebACL", "wafv2:UpdateWebACL", "wafv2:DeleteWebACL", "wafv2:TagResource",
         "wafv2:UntagResource", "wafv2:PutLoggingConfiguration", "wafv2:DeleteLoggingConfiguration"),
        lambda s: [*s.regional("wafv2", "global/webacl/*"), *s.regional("wafv2", "global/managedruleset/*")],
    ),
}

# Actions the Service Authorization Reference lists without a resource type: AWS authorises them on "*" only
# (the pack's allow-list, policies/prodready_policy/security.py RESOURCELESS_ACTIONS, names each of them).
RESOURCELESS_READ: tuple[str, ...] = (
    "cloudwatch:DescribeAlarms",  # the alarms' Read; composites are returned only to a permission on "*"
    "kms:ListAliases",  # the provider reads an alias by listing them
    "logs:DescribeQueryDefinitions",
    "xray:GetSamplingRules",  # the sampling rules' Read lists them
    "ce:ListCostAllocationTags",
    "cloudtrail:DescribeTrails",
    "chatbot:DescribeSlackChannelConfigurations",
    "chatbot:ListMicrosoftTeamsChannelConfigurations",
    "chatbot:ListTagsForResource",
    "route53:ListHostedZones",  # get_zone_output(name=...) lists the zones to find the custom domain's
)
RESOURCELESS_WRITE: tuple[str, ...] = (
    "kms:CreateKey",
    "cognito-idp:CreateUserPool",
    "logs:PutQueryDefinition",
    "logs:DeleteQueryDefinition",
    "ce:CreateAnomalyMonitor",
    "ce:CreateAnomalySubscription",
    "ce:UpdateCostAllocationTagsStatus",
    "acm:RequestCertificate",
    "chatbot:CreateSlackChannelConfiguration",
    "chatbot:CreateMicrosoftTeamsChannelConfiguration",
    # The release inside `pulumi up` and the signals step after it (docs/ci.md).
    "cloudwatch:GetMetricData",
    "codedeploy:ListDeploymentTargets",
    "codedeploy:BatchGetDeploymentTargets",
)

# Reads of data, never of configuration: denied to the preview roles whatever else is attached to them.
DATA_READ_ACTIONS: tuple[str, ...] = (
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:GetRecords",
    "dynamodb:ExportTableToPointInTime", "dynamodb:PartiQLSelect",
    "logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery", "logs:GetQueryResults", "logs:GetLogRecord",
    "logs:StartLiveTail", "logs:Unmask",
    "secretsmanager:GetSecretValue", "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath",
    "kinesis:GetRecords", "sqs:ReceiveMessage", "lambda:InvokeFunction",
    "xray:BatchGetTraces", "xray:GetTraceSummaries", "cognito-idp:ListUsers", "cognito-idp:AdminGetUser",
    "backup:StartRestoreJob", "s3:GetObjectVersion",
)

# The only objects a preview may read: the canary's script, which the program itself uploads (the provider's
# Read of an S3 object is a HeadObject, which S3 authorises as s3:GetObject).
CANARY_CODE_OBJECTS = "*-canary-artifacts-*/code/*"

# Pulumi's self-managed backend layout (`pulumi login s3://<bucket>`), per project and stack.
STATE_ROOT = ".pulumi"
# The fixed organization of the diy backend's fully qualified stack names.
DIY_ORGANIZATION = "organization"


def _trust(provider_arn: str, subjects: Sequence[str]) -> PolicyDocument:
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "GitHubActionsOidc",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            # Exact values, never a pattern: only these workflows of this repository. `sub` is single-valued: a
            # list under StringEquals matches any one of them.
            "Condition": {"StringEquals": {
                f"{GITHUB_ISSUER}:aud": GITHUB_AUDIENCE,
                f"{GITHUB_ISSUER}:sub": list(subjects) if len(subjects) > 1 else subjects[0],
            }},
        }],
    }


def preview_subjects(repository: str) -> list[str]:
    """Pull request previews, and on main the prod preview before its approval and the nightly drift check
    (scheduled runs carry the default branch's subject)."""
    return [f"repo:{repository}:pull_request", f"repo:{repository}:ref:{MAIN_REF}"]


def deploy_subjects(repository: str, environment: str) -> list[str]:
    """Only a job in the stack's GitHub environment; the environment's deployment-branch rule (main only) is
    what keeps other branches out: IAM can compare the token's `sub` and `aud`, not its `ref`."""
    return [f"repo:{repository}:environment:{environment}"]


def preview_trust_policy(provider_arn: str, repository: str) -> PolicyDocument:
    return _trust(provider_arn, preview_subjects(repository))


def deploy_trust_policy(provider_arn: str, repository: str, environment: str) -> PolicyDocument:
    return _trust(provider_arn, deploy_subjects(repository, environment))


@dataclass(frozen=True)
class Backend:
    """The team's state backend as one stack's roles reach it."""

    bucket_arn: str
    state_key_arn: str
    """The bucket's SSE-KMS key."""
    secrets_key_arn: str
    """The key of `--secrets-provider awskms://...`."""
    project: str
    stack: str
    region: str

    def state_objects(self) -> list[str]:
        base = f"{self.bucket_arn}/{STATE_ROOT}"
        return [f"{base}/stacks/{self.project}/{self.stack}.json*", f"{base}/meta.yaml"]

    def lock_prefix(self) -> str:
        # The diy backend keys a project's stack lock by the stack's fully qualified name,
        # `organization/<project>/<stack>` (pkg/backend/diy: stackLockDir(FullyQualifiedName())); the stack
        # file, history and backups by `<project>/<stack>` (projectReferenceStore).
        return f"{STATE_ROOT}/locks/{DIY_ORGANIZATION}/{self.project}/{self.stack}/*"

    def lock_objects(self) -> list[str]:
        return [f"{self.bucket_arn}/{self.lock_prefix()}"]

    def history_objects(self) -> list[str]:
        base = f"{self.bucket_arn}/{STATE_ROOT}"
        return [f"{base}/history/{self.project}/{self.stack}/*", f"{base}/backups/{self.project}/{self.stack}/*"]


def _backend_statements(backend: Backend, *, write_state: bool) -> list[dict[str, object]]:
    via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{backend.region}.amazonaws.com"}}
    prefixes = [f"{STATE_ROOT}/meta.yaml", f"{STATE_ROOT}/stacks/{backend.project}/{backend.stack}.json*",
                backend.lock_prefix()]
    if write_state:
        prefixes += [f"{STATE_ROOT}/history/{backend.project}/{backend.stack}/*",
                     f"{STATE_ROOT}/backups/{backend.project}/{backend.stack}/*"]
    statements: list[dict[str, object]] = [
        {"Sid": "ListOwnStateKeys", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [backend.bucket_arn],
         "Condition": {"StringLike": {"s3:prefix": prefixes}}},
        # The stack's own state file: what a preview diffs against.
        {"Sid": "ReadOwnState", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": backend.state_objects()},
        # The backend takes the stack's lock for a preview too.
        {"Sid": "OwnStackLock", "Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"],
         "Resource": backend.lock_objects()},
    ]
    if write_state:
        statements.append({"Sid": "WriteOwnState", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
                           "Resource": [*backend.state_objects()[:1], *backend.history_objects()]})
    statements += [
        {"Sid": "StateBucketKeyThroughS3", "Effect": "Allow",
         # A lock object (written by a preview too) and the state are SSE-KMS objects.
         "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": [backend.state_key_arn], "Condition": via_s3},
        # The stack's secrets' data key is stored encrypted in its stack file; reading config decrypts it.
        {"Sid": "DecryptStackSecrets", "Effect": "Allow", "Action": ["kms:Decrypt"],
         "Resource": [backend.secrets_key_arn]},
    ]
    return statements


# The services' statements as customer managed policies, one per group, each under IAM's 6,144 characters. The
# groups are fixed (never a running count): adding a service to one changes that policy only, and a new group is
# a new policy; tests/bootstrap checks each group's size for one to three regions and that every service is in
# exactly one group.
POLICY_GROUPS: dict[str, tuple[str, ...]] = {
    "compute": ("lambda", "codedeploy", "apigateway", "synthetics"),
    "data": ("dynamodb", "s3", "kms", "backup", "iam"),
    "telemetry": ("cloudwatch", "logs", "events", "xray", "firehose", "cloudtrail"),
    "edge": ("acm", "route53", "cloudfront", "wafv2", "cognito-idp", "sns"),
    "cost": ("budgets", "ce", "chatbot"),
}

# The layers AWS publishes that the functions use (components/service/function.py): CreateFunction and
# UpdateFunctionConfiguration with Layers need lambda:GetLayerVersion on each layer version.
POWERTOOLS_LAYERS = "layer:AWSLambdaPowertoolsPythonV3-*:*"
OPENTELEMETRY_LAYERS = "layer:AWSOpenTelemetryDistroPython:*"


def published_layers(scope: Scope) -> list[str]:
    """The AWS-published layer versions of the stack's regions."""
    arns = [f"arn:{scope.partition}:lambda:{r}:{POWERTOOLS_LAYER_ACCOUNT}:{POWERTOOLS_LAYERS}" for r in scope.regions]
    return arns + [f"arn:{scope.partition}:lambda:{r}:{OPENTELEMETRY_LAYER_ACCOUNTS[r]}:{OPENTELEMETRY_LAYERS}"
                   for r in scope.regions if r in OPENTELEMETRY_LAYER_ACCOUNTS]


def _service_statements(scope: Scope, services: Sequence[str], *, write: bool) -> list[dict[str, object]]:
    statements: list[dict[str, object]] = []
    for name in services:
        access = SERVICES[name]
        actions = sorted({*access.read, *(access.write if write else ())})
        if not actions:
            continue  # every call of the service is resourceless (RESOURCELESS_READ): an empty Action is invalid
        sid = "".join(part.capitalize() for part in name.replace("-", " ").split()) + ("Manage" if write else "Read")
        statements.append({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": access.arns(scope)})
    return statements


def _document(statements: list[dict[str, object]]) -> PolicyDocument:
    return {"Version": "2012-10-17", "Statement": statements}


def service_policies(scope: Scope, *, write: bool) -> dict[str, PolicyDocument]:
    """The services' reads (and with `write`, their changes) per group of POLICY_GROUPS: the customer managed
    policies of a preview (deploy) role."""
    return {group: _document(_service_statements(scope, services, write=write))
            for group, services in POLICY_GROUPS.items()}


def preview_inline_policy(scope: Scope, backend: Backend | None = None) -> PolicyDocument:
    """The preview role's inline policy: the calls on "*", the canary's script object, the stack's state and
    secrets, and the Deny of data reads (which wins over every attached policy)."""
    statements: list[dict[str, object]] = [
        {"Sid": "ResourcelessReads", "Effect": "Allow", "Action": sorted(RESOURCELESS_READ),
         # The Service Authorization Reference lists these without a resource type: "*" is the only form.
         "Resource": "*"},
        {"Sid": "CanaryScriptObject", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectTagging"],
         "Resource": [f"arn:{scope.partition}:s3:::{scope.service}{CANARY_CODE_OBJECTS}"]},
    ]
    if backend is not None:
        statements += _backend_statements(backend, write_state=False)
    statements.append({"Sid": "NeverReadData", "Effect": "Deny", "Action": sorted(DATA_READ_ACTIONS), "Resource": "*"})
    return _document(statements)


def deploy_inline_policy(scope: Scope, backend: Backend | None = None,
                         protected_roles: Sequence[str] = ()) -> PolicyDocument:
    """The deploy role's inline policy: the calls on "*", passing its own roles, its buckets' objects, the
    published layers, the state and secrets, and the Deny of changes to the CI roles."""
    role_pattern = f"arn:{scope.partition}:iam::{scope.account_id}:role/{scope.service}-*"
    statements: list[dict[str, object]] = [
        {"Sid": "ResourcelessCalls", "Effect": "Allow", "Action": sorted({*RESOURCELESS_READ, *RESOURCELESS_WRITE}),
         # The Service Authorization Reference lists these without a resource type: "*" is the only form.
         "Resource": "*"},
        {"Sid": "PassOwnRolesToTheirServices", "Effect": "Allow", "Action": ["iam:PassRole"],
         "Resource": [role_pattern],
         "Condition": {"StringEquals": {"iam:PassedToService": [
             "lambda.amazonaws.com", "codedeploy.amazonaws.com", "backup.amazonaws.com",
             "firehose.amazonaws.com", "logs.amazonaws.com", "synthetics.amazonaws.com",
             "apigateway.amazonaws.com",
             # The chat channels' role (iamRoleArn of both configuration types).
             "chatbot.amazonaws.com"]}}},
        # The canary's script (uploaded by the program) and emptying the stack's own buckets on delete.
        {"Sid": "OwnBucketObjects", "Effect": "Allow",
         "Action": ["s3:PutObject", "s3:GetObject", "s3:GetObjectTagging", "s3:DeleteObject", "s3:DeleteObjectVersion"],
         "Resource": [f"arn:{scope.partition}:s3:::{scope.service}-*/*"]},
        # Functions created or updated with AWS's Powertools and OpenTelemetry layers.
        {"Sid": "UsePublishedLayers", "Effect": "Allow", "Action": ["lambda:GetLayerVersion"],
         "Resource": published_layers(scope)},
    ]
    if protected_roles:
        statements.append({"Sid": "NeverChangeTheCiRoles", "Effect": "Deny",
                           "Action": ["iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
                                      "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRole",
                                      "iam:TagRole", "iam:UntagRole"],
                           "Resource": list(protected_roles)})
    if backend is not None:
        statements += _backend_statements(backend, write_state=True)
    return _document(statements)


def _union(inline: PolicyDocument, attached: dict[str, PolicyDocument]) -> PolicyDocument:
    statements = [s for document in attached.values() for s in document["Statement"]]
    return _document([*statements, *inline["Statement"]])


def preview_policy(scope: Scope, backend: Backend | None = None) -> PolicyDocument:
    """Everything a preview role is granted and denied, as one document (its inline policy and the attached
    ones): metadata reads of every resource type the program creates, the canary's script object, the
    stack's state and secrets; and a Deny of data reads."""
    return _union(preview_inline_policy(scope, backend), service_policies(scope, write=False))


def deploy_policy(scope: Scope, backend: Backend | None = None, protected_roles: Sequence[str] = ()) -> PolicyDocument:
    """Everything a deploy role is granted and denied, as one document: what `pulumi up` of a stack calls,
    reads and changes of each service's resources on the stack's ARNs, passing its own roles to the services
    that use them, the release's and the smoke test's calls, its state and secrets. `protected_roles` (the CI
    roles themselves) it may never change."""
    return _union(deploy_inline_policy(scope, backend, protected_roles), service_policies(scope, write=True))


def policy_size(document: PolicyDocument) -> int:
    """The characters IAM counts against its quotas: the JSON without whitespace."""
    return len(json.dumps(document, separators=(",", ":")))


def actions_of(document: PolicyDocument, effect: str = "Allow") -> set[str]:
    """Every action a document's statements of `effect` name."""
    found: set[str] = set()
    for statement in document["Statement"]:
        if statement.get("Effect") == effect:
            action = statement.get("Action", [])
            found.update([action] if isinstance(action, str) else action)
    return found


def covered_types() -> set[str]:
    return {t for access in SERVICES.values() for t in access.types}


def secrets_key_policy(account_id: str, partition: str = "aws") -> PolicyDocument:
    """The Pulumi secrets key: administered by the account; used by principals of the account whose own IAM
    policies grant it (the CI roles decrypt, the people who set secrets encrypt)."""
    from components.service.keys import account_root, key_policy

    return key_policy(account_id, {
        "Sid": "UseThroughIamPoliciesOfTheAccount",
        "Effect": "Allow",
        "Principal": {"AWS": account_root(account_id, partition)},
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
        # In a key policy "*" means this key.
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": account_id}},
    }, partition=partition)
