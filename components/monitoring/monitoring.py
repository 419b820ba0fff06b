"""ServiceMonitoring: the operations layer of one service.

Handed what to watch through its args (function, API stage and table names, the metrics namespace,
the API URL) and the stack's monitoring config, it builds:

- alert routing: a KMS-encrypted SNS topic per severity with its subscribers (`AlertRouting`);
- log metric filters on each function's log group (cold-start init duration, memory, ERROR lines)
  and the saved Logs Insights queries;
- every alarm of `components.monitoring.catalog.alarm_set` (per function, API stage and table, the SLO burn-rate
  pairs, the maintenance-window switch and the critical roll-up that pages once);
- the dashboard (`components.monitoring.dashboard`), an X-Ray sampling rule and faults group, and, when
  enabled, the synthetic health check (`HealthCanary`) with its alarm.

It reads nothing from other components and no config of its own: everything comes in `args`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alerting.alert_routing import AlertRouting, AlertRoutingArgs
from components.config import MonitoringConfig
from components.monitoring import catalog, logs_insights, tracing
from components.monitoring import dashboard as dash
from components.monitoring.canary import HealthCanary, HealthCanaryArgs


@dataclass(frozen=True)
class MonitoredFunction:
    key: str
    """Short stable key used in alarm and resource names (`api`)."""
    function_name: pulumi.Input[str]
    """Function name."""
    log_group_name: pulumi.Input[str]
    """The function's log group (JSON application and platform records)."""
    timeout_seconds: int
    """Configured timeout (the duration alarm is a share of it)."""
    memory_mb: int
    """Configured memory (the memory alarm is a share of it)."""
    reserved_concurrency: int | None = None
    """Reserved concurrency; the concurrency alarm needs one."""


@dataclass(frozen=True)
class MonitoredApi:
    key: str
    """Short stable key used in alarm and resource names (`http`)."""
    api_id: pulumi.Input[str]
    """HTTP API id."""
    stage_name: pulumi.Input[str]
    """Stage name."""
    url: pulumi.Input[str]
    """Invoke URL of the stage (the canary's target)."""
    access_log_group_name: pulumi.Input[str]
    """The stage's access-log group."""


@dataclass(frozen=True)
class MonitoredTable:
    key: str
    """Short stable key used in alarm and resource names (`table`)."""
    table_name: pulumi.Input[str]
    """Table name."""
    index_names: tuple[str, ...] = ()
    """Global secondary indexes (their throttles count too)."""
    operations: tuple[str, ...] = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan")
    """DynamoDB operations the service performs (system errors are published per operation)."""


@dataclass(frozen=True)
class ServiceMonitoringArgs:
    service_name: str
    """Service name (the `service` dimension of the business metrics)."""
    name_prefix: str
    """Prefix of every physical name, `<service>-<stack>`."""
    region: str
    """AWS region of the stack."""
    metrics_namespace: str
    """CloudWatch namespace of the service's EMF metrics (`ServerlessService.metrics_namespace`)."""
    config: MonitoringConfig
    """The stack's monitoring config."""
    functions: Sequence[MonitoredFunction] = ()
    """Functions to watch."""
    apis: Sequence[MonitoredApi] = ()
    """API stages to watch; the first carries the SLOs' dashboard view and the canary."""
    tables: Sequence[MonitoredTable] = ()
    """Tables to watch."""
    business_metrics: Sequence[str] = ()
    """EMF metric names the service publishes (graphed on the dashboard)."""
    webhook_endpoints: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """HTTPS endpoint per severity, as secret outputs."""


# Values of the DynamoDB metrics' Operation dimension that an IAM item action maps to.
_DYNAMODB_OPERATIONS = (
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
    "TransactGetItems", "TransactWriteItems",
)


