"""Alert routing documents: the alert key's policy and the topics' policies, as data.

CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed `alias/aws/sns` key (its
policy cannot be changed to let cloudwatch.amazonaws.com use it), so the alert topics use a
customer-managed key whose policy lets the publishing services generate data keys. The same
services are allowed `sns:Publish` by each topic's policy: CloudWatch alarms, AWS Budgets and Cost
Anomaly Detection (`costalerts.amazonaws.com`), each only on behalf of this account
(`aws:SourceAccount`), so another account's alarm or budget cannot use our topics (confused deputy).

All three services send `aws:SourceAccount`: AWS's own topic-policy examples condition on it (Budgets:
"Creating an Amazon SNS topic for budget notifications", budgets-sns-policy.html, which also conditions
on `aws:SourceArn` `arn:aws:budgets::<account>:*`; Cost Anomaly Detection: ad-SNS.html, "to publish ...
only on behalf of a certain account"; CloudWatch alarms publish with the alarm's ARN as source). Where a
service's source ARN has a documented shape, the topic policy requires it too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

PolicyDocument = dict[str, Any]

# Services that publish alerts to the topics, with a statement id for each.
PUBLISHERS: dict[str, str] = {
    "cloudwatch.amazonaws.com": "CloudWatchAlarms",
    "budgets.amazonaws.com": "Budgets",
    "costalerts.amazonaws.com": "CostAnomalyDetection",
}

# AWS Backup publishes vault notifications (failed backup, copy and restore jobs) for stacks with backups
# only, so it is not a default publisher. It notifies only topics of the vault's own account (AWS Backup
# "Notification options": cross-account notifications are not supported); like the others it is held to
# this account by aws:SourceAccount.
BACKUP_PUBLISHER = "backup.amazonaws.com"
_STATEMENT_IDS: dict[str, str] = {**PUBLISHERS, BACKUP_PUBLISHER: "Backup"}

# What a publishing service needs from the topic's key: a data key to encrypt the message with.
PUBLISH_KEY_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey*")

AWS_MANAGED_SNS_KEY = "alias/aws/sns"


def _source_account(account_id: str) -> dict[str, Any]:
    return {"StringEquals": {"aws:SourceAccount": account_id}}


def alert_key_policy(
    account_id: str, partition: str = "aws", publishers: Sequence[str] = tuple(PUBLISHERS)
) -> PolicyDocument:
    """Key policy of an alert topic's customer-managed key; `publishers` are keys of PUBLISHERS (or AWS
    Backup's)."""
    statements: list[dict[str, Any]] = [
        {
            # The account's own IAM policies decide who administers and uses the key. Without this
            # statement no principal could ever change the key policy again: KMS would refuse
            # PutKeyPolicy and the key would be unmanageable short of an AWS support case.
            "Sid": "AccountAdministersKeyThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    for service in publishers:
        sid = _STATEMENT_IDS[service]
        statements.append(
            {
                "Sid": f"{sid}EncryptAlerts",
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": list(PUBLISH_KEY_ACTIONS),
                # In a key policy "*" means this key.
                "Resource": "*",
                "Condition": _source_account(account_id),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def source_arn_pattern(service: str, topic_arn: str, account_id: str) -> str | None:
    """The `aws:SourceArn` a publisher sends, as a pattern, where AWS documents its shape."""
    partition, region = topic_arn.split(":")[1], topic_arn.split(":")[3]
    if service == "cloudwatch.amazonaws.com":
        # Alarms can only notify a topic in their own region.
        return f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:*"
    if service == "budgets.amazonaws.com":
        return f"arn:{partition}:budgets::{account_id}:*"
    return None


def alert_topic_policy(
    topic_arn: str, account_id: str, publishers: Sequence[str] = tuple(PUBLISHERS)
) -> PolicyDocument:
    """Topic policy: the publishing services may publish, on behalf of this account only (and, where
    documented, from this account's alarms or budgets only)."""
    statements = []
    for service in publishers:
        condition: dict[str, Any] = _source_account(account_id)
        pattern = source_arn_pattern(service, topic_arn, account_id)
        if pattern:
            condition["ArnLike"] = {"aws:SourceArn": pattern}
        statements.append({
            "Sid": f"{_STATEMENT_IDS[service]}Publish",
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": condition,
        })
    return {"Version": "2012-10-17", "Statement": statements}


def topic_name(prefix: str, severity: str) -> str:
    """Physical name of a severity's alert topic."""
    return f"{prefix}-alerts-{severity}"


def email_slug(email: str) -> str:
    """A stable logical-name suffix for an email address (reordering a list replaces nothing)."""
    return re.sub(r"[^a-z0-9]+", "-", email.lower()).strip("-")


def key_alias(prefix: str) -> str:
    return f"alias/{prefix}-alerts"


def partition_of(arn: str) -> str:
    """`arn:aws-cn:sts::...` -> `aws-cn`."""
    parts = arn.split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" else "aws"


# --- chat channels (Amazon Q Developer in chat applications, formerly AWS Chatbot) ----------------

CHATBOT_PRINCIPAL = "chatbot.amazonaws.com"

# What the channel role needs to post an alarm notification with its chart: AWS's "Notification
# permissions" template grants cloudwatch:Describe*, Get* and List* on "*" ("Understanding Amazon Q
# Developer in chat applications permissions", "IAM policies for Amazon Q Developer in chat
# applications"); these are the reads of that template a notification makes (the alarm, its metric's data
# and the rendered graph). None of the three Get actions has a resource type in IAM, and composite alarms
# are returned only to DescribeAlarms on "*", so the resource is "*" (the policy pack's allow-list).
NOTIFICATION_ACTIONS: tuple[str, ...] = (
    "cloudwatch:DescribeAlarms",
    "cloudwatch:GetMetricData",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:GetMetricWidgetImage",
)


def chat_role_policy() -> PolicyDocument:
    """The channel role's only permissions: read what an alarm notification shows."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ReadAlarmsForNotifications",
            "Effect": "Allow",
            "Action": list(NOTIFICATION_ACTIONS),
            "Resource": "*",
        }],
    }


def guardrail_arns(partition: str, names: Sequence[str]) -> list[str]:
    """ARNs of the AWS-managed guardrail policies `names`."""
    return [f"arn:{partition}:iam::aws:policy/{name}" for name in names]


def chat_configuration_name(prefix: str, kind: str, channel_id: str) -> str:
    """Physical name of a channel's configuration (`[A-Za-z0-9-_]`, at most 128 characters; unique in the
    account, so it carries the stack's prefix)."""
    slug = re.sub(r"[^A-Za-z0-9-_]+", "-", channel_id).strip("-")
    return f"{prefix}-{kind}-{slug}"[:128]


def chat_logical_suffix(channel_id: str) -> str:
    """A stable logical-name suffix for a channel (reordering the list replaces nothing)."""
    return re.sub(r"[^a-z0-9]+", "-", channel_id.lower()).strip("-")
