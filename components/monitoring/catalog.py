"""The alarm machinery: kinds, naming, thresholds and specs. Pure data, no Pulumi.

Every alarm the operations layer creates is first an `AlarmSpec` (a metric alarm) or a `CompositeSpec`,
built by the module of the watched kind (components/monitoring/kinds/) from that kind's metric
definitions and the thresholds in force. `ServiceMonitoring` only turns specs into resources, so
everything an on-call engineer would ask of an alarm (what it watches, when it fires, where it routes,
which runbook it links, which graph shows it) is decided, and tested, without Pulumi.

Conventions, after cdk-monitoring-constructs:
- one naming function, `alarm_name`: `<prefix>-[<resource>-]<kind>[-<qualifier>]-<severity>`;
- thresholds keyed by alarm kind and severity (`critical` pages, `warning` notifies), defaults from
  production-readiness practice, overridable per stack and per watched resource
  (`prodready:monitoring.thresholds`, keys `<kind>` or `<resource key>/<kind>`);
- every description says what is wrong and ends with ` Runbook: <base>/<kind>.md`;
- every alarm names the dashboard panel that graphs its value, where its threshold is drawn.

Routing: critical alarms carry no action of their own and are members of the service's critical
roll-up composite, which pages once (and is silenced by the maintenance-window alarm); warning alarms
notify the warning topic directly. The two window alarms of an SLO burn-rate pair carry no action;
their composite routes (a critical pair through the roll-up, the warning pair to the warning topic).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.monitoring import slo as slo_math
from components.monitoring.metrics import MetricStat, Query

SEVERITIES: tuple[str, ...] = ("critical", "warning")

GT = "GreaterThanThreshold"
GTE = "GreaterThanOrEqualToThreshold"
LT = "LessThanThreshold"
LTE = "LessThanOrEqualToThreshold"
# Anomaly-detection band alarms compare with a band, not a number.
ABOVE_BAND = "GreaterThanUpperThreshold"
OUTSIDE_BAND = "LessThanLowerOrGreaterThanUpperThreshold"
BAND_COMPARISONS = frozenset({ABOVE_BAND, OUTSIDE_BAND, "LessThanLowerThreshold"})

# CloudWatch limits an alarm set can reach (PutMetricAlarm, PutCompositeAlarm, alarm quotas).
MAX_ALARM_METRICS = 10  # metrics a metric-math alarm may reference (hard limit)
MAX_ALARM_RULE_LENGTH = 10240
MAX_ALARM_NAME_LENGTH = 255
MAX_ALARM_DESCRIPTION_LENGTH = 1024
# Every description ends with its runbook's URL: a base this long leaves the longest description within
# MAX_ALARM_DESCRIPTION_LENGTH (tests/stack/test_cloudwatch_limits.py plans the largest stack to show it).
MAX_RUNBOOK_BASE_URL_LENGTH = 200

_KIND_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class AlarmKind:
    """One kind of alarm: what it watches and its production-readiness defaults."""

    kind: str
    """Stable id: runbook file name, `AlarmKind` tag, part of the alarm name."""
    title: str
    """Short human title (runbook heading, dashboard)."""
    scope: str
    """What it is raised for: function, api, table, canary, topic, certificate, edge, service, slo or account."""
    unit: str
    """Unit of the threshold: `%`, `ms`, `count`, `requests`, `days`, `x` (burn rate) or `stddev` (band
    width)."""
    comparison: str
    """CloudWatch comparison operator between the alarm's value and its threshold."""
    condition: str
    """What is wrong, with `{threshold}`, `{window}`, `{period_text}`, `{datapoints}`, `{evaluations}`,
    `{detail}`."""
    defaults: Mapping[str, float] = field(default_factory=dict)
    """Default threshold per severity; a severity absent here gets no alarm unless config adds one."""
    period: int = 300
    """Seconds per evaluated datapoint."""
    evaluation_periods: int = 1
    """Datapoints looked at (the N of M-out-of-N)."""
    datapoints_to_alarm: int = 1
    """Breaching datapoints needed (the M)."""
    treat_missing_data: str = "notBreaching"
    """What a period without data counts as."""
    overridable: bool = True
    """Whether `prodready:monitoring.thresholds` may set its thresholds."""

    def __post_init__(self) -> None:
        if not _KIND_NAME.match(self.kind):
            raise ValueError(f"alarm kind {self.kind!r} must be kebab-case")

    @property
    def percent(self) -> bool:
        return self.unit == "%"


