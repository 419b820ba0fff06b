"""Alarm-notification test: prove that every alarm of a stack reaches the on-call topics.

    pulumi stack output --json > outputs.json
    python -m tools.alarm_test --outputs outputs.json
    python -m tools.alarm_test --alarm-prefix prodready-dev-     # when the outputs lack alarmNames

For each alarm, `set_alarm_state` puts it in ALARM and then back to the state it was in, so that
CloudWatch sends real notifications through the real topics (and their KMS keys and policies).
A temporary SQS queue subscribed to every topic shows what each topic actually delivered; it is
removed afterwards. Alarms already in ALARM are left alone: they may be a real incident.

Reads `alarmNames` (list) and `alertTopicArns` (map severity -> ARN) from the outputs. Needs
cloudwatch:DescribeAlarms, SetAlarmState, DescribeAlarmHistory; sns:Subscribe, Unsubscribe;
sqs:CreateQueue, SetQueueAttributes, GetQueueAttributes, ReceiveMessage, DeleteMessage,
DeleteQueue. Exits 0 only if every tested alarm's notifications arrived on every topic.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

ALARM = "ALARM"
DESCRIBE_BATCH = 100
# The state change is instant, but CloudWatch needs a moment to run the actions and SNS to fan
# out; holding ALARM briefly also makes the page readable in the on-call tool.
DEFAULT_HOLD_S = 5.0
DEFAULT_WAIT_S = 90.0


@dataclass(frozen=True)
class AlarmClients:
    """The AWS clients the test uses; tests inject their own."""

    cloudwatch: Any
    sns: Any
    sqs: Any

    @classmethod
    def create(cls, region: str | None = None) -> AlarmClients:
        session = boto3.session.Session(region_name=region)
        return cls(session.client("cloudwatch"), session.client("sns"), session.client("sqs"))


@dataclass(frozen=True)
class AlarmInfo:
    """What the test needs to know about one alarm."""

    name: str
    kind: str  # MetricAlarm or CompositeAlarm
    state: str
    actions_enabled: bool
    alarm_topics: tuple[str, ...]
    ok_topics: tuple[str, ...]
    insufficient_data_topics: tuple[str, ...]

    def topics_for(self, state: str) -> tuple[str, ...]:
        return {
            "ALARM": self.alarm_topics,
            "OK": self.ok_topics,
            "INSUFFICIENT_DATA": self.insufficient_data_topics,
        }.get(state, ())


@dataclass(frozen=True)
class Notification:
    """One alarm notification as a topic delivered it."""

    topic_arn: str
    alarm_name: str
    new_state: str


@dataclass
class AlarmResult:
    """The outcome for one alarm."""

    name: str
    verdict: str  # PASS, FAIL or SKIP
    detail: str
    expected: set[tuple[str, str]] = field(default_factory=set)  # (topic ARN, state)
    history: list[str] = field(default_factory=list)


@dataclass
class Report:
    """The whole run: per-alarm results and what each topic received."""

    run_id: str
    alarms: list[AlarmResult]
    received: dict[str, list[Notification]]
    topic_labels: dict[str, str]

    @property
    def passed(self) -> bool:
        return bool(self.alarms) and all(result.verdict != "FAIL" for result in self.alarms)


def load_outputs(source: str, stdin: TextIO | None = None) -> tuple[list[str], dict[str, str]]:
    """Alarm names and severity -> topic ARN from `pulumi stack output --json` (a file or -)."""
    text = (stdin or sys.stdin).read() if source == "-" else Path(source).read_text()
    outputs = json.loads(text)
    if not isinstance(outputs, dict):
        raise ValueError("stack outputs must be a JSON object")
    names = outputs.get("alarmNames") or []
    topics = outputs.get("alertTopicArns") or {}
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError("`alarmNames` must be a list of alarm names")
    if not isinstance(topics, dict) or not all(isinstance(arn, str) for arn in topics.values()):
        raise ValueError("`alertTopicArns` must map severity to topic ARN")
    return names, {str(severity): arn for severity, arn in topics.items()}


def _sns_actions(actions: Iterable[str]) -> tuple[str, ...]:
    return tuple(action for action in actions if action.startswith("arn:aws") and ":sns:" in action)


def _to_info(raw: Mapping[str, Any], kind: str) -> AlarmInfo:
    return AlarmInfo(
        name=raw["AlarmName"],
        kind=kind,
        state=raw.get("StateValue", "OK"),
        actions_enabled=bool(raw.get("ActionsEnabled", True)),
        alarm_topics=_sns_actions(raw.get("AlarmActions", [])),
        ok_topics=_sns_actions(raw.get("OKActions", [])),
        insufficient_data_topics=_sns_actions(raw.get("InsufficientDataActions", [])),
    )


def describe_alarms(cloudwatch: Any, names: list[str] | None = None, prefix: str | None = None) -> list[AlarmInfo]:
    """Metric and composite alarms by name, or all with a name prefix."""
    requests: list[dict[str, Any]] = []
    if names:
        requests = [{"AlarmNames": names[i : i + DESCRIBE_BATCH]} for i in range(0, len(names), DESCRIBE_BATCH)]
    elif prefix:
        requests = [{"AlarmNamePrefix": prefix}]
    alarms: list[AlarmInfo] = []
    paginator = cloudwatch.get_paginator("describe_alarms")
    for request in requests:
        for page in paginator.paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"], **request):
            alarms.extend(_to_info(raw, "MetricAlarm") for raw in page.get("MetricAlarms", []))
            alarms.extend(_to_info(raw, "CompositeAlarm") for raw in page.get("CompositeAlarms", []))
    return sorted(alarms, key=lambda alarm: alarm.name)


def parse_notification(message: Mapping[str, Any]) -> Notification | None:
    """The alarm notification inside an SQS message carrying an SNS envelope, if it is one."""
    try:
        envelope = json.loads(message["Body"])
        alarm = json.loads(envelope["Message"])
        return Notification(envelope["TopicArn"], alarm["AlarmName"], alarm["NewStateValue"])
    except (KeyError, TypeError, ValueError):
        return None


@contextmanager
def topic_probe(clients: AlarmClients, topic_arns: Iterable[str], run_id: str) -> Iterator[str]:
    """A temporary SQS queue subscribed to every topic; yields its URL, then removes it all."""
    topics = sorted(set(topic_arns))
    queue_url = clients.sqs.create_queue(
        QueueName=f"prodready-alarm-probe-{run_id}",
        # SQS-managed encryption needs no key grant for SNS to deliver.
        Attributes={"SqsManagedSseEnabled": "true", "MessageRetentionPeriod": "3600"},
    )["QueueUrl"]
    subscriptions: list[str] = []
    try:
        queue_arn = clients.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AlarmTopicsOnly",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topics}},
                }
            ],
        }
        clients.sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
        for topic_arn in topics:
            subscription = clients.sns.subscribe(
                TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True
            )
            subscriptions.append(subscription["SubscriptionArn"])
        yield queue_url
    finally:
        for subscription_arn in subscriptions:
            try:
                clients.sns.unsubscribe(SubscriptionArn=subscription_arn)
            except (ClientError, BotoCoreError) as exc:
                print(f"  warning: could not remove subscription {subscription_arn}: {exc}", file=sys.stderr)
        clients.sqs.delete_queue(QueueUrl=queue_url)


def collect(
    sqs: Any,
    queue_url: str,
    expected: set[tuple[str, str, str]],
    wait_s: float,
    poll_s: int = 2,
) -> list[Notification]:
    """Read notifications until every expected (topic, alarm, state) arrived or `wait_s` passed."""
    received: list[Notification] = []
    deadline = time.monotonic() + wait_s
    while True:
        seen = {(n.topic_arn, n.alarm_name, n.new_state) for n in received}
        remaining = deadline - time.monotonic()
        if expected <= seen or remaining <= 0:
            return received
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=max(0, min(poll_s, int(remaining))),
        )
        messages = response.get("Messages", [])
        for message in messages:
            notification = parse_notification(message)
            if notification is not None:
                received.append(notification)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if not messages and poll_s == 0:
            time.sleep(0.2)


def _action_history(cloudwatch: Any, alarm_name: str, since: datetime) -> list[str]:
    """What CloudWatch recorded about running the alarm's actions (why a page did not arrive)."""
    try:
        response = cloudwatch.describe_alarm_history(
            AlarmName=alarm_name, HistoryItemType="Action", StartDate=since, MaxRecords=20
        )
    except ClientError as exc:
        return [f"(alarm history unavailable: {exc.response.get('Error', {}).get('Code', 'error')})"]
    except BotoCoreError as exc:
        return [f"(alarm history unavailable: {type(exc).__name__})"]
    return [item.get("HistorySummary", "") for item in response.get("AlarmHistoryItems", [])]


