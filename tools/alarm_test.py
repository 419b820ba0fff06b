"""Alarm-notification test: prove that every alarm of a stack reaches the on-call topics.

    pulumi stack output --json > outputs.json
    python -m tools.alarm_test --outputs outputs.json
    python -m tools.alarm_test --alarm-prefix prodready-dev-     # when the outputs lack alarmNames

For each alarm, `set_alarm_state` puts it in ALARM and then back to the state it was in, so that
CloudWatch sends real notifications through the real topics (and their KMS keys and policies).
A temporary SQS queue subscribed to every topic shows what each topic actually delivered; it is
removed afterwards. Alarms already in ALARM are left alone: they may be a real incident.

An alarm with no SNS action of its own is covered when a routed composite alarm goes to ALARM with
it (the critical roll-up that pages once; a burn-rate pair, whose AND needs both windows). Such an
alarm is tested through that composite: the alarms the composite needs are flipped together, one
test at a time, and the composite's page must arrive. By default one alarm is flipped per path into
each composite (`--covered all` flips every one). A maintenance-window switch (a composite's
actions suppressor) pages nobody by design and is not flipped.

Reads `alarmNames` (list) and `alertTopicArns` (map severity -> ARN) from the outputs. Needs
cloudwatch:DescribeAlarms, SetAlarmState, DescribeAlarmHistory; sns:Subscribe, Unsubscribe;
sqs:CreateQueue, SetQueueAttributes, GetQueueAttributes, ReceiveMessage, DeleteMessage,
DeleteQueue. Exits 0 only if every tested alarm's notifications arrived on every topic.
"""

from __future__ import annotations

import argparse
import json
import re
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
    rule: str = ""  # a composite's AlarmRule
    suppressor: str = ""  # a composite's ActionsSuppressor (alarm name or ARN)

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
    through: str = ""  # the routed composite whose notifications prove this alarm pages


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
        rule=raw.get("AlarmRule", ""),
        suppressor=_ref_name(raw.get("ActionsSuppressor", "")),
    )


# Children a rule needs in ALARM: `ALARM("name")` or `ALARM(arn)`, not under NOT.
_ALARM_REF = re.compile(r'(?<!NOT )ALARM\(\s*"?([^")]+?)"?\s*\)')


def _ref_name(ref: str) -> str:
    # A rule or suppressor names an alarm by name or by ARN (`arn:...:alarm:<name>`).
    return ref.split(":alarm:", 1)[1] if ":alarm:" in ref else ref


def rule_children(rule: str) -> list[str]:
    """The alarms a composite rule references in ALARM state."""
    return [_ref_name(ref) for ref in _ALARM_REF.findall(rule)]


def _needs_all(rule: str) -> bool:
    # A conjunction fires only when every referenced alarm is in ALARM.
    return " AND " in rule and " OR " not in rule


@dataclass(frozen=True)
class Cover:
    """How an alarm without its own SNS action reaches on-call: through a routed composite."""

    composite: AlarmInfo
    """The nearest composite with an SNS alarm action that goes to ALARM with this alarm."""
    trigger: tuple[str, ...]
    """The alarms to put in ALARM together so that it does (the alarm, and AND-partners on the way)."""
    path: str
    """The first composite on the way (or the routed one itself): tests are sampled per path."""


def routed_covers(alarms: Iterable[AlarmInfo]) -> dict[str, Cover]:
    """For each alarm with no SNS alarm action of its own, how a routed composite covers it."""
    by_name = {alarm.name: alarm for alarm in alarms}
    parents: dict[str, list[AlarmInfo]] = {}
    for alarm in by_name.values():
        for child in rule_children(alarm.rule):
            parents.setdefault(child, []).append(alarm)
    covers: dict[str, Cover] = {}
    for alarm in by_name.values():
        if alarm.alarm_topics:
            continue
        # Breadth-first up the composites; each entry carries the alarms needed so far.
        frontier: list[tuple[AlarmInfo, tuple[str, ...], str]] = [
            (parent, (alarm.name,), parent.name) for parent in parents.get(alarm.name, [])]
        seen: set[str] = set()
        while frontier:
            composite, needed, path = frontier.pop(0)
            if composite.name in seen:
                continue
            seen.add(composite.name)
            if _needs_all(composite.rule):
                needed = tuple(dict.fromkeys([*needed, *rule_children(composite.rule)]))
            if composite.alarm_topics and composite.actions_enabled:
                # Only metric alarms can be flipped meaningfully: a composite re-evaluates its rule.
                trigger = tuple(n for n in needed if n in by_name and not by_name[n].rule)
                covers[alarm.name] = Cover(composite, trigger, path)
                break
            frontier.extend((parent, needed, path) for parent in parents.get(composite.name, []))
    return covers


