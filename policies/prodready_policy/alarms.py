"""Alarm coverage and alert routing, checked over the whole stack.

Every rule here indexes the stack once and then checks each resource against the index, so the
work is linear in the number of resources (no alarms x resources loops). Alarms are matched to what
they watch by metric dimensions (and every metric of a metric-math query); when a dimension value
is unknown at preview it is matched by the resources the alarm's dimensions were computed from
(`propertyDependencies`), which the engine always knows.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import Policy, Severity

from prodready_policy.base import (
    CHAT_CONFIGURATIONS,
    Config,
    PolicySpec,
    of_types,
    resource_policy,
    stack_policy,
    string_list,
)
from prodready_policy.types import APIGATEWAYV2_STAGE as HTTP_STAGE
from prodready_policy.types import BUDGETS_BUDGET as BUDGET
from prodready_policy.types import CLOUDWATCH_COMPOSITE_ALARM as COMPOSITE_ALARM
from prodready_policy.types import CLOUDWATCH_LOG_GROUP as LOG_GROUP
from prodready_policy.types import CLOUDWATCH_LOG_METRIC_FILTER as LOG_METRIC_FILTER
from prodready_policy.types import CLOUDWATCH_METRIC_ALARM as METRIC_ALARM
from prodready_policy.types import COSTEXPLORER_ANOMALY_SUBSCRIPTION as ANOMALY_SUBSCRIPTION
from prodready_policy.types import DYNAMODB_TABLE, LAMBDA_FUNCTION
from prodready_policy.types import SNS_TOPIC as TOPIC
from prodready_policy.types import SNS_TOPIC_POLICY as TOPIC_POLICY
from prodready_policy.types import SNS_TOPIC_SUBSCRIPTION as TOPIC_SUBSCRIPTION
from prodready_policy.values import UNKNOWN, ResourceView, as_list, get, is_unknown

ALARM_TYPES = (METRIC_ALARM, COMPOSITE_ALARM)

ACTION_KEYS = ("alarmActions", "okActions", "insufficientDataActions")


@dataclass(frozen=True)
class MonitoredKind:
    """How CloudWatch names a resource type in metrics: namespace and identifying dimensions."""

    type: str
    label: str
    namespace: str
    key_dimensions: tuple[str, ...]
    """Dimensions an alarm must carry, equal to the resource's values."""
    optional_dimensions: tuple[str, ...]
    """Dimensions an alarm may carry; when it does, they must equal the resource's values."""
    identity: Callable[[ResourceView], dict[str, Any]]
    sources: Callable[[ResourceView], tuple[str, ...]]
    """URNs the identity values are computed from (to match alarms whose dimensions are unknown)."""


MONITORED_KINDS: dict[str, MonitoredKind] = {
    kind.type: kind
    for kind in (
        MonitoredKind(
            LAMBDA_FUNCTION, "Lambda function", "AWS/Lambda", ("FunctionName",), (),
            identity=lambda r: {"FunctionName": get(r.props, "name", default=r.name)},
            sources=lambda r: (r.urn,),
        ),
        MonitoredKind(
            HTTP_STAGE, "HTTP API stage", "AWS/ApiGateway", ("ApiId",), ("Stage",),
            identity=lambda r: {"ApiId": get(r.props, "apiId", default=UNKNOWN),
                                "Stage": get(r.props, "name", default=r.name)},
            sources=lambda r: (r.urn, *r.sources("apiId")),
        ),
        MonitoredKind(
            DYNAMODB_TABLE, "DynamoDB table", "AWS/DynamoDB", ("TableName",), (),
            identity=lambda r: {"TableName": get(r.props, "name", default=r.name)},
            sources=lambda r: (r.urn,),
        ),
    )
}


@dataclass(frozen=True)
class WatchedMetric:
    namespace: Any
    metric_name: Any
    dimensions: Any  # dict, or UNKNOWN when the whole map is unknown
    sources: tuple[str, ...]