def kinds_by_name(*kinds: AlarmKind) -> dict[str, AlarmKind]:
    names = [k.kind for k in kinds]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"alarm kinds defined twice: {duplicates}")
    return {k.kind: k for k in kinds}


def window_text(seconds: int) -> str:
    """`300` -> `5 min`, `3600` -> `1 h`, `259200` -> `3 d`."""
    if seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def alarm_name(prefix: str, resource: str, kind: str, severity: str, qualifier: str = "") -> str:
    """The one naming function: `<prefix>-[<resource>-]<kind>[-<qualifier>]-<severity>`."""
    if not _KIND_NAME.match(kind):
        raise ValueError(f"alarm kind {kind!r} must be kebab-case")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    parts = [prefix, resource, kind, qualifier, severity]
    return "-".join(p for p in parts if p)


def runbook_url(base_url: str, kind: str) -> str:
    """Runbook link of an alarm kind: `<base>/<kind>.md`."""
    return f"{base_url.rstrip('/')}/{kind}.md"


ROLLUP_KIND = "service-critical-rollup"


def rollup_name(prefix: str) -> str:
    """Name of the service's critical roll-up composite."""
    return alarm_name(prefix, "", ROLLUP_KIND, "critical")


def describe(
    subject: str, condition: str, severity: str, runbook: str, extra: str = "", routing: str = ""
) -> str:
    """An alarm description: subject, what is wrong, severity and routing, then the runbook link last."""
    how = routing or ("pages on-call through the critical roll-up" if severity == "critical"
                      else "notifies the warning topic")
    text = f"{subject}: {condition}. Severity {severity}: {how}."
    if extra:
        text += f" {extra}"
    return f"{text} Runbook: {runbook}"


# ---------------------------------------------------------------------------------------------
# Thresholds


def split_threshold_key(key: str) -> tuple[str, str]:
    """`lambda-duration-p99` -> ("", kind); `hook/lambda-duration-p99` -> ("hook", kind)."""
    resource, _, kind = key.rpartition("/")
    return resource, kind


def threshold_problems(
    overrides: Mapping[str, Any],
    kinds: Mapping[str, AlarmKind],
    watched: Mapping[str, str] | None = None,
) -> list[str]:
    """What is wrong with a `thresholds` override map (empty when nothing is).

    Keys are an alarm kind, or `<resource key>/<kind>` for one watched resource; `watched` maps the
    program's resource keys to their scope (function, api, table, canary, topic). Without it,
    resource keys are not checked.
    """
    problems: list[str] = []
    overridable = [name for name, info in kinds.items() if info.overridable]
    for key, per_severity in overrides.items():
        resource, kind = split_threshold_key(key)
        info = kinds.get(kind)
        if info is None or not info.overridable:
            problems.append(f"{key}: unknown alarm kind {kind!r}; thresholds apply to {', '.join(overridable)}")
            continue
        if resource and watched is not None:
            scope = watched.get(resource)
            if scope is None:
                problems.append(f"{key}: no watched resource {resource!r}; resources are {', '.join(sorted(watched))}")
                continue
            if scope != info.scope:
                problems.append(f"{key}: {kind} applies to {info.scope} resources, {resource!r} is a {scope}")
                continue
        if not isinstance(per_severity, Mapping):
            problems.append(f"{key}: expected a map of severity to threshold, got {per_severity!r}")
            continue
        for severity, value in per_severity.items():
            if severity not in SEVERITIES:
                problems.append(f"{key}.{severity}: unknown severity; use one of {list(SEVERITIES)}")
            elif value is None:
                continue
            elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                problems.append(f"{key}.{severity}: threshold must be a number or null, got {value!r}")
            elif value < 0 or (info.percent and value > 100):
                limit = "between 0 and 100 (percent)" if info.percent else "at least 0"
                problems.append(f"{key}.{severity}: threshold must be {limit}, got {value!r}")
    return problems


