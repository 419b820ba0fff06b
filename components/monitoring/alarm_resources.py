"""Alarm specs as CloudWatch resources: the one place a spec becomes a MetricAlarm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.monitoring.catalog import AlarmSpec
from components.monitoring.metrics import STANDARD_STATISTICS


def alarm_tags(severity: str, kind: str) -> dict[str, str]:
    # Provider default tags are merged in by the provider; these say what the alarm is.
    return {"Severity": severity, "AlarmKind": kind}


def metric_alarm_args(spec: AlarmSpec) -> dict[str, Any]:
    """MetricAlarm arguments of a spec, actions and tags aside."""
    args: dict[str, Any] = {
        "name": spec.name,
        "alarm_description": spec.description,
        "comparison_operator": spec.comparison,
        "evaluation_periods": spec.evaluation_periods,
        "datapoints_to_alarm": spec.datapoints_to_alarm,
        "treat_missing_data": spec.treat_missing_data,
    }
    if spec.threshold_metric_id:
        # An anomaly-detection alarm compares with its band; CloudWatch refuses a Threshold with it.
        args["threshold_metric_id"] = spec.threshold_metric_id
    else:
        args["threshold"] = spec.threshold
    if spec.metric is not None:
        metric = spec.metric
        args.update(namespace=metric.namespace, metric_name=metric.metric_name, period=metric.period)
        if metric.dimensions:
            args["dimensions"] = dict(metric.dimensions)
        if metric.stat in STANDARD_STATISTICS:
            args["statistic"] = metric.stat
        else:
            args["extended_statistic"] = metric.stat
        return args
    args["metric_queries"] = [
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=query.id,
            label=query.label,
            return_data=query.return_data,
            expression=query.expression,
            metric=(
                aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=query.metric.namespace,
                    metric_name=query.metric.metric_name,
                    dimensions=dict(query.metric.dimensions) or None,
                    stat=query.metric.stat,
                    period=query.metric.period,
                )
                if query.metric is not None
                else None
            ),
        )
        for query in spec.queries
    ]
    return args


def metric_alarm_resource(
    resource_name: str, spec: AlarmSpec, actions: Sequence[pulumi.Input[str]], opts: pulumi.ResourceOptions
) -> aws.cloudwatch.MetricAlarm:
    """The MetricAlarm of a spec, notifying `actions` on ALARM and OK, tagged with severity and kind."""
    return aws.cloudwatch.MetricAlarm(
        resource_name,
        **metric_alarm_args(spec),
        actions_enabled=True,
        alarm_actions=list(actions),
        ok_actions=list(actions),
        tags=alarm_tags(spec.severity, spec.kind),
        opts=opts,
    )
