"""The alarm-notification test, against a moto server on a loopback port."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tools.alarm_test import AlarmClients, describe_alarms, load_outputs, main, run_alarm_test

REGION = "eu-west-1"


class CloudWatchThatNotifies:
    """The CloudWatch client, plus what moto does not do: run an alarm's SNS actions.

    On a state change CloudWatch publishes the alarm notification to the topics of the new
    state; this does the same through the moto SNS, except for `dropped` topics, which stand for
    a delivery that fails in AWS (a KMS key policy that shuts CloudWatch out, say).
    """

    def __init__(self, cloudwatch: Any, sns: Any, dropped: Iterable[str] = ()) -> None:
        self._cloudwatch = cloudwatch
        self._sns = sns
        self._dropped = set(dropped)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cloudwatch, name)

    def set_alarm_state(self, **request: Any) -> dict[str, Any]:
        (before,) = self._cloudwatch.describe_alarms(AlarmNames=[request["AlarmName"]])["MetricAlarms"]
        response = self._cloudwatch.set_alarm_state(**request)
        new_state = request["StateValue"]
        if before["StateValue"] != new_state and before.get("ActionsEnabled", True):
            actions = {"ALARM": "AlarmActions", "OK": "OKActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}
            for topic in before.get(actions[new_state], []):
                if topic in self._dropped:
                    continue
                message = {
                    "AlarmName": before["AlarmName"],
                    "NewStateValue": new_state,
                    "OldStateValue": before["StateValue"],
                    "NewStateReason": request["StateReason"],
                    "Region": REGION,
                }
                self._sns.publish(
                    TopicArn=topic, Subject=f'{new_state}: "{before["AlarmName"]}"', Message=json.dumps(message)
                )
        return response


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    # One access line per API call would drown the output of a failing test.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class Stack:
    """Alarms and topics as a deployed stack would have them, under a unique name prefix."""

    prefix: str
    topics: dict[str, str]
    raw: AlarmClients

    def clients(self, dropped: Iterable[str] = ()) -> AlarmClients:
        notifying = CloudWatchThatNotifies(self.raw.cloudwatch, self.raw.sns, dropped)
        return AlarmClients(notifying, self.raw.sns, self.raw.sqs)

    def alarm(self, name: str, alarm_topics: list[str], ok_topics: list[str] | None = None) -> str:
        full_name = f"{self.prefix}{name}"
        self.raw.cloudwatch.put_metric_alarm(
            AlarmName=full_name,
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=alarm_topics,
            OKActions=ok_topics or [],
        )
        return full_name

    def state(self, name: str) -> str:
        return self.raw.cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]


@pytest.fixture
def stack(moto_url: str) -> Stack:
    def client(service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=moto_url)

    raw = AlarmClients(client("cloudwatch"), client("sns"), client("sqs"))
    prefix = f"prodready-{uuid.uuid4().hex[:6]}-"
    topics = {
        severity: raw.sns.create_topic(Name=f"{prefix}alerts-{severity}")["TopicArn"]
        for severity in ("critical", "warning")
    }
    return Stack(prefix, topics, raw)


def run(stack: Stack, names: list[str], dropped: Iterable[str] = (), missing: Iterable[str] = ()) -> tuple[Any, str]:
    clients = stack.clients(dropped)
    out = io.StringIO()
    report = run_alarm_test(
        clients,
        describe_alarms(clients.cloudwatch, names=names),
        stack.topics,
        missing=missing,
        hold_s=0,
        wait_s=1.5,
        poll_s=1,
        out=out,
    )
    return report, out.getvalue()


def test_every_alarm_reaches_its_topics_and_goes_back_to_its_state(stack):
    api = stack.alarm("api-5xx", [stack.topics["critical"]], ok_topics=[stack.topics["critical"]])
    errors = stack.alarm("lambda-errors", [stack.topics["warning"]])

    report, out = run(stack, [api, errors])

    assert report.passed, out
    assert [(r.name, r.verdict) for r in report.alarms] == [(api, "PASS"), (errors, "PASS")]
    received = {topic: [(n.alarm_name, n.new_state) for n in notes] for topic, notes in report.received.items()}
    assert received == {
        stack.topics["critical"]: [(api, "ALARM"), (api, "OK")],
        stack.topics["warning"]: [(errors, "ALARM")],
    }
    assert (stack.state(api), stack.state(errors)) == ("OK", "OK")
    assert "critical (" in out and "received 2" in out
    assert out.rstrip().endswith("RESULT: PASS (2/2 alarms ok)")


def test_the_probe_queue_and_subscriptions_are_removed(stack):
    alarm = stack.alarm("api-5xx", [stack.topics["critical"]])

    run(stack, [alarm])

    assert stack.raw.sqs.list_queues(QueueNamePrefix="prodready-alarm-probe-").get("QueueUrls", []) == []
    for topic in stack.topics.values():
        assert stack.raw.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_a_topic_that_delivers_nothing_fails_its_alarms(stack):
    api = stack.alarm("api-5xx", [stack.topics["critical"]])
    errors = stack.alarm("lambda-errors", [stack.topics["warning"]])

    report, out = run(stack, [api, errors], dropped=[stack.topics["warning"]])

    assert not report.passed
    verdicts = {r.name: (r.verdict, r.detail) for r in report.alarms}
    assert verdicts[api][0] == "PASS"
    assert verdicts[errors][0] == "FAIL"
    assert verdicts[errors][1].startswith("not received: ALARM on warning")
    assert "history:" in out, "a missing delivery is explained by the alarm's action history"
    assert f"warning ({stack.prefix}alerts-warning): received 0: nothing" in out
    assert stack.state(errors) == "OK"


def test_alarms_without_actions_fail_and_firing_alarms_are_left_alone(stack):
    silent = stack.alarm("silent", [])
    firing = stack.alarm("firing", [stack.topics["critical"]])
    stack.raw.cloudwatch.set_alarm_state(AlarmName=firing, StateValue="ALARM", StateReason="real incident")

    report, _ = run(stack, [silent, firing])

    verdicts = {r.name: r.verdict for r in report.alarms}
    assert verdicts == {silent: "FAIL", firing: "SKIP"}
    described = stack.raw.cloudwatch.describe_alarms(AlarmNames=[firing])["MetricAlarms"][0]
    assert (described["StateValue"], described["StateReason"]) == ("ALARM", "real incident")


def test_an_alarm_listed_in_the_outputs_but_absent_fails(stack):
    alarm = stack.alarm("api-5xx", [stack.topics["critical"]])

    report, out = run(stack, [alarm], missing=[f"{stack.prefix}ghost"])

    assert not report.passed
    assert f"FAIL  {stack.prefix}ghost: listed in the stack outputs but does not exist" in out


def test_main_reads_alarm_names_and_topics_from_the_stack_outputs(stack, tmp_path, capsys):
    alarm = stack.alarm("api-5xx", [stack.topics["critical"]])
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"alarmNames": [alarm, f"{stack.prefix}ghost"], "alertTopicArns": stack.topics}))

    exit_code = main(["--outputs", str(outputs), "--hold", "0", "--wait", "3"], clients=stack.clients())

    out = capsys.readouterr().out
    assert exit_code == 1, out
    assert f"PASS  {alarm}" in out
    assert f"FAIL  {stack.prefix}ghost" in out


def test_main_falls_back_to_the_name_prefix(stack, tmp_path, capsys):
    first = stack.alarm("api-5xx", [stack.topics["critical"]])
    second = stack.alarm("lambda-errors", [stack.topics["warning"]])
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"alertTopicArns": stack.topics}))

    exit_code = main(
        ["--outputs", str(outputs), "--alarm-prefix", stack.prefix, "--hold", "0", "--wait", "3"],
        clients=stack.clients(),
    )

    out = capsys.readouterr().out
    assert exit_code == 0, out
    assert f"PASS  {first}" in out and f"PASS  {second}" in out


def test_main_needs_alarm_names_or_a_prefix(tmp_path, capsys):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"apiUrl": "https://example.invalid"}))

    with pytest.raises(SystemExit) as exited:
        main(["--outputs", str(outputs)])

    assert exited.value.code == 2
    assert "--alarm-prefix" in capsys.readouterr().err


def test_a_dry_run_changes_nothing(stack, capsys):
    alarm = stack.alarm("api-5xx", [stack.topics["critical"]])

    exit_code = main(["--alarm-prefix", stack.prefix, "--dry-run"], clients=stack.clients())

    assert exit_code == 0
    assert alarm in capsys.readouterr().out
    assert stack.raw.cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateReason"].startswith(
        "Unchecked"
    )


@pytest.mark.parametrize(
    "outputs",
    [[], {"alarmNames": "one"}, {"alarmNames": [1]}, {"alertTopicArns": ["arn"]}],
    ids=["not-an-object", "names-not-a-list", "names-not-strings", "topics-not-a-map"],
)
def test_malformed_outputs_are_refused(outputs):
    with pytest.raises(ValueError):
        load_outputs("-", stdin=io.StringIO(json.dumps(outputs)))


def test_outputs_are_read_from_stdin():
    names, topics = load_outputs(
        "-", stdin=io.StringIO(json.dumps({"alarmNames": ["a"], "alertTopicArns": {"critical": "arn:x"}}))
    )

    assert (names, topics) == (["a"], {"critical": "arn:x"})