def suppressors(alarms: Iterable[AlarmInfo]) -> set[str]:
    """The alarms that silence a composite's actions (maintenance-window switches)."""
    return {alarm.suppressor for alarm in alarms if alarm.suppressor}


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
    covered: str = "one",
    out: TextIO | None = None,
) -> Report:
    """Flip each alarm to ALARM and back, and see what every topic delivered.

    Alarms with their own SNS actions are flipped together; alarms covered by a routed composite
    are flipped one test at a time (`covered`: "one" per path into each composite, or "all").
    """
    out = out or sys.stdout
    run_id = uuid.uuid4().hex[:8]
    started = datetime.now(UTC)
    by_name = {alarm.name: alarm for alarm in alarms}
    covers = routed_covers(alarms)
    switches = suppressors(alarms)
    results = [AlarmResult(name, "FAIL", "listed in the stack outputs but does not exist") for name in missing]
    to_test: list[tuple[AlarmInfo, AlarmResult]] = []
    through: list[tuple[Cover, AlarmResult]] = []
    sampled: set[tuple[str, str]] = set()
    for alarm in alarms:
        cover = covers.get(alarm.name)
        if alarm.name in switches:
            results.append(AlarmResult(alarm.name, "SKIP", "maintenance-window switch: silences pages by design"))
        elif alarm.state == ALARM:
            results.append(AlarmResult(alarm.name, "SKIP", "already in ALARM; left alone (may be a real incident)"))
        elif not alarm.actions_enabled:
            results.append(AlarmResult(alarm.name, "FAIL", "actions are disabled: nobody would be notified"))
        elif alarm.alarm_topics:
            expected = {(topic, ALARM) for topic in alarm.alarm_topics}
            expected |= {(topic, alarm.state) for topic in alarm.topics_for(alarm.state)}
            result = AlarmResult(alarm.name, "FAIL", "", expected=expected)
            results.append(result)
            to_test.append((alarm, result))
        elif cover is None:
            results.append(AlarmResult(
                alarm.name, "FAIL", "no SNS alarm action and no routed composite covers it: nobody would be notified"))
        else:
            results.append(_covered_result(alarm.name, cover, by_name, covered, sampled, through))

    watched = set(topic_labels.values()) | {topic for _, result in to_test for topic, _ in result.expected}
    watched |= {topic for cover, _ in through for topic in cover.composite.alarm_topics}
    received: list[Notification] = []
    if to_test or through:
        print(f"alarm notification test {run_id}: {len(to_test)} alarm(s) with their own actions, "
              f"{len(through)} through composites, {len(watched)} topic(s)", file=out)
        with topic_probe(clients, watched, run_id) as queue_url:
            reason = f"Alarm notification test {run_id}: checking that on-call receives this alarm"
            if to_test:
                for alarm, _ in to_test:
                    clients.cloudwatch.set_alarm_state(AlarmName=alarm.name, StateValue=ALARM, StateReason=reason)
                time.sleep(hold_s)
                _restore(clients, [alarm for alarm, _ in to_test], run_id)
                expected_all = {(t, result.name, s) for _, result in to_test for t, s in result.expected}
                received += collect(clients.sqs, queue_url, expected_all, wait_s, poll_s)
            for cover, result in through:
                received += _test_through(clients, queue_url, cover, by_name, result, reason, run_id, wait_s, poll_s)

    seen = {(n.topic_arn, n.alarm_name, n.new_state) for n in received}
    for _, result in [*to_test, *through]:
        source = result.through or result.name
        missing_deliveries = sorted((t, s) for t, s in result.expected if (t, source, s) not in seen)
        prefix = f"paged through {result.through}: " if result.through else ""
        if missing_deliveries:
            result.detail = prefix + "not received: " + "; ".join(
                f"{state} on {topic_label(topic_labels, topic)}" for topic, state in missing_deliveries
            )
            result.history = _action_history(clients.cloudwatch, source, started)
        else:
            result.verdict = "PASS"
            result.detail = prefix + "received: " + "; ".join(
                f"{state} on {topic_label(topic_labels, topic)}" for topic, state in sorted(result.expected)
            )

    by_topic: dict[str, list[Notification]] = {topic: [] for topic in sorted(watched)}
    for notification in received:
        by_topic.setdefault(notification.topic_arn, []).append(notification)
    report = Report(run_id, sorted(results, key=lambda r: r.name), by_topic, dict(topic_labels))
    print_report(report, out)
    return report