def dynamodb_operations(actions: Sequence[str]) -> tuple[str, ...]:
    """Operations (metric dimension values) of a list of `dynamodb:` IAM actions; others are dropped."""
    names = [action.split(":", 1)[1] for action in actions if action.startswith("dynamodb:")]
    return tuple(name for name in names if name in _DYNAMODB_OPERATIONS)


def _metric_alarm_args(spec: catalog.AlarmSpec) -> dict[str, Any]:
    """MetricAlarm arguments of a spec, actions and tags aside."""
    args: dict[str, Any] = {
        "name": spec.name,
        "alarm_description": spec.description,
        "comparison_operator": spec.comparison,
        "threshold": spec.threshold,
        "evaluation_periods": spec.evaluation_periods,
        "datapoints_to_alarm": spec.datapoints_to_alarm,
        "treat_missing_data": spec.treat_missing_data,
    }
    if spec.metric is not None:
        metric = spec.metric
        args.update(namespace=metric.namespace, metric_name=metric.metric_name, period=metric.period)
        if metric.dimensions:
            args["dimensions"] = dict(metric.dimensions)
        if metric.stat in catalog.STANDARD_STATISTICS:
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


def _tags(severity: str, kind: str) -> dict[str, str]:
    # Provider default tags are merged in by the provider; these say what the alarm is.
    return {"Severity": severity, "AlarmKind": kind}


