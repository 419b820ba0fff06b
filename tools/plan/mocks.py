"""Engine-faithful Pulumi mocks for the AWS resources this program creates.

The engine would hand each create to the AWS provider, which autonames physical names, returns
ids and ARNs of the service's own shape and computes outputs. These mocks do the same, offline:

- a resource whose class has an optional `name` (or `bucket`) input and gets none is autonamed
  `<logical>-<7 hex>`, as the engine does (deterministic here, from the URN, so plans are stable);
- ids and ARNs follow each service's documented format, with the resource's region (its own
  `region` input, else its provider's) and the mock account;
- invokes the program makes are answered; any other invoke fails loudly instead of returning `{}`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

_SIG_KEY = pulumi.runtime.rpc._special_sig_key
_SECRET_SIG = pulumi.runtime.rpc._special_secret_sig

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
# A fixed instant so that plans are reproducible.
CREATED_AT = "2026-01-01T00:00:00.000"


def short_hash(seed: str, length: int = 7) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()[:length]


def stable_uuid(seed: str) -> str:
    return str(uuid.UUID(hashlib.md5(seed.encode()).hexdigest()))


def _alnum_id(seed: str, length: int) -> str:
    # API Gateway ids are lower-case alphanumerics (e.g. a1b2c3d4e5).
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return digest[:length]


@functools.cache
def _resource_classes() -> dict[str, tuple[str, str]]:
    """`type token -> (module, class name)` from pulumi-aws's own registry of its resources."""
    import pulumi_aws

    source = Path(pulumi_aws.__file__).read_text()
    match = re.search(r'resource_modules="""(.*?)"""', source, re.S)
    if not match:
        return {}
    classes: dict[str, tuple[str, str]] = {}
    for module in json.loads(match.group(1)):
        for token, class_name in module["classes"].items():
            classes[token] = (module["fqn"], class_name)
    return classes


@functools.cache
def autoname_property(type_token: str) -> str | None:
    """The input the AWS provider autonames for this type, if any (`name`, or `bucket` for S3)."""
    entry = _resource_classes().get(type_token)
    if entry is None:
        return None
    module_name, class_name = entry
    cls = getattr(importlib.import_module(module_name), class_name, None)
    if cls is None:
        return None
    # `<Class>Args.__init__` tells required from optional (`_internal_init` defaults everything):
    # the provider autonames only a name the program may leave out.
    args_class = getattr(importlib.import_module(module_name), f"{class_name}Args", None)
    params = inspect.signature((args_class or cls).__init__).parameters
    for prop in ("name", "bucket"):
        if prop in params and params[prop].default is not inspect.Parameter.empty:
            return prop
    return None


@dataclass
class _Ctx:
    token: str
    logical: str
    urn_seed: str
    inputs: dict[str, Any]
    region: str
    account: str = ACCOUNT_ID

    def arn(self, service: str, resource: str, *, regional: bool = True, account: bool = True) -> str:
        return (
            f"arn:{PARTITION}:{service}:{self.region if regional else ''}:{self.account if account else ''}:{resource}"
        )


Shape = Callable[[_Ctx, str], tuple[str, dict[str, Any]]]
_SHAPES: dict[str, Shape] = {}


def _shape(*tokens: str) -> Callable[[Shape], Shape]:
    def register(fn: Shape) -> Shape:
        for token in tokens:
            _SHAPES[token] = fn
        return fn

    return register


def _invoke_arn(region: str, function_arn: str) -> str:
    return f"arn:{PARTITION}:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


