"""The resource type tokens the pack's rules look for, each written once.

The same names and values as the program's components/types.py (which the pack cannot import: the
engine runs it from policies/ alone); a test checks that they agree.
"""

from __future__ import annotations

# pulumi-aws resources, as the engine reports them (`aws:<module>/<resource>:<Class>`).
APIGATEWAYV2_API = "aws:apigatewayv2/api:Api"
APIGATEWAYV2_API_MAPPING = "aws:apigatewayv2/apiMapping:ApiMapping"
APIGATEWAYV2_DOMAIN_NAME = "aws:apigatewayv2/domainName:DomainName"
APIGATEWAYV2_INTEGRATION = "aws:apigatewayv2/integration:Integration"
APIGATEWAYV2_ROUTE = "aws:apigatewayv2/route:Route"
APIGATEWAYV2_STAGE = "aws:apigatewayv2/stage:Stage"
APIGATEWAY_STAGE = "aws:apigateway/stage:Stage"
BACKUP_PLAN = "aws:backup/plan:Plan"
BACKUP_SELECTION = "aws:backup/selection:Selection"
BACKUP_VAULT = "aws:backup/vault:Vault"
BUDGETS_BUDGET = "aws:budgets/budget:Budget"
CHATBOT_SLACK_CHANNEL_CONFIGURATION = "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration"
CHATBOT_TEAMS_CHANNEL_CONFIGURATION = "aws:chatbot/teamsChannelConfiguration:TeamsChannelConfiguration"
CLOUDFRONT_DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
CLOUDWATCH_COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
CLOUDWATCH_LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
CLOUDWATCH_LOG_METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
CLOUDWATCH_METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
CODEDEPLOY_DEPLOYMENT_GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
COSTEXPLORER_ANOMALY_SUBSCRIPTION = "aws:costexplorer/anomalySubscription:AnomalySubscription"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
IAM_GROUP_POLICY_ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_USER_POLICY_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
KMS_KEY = "aws:kms/key:Key"
KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
LAMBDA_ALIAS = "aws:lambda/alias:Alias"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION_V2 = (
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
)
S3_BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
SNS_TOPIC = "aws:sns/topic:Topic"
SNS_TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SNS_TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
WAFV2_WEB_ACL = "aws:wafv2/webAcl:WebAcl"