@dataclass(frozen=True)
class Thresholds:
    """Thresholds in force: each kind's defaults, then per-kind overrides, then per-resource ones."""

    kinds: Mapping[str, AlarmKind]
    """The catalog of alarm kinds."""
    overrides: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    """`prodready:monitoring.thresholds` (validated with `threshold_problems`)."""

    def __post_init__(self) -> None:
        problems = threshold_problems(self.overrides, self.kinds)
        if problems:
            raise ValueError("; ".join(problems))

    def for_resource(self, kind: str, resource: str = "") -> dict[str, float]:
        """Severity to threshold for `kind` on the resource with key `resource` (null removes a severity)."""
        info = self.kinds[kind]
        merged: dict[str, float | None] = dict(info.defaults)
        if info.overridable:
            merged.update(self.overrides.get(kind, {}))
            if resource:
                merged.update(self.overrides.get(f"{resource}/{kind}", {}))
        return {s: float(v) for s in SEVERITIES if (v := merged.get(s)) is not None}


# ---------------------------------------------------------------------------------------------
# Specs


@dataclass(frozen=True)
class AlarmSpec:
    """A metric alarm, fully decided."""

    name: str
    """Alarm name (from `alarm_name`)."""
    kind: str
    """Alarm kind (catalog key)."""
    severity: str
    """critical or warning."""
    resource: str
    """Key of the watched resource (`api`, `http`, `table`...); empty for service-level alarms."""
    description: str
    """What is wrong, ending with the runbook link."""
    comparison: str
    """Comparison operator."""
    threshold: float
    """Threshold, in the unit of the alarm's value (for a band alarm: the band's width in std devs)."""
    evaluation_periods: int
    """N of M-out-of-N."""
    datapoints_to_alarm: int
    """M of M-out-of-N."""
    treat_missing_data: str
    """missing, ignore, breaching or notBreaching."""
    metric: MetricStat | None = None
    """A single-metric alarm's metric."""
    queries: tuple[Query, ...] = ()
    """A metric-math alarm's queries."""
    routed: bool = True
    """True: alarm and OK actions go to the severity's topic. False: a composite routes it."""
    pair: str = ""
    """Name of the burn-rate composite this alarm is one window of, if any."""
    panel: str = ""
    """Dashboard panel (within the resource's band) that graphs this alarm's value and draws its threshold;
    empty only for alarms with nothing to graph (the maintenance switch)."""
    threshold_metric_id: str = ""
    """For an anomaly-detection alarm: the id of the ANOMALY_DETECTION_BAND query it compares with."""

    def __post_init__(self) -> None:
        if (self.metric is None) == (not self.queries):
            raise ValueError(f"{self.name}: give either a metric or metric queries")
        if self.queries:
            returned = [q for q in self.queries if q.return_data]
            if self.threshold_metric_id:
                # An anomaly alarm returns the metric it judges and the band it compares it with.
                if len(returned) != 2 or self.threshold_metric_id not in {q.id for q in returned}:
                    raise ValueError(f"{self.name}: an anomaly alarm returns exactly its metric and its band")
            elif len(returned) != 1:
                raise ValueError(f"{self.name}: exactly one metric query must return data")
        if (self.comparison in BAND_COMPARISONS) != bool(self.threshold_metric_id):
            raise ValueError(f"{self.name}: band comparisons and threshold_metric_id go together")
        slo_math.check_alarm_window(self.period, self.evaluation_periods)
        if not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise ValueError(f"{self.name}: datapoints_to_alarm must be within 1..evaluation_periods")

    @property
    def period(self) -> int:
        if self.metric is not None:
            return self.metric.period
        return max(q.metric.period for q in self.queries if q.metric is not None)

    @property
    def metrics(self) -> tuple[MetricStat, ...]:
        """Every metric the alarm reads (CloudWatch bills an alarm per metric)."""
        if self.metric is not None:
            return (self.metric,)
        return tuple(q.metric for q in self.queries if q.metric is not None)


@dataclass(frozen=True)
class CompositeSpec:
    """A composite alarm over other alarms."""

    name: str
    """Alarm name (from `alarm_name`)."""
    kind: str
    """Alarm kind."""
    severity: str
    """critical or warning."""
    resource: str
    """Resource key, or empty."""
    description: str
    """What is wrong, ending with the runbook link."""
    members: tuple[str, ...]
    """Names of the alarms the rule combines."""
    operator: str
    """AND or OR."""
    routed: bool = True
    """True: alarm and OK actions go to the severity's topic. False: the roll-up routes it."""
    suppressor: str | None = None
    """Name of the alarm that silences this one's actions while in ALARM (maintenance window)."""

    def __post_init__(self) -> None:
        if self.operator not in ("AND", "OR") or not self.members:
            raise ValueError(f"{self.name}: needs members and an AND/OR operator")

    def rule(self, names: Sequence[str] | None = None) -> str:
        """The alarm rule, e.g. `ALARM("a") AND ALARM("b")` (names may be given resolved)."""
        return alarm_rule(names if names is not None else self.members, self.operator)