def run_alarm_test(
    clients: AlarmClients,
    alarms: list[AlarmInfo],
    topic_labels: Mapping[str, str],
    *,
    missing: Iterable[str] = (),
    hold_s: float = DEFAULT_HOLD_S,
    wait_s: float = DEFAULT_WAIT_S,
    poll_s: int = 2,
    out: TextIO | None = None,
) -> Report:
    """Flip each alarm to ALARM and back, and see what every topic delivered."""
    out = out or sys.stdout
    run_id = uuid.uuid4().hex[:8]
    started = datetime.now(UTC)
    results = [AlarmResult(name, "FAIL", "listed in the stack outputs but does not exist") for name in missing]
    to_test: list[tuple[AlarmInfo, AlarmResult]] = []
    for alarm in alarms:
        if alarm.state == ALARM:
            results.append(AlarmResult(alarm.name, "SKIP", "already in ALARM; left alone (may be a real incident)"))
        elif not alarm.actions_enabled:
            results.append(AlarmResult(alarm.name, "FAIL", "actions are disabled: nobody would be notified"))
        elif not alarm.alarm_topics:
            results.append(AlarmResult(alarm.name, "FAIL", "no SNS alarm action: nobody would be notified"))
        else:
            expected = {(topic, ALARM) for topic in alarm.alarm_topics}
            expected |= {(topic, alarm.state) for topic in alarm.topics_for(alarm.state)}
            result = AlarmResult(alarm.name, "FAIL", "", expected=expected)
            results.append(result)
            to_test.append((alarm, result))

    watched = set(topic_labels.values()) | {topic for _, result in to_test for topic, _ in result.expected}
    received: list[Notification] = []
    if to_test:
        print(f"alarm notification test {run_id}: {len(to_test)} alarm(s), {len(watched)} topic(s)", file=out)
        with topic_probe(clients, watched, run_id) as queue_url:
            reason = f"Alarm notification test {run_id}: checking that on-call receives this alarm"
            for alarm, _ in to_test:
                clients.cloudwatch.set_alarm_state(AlarmName=alarm.name, StateValue=ALARM, StateReason=reason)
            time.sleep(hold_s)
            for alarm, _ in to_test:
                clients.cloudwatch.set_alarm_state(
                    AlarmName=alarm.name,
                    StateValue=alarm.state,
                    StateReason=f"Alarm notification test {run_id}: back to {alarm.state}",
                )
            expected_all = {(topic, result.name, state) for _, result in to_test for topic, state in result.expected}
            received = collect(clients.sqs, queue_url, expected_all, wait_s, poll_s)

    seen = {(n.topic_arn, n.alarm_name, n.new_state) for n in received}
    for alarm, result in to_test:
        missing_deliveries = sorted((t, s) for t, s in result.expected if (t, alarm.name, s) not in seen)
        if missing_deliveries:
            result.detail = "not received: " + "; ".join(
                f"{state} on {topic_label(topic_labels, topic)}" for topic, state in missing_deliveries
            )
            result.history = _action_history(clients.cloudwatch, alarm.name, started)
        else:
            result.verdict = "PASS"
            result.detail = "received: " + "; ".join(
                f"{state} on {topic_label(topic_labels, topic)}" for topic, state in sorted(result.expected)
            )

    by_topic: dict[str, list[Notification]] = {topic: [] for topic in sorted(watched)}
    for notification in received:
        by_topic.setdefault(notification.topic_arn, []).append(notification)
    report = Report(run_id, sorted(results, key=lambda r: r.name), by_topic, dict(topic_labels))
    print_report(report, out)
    return report