def watched_metrics(alarm: ResourceView) -> list[WatchedMetric]:
    """Every metric a metric alarm reads: its own metric, or each metric of its metric-math queries."""
    queries = get(alarm.props, "metricQueries", default=[])
    if is_unknown(queries):
        return [WatchedMetric(UNKNOWN, UNKNOWN, UNKNOWN, alarm.sources("metricQueries"))]
    metrics: list[WatchedMetric] = []
    if queries:
        sources = alarm.sources("metricQueries")
        for query in queries:
            metric = get(query, "metric")
            if metric is None:
                continue  # an expression over the other queries
            if is_unknown(metric):
                metrics.append(WatchedMetric(UNKNOWN, UNKNOWN, UNKNOWN, sources))
                continue
            metrics.append(WatchedMetric(get(metric, "namespace"), get(metric, "metricName"),
                                         get(metric, "dimensions", default={}), sources))
        return metrics
    return [WatchedMetric(get(alarm.props, "namespace"), get(alarm.props, "metricName"),
                          get(alarm.props, "dimensions", default={}), alarm.sources("dimensions"))]


def _compatible(dimensions: Any, identity: Mapping[str, Any], kind: MonitoredKind) -> bool:
    if is_unknown(dimensions):
        return True
    for key in (*kind.key_dimensions, *kind.optional_dimensions):
        if key not in dimensions:
            continue
        value, expected = dimensions[key], identity.get(key)
        if is_unknown(value) or is_unknown(expected) or expected is None:
            continue
        if value != expected:
            return False
    return True


class AlarmIndex:
    """Every alarm's watched metrics, indexed once for constant-time lookups per resource."""

    def __init__(self, resources: list[ResourceView]) -> None:
        self.by_value: dict[tuple[str, str, str, tuple[Any, ...]], list[Any]] = defaultdict(list)
        self.by_source: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
        self.any_metric_sources: set[str] = set()
        self.custom_metrics: set[tuple[str, str]] = set()
        kinds_by_namespace: dict[str, list[MonitoredKind]] = defaultdict(list)
        for kind in MONITORED_KINDS.values():
            kinds_by_namespace[kind.namespace].append(kind)
        for resource in resources:
            if resource.type != METRIC_ALARM:
                continue
            for metric in watched_metrics(resource):
                self._add(metric, kinds_by_namespace)

    def _add(self, metric: WatchedMetric, kinds_by_namespace: Mapping[str, list[MonitoredKind]]) -> None:
        namespace, name, dimensions = metric.namespace, metric.metric_name, metric.dimensions
        if is_unknown(namespace) or is_unknown(name) or namespace is None or name is None:
            # Which metric is not known at preview: it covers whatever its inputs came from.
            self.any_metric_sources.update(metric.sources)
            return
        kinds = kinds_by_namespace.get(namespace)
        if not kinds:
            self.custom_metrics.add((namespace, name))
            return
        for kind in kinds:
            if is_unknown(dimensions):
                for source in metric.sources:
                    self.by_source[(namespace, name, source)].append(dimensions)
                continue
            if not all(key in dimensions for key in kind.key_dimensions):
                continue
            values = tuple(dimensions[key] for key in kind.key_dimensions)
            if any(is_unknown(v) for v in values):
                for source in metric.sources:
                    self.by_source[(namespace, name, source)].append(dimensions)
            else:
                self.by_value[(namespace, name, kind.type, values)].append(dimensions)

    def covers(self, resource: ResourceView, kind: MonitoredKind, metric_name: str) -> bool:
        identity = kind.identity(resource)
        sources = kind.sources(resource)
        if self.any_metric_sources.intersection(sources):
            return True
        keys = tuple(identity.get(key) for key in kind.key_dimensions)
        candidates: list[Any] = []
        if not any(is_unknown(v) or v is None for v in keys):
            candidates.extend(self.by_value.get((kind.namespace, metric_name, kind.type, keys), ()))
        for source in sources:
            candidates.extend(self.by_source.get((kind.namespace, metric_name, source), ()))
        return any(_compatible(dimensions, identity, kind) for dimensions in candidates)