def alarm_rule(names: Iterable[str], operator: str) -> str:
    return f" {operator} ".join(f'ALARM("{name}")' for name in names)


@dataclass(frozen=True)
class AlarmContext:
    """What every alarm builder needs besides the watched resource."""

    prefix: str
    """Physical-name prefix of the stack, `<service>-<stack>`."""
    runbook_base_url: str
    """Base URL of docs/runbooks."""
    thresholds: Thresholds
    """Thresholds in force."""
    min_requests: int = 10
    """Samples a period needs before a rate or percentile alarm judges it."""
    expect_traffic: bool = True
    """The API always has traffic (no-traffic alarm, anomaly bands make sense)."""
    anomaly_detection: bool = False
    """Anomaly-detection band alarms on traffic and latency."""
    rolled_up: bool = True
    """Critical alarms page through the set's roll-up and route nothing themselves; False for a set without
    one (the edge's, in us-east-1), whose critical alarms notify their topic directly."""

    def runbook(self, kind: str) -> str:
        return runbook_url(self.runbook_base_url, kind)

    def each_severity(self, kind: str, resource: str = "") -> list[tuple[str, float]]:
        return list(self.thresholds.for_resource(kind, resource).items())


def metric_alarm(
    ctx: AlarmContext,
    info: AlarmKind,
    *,
    severity: str,
    resource: str,
    subject: str,
    threshold: float,
    panel: str,
    shown_threshold: float | None = None,
    metric: MetricStat | None = None,
    queries: tuple[Query, ...] = (),
    qualifier: str = "",
    detail: str = "",
    extra: str = "",
    threshold_metric_id: str = "",
) -> AlarmSpec:
    """The spec of one alarm of a kind, with its name, description and routing from the conventions.

    `qualifier` becomes part of the name (one alarm per operation, say); `detail` fills the condition's
    `{detail}` placeholder (what exactly is watched).
    """
    period = metric.period if metric else max(q.metric.period for q in queries if q.metric)
    condition = info.condition.format(
        threshold=threshold if shown_threshold is None else shown_threshold,
        window=window_text(period * info.evaluation_periods),
        period_text=window_text(period),
        datapoints=info.datapoints_to_alarm,
        evaluations=info.evaluation_periods,
        detail=detail,
    )
    return AlarmSpec(
        name=alarm_name(ctx.prefix, resource, info.kind, severity, qualifier),
        kind=info.kind,
        severity=severity,
        resource=resource,
        description=describe(subject, condition, severity, ctx.runbook(info.kind), extra),
        comparison=info.comparison,
        threshold=threshold,
        evaluation_periods=info.evaluation_periods,
        datapoints_to_alarm=info.datapoints_to_alarm,
        treat_missing_data=info.treat_missing_data,
        metric=metric,
        queries=queries,
        routed=severity != "critical" or not ctx.rolled_up,
        panel=panel,
        threshold_metric_id=threshold_metric_id,
    )


def severity_counts(alarms: Iterable[AlarmSpec], composites: Iterable[CompositeSpec] = ()) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITIES, 0)
    every: list[AlarmSpec | CompositeSpec] = [*alarms, *composites]
    for alarm in every:
        counts[alarm.severity] += 1
    return counts


@dataclass(frozen=True)
class AlarmSet:
    """Every alarm of a service, metric alarms first, composites in creation order."""

    alarms: tuple[AlarmSpec, ...]
    """Metric alarms."""
    composites: tuple[CompositeSpec, ...]
    """Composite alarms; members always come before the composites that use them."""

    def __post_init__(self) -> None:
        names = [a.name for a in self.alarms] + [c.name for c in self.composites]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate alarm names {duplicates}")
        known: set[str] = {a.name for a in self.alarms}
        for composite in self.composites:
            missing = set(composite.members) - known
            if missing:
                raise ValueError(f"{composite.name}: members {sorted(missing)} are not defined before it")
            known.add(composite.name)

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.alarms] + [c.name for c in self.composites]

    def severity_counts(self) -> dict[str, int]:
        return severity_counts(self.alarms, self.composites)