def _covered_result(
    name: str,
    cover: Cover,
    by_name: Mapping[str, AlarmInfo],
    covered: str,
    sampled: set[tuple[str, str]],
    through: list[tuple[Cover, AlarmResult]],
) -> AlarmResult:
    """The verdict-to-be of an alarm that pages through a composite; queues it for testing if due."""
    composite = cover.composite
    suppressor = by_name.get(composite.suppressor)
    if composite.state == ALARM:
        return AlarmResult(name, "SKIP", f"{composite.name} is already in ALARM; a flip would not page")
    if suppressor is not None and suppressor.state == ALARM:
        return AlarmResult(name, "SKIP", f"maintenance window open ({suppressor.name}): pages are suppressed")
    if any(by_name[n].state == ALARM for n in cover.trigger if n != name):
        return AlarmResult(name, "SKIP", f"an alarm {composite.name} needs is already in ALARM")
    key = (composite.name, cover.path)
    if covered != "all" and key in sampled:
        return AlarmResult(name, "SKIP", f"covered by {composite.name} through a path another alarm tested")
    sampled.add(key)
    back = composite.state
    expected = {(t, ALARM) for t in composite.alarm_topics} | {(t, back) for t in composite.topics_for(back)}
    result = AlarmResult(name, "FAIL", "", expected=expected, through=composite.name)
    through.append((cover, result))
    return result


def _restore(clients: AlarmClients, alarms: Iterable[AlarmInfo], run_id: str) -> None:
    for alarm in alarms:
        clients.cloudwatch.set_alarm_state(
            AlarmName=alarm.name,
            StateValue=alarm.state,
            StateReason=f"Alarm notification test {run_id}: back to {alarm.state}",
        )


def _test_through(
    clients: AlarmClients,
    queue_url: str,
    cover: Cover,
    by_name: Mapping[str, AlarmInfo],
    result: AlarmResult,
    reason: str,
    run_id: str,
    wait_s: float,
    poll_s: int,
) -> list[Notification]:
    """Flip what a composite needs, wait for its page, flip back, wait for its OK: one at a time,
    since the composite pages once for whatever set of its alarms is firing."""
    composite = cover.composite.name
    trigger = [by_name[name] for name in cover.trigger]
    for alarm in trigger:
        clients.cloudwatch.set_alarm_state(AlarmName=alarm.name, StateValue=ALARM, StateReason=reason)
    fired = {(t, composite, s) for t, s in result.expected if s == ALARM}
    received = collect(clients.sqs, queue_url, fired, wait_s, poll_s)
    _restore(clients, trigger, run_id)
    settled = {(t, composite, s) for t, s in result.expected if s != ALARM}
    return received + collect(clients.sqs, queue_url, settled, wait_s, poll_s)


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
    parser.add_argument("--covered", choices=("one", "all"), default="one",
                        help="alarms that page through a composite: flip one per path (default) or all")
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
        covers = routed_covers(alarms)
        for alarm in alarms:
            route = ", ".join(alarm.alarm_topics) or (
                f"through {covers[alarm.name].composite.name}" if alarm.name in covers else "no SNS action"
            )
            print(f"  {alarm.name} [{alarm.kind}, {alarm.state}] -> {route}")
        for name in missing:
            print(f"  {name} [missing]")
        return 0 if alarms and not missing else 1
    report = run_alarm_test(
        clients, alarms, topics, missing=missing, hold_s=args.hold, wait_s=args.wait, covered=args.covered
    )
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