class LogGroups:
    """Log groups of the stack by name and URN, and a canonical key for either."""

    def __init__(self, resources: list[ResourceView]) -> None:
        self.urns: set[str] = set()
        self.by_name: dict[str, str] = {}
        for resource in resources:
            if resource.type == LOG_GROUP:
                self.urns.add(resource.urn)
                name = get(resource.props, "name")
                if isinstance(name, str):
                    self.by_name[name] = resource.urn

    def keys(self, resource: ResourceView, value: Any, *props: str) -> set[str]:
        """Canonical keys of the log group a property names: its URN when it is ours, else its name."""
        if is_unknown(value):
            return {urn for urn in resource.sources(*props) if urn in self.urns}
        if isinstance(value, str) and value:
            return {self.by_name.get(value, f"name:{value}")}
        return set()


def _function_log_group_keys(function: ResourceView, groups: LogGroups) -> set[str]:
    keys = groups.keys(function, get(function.props, "loggingConfig", "logGroup"), "loggingConfig")
    name = get(function.props, "name", default=function.name)
    if isinstance(name, str):
        keys |= groups.keys(function, f"/aws/lambda/{name}")
    return keys


def _log_derived_alarms(resources: list[ResourceView], index: AlarmIndex, groups: LogGroups) -> set[tuple[str, str]]:
    """(log group key, metric name) for every custom metric an alarm watches, via its metric filters."""
    covered: set[tuple[str, str]] = set()
    for resource in resources:
        if resource.type != LOG_METRIC_FILTER:
            continue
        transformations = as_list(get(resource.props, "metricTransformation"))
        group_keys = groups.keys(resource, get(resource.props, "logGroupName"), "logGroupName")
        for transformation in transformations:
            namespace, name = get(transformation, "namespace"), get(transformation, "name")
            if isinstance(namespace, str) and isinstance(name, str) and (namespace, name) in index.custom_metrics:
                covered.update((key, name) for key in group_keys)
    return covered