def topic_label(topic_labels: Mapping[str, str], topic_arn: str) -> str:
    """`severity (topic name)` for topics from the outputs, the topic name otherwise."""
    name = topic_arn.rsplit(":", 1)[-1]
    for severity, arn in topic_labels.items():
        if arn == topic_arn:
            return f"{severity} ({name})"
    return name


def print_report(report: Report, out: TextIO) -> None:
    """Per-alarm verdicts, then what each topic received, then the overall result."""
    print("alarms:", file=out)
    for result in report.alarms:
        print(f"  {result.verdict:<4}  {result.name}: {result.detail}", file=out)
        for line in result.history:
            print(f"          history: {line}", file=out)
    print("topics:", file=out)
    for topic_arn, notifications in report.received.items():
        label = topic_label(report.topic_labels, topic_arn)
        summary = ", ".join(f"{n.alarm_name} {n.new_state}" for n in notifications) or "nothing"
        print(f"  {label}: received {len(notifications)}: {summary}", file=out)
    if not report.alarms:
        print("RESULT: FAIL (no alarms to test)", file=out)
        return
    failed = sum(result.verdict == "FAIL" for result in report.alarms)
    verdict = "PASS" if report.passed else "FAIL"
    print(f"RESULT: {verdict} ({len(report.alarms) - failed}/{len(report.alarms)} alarms ok)", file=out, flush=True)


