"""Alert routing: one encrypted SNS topic per severity, its policy, and its subscribers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.alerting import documents as routing
from components.monitoring.catalog import SEVERITIES
from components.types import ALERT_ROUTING


@dataclass(frozen=True)
class AlertRoutingArgs:
    name_prefix: str
    """Prefix of every physical name, `<service>-<stack>`."""
    emails: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Email subscribers per severity."""
    webhook_endpoints: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """HTTPS endpoint per severity (secret outputs; an incident tool's webhook)."""
    severities: Sequence[str] = SEVERITIES
    """The severities to route, one topic each."""
    publishers: Sequence[str] = tuple(routing.PUBLISHERS)
    """Services allowed to publish (keys of routing.PUBLISHERS); nothing else may."""


class AlertRouting(pulumi.ComponentResource):
    """One topic per severity (`critical` pages, `warning` notifies) under a customer-managed key.

    The key policy and each topic policy let the publishers (by default CloudWatch alarms, AWS
    Budgets and Cost Anomaly Detection) publish on behalf of this account only (components/alerting/documents.py).
    """

    topic_arns: dict[str, pulumi.Output[str]]
    key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AlertRoutingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(ALERT_ROUTING, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        account_id = identity.account_id
        partition = identity.arn.apply(routing.partition_of)

        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts the alert topics of {args.name_prefix}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(
                pulumi.Output.all(account_id, partition).apply(
                    lambda v: routing.alert_key_policy(v[0], v[1], args.publishers)
                )
            ),
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=routing.key_alias(args.name_prefix),
            target_key_id=key.key_id,
            opts=child,
        )

        self.topic_arns = {}
        for severity in args.severities:
            topic = aws.sns.Topic(
                f"{name}-{severity}",
                name=routing.topic_name(args.name_prefix, severity),
                display_name=f"{args.name_prefix} {severity} alerts",
                # Never alias/aws/sns: CloudWatch alarms cannot use the AWS-managed SNS key.
                kms_master_key_id=key.arn,
                opts=child,
            )
            topic_policy = aws.sns.TopicPolicy(
                f"{name}-{severity}-policy",
                arn=topic.arn,
                policy=pulumi.Output.json_dumps(
                    pulumi.Output.all(topic.arn, account_id).apply(
                        lambda v: routing.alert_topic_policy(v[0], v[1], args.publishers)
                    )
                ),
                opts=child,
            )
            for email in args.emails.get(severity, ()):
                aws.sns.TopicSubscription(
                    # Keyed by address, so reordering the list replaces nothing.
                    f"{name}-{severity}-email-{routing.email_slug(email)}",
                    topic=topic.arn,
                    protocol="email",
                    endpoint=email,
                    opts=child,
                )
            endpoint = args.webhook_endpoints.get(severity)
            if endpoint is not None:
                aws.sns.TopicSubscription(
                    f"{name}-{severity}-webhook",
                    topic=topic.arn,
                    protocol="https",
                    endpoint=pulumi.Output.secret(endpoint),
                    # Incident tools (PagerDuty, Opsgenie...) confirm SNS subscriptions themselves.
                    endpoint_auto_confirms=True,
                    confirmation_timeout_in_minutes=5,
                    opts=child,
                )
            # The topic's ARN as its policy publishes it: whoever subscribes to the topic (the
            # budget, the anomaly subscription, alarms) waits for the policy that lets it publish.
            self.topic_arns[severity] = topic_policy.arn

        self.key_arn = key.arn
        self.register_outputs({"topicArns": self.topic_arns, "keyArn": self.key_arn})