@_shape("aws:lambda/function:Function")
def _lambda(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    arn = ctx.arn("lambda", f"function:{name}")
    # A function created with publish=true has published its first version.
    version = "1" if ctx.inputs.get("publish") else "$LATEST"
    return name, {
        "arn": arn,
        "invokeArn": _invoke_arn(ctx.region, arn),
        "qualifiedArn": f"{arn}:{version}",
        "qualifiedInvokeArn": _invoke_arn(ctx.region, f"{arn}:{version}"),
        "version": version,
        "lastModified": CREATED_AT,
        "sourceCodeHash": short_hash(ctx.urn_seed, 44),
    }


@_shape("aws:lambda/alias:Alias")
def _lambda_alias(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    alias = str(ctx.inputs.get("name"))
    arn = ctx.arn("lambda", f"function:{ctx.inputs.get('functionName')}:{alias}")
    return arn, {"arn": arn, "invokeArn": _invoke_arn(ctx.region, arn)}


@_shape("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
def _provisioned(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # The provider identifies it as <function name>,<qualifier>.
    return f"{ctx.inputs.get('functionName')},{ctx.inputs.get('qualifier')}", {}


@_shape("aws:codedeploy/application:Application")
def _codedeploy_app(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # The provider's id is `<application id>:<name>`.
    app_id = stable_uuid(ctx.urn_seed)
    return f"{app_id}:{name}", {"arn": ctx.arn("codedeploy", f"application:{name}"), "applicationId": app_id,
                                "githubAccountName": "", "linkedToGithub": False}


@_shape("aws:codedeploy/deploymentConfig:DeploymentConfig")
def _codedeploy_config(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    config = str(ctx.inputs.get("deploymentConfigName"))
    return config, {"arn": ctx.arn("codedeploy", f"deploymentconfig:{config}"),
                    "deploymentConfigId": stable_uuid(ctx.urn_seed)}


@_shape("aws:codedeploy/deploymentGroup:DeploymentGroup")
def _codedeploy_group(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    app, group = ctx.inputs.get("appName"), ctx.inputs.get("deploymentGroupName")
    # The provider's id is the group's id (a UUID); its ARN names application and group.
    group_id = stable_uuid(ctx.urn_seed)
    return group_id, {"arn": ctx.arn("codedeploy", f"deploymentgroup:{app}/{group}"),
                      "deploymentGroupId": group_id, "computePlatform": "Lambda"}


@_shape("aws:lambda/permission:Permission")
def _permission(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    statement = ctx.inputs.get("statementId") or f"{ctx.logical}-{short_hash(ctx.urn_seed)}"
    return statement, {"statementId": statement}


@_shape("aws:dynamodb/table:Table")
def _table(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    arn = ctx.arn("dynamodb", f"table/{name}")
    outputs: dict[str, Any] = {"arn": arn}
    if ctx.inputs.get("streamEnabled"):
        outputs.update(streamArn=f"{arn}/stream/{CREATED_AT}", streamLabel=CREATED_AT)
    return name, outputs


@_shape("aws:cloudwatch/logGroup:LogGroup")
def _log_group(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    return name, {"arn": ctx.arn("logs", f"log-group:{name}")}


@_shape("aws:cloudwatch/logMetricFilter:LogMetricFilter")
def _metric_filter(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    return name, {}


@_shape("aws:cloudwatch/queryDefinition:QueryDefinition")
def _query_definition(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    query_id = stable_uuid(ctx.urn_seed)
    return query_id, {"queryDefinitionId": query_id}


@_shape("aws:cloudwatch/metricAlarm:MetricAlarm")
def _metric_alarm(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    return name, {"arn": ctx.arn("cloudwatch", f"alarm:{name}")}


@_shape("aws:cloudwatch/compositeAlarm:CompositeAlarm")
def _composite_alarm(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    alarm_name = ctx.inputs.get("alarmName") or name
    return alarm_name, {"arn": ctx.arn("cloudwatch", f"alarm:{alarm_name}"), "alarmName": alarm_name}


@_shape("aws:cloudwatch/alarmMuteRule:AlarmMuteRule")
def _alarm_mute_rule(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # Imported by name; a rule whose schedule has not come round yet is SCHEDULED (PutAlarmMuteRule).
    return name, {"arn": ctx.arn("cloudwatch", f"alarm-mute-rule:{name}"), "status": "SCHEDULED"}


@_shape("aws:cloudwatch/dashboard:Dashboard")
def _dashboard(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    dashboard = ctx.inputs.get("dashboardName") or name
    return dashboard, {"dashboardArn": f"arn:{PARTITION}:cloudwatch::{ctx.account}:dashboard/{dashboard}"}


@_shape("aws:iam/role:Role")
def _role(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    path = str(ctx.inputs.get("path") or "/")
    return name, {
        "arn": f"arn:{PARTITION}:iam::{ctx.account}:role{path}{name}",
        "uniqueId": "AROA" + short_hash(ctx.urn_seed, 17).upper(),
        "createDate": CREATED_AT,
    }


@_shape("aws:iam/policy:Policy")
def _policy(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    arn = f"arn:{PARTITION}:iam::{ctx.account}:policy/{name}"
    return arn, {"arn": arn, "policyId": "ANPA" + short_hash(ctx.urn_seed, 17).upper()}


@_shape("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
def _role_policy_attachment(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # The provider's id: the role's name and the policy's ARN (its import form).
    return f"{ctx.inputs.get('role')}/{ctx.inputs.get('policyArn')}", {}


@_shape("aws:iam/rolePolicy:RolePolicy")
def _role_policy(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    return f"{ctx.inputs.get('role')}:{name}", {}


@_shape("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def _oidc_provider(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # The provider's id is its ARN, which names the issuer's host and path.
    url = str(ctx.inputs.get("url") or "").removeprefix("https://")
    arn = f"arn:{PARTITION}:iam::{ctx.account}:oidc-provider/{url}"
    return arn, {"arn": arn, "thumbprintLists": []}


@_shape("aws:kms/key:Key")
def _kms_key(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    key_id = stable_uuid(ctx.urn_seed)
    return key_id, {"arn": ctx.arn("kms", f"key/{key_id}"), "keyId": key_id}


@_shape("aws:kms/alias:Alias")
def _kms_alias(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    return name, {"arn": ctx.arn("kms", name), "targetKeyArn": ctx.arn("kms", f"key/{ctx.inputs.get('targetKeyId')}")}


@_shape("aws:apigatewayv2/api:Api")
def _http_api(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    api_id = _alnum_id(ctx.urn_seed, 10)
    return api_id, {
        "apiEndpoint": f"https://{api_id}.execute-api.{ctx.region}.amazonaws.com",
        "executionArn": ctx.arn("execute-api", api_id),
        "arn": f"arn:{PARTITION}:apigateway:{ctx.region}::/apis/{api_id}",
    }


@_shape("aws:apigatewayv2/integration:Integration", "aws:apigatewayv2/route:Route")
def _api_child(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    return _alnum_id(ctx.urn_seed, 7), {}


@_shape("aws:apigatewayv2/stage:Stage")
def _stage(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    api_id = ctx.inputs.get("apiId", "")
    stage = ctx.inputs.get("name", name)
    path = "" if stage == "$default" else stage
    return stage, {
        "invokeUrl": f"https://{api_id}.execute-api.{ctx.region}.amazonaws.com/{path}",
        "executionArn": ctx.arn("execute-api", f"{api_id}/{stage}"),
        "arn": f"arn:{PARTITION}:apigateway:{ctx.region}::/apis/{api_id}/stages/{stage}",
    }


@_shape("aws:sns/topic:Topic")
def _topic(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    arn = ctx.arn("sns", name)
    return arn, {"arn": arn, "owner": ctx.account}


@_shape("aws:sns/topicSubscription:TopicSubscription")
def _subscription(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    arn = f"{ctx.inputs.get('topic')}:{stable_uuid(ctx.urn_seed)}"
    return arn, {"arn": arn, "ownerId": ctx.account, "pendingConfirmation": ctx.inputs.get("protocol") == "email"}


@_shape("aws:sns/topicPolicy:TopicPolicy")
def _topic_policy(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    return str(ctx.inputs.get("arn")), {"owner": ctx.account}


@_shape("aws:budgets/budget:Budget")
def _budget(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    return f"{ctx.account}:{name}", {"arn": f"arn:{PARTITION}:budgets::{ctx.account}:budget/{name}"}


@_shape("aws:costexplorer/anomalyMonitor:AnomalyMonitor")
def _anomaly_monitor(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    arn = f"arn:{PARTITION}:ce::{ctx.account}:anomalymonitor/{stable_uuid(ctx.urn_seed)}"
    return arn, {"arn": arn}


@_shape("aws:costexplorer/anomalySubscription:AnomalySubscription")
def _anomaly_subscription(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    arn = f"arn:{PARTITION}:ce::{ctx.account}:anomalysubscription/{stable_uuid(ctx.urn_seed)}"
    return arn, {"arn": arn, "accountId": ctx.account}


@_shape("aws:xray/samplingRule:SamplingRule")
def _sampling_rule(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    rule = ctx.inputs.get("ruleName") or name
    return rule, {"arn": ctx.arn("xray", f"sampling-rule/{rule}")}


@_shape("aws:xray/group:Group")
def _xray_group(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    group = ctx.inputs.get("groupName") or name
    arn = ctx.arn("xray", f"group/{group}/{short_hash(ctx.urn_seed, 26).upper()}")
    return arn, {"arn": arn}


@_shape("aws:synthetics/canary:Canary")
def _canary(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    return name, {
        "arn": ctx.arn("synthetics", f"canary:{name}"),
        "engineArn": ctx.arn("lambda", f"function:cwsyn-{name}-{stable_uuid(ctx.urn_seed)}"),
        "sourceLocationArn": ctx.arn("lambda", f"layer:cwsyn-{name}-{stable_uuid(ctx.urn_seed)}"),
        "status": "READY",
    }


@_shape("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
def _bucket(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    return name, {
        "arn": f"arn:{PARTITION}:s3:::{name}",
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{ctx.region}.amazonaws.com",
        "region": ctx.region,
    }


@_shape(
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketVersioning:BucketVersioning",
)
def _bucket_setting(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # A bucket's configuration resources are identified by the bucket's name and have no ARN.
    return str(ctx.inputs.get("bucket")), {}


@_shape("aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject")
def _bucket_object(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    bucket, key = ctx.inputs.get("bucket"), ctx.inputs.get("key")
    return str(key), {
        "arn": f"arn:{PARTITION}:s3:::{bucket}/{key}",
        "etag": short_hash(ctx.urn_seed, 32),
        "versionId": "",
        "storageClass": ctx.inputs.get("storageClass") or "STANDARD",
        "serverSideEncryption": ctx.inputs.get("serverSideEncryption") or "AES256",
    }


@_shape("aws:cognito/userPool:UserPool")
def _user_pool(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # Pool ids are `<region>_<9 alphanumerics>`.
    pool_id = f"{ctx.region}_{short_hash(ctx.urn_seed, 9).upper()}"
    return pool_id, {
        "arn": ctx.arn("cognito-idp", f"userpool/{pool_id}"),
        "endpoint": f"cognito-idp.{ctx.region}.amazonaws.com/{pool_id}",
        "creationDate": CREATED_AT,
        "estimatedNumberOfUsers": 0,
    }


@_shape("aws:cognito/resourceServer:ResourceServer")
def _resource_server(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    identifier = str(ctx.inputs.get("identifier"))
    scopes = [f"{identifier}/{scope['scopeName']}" for scope in ctx.inputs.get("scopes") or []]
    return f"{ctx.inputs.get('userPoolId')}|{identifier}", {"scopeIdentifiers": scopes}


@_shape("aws:cognito/userPoolDomain:UserPoolDomain")
def _user_pool_domain(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    domain = str(ctx.inputs.get("domain"))
    return domain, {
        "cloudfrontDistribution": f"d{short_hash(ctx.urn_seed, 13)}.cloudfront.net",
        "cloudfrontDistributionZoneId": "Z2FDTNDATAQYW2",
        "version": "20260101000000",
        "awsAccountId": ctx.account,
    }


@_shape("aws:cognito/userPoolClient:UserPoolClient")
def _user_pool_client(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # Client ids are 26 lower-case alphanumerics; the secret is returned once and kept as a secret.
    client_id = _alnum_id(ctx.urn_seed, 26)
    return client_id, {"clientSecret": {_SIG_KEY: _SECRET_SIG, "value": short_hash(ctx.urn_seed + "s", 40)}}


@_shape("aws:apigatewayv2/authorizer:Authorizer")
def _authorizer(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    return _alnum_id(ctx.urn_seed, 6), {}


@_shape("aws:cloudwatch/logDataProtectionPolicy:LogDataProtectionPolicy")
def _data_protection_policy(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # Identified by its log group.
    return str(ctx.inputs.get("logGroupName")), {}


# API Gateway's regional endpoints answer from one Route 53 zone per region (AWS General Reference, API
# Gateway endpoints); an alias record to a custom domain's target names it.
API_GATEWAY_REGIONAL_ZONES = {
    "us-east-1": "Z1UJRXOUMOOFQ8", "us-east-2": "ZOJJZC49E0EPZ", "us-west-2": "Z2OJLYMUO9EFXC",
    "eu-west-1": "ZLY8HYME6SFDD", "eu-central-1": "Z1U9ULNL0V5AJ3", "eu-west-2": "ZJ5UAJN8Y3Z2Q",
}


@_shape("aws:acm/certificate:Certificate")
def _certificate(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # The provider's id is the ARN; a DNS-validated request gets one CNAME per name to validate.
    arn = ctx.arn("acm", f"certificate/{stable_uuid(ctx.urn_seed)}")
    domain = str(ctx.inputs.get("domainName"))
    token = short_hash(ctx.urn_seed + "v", 32)
    return arn, {
        "arn": arn,
        "domainValidationOptions": [{
            "domainName": domain,
            "resourceRecordName": f"_{token}.{domain}.",
            "resourceRecordType": "CNAME",
            "resourceRecordValue": f"_{short_hash(ctx.urn_seed + 'w', 32)}.{short_hash(ctx.urn_seed, 10)}"
                                   ".acm-validations.aws.",
        }],
        "keyAlgorithm": ctx.inputs.get("keyAlgorithm") or "RSA_2048",
        "status": "PENDING_VALIDATION",
        "type": "AMAZON_ISSUED",
        "validationEmails": [],
        "pendingRenewal": False,
        "renewalEligibility": "INELIGIBLE",
        "subjectAlternativeNames": [domain],
    }


@_shape("aws:acm/certificateValidation:CertificateValidation")
def _certificate_validation(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # The provider identifies a validation by the certificate's issue time.
    return "2026-01-01 00:00:00 +0000 UTC", {}


@_shape("aws:apigatewayv2/domainName:DomainName")
def _domain_name(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    domain = str(ctx.inputs.get("domainName"))
    configuration = dict(ctx.inputs.get("domainNameConfiguration") or {})
    configuration.update(
        targetDomainName=f"d-{_alnum_id(ctx.urn_seed, 10)}.execute-api.{ctx.region}.amazonaws.com",
        hostedZoneId=API_GATEWAY_REGIONAL_ZONES.get(ctx.region, "Z1UJRXOUMOOFQ8"),
        ipAddressType=configuration.get("ipAddressType") or "ipv4",
    )
    return domain, {
        "arn": f"arn:{PARTITION}:apigateway:{ctx.region}::/domainnames/{domain}",
        "apiMappingSelectionExpression": "$request.basepath",
        "domainNameConfiguration": configuration,
        "routingMode": ctx.inputs.get("routingMode") or "API_MAPPING_ONLY",
    }


@_shape("aws:apigatewayv2/apiMapping:ApiMapping")
def _api_mapping(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    return _alnum_id(ctx.urn_seed, 6), {}


@_shape("aws:route53/record:Record")
def _record(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # Id `<zone>_<name>_<type>`; fqdn is the name without its trailing dot, in lower case.
    record = str(ctx.inputs.get("name"))
    fqdn = record.rstrip(".").lower()
    return f"{ctx.inputs.get('zoneId')}_{record}_{ctx.inputs.get('type')}", {"fqdn": fqdn}


# CloudFront distributions answer from one global hosted zone (Route 53 developer guide, alias targets).
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"


@_shape("aws:cloudfront/distribution:Distribution")
def _distribution(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # Ids are `E` and 13 upper-case alphanumerics; the ARN is global (no region).
    distribution_id = "E" + short_hash(ctx.urn_seed, 13).upper()
    return distribution_id, {
        "arn": f"arn:{PARTITION}:cloudfront::{ctx.account}:distribution/{distribution_id}",
        "domainName": f"d{short_hash(ctx.urn_seed + 'd', 13)}.cloudfront.net",
        "hostedZoneId": CLOUDFRONT_ZONE_ID,
        "status": "Deployed",
        "etag": "E" + short_hash(ctx.urn_seed + "e", 13).upper(),
        "callerReference": f"terraform-{short_hash(ctx.urn_seed + 'c', 26)}",
        "inProgressValidationBatches": 0,
        "lastModifiedTime": CREATED_AT,
        "trustedKeyGroups": [{"enabled": False, "items": []}],
        "trustedSigners": [{"enabled": False, "items": []}],
    }


@_shape("aws:cloudfront/monitoringSubscription:MonitoringSubscription")
def _monitoring_subscription(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # Identified by its distribution's id.
    return str(ctx.inputs.get("distributionId")), {}


@_shape("aws:wafv2/webAcl:WebAcl")
def _web_acl(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # CLOUDFRONT-scope ACLs live in us-east-1 under `global/`; regional ones under `regional/`.
    acl_id = stable_uuid(ctx.urn_seed)
    scope = "global" if ctx.inputs.get("scope") == "CLOUDFRONT" else "regional"
    return acl_id, {
        "arn": ctx.arn("wafv2", f"{scope}/webacl/{name}/{acl_id}"),
        "capacity": 1400,
        "lockToken": stable_uuid(ctx.urn_seed + "lock"),
        "applicationIntegrationUrl": "",
    }


@_shape("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
def _web_acl_logging(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # Identified by the web ACL's ARN.
    return str(ctx.inputs.get("resourceArn")), {}


@_shape("aws:backup/vault:Vault")
def _backup_vault(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # Identified by its name; its ARN names it too.
    return name, {"arn": ctx.arn("backup", f"backup-vault:{name}"), "recoveryPoints": 0}


@_shape("aws:backup/plan:Plan")
def _backup_plan(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    plan_id = stable_uuid(ctx.urn_seed)
    return plan_id, {"arn": ctx.arn("backup", f"backup-plan:{plan_id}"),
                     "version": short_hash(ctx.urn_seed + "v", 32)}


@_shape("aws:backup/selection:Selection")
def _backup_selection(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # Selection ids are opaque hex strings, unique within the plan.
    return short_hash(ctx.urn_seed, 32), {}


@_shape("aws:backup/vaultNotifications:VaultNotifications", "aws:backup/vaultLockConfiguration:VaultLockConfiguration")
def _backup_vault_setting(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # A vault's settings are identified by the vault's name and report its ARN.
    vault = str(ctx.inputs.get("backupVaultName"))
    return vault, {"backupVaultArn": ctx.arn("backup", f"backup-vault:{vault}")}


@_shape("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")
def _firehose_stream(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # The provider's id is the stream's ARN.
    arn = ctx.arn("firehose", f"deliverystream/{name}")
    return arn, {"arn": arn, "versionId": "1", "destinationId": "destinationId-000000000001"}


@_shape("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter")
def _subscription_filter(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # The provider's id is `cwlsf-<hash>`; the filter has no ARN.
    return f"cwlsf-{short_hash(ctx.urn_seed, 10)}", {"distribution": "ByLogStream"}


@_shape("aws:cloudtrail/trail:Trail")
def _trail(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # The provider's id is the trail's ARN.
    arn = ctx.arn("cloudtrail", f"trail/{name}")
    return arn, {"arn": arn, "homeRegion": ctx.region}


@_shape("aws:backup/restoreTestingPlan:RestoreTestingPlan")
def _restore_testing_plan(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # Identified by its name; the ARN ends with the name and a generated suffix.
    return name, {"arn": ctx.arn("backup", f"restore-testing-plan:{name}-{short_hash(ctx.urn_seed, 6)}")}


@_shape("aws:backup/restoreTestingSelection:RestoreTestingSelection")
def _restore_testing_selection(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # The provider's id is `<selection name>:<plan name>`.
    return f"{name}:{ctx.inputs.get('restoreTestingPlanName')}", {}


@_shape("aws:cloudwatch/eventRule:EventRule")
def _event_rule(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    return name, {"arn": ctx.arn("events", f"rule/{name}")}


@_shape("aws:cloudwatch/eventTarget:EventTarget")
def _event_target(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # The provider's id is `<rule>-<target id>`; the target id is generated when not given.
    target_id = ctx.inputs.get("targetId") or f"terraform-{short_hash(ctx.urn_seed, 26)}"
    return f"{ctx.inputs.get('rule')}-{target_id}", {"targetId": target_id, "eventBusName": "default"}


@_shape("aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration")
def _slack_channel(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # Identified by its ARN, which names no region (configurations are account-wide).
    arn = ctx.arn("chatbot", f"chat-configuration/slack-channel/{ctx.inputs.get('configurationName')}",
                  regional=False)
    return arn, {"chatConfigurationArn": arn, "slackChannelName": ctx.inputs.get("slackChannelId"),
                 "slackTeamName": ctx.inputs.get("slackTeamId")}


@_shape("aws:chatbot/teamsChannelConfiguration:TeamsChannelConfiguration")
def _teams_channel(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    # The provider's id is the team's id.
    arn = ctx.arn("chatbot", f"chat-configuration/microsoft-teams-channel/{ctx.inputs.get('configurationName')}",
                  regional=False)
    return str(ctx.inputs.get("teamId")), {"chatConfigurationArn": arn}


# This program's dynamic-provider resources, by type token: `module:class` of each provider.
DYNAMIC_PROVIDERS: dict[str, str] = {
    "pulumi-python:dynamic/prodready:Release": "components.delivery.release:ReleaseProvider",
    "pulumi-python:dynamic/prodready:CostAllocationTags": "components.cost.allocation_tags:CostAllocationTagsProvider",
}


def _dynamic(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    """A dynamic-provider resource: the engine stores what its provider's create returned.

    Offline there is no provider process and no AWS to call, so the mock returns what the provider
    documents for a stack's first deployment (its `planned_outputs`)."""
    target = DYNAMIC_PROVIDERS.get(ctx.token)
    if target is None:
        raise UnmodelledResourceType(
            f"no planned outputs for dynamic resource type {ctx.token!r}; add its provider to DYNAMIC_PROVIDERS"
        )
    module_name, class_name = target.split(":")
    provider = getattr(importlib.import_module(module_name), class_name)
    inputs = {k: v for k, v in ctx.inputs.items() if k != "__provider"}
    return provider.planned_outputs(inputs)


class UnmodelledResourceType(NotImplementedError):
    """A resource type the mocks have no shape for: a plan would invent its outputs."""


def _no_shape(ctx: _Ctx, name: str) -> tuple[str, dict[str, Any]]:
    raise UnmodelledResourceType(
        f"the plan mocks have no shape for {ctx.token} ({ctx.logical}): add one to tools/plan/mocks.py with the "
        "id and outputs the AWS provider returns, so the plan does not invent them"
    )


class EngineMocks(pulumi.runtime.Mocks):
    """Answers creates and invokes the way the engine and the AWS provider would."""

    def __init__(self, default_region: str, stack: str, project: str) -> None:
        self.default_region = default_region
        self.stack = stack
        self.project = project
        self.provider_regions: dict[str, str] = {}
        self.provider_default_tags: dict[str, dict[str, str]] = {}

    def _region_of(self, args: pulumi.runtime.MockResourceArgs) -> str:
        if args.inputs.get("region"):
            return str(args.inputs["region"])
        if args.provider:
            return self.provider_regions.get(args.provider.rsplit("::", 1)[-1], self.default_region)
        return self.default_region

    def _default_tags_of(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, str]:
        if not args.provider:
            return {}
        return self.provider_default_tags.get(args.provider.rsplit("::", 1)[-1], {})

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        seed = f"{self.stack}::{self.project}::{args.typ}::{args.name}"
        if args.typ.startswith("pulumi:providers:"):
            # Resources name their provider by reference `<urn>::<id>`; the id is what we key on.
            provider_id = stable_uuid(seed)
            if args.inputs.get("region"):
                self.provider_regions[provider_id] = str(args.inputs["region"])
            self.provider_default_tags[provider_id] = provider_default_tags(args.inputs)
            return provider_id, dict(args.inputs)
        if not args.custom:
            return "", {}

        state = dict(args.inputs)
        prop = autoname_property(args.typ)
        if prop and not state.get(prop):
            state[prop] = f"{args.name}-{short_hash(seed)}"
        physical = str(state.get(prop) or state.get("name") or args.name)
        ctx = _Ctx(args.typ, args.name, seed, state, self._region_of(args))
        shape = _dynamic if args.typ.startswith("pulumi-python:dynamic/") else _SHAPES.get(args.typ, _no_shape)
        resource_id, outputs = shape(ctx, physical)
        state.update(outputs)
        if "tags" in inspect_props(args.typ):
            # The provider reports tagsAll: its default tags with the resource's own tags on top.
            state["tagsAll"] = {**self._default_tags_of(args), **(state.get("tags") or {})}
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        region = self.default_region
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:{PARTITION}:sts::{ACCOUNT_ID}:assumed-role/deployer/session",
                "id": ACCOUNT_ID,
                "userId": "AROAEXAMPLEDEPLOYER:session",
            }, []
        if args.token == "aws:index/getRegion:getRegion":
            region = str(args.args.get("region") or args.args.get("name") or region)
            return {
                "id": region,
                "name": region,
                "region": region,
                "endpoint": f"ec2.{region}.amazonaws.com",
                "description": region,
            }, []
        if args.token == "aws:route53/getZone:getZone":
            zone = str(args.args.get("name") or "").rstrip(".")
            zone_id = "Z" + short_hash(f"zone::{zone}", 13).upper()
            return {
                "id": zone_id,
                "zoneId": zone_id,
                "name": zone,
                "arn": f"arn:{PARTITION}:route53:::hostedzone/{zone_id}",
                "privateZone": False,
                "callerReference": stable_uuid(zone),
                "comment": "",
                "nameServers": [f"ns-{n}.awsdns-{n:02d}.com" for n in (1, 2)],
                "primaryNameServer": "ns-1.awsdns-01.com",
                "resourceRecordSetCount": 2,
                "tags": {},
            }, []
        if args.token == "aws:index/getPartition:getPartition":
            return {
                "id": PARTITION,
                "partition": PARTITION,
                "dnsSuffix": "amazonaws.com",
                "reverseDnsPrefix": "com.amazonaws",
            }, []
        raise NotImplementedError(
            f"the plan mocks do not answer invoke {args.token!r}; add it to tools/plan/mocks.py "
            "with the fields the real provider returns"
        )


def provider_default_tags(provider_inputs: dict[str, Any]) -> dict[str, str]:
    """Default tags from an aws provider's inputs; the SDK sends object-typed provider inputs as JSON."""
    raw = provider_inputs.get("defaultTags")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return {}
    if isinstance(raw, dict):
        return dict(raw.get("tags") or {})
    return {}


@functools.cache
def inspect_props(type_token: str) -> frozenset[str]:
    """Input names (snake_case) of a pulumi-aws resource type, from the SDK's own signature."""
    entry = _resource_classes().get(type_token)
    if entry is None:
        return frozenset()
    module_name, class_name = entry
    cls = getattr(importlib.import_module(module_name), class_name, None)
    if cls is None:
        return frozenset()
    return frozenset(inspect.signature(cls._internal_init).parameters) - {"__self__", "resource_name", "opts"}