def main(argv: list[str] | None = None, clients: AlarmClients | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.alarm_test", description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", help="`pulumi stack output --json` file, or - for stdin")
    parser.add_argument("--alarm-prefix", help="test the alarms with this name prefix if the outputs list none")
    parser.add_argument("--region", help="AWS region (default: from the AWS configuration)")
    parser.add_argument("--hold", type=float, default=DEFAULT_HOLD_S, help="seconds to hold ALARM (default 5)")
    parser.add_argument("--wait", type=float, default=DEFAULT_WAIT_S, help="seconds to wait for deliveries")
    parser.add_argument("--dry-run", action="store_true", help="list the alarms and topics, change nothing")
    args = parser.parse_args(argv)

    names: list[str] = []
    topics: dict[str, str] = {}
    if args.outputs:
        try:
            names, topics = load_outputs(args.outputs)
        except (OSError, ValueError) as exc:
            parser.error(f"cannot read the stack outputs: {exc}")
    if not names and not args.alarm_prefix:
        parser.error("the outputs list no `alarmNames`; pass --alarm-prefix to find the alarms by name")

    clients = clients or AlarmClients.create(args.region)
    alarms = describe_alarms(clients.cloudwatch, names=names or None, prefix=None if names else args.alarm_prefix)
    missing = sorted(set(names) - {alarm.name for alarm in alarms})
    if args.dry_run:
        for alarm in alarms:
            print(f"  {alarm.name} [{alarm.kind}, {alarm.state}] -> {', '.join(alarm.alarm_topics) or 'no SNS action'}")
        for name in missing:
            print(f"  {name} [missing]")
        return 0 if alarms and not missing else 1
    report = run_alarm_test(clients, alarms, topics, missing=missing, hold_s=args.hold, wait_s=args.wait)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