ALARM_COVERAGE = PolicySpec(
    name="alarm-coverage",
    description=(
        "Requires every Lambda function, HTTP API stage and DynamoDB table to have an alarm on each "
        "metric the stack's config requires for its type, and every function an alarm on each required "
        "log-derived metric (a metric filter on its log group)."
    ),
    severity=Severity.HIGH,
    remediation_steps=(
        "Add the missing CloudWatch metric alarm for the resource (through the monitoring component, which "
        "takes the resource in its args): namespace and metric as named in the violation, with the "
        "resource's dimensions (FunctionName; ApiId and Stage; TableName). Log-derived metrics need a "
        "LogMetricFilter on the function's log group and an alarm on the filter's metric."
    ),
    config_properties={
        "requiredMetrics": {
            "type": "object",
            "description": "Per resource type, the metric names (in the type's AWS namespace) that need an alarm.",
            "properties": {
                token: {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
                for token in MONITORED_KINDS
            },
            "additionalProperties": False,
            "default": {
                LAMBDA_FUNCTION: ["Errors", "Throttles", "Duration"],
                HTTP_STAGE: ["5xx", "Latency"],
                DYNAMODB_TABLE: ["ReadThrottleEvents", "WriteThrottleEvents", "SystemErrors"],
            },
        },
        "functionLogMetrics": string_list(
            "Metric names each Lambda function needs an alarm on through a metric filter on its log group.",
            [],
        ),
    },
)


def check_alarm_coverage(resources: list[ResourceView], config: Config) -> Iterator[tuple[str | None, str]]:
    index = AlarmIndex(resources)
    groups = LogGroups(resources)
    log_metrics = list(config.get("functionLogMetrics") or [])
    log_covered = _log_derived_alarms(resources, index, groups) if log_metrics else set()
    required: Mapping[str, list[str]] = config.get("requiredMetrics") or {}
    for resource in resources:
        kind = MONITORED_KINDS.get(resource.type)
        if kind is None:
            continue
        identity = kind.identity(resource)
        shown = ", ".join(f"{k}={'<unknown>' if is_unknown(v) else v}" for k, v in identity.items())
        for metric_name in required.get(resource.type, ()):
            if not index.covers(resource, kind, metric_name):
                yield resource.urn, (
                    f"{kind.label} '{resource.name}' has no alarm on {kind.namespace} {metric_name} ({shown})."
                )
        if resource.type == LAMBDA_FUNCTION and log_metrics:
            keys = _function_log_group_keys(resource, groups)
            for metric_name in log_metrics:
                if not any((key, metric_name) in log_covered for key in keys):
                    yield resource.urn, (
                        f"Lambda function '{resource.name}' has no alarm on the log-derived metric {metric_name} "
                        "(a metric filter on its log group and an alarm on that metric)."
                    )


class AlertTopics:
    """SNS topics of the stack and how a notification property resolves to them.

    A program often takes a topic's ARN from its TopicPolicy (`policy.arn`), so that alarms are only
    created once CloudWatch may publish; at preview the alarm then depends on the policy, not on the
    topic. A TopicPolicy therefore stands for the topic its `arn` names.
    """

    def __init__(self, resources: list[ResourceView], external: list[str]) -> None:
        self.urns: set[str] = set()
        self.by_arn: dict[str, str] = {}
        self.external = set(external)
        self.stands_for: dict[str, set[str]] = {}
        policies: list[ResourceView] = []
        for resource in resources:
            if resource.type == TOPIC:
                self.urns.add(resource.urn)
                arn = get(resource.props, "arn")
                if isinstance(arn, str):
                    self.by_arn[arn] = resource.urn
            elif resource.type == TOPIC_POLICY:
                policies.append(resource)
        for urn in self.urns:
            self.stands_for[urn] = {urn}
        for policy in policies:
            arn = get(policy.props, "arn")
            if isinstance(arn, str) and arn in self.by_arn:
                self.stands_for[policy.urn] = {self.by_arn[arn]}
            elif is_unknown(arn):
                self.stands_for[policy.urn] = {urn for urn in policy.sources("arn") if urn in self.urns}

    def from_sources(self, resource: ResourceView, prop: str) -> set[str]:
        """Topics an unknown value of `prop` is computed from (directly or through a topic policy)."""
        found: set[str] = set()
        for urn in resource.sources(prop):
            found |= self.stands_for.get(urn, set())
        return found

    def resolve(self, resource: ResourceView, value: Any, prop: str) -> tuple[set[str], list[str]]:
        """Topic URNs a list of ARNs (or one ARN) resolves to, and the ARNs that are not our topics."""
        topics: set[str] = set()
        foreign: list[str] = []
        for item in ([value] if is_unknown(value) else as_list(value)):
            if is_unknown(item):
                topics |= self.from_sources(resource, prop)
            elif isinstance(item, str) and item in self.by_arn:
                topics.add(self.by_arn[item])
            elif isinstance(item, str) and item in self.external:
                topics.add(item)
            elif item is not None:
                foreign.append(str(item))
        return topics, foreign


_RULE_STATE_CALL = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*([^\s\"')][^)\s]*)\s*\)")
_QUOTED = re.compile(r"\"([^\"]+)\"|'([^']+)'")


def rule_alarm_references(rule: str) -> list[str]:
    """Alarm names or ARNs a composite alarm rule refers to (`ALARM("a") OR OK(b)`, AT_LEAST lists)."""
    references = [double or single for double, single in _QUOTED.findall(rule)]
    references += _RULE_STATE_CALL.findall(rule)
    return references


def _alarm_name(resource: ResourceView) -> Any:
    return get(resource.props, "alarmName" if resource.type == COMPOSITE_ALARM else "name")


ALARM_ROUTING = PolicySpec(
    name="alarm-routing",
    description=(
        "Requires every metric alarm and composite alarm to send its ALARM state to an SNS topic of this "
        "stack, unless it is a child of a composite alarm that does."
    ),
    severity=Severity.HIGH,
    remediation_steps=(
        "Give the alarm alarm_actions=[<severity topic>.arn] (an aws.sns.Topic of this stack) and keep "
        "actions_enabled true; or make it a child of a composite alarm whose actions are routed. Topics "
        "owned by another stack must be listed in allowedExternalTopicArns."
    ),
    config_properties={
        "allowedExternalTopicArns": string_list("SNS topic ARNs outside this stack that alarms may notify.", []),
        "requireOkActions": {"type": "boolean", "default": False,
                             "description": "Routed alarms must also notify a topic when they recover (okActions)."},
    },
)


def check_alarm_routing(resources: list[ResourceView], config: Config) -> Iterator[tuple[str | None, str]]:
    topics = AlertTopics(resources, list(config.get("allowedExternalTopicArns") or []))
    alarms = [r for r in resources if r.type in ALARM_TYPES]
    alarm_urns = {alarm.urn for alarm in alarms}
    by_reference: dict[str, str] = {}
    for alarm in alarms:
        name = _alarm_name(alarm)
        if isinstance(name, str):
            by_reference[name] = alarm.urn
        arn = get(alarm.props, "arn")
        if isinstance(arn, str):
            by_reference[arn] = alarm.urn

    routed: set[str] = set()
    problems: dict[str, str] = {}
    for alarm in alarms:
        enabled = get(alarm.props, "actionsEnabled", default=True)
        targets, foreign = topics.resolve(alarm, get(alarm.props, "alarmActions"), "alarmActions")
        if enabled is False:
            problems[alarm.urn] = "has actionsEnabled=false"
        elif not targets:
            problems[alarm.urn] = (
                f"notifies {', '.join(foreign)}, none of which is an SNS topic of this stack"
                if foreign else "has no alarm actions"
            )
        else:
            routed.add(alarm.urn)
            if config.get("requireOkActions"):
                ok_targets, _ = topics.resolve(alarm, get(alarm.props, "okActions"), "okActions")
                if not ok_targets:
                    problems[alarm.urn] = "has no okActions to an SNS topic of this stack"
                    routed.discard(alarm.urn)

    # Children of routed composites are covered, transitively (a composite may nest composites).
    children: dict[str, list[str]] = {}
    for alarm in alarms:
        if alarm.type != COMPOSITE_ALARM:
            continue
        rule = get(alarm.props, "alarmRule")
        if is_unknown(rule):
            children[alarm.urn] = [urn for urn in alarm.sources("alarmRule") if urn in alarm_urns]
        elif isinstance(rule, str):
            children[alarm.urn] = [
                by_reference[ref] for ref in rule_alarm_references(rule) if ref in by_reference
            ]
    covered: set[str] = set()
    queue = deque(urn for urn in routed if urn in children)
    while queue:
        for child in children.get(queue.popleft(), ()):
            if child not in covered:
                covered.add(child)
                queue.append(child)

    for alarm in alarms:
        if alarm.urn in problems and alarm.urn not in covered:
            kind = "composite alarm" if alarm.type == COMPOSITE_ALARM else "alarm"
            yield alarm.urn, f"{kind} '{alarm.name}' {problems[alarm.urn]} and no routed composite alarm covers it."


RUNBOOK_LINK = PolicySpec(
    name="alarm-runbook-link",
    description="Requires every metric alarm and composite alarm description to end with a runbook link.",
    severity=Severity.MEDIUM,
    remediation_steps=(
        "Build the alarm description with the monitoring component's description helper, which appends the "
        "runbook URL of the alarm kind (docs/runbooks/<kind>.md); add the runbook if it does not exist."
    ),
    config_properties={
        "runbookUrlPattern": {"type": "string", "default": r"https://\S+/runbooks/\S+",
                              "description": "Regular expression a runbook link must match."},
        "requireAtEnd": {"type": "boolean", "default": True,
                         "description": "The link must be the last thing in the description."},
    },
)


def check_runbook_link(resource: ResourceView, config: Config) -> Iterator[str]:
    description = get(resource.props, "alarmDescription")
    if is_unknown(description):
        return
    pattern = str(config["runbookUrlPattern"])
    if config["requireAtEnd"]:
        pattern = f"(?:{pattern})\\s*$"
    if not isinstance(description, str) or not re.search(pattern, description):
        where = "end with" if config["requireAtEnd"] else "contain"
        yield (
            f"alarm '{resource.name}' description does not {where} a runbook link "
            f"(matching {config['runbookUrlPattern']})."
        )


TOPIC_SUBSCRIPTIONS = PolicySpec(
    name="alert-topic-subscription",
    description=(
        "Requires every SNS topic that alarms, budgets or cost anomaly alerts notify to have a subscription "
        "(a chat channel configuration subscribed to the topic counts: Chatbot subscribes itself)."
    ),
    severity=Severity.HIGH,
    remediation_steps=(
        "Subscribe the on-call channel to the topic (aws.sns.TopicSubscription with topic=<topic>.arn, e.g. "
        "an email or an HTTPS endpoint from the stack config, or a Slack/Teams channel configuration's "
        "snsTopicArns), so a notification reaches someone."
    ),
    config_properties={
        "minSubscriptions": {"type": "number", "minimum": 1, "default": 1,
                             "description": "Subscriptions every alert topic needs."},
    },
)


def _notified_topics(resource: ResourceView, topics: AlertTopics) -> set[str]:
    found: set[str] = set()
    if resource.type in ALARM_TYPES:
        for key in ACTION_KEYS:
            found |= topics.resolve(resource, get(resource.props, key), key)[0]
    elif resource.type == BUDGET:
        notifications = get(resource.props, "notifications", default=[])
        if is_unknown(notifications):
            return topics.from_sources(resource, "notifications")
        for notification in notifications:
            found |= topics.resolve(resource, get(notification, "subscriberSnsTopicArns"), "notifications")[0]
    elif resource.type == ANOMALY_SUBSCRIPTION:
        subscribers = get(resource.props, "subscribers", default=[])
        if is_unknown(subscribers):
            return topics.from_sources(resource, "subscribers")
        for subscriber in subscribers:
            if get(subscriber, "type") == "SNS":
                found |= topics.resolve(resource, get(subscriber, "address"), "subscribers")[0]
    return found


def check_topic_subscriptions(resources: list[ResourceView], config: Config) -> Iterator[tuple[str | None, str]]:
    topics = AlertTopics(resources, [])
    alert_topics: set[str] = set()
    subscriptions: dict[str, int] = defaultdict(int)
    for resource in resources:
        if resource.type in (*ALARM_TYPES, BUDGET, ANOMALY_SUBSCRIPTION):
            alert_topics |= _notified_topics(resource, topics)
        elif resource.type == TOPIC_SUBSCRIPTION:
            for topic in topics.resolve(resource, get(resource.props, "topic"), "topic")[0]:
                subscriptions[topic] += 1
        elif resource.type in CHAT_CONFIGURATIONS:
            for topic in topics.resolve(resource, get(resource.props, "snsTopicArns"), "snsTopicArns")[0]:
                subscriptions[topic] += 1
    minimum = int(config["minSubscriptions"])
    for resource in resources:
        if resource.urn in alert_topics and subscriptions[resource.urn] < minimum:
            yield resource.urn, (
                f"alert topic '{resource.name}' has {subscriptions[resource.urn]} subscription(s); "
                f"at least {minimum} needed so notifications reach someone."
            )


def policies() -> list[Policy]:
    return [
        stack_policy(ALARM_COVERAGE, check_alarm_coverage),
        stack_policy(ALARM_ROUTING, check_alarm_routing),
        resource_policy(RUNBOOK_LINK, of_types(*ALARM_TYPES), check_runbook_link),
        stack_policy(TOPIC_SUBSCRIPTIONS, check_topic_subscriptions),
    ]