class ServiceMonitoring(pulumi.ComponentResource):
    """Alert routing, alarms, SLO burn-rate alerts, dashboard, log signals, tracing and canary of a service."""

    alert_topic_arns: dict[str, pulumi.Output[str]]
    alert_key_arn: pulumi.Output[str]
    alarm_names: pulumi.Output[list[str]]
    dashboard_name: pulumi.Output[str] | None
    dashboard_url: pulumi.Output[str] | None

    def __init__(self, name: str, args: ServiceMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prodready:monitoring:ServiceMonitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.config
        prefix = args.name_prefix

        routing = AlertRouting(
            f"{name}-routing",
            AlertRoutingArgs(
                name_prefix=prefix,
                emails={severity: list(emails) for severity, emails in config.alert_emails.items()},
                webhook_endpoints=args.webhook_endpoints,
            ),
            opts=child,
        )
        topics = routing.topic_arns

        # Log-derived signals: metric filters on each function's group, saved queries on all groups.
        for fn in args.functions:
            namespace = logs_insights.function_log_metrics_namespace(args.metrics_namespace, fn.key)
            for spec in logs_insights.FUNCTION_METRIC_FILTERS:
                aws.cloudwatch.LogMetricFilter(
                    f"{name}-{fn.key}-{spec.key}",
                    name=f"{prefix}-{fn.key}-{spec.key}",
                    log_group_name=fn.log_group_name,
                    pattern=spec.pattern,
                    metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                        name=spec.metric_name,
                        namespace=namespace,
                        value=spec.value,
                        unit=spec.unit,
                        default_value=spec.default_value,
                    ),
                    opts=child,
                )
        groups: dict[str, list[pulumi.Input[str]]] = {
            "function": [fn.log_group_name for fn in args.functions],
            "access": [api.access_log_group_name for api in args.apis],
        }
        query_names = []
        for query in logs_insights.SAVED_QUERIES:
            log_groups = [group for role in query.log_groups for group in groups[role]]
            if not log_groups:
                continue
            query_names.append(logs_insights.query_name(prefix, query))
            aws.cloudwatch.QueryDefinition(
                f"{name}-query-{query.key}",
                name=logs_insights.query_name(prefix, query),
                query_string=query.query,
                log_group_names=log_groups,
                opts=child,
            )

        # Tracing: the stack's sampling rate, and a group of its faulted or erroring traces.
        aws.xray.SamplingRule(
            f"{name}-sampling",
            rule_name=tracing.xray_name(prefix, "sampling"),
            priority=tracing.SAMPLING_RULE_PRIORITY,
            version=1,
            reservoir_size=config.tracing.reservoir_per_second,
            fixed_rate=config.tracing.sampling_rate,
            service_name=tracing.sampling_service_pattern(prefix),
            service_type="*",
            host="*",
            http_method="*",
            url_path="*",
            resource_arn="*",
            opts=child,
        )
        if args.functions:
            aws.xray.Group(
                f"{name}-faults",
                group_name=tracing.xray_name(prefix, "faults"),
                filter_expression=pulumi.Output.all(*[fn.function_name for fn in args.functions]).apply(
                    tracing.faults_filter_expression
                ),
                insights_configuration=aws.xray.GroupInsightsConfigurationArgs(
                    insights_enabled=config.tracing.insights,
                    notifications_enabled=config.tracing.insights,
                ),
                opts=child,
            )

        canary = None
        if config.canary.enabled and args.apis:
            canary = HealthCanary(
                f"{name}-canary",
                HealthCanaryArgs(
                    name_prefix=prefix,
                    region=args.region,
                    url=args.apis[0].url,
                    path=config.canary.path,
                    schedule=config.canary.schedule,
                    runtime_version=config.canary.runtime_version,
                    retention_days=config.canary.artifact_retention_days,
                    timeout_seconds=config.canary.timeout_seconds,
                ),
                opts=child,
            )

        slo = config.slo
        alarm_set = catalog.alarm_set(
            catalog.AlarmContext(
                prefix=prefix,
                runbook_base_url=config.runbook_base_url,
                thresholds=catalog.resolve_thresholds(config.thresholds),
                min_requests=config.min_requests,
            ),
            metrics_namespace=args.metrics_namespace,
            functions=[
                catalog.FunctionTarget(
                    key=fn.key,
                    function_name=fn.function_name,
                    timeout_seconds=fn.timeout_seconds,
                    memory_mb=fn.memory_mb,
                    reserved_concurrency=fn.reserved_concurrency,
                    log_metrics_namespace=logs_insights.function_log_metrics_namespace(args.metrics_namespace, fn.key),
                )
                for fn in args.functions
            ],
            apis=[catalog.ApiTarget(api.key, api.api_id, api.stage_name) for api in args.apis],
            tables=[
                catalog.TableTarget(t.key, t.table_name, t.index_names, t.operations) for t in args.tables
            ],
            expect_traffic=config.expect_traffic,
            canary_name=canary.canary_name if canary is not None else None,
            slos=(
                [
                    catalog.SloTarget("slo-availability-burn-rate", slo.availability_target_percent),
                    catalog.SloTarget("slo-latency-burn-rate", slo.latency_target_percent, slo.latency_threshold_ms),
                ]
                if slo.burn_rate_alerts
                else []
            ),
            slo_window_days=slo.window_days,
        )

        names: dict[str, pulumi.Output[str]] = {}
        arns: dict[str, pulumi.Output[str]] = {}
        for spec in alarm_set.alarms:
            actions = [topics[spec.severity]] if spec.routed else []
            alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.name.removeprefix(prefix + '-')}",
                **_metric_alarm_args(spec),
                actions_enabled=True,
                alarm_actions=actions,
                ok_actions=actions,
                tags=_tags(spec.severity, spec.kind),
                opts=child,
            )
            names[spec.name], arns[spec.name] = alarm.name, alarm.arn
        for composite_spec in alarm_set.composites:
            actions = [topics[composite_spec.severity]] if composite_spec.routed else []
            suppressor = None
            if composite_spec.suppressor:
                suppressor = aws.cloudwatch.CompositeAlarmActionsSuppressorArgs(
                    alarm=names[composite_spec.suppressor],
                    wait_period=catalog.SUPPRESSOR_WAIT_PERIOD,
                    extension_period=catalog.SUPPRESSOR_EXTENSION_PERIOD,
                )
            composite = aws.cloudwatch.CompositeAlarm(
                f"{name}-{composite_spec.name.removeprefix(prefix + '-')}",
                alarm_name=composite_spec.name,
                alarm_description=composite_spec.description,
                # Built from the members' outputs, so every member exists before the rule names it.
                alarm_rule=pulumi.Output.all(*[names[m] for m in composite_spec.members]).apply(
                    lambda resolved, spec=composite_spec: spec.rule(resolved)
                ),
                actions_enabled=True,
                actions_suppressor=suppressor,
                alarm_actions=actions,
                ok_actions=actions,
                tags=_tags(composite_spec.severity, composite_spec.kind),
                opts=child,
            )
            names[composite_spec.name], arns[composite_spec.name] = composite.alarm_name, composite.arn

        self.dashboard_name = None
        self.dashboard_url = None
        if config.dashboard:
            shown = [a.name for a in alarm_set.alarms if not a.pair] + [c.name for c in alarm_set.composites]
            body = pulumi.Output.all(
                functions=pulumi.Output.all(*[
                    pulumi.Output.all(fn.function_name, fn.log_group_name) for fn in args.functions
                ]),
                apis=pulumi.Output.all(*[pulumi.Output.all(api.api_id, api.stage_name) for api in args.apis]),
                tables=pulumi.Output.all(*[t.table_name for t in args.tables]),
                alarm_arns=pulumi.Output.all(*[arns[n] for n in shown]),
            ).apply(
                lambda resolved: json.dumps(dash.dashboard_body(self._dashboard_inputs(args, resolved, query_names)))
            )
            dashboard = aws.cloudwatch.Dashboard(
                f"{name}-dashboard",
                dashboard_name=prefix,
                dashboard_body=body,
                opts=child,
            )
            self.dashboard_name = dashboard.dashboard_name
            self.dashboard_url = dashboard.dashboard_name.apply(lambda n: dash.dashboard_url(args.region, n))

        self.alert_topic_arns = topics
        self.alert_key_arn = routing.key_arn
        self.alarm_names = pulumi.Output.all(*[names[n] for n in alarm_set.names])
        self.register_outputs(
            {
                "alertTopicArns": self.alert_topic_arns,
                "alertKeyArn": self.alert_key_arn,
                "alarmNames": self.alarm_names,
                "dashboardName": self.dashboard_name,
                "dashboardUrl": self.dashboard_url,
            }
        )

    @staticmethod
    def _dashboard_inputs(
        args: ServiceMonitoringArgs, resolved: Mapping[str, Any], query_names: Sequence[str]
    ) -> dash.DashboardInputs:
        slo = args.config.slo
        return dash.DashboardInputs(
            title=args.name_prefix,
            region=args.region,
            service_name=args.service_name,
            metrics_namespace=args.metrics_namespace,
            functions=[
                dash.FunctionView(
                    key=fn.key,
                    function_name=function_name,
                    log_group_name=log_group,
                    log_metrics_namespace=logs_insights.function_log_metrics_namespace(args.metrics_namespace, fn.key),
                    timeout_seconds=fn.timeout_seconds,
                    reserved_concurrency=fn.reserved_concurrency,
                )
                for fn, (function_name, log_group) in zip(args.functions, resolved["functions"], strict=True)
            ],
            apis=[
                dash.ApiView(api.key, api_id, stage)
                for api, (api_id, stage) in zip(args.apis, resolved["apis"], strict=True)
            ],
            tables=[
                dash.TableView(table.key, table_name, table.operations)
                for table, table_name in zip(args.tables, resolved["tables"], strict=True)
            ],
            alarm_arns=resolved["alarm_arns"],
            business_metrics=args.business_metrics,
            slo=dash.SloView(
                slo.availability_target_percent, slo.latency_target_percent, slo.latency_threshold_ms, slo.window_days
            ),
            runbooks={kind: catalog.runbook_url(args.config.runbook_base_url, kind) for kind in catalog.KINDS},
            saved_queries=query_names,
        )
