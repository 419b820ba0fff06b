"""The alarm-notification test, against a moto server on a loopback port."""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from tests.conftest import COMMITTED_STACKS
from tools.alarm_test import (
    AlarmClients,
    AlarmInfo,
    describe_alarms,
    load_outputs,
    main,
    routed_covers,
    run_alarm_test,
    suppressors,
)

REGION = "eu-west-1"


class CloudWatchThatNotifies:
    """The CloudWatch client, plus what moto does not do: run alarm actions, and composite alarms.

    On a state change CloudWatch publishes the alarm notification to the topics of the new state;
    this does the same through the moto SNS, except for `dropped` topics, which stand for a delivery
    that fails in AWS (a KMS key policy that shuts CloudWatch out, say). moto has no composite
    alarms: they live here, and are re-evaluated when a child changes state, as CloudWatch does, for
    the rules the stacks use (ALARM(...) joined by OR, or by AND), with their actions suppressor.
    """

    def __init__(self, cloudwatch: Any, sns: Any, composites: dict[str, dict[str, Any]],
                 dropped: Iterable[str] = ()) -> None:
        self._cloudwatch = cloudwatch
        self._sns = sns
        self._composites = composites
        self._dropped = set(dropped)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cloudwatch, name)

    def _state(self, name: str) -> str:
        if name in self._composites:
            return self._composites[name]["StateValue"]
        return self._cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]

    def _publish(self, alarm: dict[str, Any], old: str, new: str, reason: str) -> None:
        if old == new or not alarm.get("ActionsEnabled", True):
            return
        suppressor = alarm.get("ActionsSuppressor")
        if suppressor and self._state(suppressor) == "ALARM":
            return
        actions = {"ALARM": "AlarmActions", "OK": "OKActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}
        for topic in alarm.get(actions[new], []):
            if topic in self._dropped:
                continue
            message = {"AlarmName": alarm["AlarmName"], "NewStateValue": new, "OldStateValue": old,
                       "NewStateReason": reason, "Region": REGION}
            self._sns.publish(TopicArn=topic, Subject=f'{new}: "{alarm["AlarmName"]}"', Message=json.dumps(message))

    def _evaluate_composites(self) -> None:
        changed = True
        while changed:  # composites of composites settle in a few rounds
            changed = False
            for composite in self._composites.values():
                rule = composite["AlarmRule"]
                states = [self._state(child) == "ALARM" for child in re.findall(r'ALARM\("([^"]+)"\)', rule)]
                new = "ALARM" if (all(states) if " AND " in rule else any(states)) else "OK"
                if new != composite["StateValue"]:
                    old, composite["StateValue"] = composite["StateValue"], new
                    self._publish(composite, old, new, "child alarm changed")
                    changed = True

    def set_alarm_state(self, **request: Any) -> dict[str, Any]:
        name, new = request["AlarmName"], request["StateValue"]
        if name in self._composites:
            composite = self._composites[name]
            old, composite["StateValue"] = composite["StateValue"], new
            self._publish(composite, old, new, request["StateReason"])
            return {}
        (before,) = self._cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        response = self._cloudwatch.set_alarm_state(**request)
        self._publish(before, before["StateValue"], new, request["StateReason"])
        self._evaluate_composites()
        return response

    def get_paginator(self, operation: str) -> Any:
        paginator = self._cloudwatch.get_paginator(operation)
        if operation != "describe_alarms":
            return paginator
        composites = self._composites

        class WithComposites:
            def paginate(self, **request: Any) -> Iterator[dict[str, Any]]:
                names = request.get("AlarmNames")
                prefix = request.get("AlarmNamePrefix", "")
                for page in paginator.paginate(**request):
                    yield {**page, "CompositeAlarms": [
                        dict(c) for n, c in composites.items()
                        if (n in names if names else n.startswith(prefix))
                    ]}

        return WithComposites()


@dataclass
class Stack:
    """Alarms and topics as a deployed stack would have them, under a unique name prefix."""

    prefix: str
    topics: dict[str, str]
    raw: AlarmClients
    composites: dict[str, dict[str, Any]] = field(default_factory=dict)

    def clients(self, dropped: Iterable[str] = ()) -> AlarmClients:
        notifying = CloudWatchThatNotifies(self.raw.cloudwatch, self.raw.sns, self.composites, dropped)
        return AlarmClients(notifying, self.raw.sns, self.raw.sqs)

    def composite(self, name: str, rule: str, alarm_topics: list[str], ok_topics: list[str] | None = None,
                  suppressor: str | None = None) -> str:
        full_name = f"{self.prefix}{name}"
        self.composites[full_name] = {
            "AlarmName": full_name, "AlarmRule": rule, "StateValue": "OK", "ActionsEnabled": True,
            "AlarmActions": alarm_topics, "OKActions": ok_topics or [], "InsufficientDataActions": [],
            **({"ActionsSuppressor": suppressor} if suppressor else {}),
        }
        return full_name

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
        if name in self.composites:
            return self.composites[name]["StateValue"]
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


def run(stack: Stack, names: list[str], dropped: Iterable[str] = (), missing: Iterable[str] = (),
        covered: str = "one") -> tuple[Any, str]:
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
        covered=covered,
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


# --- alarms that page through a composite (the critical roll-up, burn-rate pairs) -----------------


def _rollup_stack(stack: Stack) -> dict[str, str]:
    """The monitoring layer's shape: silent critical alarms and AND-pairs under one paging roll-up."""
    names = {
        "errors": stack.alarm("lambda-error-rate-critical", []),
        "5xx": stack.alarm("api-5xx-rate-critical", []),
        "long": stack.alarm("slo-burn-1h5m-long-critical", []),
        "short": stack.alarm("slo-burn-1h5m-short-critical", []),
        "maintenance": stack.alarm("maintenance-window", []),
    }
    names["pair"] = stack.composite(
        "slo-burn-1h5m-critical", f'ALARM("{names["long"]}") AND ALARM("{names["short"]}")', [])
    critical = stack.topics["critical"]
    names["rollup"] = stack.composite(
        "rollup-critical",
        f'ALARM("{names["errors"]}") OR ALARM("{names["5xx"]}") OR ALARM("{names["pair"]}")',
        [critical], ok_topics=[critical], suppressor=names["maintenance"])
    return names


def test_alarms_covered_by_the_paging_rollup_pass_through_its_page(stack):
    names = _rollup_stack(stack)

    report, out = run(stack, list(names.values()))

    verdicts = {r.name: r.verdict for r in report.alarms}
    assert verdicts[names["rollup"]] == "PASS"  # flipped directly, with the alarms that have actions
    # One flip per path into the roll-up: the direct children share one, the pair is another.
    assert sorted([verdicts[names["errors"]], verdicts[names["5xx"]]]) == ["PASS", "SKIP"]
    # The AND-pair needs both windows (flipping one would never page): both were flipped together,
    # once for the pair's path, which proves the pair composite too.
    assert sorted(verdicts[names[k]] for k in ("long", "short", "pair")) == ["PASS", "SKIP", "SKIP"]
    assert verdicts[names["maintenance"]] == "SKIP"
    assert report.passed
    critical = f"critical ({stack.prefix}alerts-critical)"
    assert f"paged through {names['rollup']}: received: ALARM on {critical}; OK on {critical}" in out
    for name in names.values():
        assert stack.state(name) == "OK", name


def test_covered_all_flips_every_covered_alarm(stack):
    names = _rollup_stack(stack)

    report, _ = run(stack, list(names.values()), covered="all")

    verdicts = {r.name: r.verdict for r in report.alarms}
    assert {verdicts[names[k]] for k in ("errors", "5xx", "long", "short", "pair")} == {"PASS"}


def test_a_covered_alarm_fails_when_its_composite_cannot_deliver(stack):
    names = _rollup_stack(stack)

    report, out = run(stack, [names["errors"], names["rollup"]], dropped=[stack.topics["critical"]])

    verdicts = {r.name: r.verdict for r in report.alarms}
    assert verdicts == {names["errors"]: "FAIL", names["rollup"]: "FAIL"}
    assert f"FAIL  {names['errors']}: paged through {names['rollup']}: not received: ALARM on critical" in out


def test_an_alarm_no_routed_composite_covers_fails(stack):
    silent = stack.alarm("orphan", [])
    unrouted = stack.composite("unrouted", f'ALARM("{silent}")', [])

    report, out = run(stack, [silent, unrouted])

    assert {r.name: r.verdict for r in report.alarms} == {silent: "FAIL", unrouted: "FAIL"}
    assert "no routed composite covers it" in out


def test_an_open_maintenance_window_skips_what_it_silences(stack):
    names = _rollup_stack(stack)
    stack.raw.cloudwatch.set_alarm_state(AlarmName=names["maintenance"], StateValue="ALARM", StateReason="deploy")

    report, _ = run(stack, list(names.values()))

    details = {r.name: (r.verdict, r.detail) for r in report.alarms}
    expected = ("SKIP", f"maintenance window open ({names['maintenance']}): pages are suppressed")
    assert details[names["errors"]] == expected
    assert details[names["maintenance"]][0] == "SKIP"


@pytest.mark.parametrize("stack_name", COMMITTED_STACKS)
def test_every_alarm_of_the_committed_stacks_is_testable(plans, stack_name):
    """Each planned alarm has a topic of its own, a routed composite that pages for it, or is the
    maintenance switch: none would come out of the tool as 'nobody would be notified'."""
    alarms = []
    for resource in plans[stack_name].resources:
        inputs = resource.inputs
        if resource.type == "aws:cloudwatch/metricAlarm:MetricAlarm":
            alarms.append(AlarmInfo(inputs["name"], "MetricAlarm", "OK", True,
                                    tuple(inputs.get("alarmActions") or ()), (), ()))
        elif resource.type == "aws:cloudwatch/compositeAlarm:CompositeAlarm":
            alarms.append(AlarmInfo(inputs["alarmName"], "CompositeAlarm", "OK", True,
                                    tuple(inputs.get("alarmActions") or ()), (), (), rule=inputs["alarmRule"],
                                    suppressor=(inputs.get("actionsSuppressor") or {}).get("alarm", "")))
    covers, switches = routed_covers(alarms), suppressors(alarms)
    silent = [a.name for a in alarms if not a.alarm_topics]
    assert silent, "the stacks page through composites: some alarms have no action of their own"
    uncovered = [name for name in silent if name not in covers and name not in switches]
    assert uncovered == []
    assert len(switches) == 1
