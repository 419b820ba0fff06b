"""ServiceMonitoring: the operations layer of one service.

Handed what to watch through its args (watched resources of any kind: functions, API stages, tables)
and the stack's monitoring config, it adds what it creates itself (the alert topics, and the canary
when enabled) to what it watches, and builds:

- alert routing: a KMS-encrypted SNS topic per severity with its subscribers (`AlertRouting`);
- the log metric filters each watched resource asks for, and the saved Logs Insights queries;
- every alarm of the alarm set (each kind's alarms, the SLO burn-rate pairs, the maintenance-window
  switch and the critical roll-up that pages once);
- the dashboard, each alarm's threshold drawn on the panel that graphs it;
- an X-Ray sampling rule and faults group.

It reads nothing from other components and no config of its own: everything comes in `args`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alerting import documents as alert_documents
from components.alerting.alert_routing import AlertRouting, AlertRoutingArgs
from components.monitoring import logs_insights, tracing
from components.monitoring import service_level as sl
from components.monitoring.alarm_resources import alarm_tags, metric_alarm_resource
from components.monitoring.alarm_set import alarm_context, alarm_set, slo_targets
from components.monitoring.canary import HealthCanary, HealthCanaryArgs
from components.monitoring.catalog import SEVERITIES, AlarmContext, AlarmSet, runbook_url
from components.monitoring.dashboard import DashboardInputs, dashboard_body, dashboard_url
from components.monitoring.kinds import (
    Watched,
    WatchedApi,
    WatchedCanary,
    WatchedFunction,
    WatchedTopic,
    function,
    http_api,
)
from components.monitoring.limits import alarm_set_problems
from components.monitoring.registry import KINDS
from components.monitoring.settings import MonitoringConfig
from components.types import SERVICE_MONITORING

# Keys of what ServiceMonitoring watches of its own making (config may name them in thresholds).
CANARY_KEY = "health"
# What judges a release: the alias alarms of each function a deployment shifts and the alarms of the version
# under release alone (60-second periods, Lambda's per-alias and per-executed-version metrics: at a 10%
# canary the alias shows a bad version at a tenth of its error rate, the version's own metrics show it
# whole), and the service's critical request-health alarms. Metric alarms only: CodeDeploy's alarm
# configuration documents CloudWatch metric alarms, and the SLO burn-rate composites stay in ALARM long
# after their cause, which would stop the release of its fix.
RELEASE_ALARM_KINDS: tuple[str, ...] = (
    function.ALIAS_ERROR_RATE.kind, function.ALIAS_DURATION.kind,
    function.VERSION_ERROR_RATE.kind, function.VERSION_DURATION.kind,
)
RELEASE_GUARD_KINDS: tuple[str, ...] = (http_api.RATE_5XX.kind, function.ERROR_RATE.kind)
OWN_WATCHED: dict[str, str] = {CANARY_KEY: "canary", **{severity: "topic" for severity in SEVERITIES}}


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
    watched: Sequence[Watched] = ()
    """What to watch; the first API stage carries the SLOs' dashboard view and the canary."""
    business_metrics: Sequence[str] = ()
    """EMF metric names the service publishes (graphed on the dashboard)."""
    webhook_endpoints: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """HTTPS endpoint per severity, as secret outputs."""
    publishers: Sequence[str] = tuple(alert_documents.PUBLISHERS)
    """Services allowed to publish to the alert topics (keys of the alerting documents' publishers, plus
    AWS Backup for a stack with backups)."""


def _resolved(items: Sequence[Any]) -> pulumi.Output[list[Any]]:
    """The items (frozen dataclasses) with every output field resolved to its value."""
    return pulumi.Output.all(*[
        pulumi.Output.all(**{f.name: getattr(item, f.name) for f in dataclasses.fields(item)}).apply(
            # mypy cannot type a lambda whose default binds the loop variable (python/mypy#15459)
            lambda values, item=item: dataclasses.replace(item, **values)  # type: ignore[misc]
        )
        for item in items
    ])


class ServiceMonitoring(pulumi.ComponentResource):
    """Alert routing, alarms, SLO burn-rate alerts, dashboard, log signals, tracing and canary of a service."""

    alert_topic_arns: dict[str, pulumi.Output[str]]
    alert_key_arn: pulumi.Output[str]
    alarm_names: pulumi.Output[list[str]]
    release_alarm_names: pulumi.Output[list[str]]
    error_budget_alarm_names: pulumi.Output[list[str]]
    dashboard_name: pulumi.Output[str] | None
    dashboard_url: pulumi.Output[str] | None

    def __init__(self, name: str, args: ServiceMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(SERVICE_MONITORING, name, None, opts)
        ctx = alarm_context(args.config, args.name_prefix)

        routing = self._routing(name, args)
        watched = [*args.watched, *self._canary(name, args), *self._topics(args)]
        self._log_filters(name, args, watched)
        queries = self._saved_queries(name, args, watched)
        self._tracing(name, args, watched)
        alarms = alarm_set(ctx, watched, metrics_namespace=args.metrics_namespace, slos=slo_targets(args.config),
                           slo_window_days=args.config.slo.window_days)
        # Config bounds keep this program's set within CloudWatch's limits; a program watching more is told
        # here, before it registers an alarm CloudWatch would refuse.
        problems = alarm_set_problems(alarms)
        if problems:
            raise ValueError(f"{name}: the alarm set exceeds CloudWatch's limits: " + "; ".join(problems))
        names, arns = self._alarms(name, args, alarms, routing.topic_arns)
        self._mute_rules(name, args, alarms, names)
        self.dashboard_name, self.dashboard_url = self._dashboard(name, args, ctx, watched, alarms, arns, queries)

        self.alert_topic_arns = routing.topic_arns
        self.alert_key_arn = routing.key_arn
        self.alarm_names = pulumi.Output.all(*[names[n] for n in alarms.names])
        release = [a.name for a in alarms.alarms if a.kind in RELEASE_ALARM_KINDS
                   or (a.kind in RELEASE_GUARD_KINDS and a.severity == "critical")]
        self.release_alarm_names = pulumi.Output.all(*[names[n] for n in release])
        # The availability burn-rate composites: while one is in ALARM the error budget is being spent too fast.
        burning = [c.name for c in alarms.composites if c.kind == sl.AVAILABILITY.kind]
        self.error_budget_alarm_names = pulumi.Output.all(*[names[n] for n in burning])
        self.register_outputs(
            {
                "alertTopicArns": self.alert_topic_arns,
                "alertKeyArn": self.alert_key_arn,
                "alarmNames": self.alarm_names,
                "releaseAlarmNames": self.release_alarm_names,
                "errorBudgetAlarmNames": self.error_budget_alarm_names,
                "dashboardName": self.dashboard_name,
                "dashboardUrl": self.dashboard_url,
            }
        )

    def _routing(self, name: str, args: ServiceMonitoringArgs) -> AlertRouting:
        return AlertRouting(
            f"{name}-routing",
            AlertRoutingArgs(
                name_prefix=args.name_prefix,
                emails={severity: list(emails) for severity, emails in args.config.alert_emails.items()},
                webhook_endpoints=args.webhook_endpoints,
                publishers=args.publishers,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _canary(self, name: str, args: ServiceMonitoringArgs) -> list[Watched]:
        config = args.config.canary
        apis = [w for w in args.watched if isinstance(w, WatchedApi)]
        if not config.enabled or not apis:
            return []
        canary = HealthCanary(
            f"{name}-canary",
            HealthCanaryArgs(
                name_prefix=args.name_prefix,
                region=args.region,
                url=apis[0].url,
                path=config.path,
                schedule=config.schedule,
                runtime_version=config.runtime_version,
                retention_days=config.artifact_retention_days,
                timeout_seconds=config.timeout_seconds,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return [WatchedCanary(CANARY_KEY, canary.canary_name, config.path, config.timeout_seconds)]

    def _topics(self, args: ServiceMonitoringArgs) -> list[Watched]:
        # Each topic's failures are reported through the other one (topic names are fixed by AlertRouting).
        return [
            WatchedTopic(severity, alert_documents.topic_name(args.name_prefix, severity),
                         reported_as=next(other for other in SEVERITIES if other != severity))
            for severity in SEVERITIES
        ]

    def _log_filters(self, name: str, args: ServiceMonitoringArgs, watched: Sequence[Watched]) -> None:
        for resource in watched:
            for log_filter in resource.log_filters():
                spec = log_filter.spec
                aws.cloudwatch.LogMetricFilter(
                    f"{name}-{log_filter.key}",
                    name=f"{args.name_prefix}-{log_filter.key}",
                    log_group_name=log_filter.log_group_name,
                    pattern=spec.pattern,
                    metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                        name=spec.metric_name,
                        namespace=log_filter.namespace,
                        value=spec.value,
                        unit=spec.unit,
                        default_value=spec.default_value,
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )

    def _saved_queries(self, name: str, args: ServiceMonitoringArgs, watched: Sequence[Watched]) -> list[str]:
        groups: dict[str, list[Any]] = {
            "function": [w.log_group_name for w in watched if isinstance(w, WatchedFunction)],
            "access": [w.access_log_group_name for w in watched if isinstance(w, WatchedApi)],
        }
        names = []
        for query in logs_insights.SAVED_QUERIES:
            log_groups = [group for role in query.log_groups for group in groups[role]]
            if not log_groups:
                continue
            names.append(logs_insights.query_name(args.name_prefix, query))
            aws.cloudwatch.QueryDefinition(
                f"{name}-query-{query.key}",
                name=logs_insights.query_name(args.name_prefix, query),
                query_string=query.query,
                log_group_names=log_groups,
                opts=pulumi.ResourceOptions(parent=self),
            )
        return names

    def _tracing(self, name: str, args: ServiceMonitoringArgs, watched: Sequence[Watched]) -> None:
        """The stack's sampling rate, and a group of its faulted or erroring traces."""
        config = args.config.tracing
        aws.xray.SamplingRule(
            f"{name}-sampling",
            rule_name=tracing.xray_name(args.name_prefix, "sampling"),
            priority=tracing.SAMPLING_RULE_PRIORITY,
            version=1,
            reservoir_size=config.reservoir_per_second,
            fixed_rate=config.sampling_rate,
            service_name=tracing.sampling_service_pattern(args.name_prefix),
            service_type="*",
            host="*",
            http_method="*",
            url_path="*",
            resource_arn="*",
            opts=pulumi.ResourceOptions(parent=self),
        )
        functions = [w.function_name for w in watched if isinstance(w, WatchedFunction)]
        if functions:
            aws.xray.Group(
                f"{name}-faults",
                group_name=tracing.xray_name(args.name_prefix, "faults"),
                filter_expression=pulumi.Output.all(*functions).apply(tracing.faults_filter_expression),
                insights_configuration=aws.xray.GroupInsightsConfigurationArgs(
                    insights_enabled=config.insights,
                    notifications_enabled=config.insights,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _alarms(
        self, name: str, args: ServiceMonitoringArgs, alarms: AlarmSet, topics: Mapping[str, pulumi.Output[str]]
    ) -> tuple[dict[str, pulumi.Output[str]], dict[str, pulumi.Output[str]]]:
        prefix = args.name_prefix
        child = pulumi.ResourceOptions(parent=self)
        names: dict[str, pulumi.Output[str]] = {}
        arns: dict[str, pulumi.Output[str]] = {}
        for spec in alarms.alarms:
            alarm = metric_alarm_resource(
                f"{name}-{spec.name.removeprefix(prefix + '-')}", spec,
                [topics[spec.severity]] if spec.routed else [], child,
            )
            names[spec.name], arns[spec.name] = alarm.name, alarm.arn
        for spec in alarms.composites:
            actions = [topics[spec.severity]] if spec.routed else []
            suppressor = None
            if spec.suppressor:
                suppressor = aws.cloudwatch.CompositeAlarmActionsSuppressorArgs(
                    alarm=names[spec.suppressor],
                    wait_period=sl.SUPPRESSOR_WAIT_PERIOD,
                    extension_period=sl.SUPPRESSOR_EXTENSION_PERIOD,
                )
            composite = aws.cloudwatch.CompositeAlarm(
                f"{name}-{spec.name.removeprefix(prefix + '-')}",
                alarm_name=spec.name,
                alarm_description=spec.description,
                # Built from the members' outputs, so every member exists before the rule names it.
                alarm_rule=pulumi.Output.all(*[names[m] for m in spec.members]).apply(
                    # mypy cannot type a lambda whose default binds the loop variable (python/mypy#15459)
                    lambda resolved, spec=spec: spec.rule(resolved)  # type: ignore[misc]
                ),
                actions_enabled=True,
                actions_suppressor=suppressor,
                alarm_actions=actions,
                ok_actions=actions,
                tags=alarm_tags(spec.severity, spec.kind),
                opts=child,
            )
            names[spec.name], arns[spec.name] = composite.alarm_name, composite.arn
        return names, arns

    def _mute_rules(
        self, name: str, args: ServiceMonitoringArgs, alarms: AlarmSet, names: Mapping[str, pulumi.Output[str]]
    ) -> None:
        """A mute rule per declared maintenance window (and per 100 alarms): CloudWatch mutes the actions of the
        alarms that notify while it lasts, and they keep evaluating, so what is still wrong afterwards pages."""
        groups = sl.mute_targets(alarms)
        for i, window in enumerate(args.config.maintenance_windows, start=1):
            expression, duration = sl.mute_schedule(window.days, window.start_hour, window.duration_hours)
            for j, group in enumerate(groups, start=1):
                suffix = f"maintenance-{i}" + (f"-part{j}" if j > 1 else "")
                aws.cloudwatch.AlarmMuteRule(
                    f"{name}-{suffix}",
                    name=f"{args.name_prefix}-{suffix}",
                    description=f"Maintenance window {','.join(window.days)} from {window.start_hour:02d}:00 UTC "
                                f"for {window.duration_hours} h (monitoring.maintenanceWindows[{i - 1}])",
                    rule=aws.cloudwatch.AlarmMuteRuleRuleArgs(
                        schedule=aws.cloudwatch.AlarmMuteRuleRuleScheduleArgs(
                            expression=expression, duration=duration, timezone="UTC"),
                    ),
                    # Names resolved from the alarms' outputs, so every alarm exists before the rule names it.
                    mute_targets=aws.cloudwatch.AlarmMuteRuleMuteTargetsArgs(
                        alarm_names=[names[n] for n in group]),
                    opts=pulumi.ResourceOptions(parent=self),
                )

    def _dashboard(
        self,
        name: str,
        args: ServiceMonitoringArgs,
        ctx: AlarmContext,
        watched: Sequence[Watched],
        alarms: AlarmSet,
        arns: Mapping[str, pulumi.Output[str]],
        queries: Sequence[str],
    ) -> tuple[pulumi.Output[str] | None, pulumi.Output[str] | None]:
        if not args.config.dashboard:
            return None, None
        # The status widget lists what pages or notifies: a burn-rate window alone means nothing.
        shown = [a.name for a in alarms.alarms if not a.pair] + [c.name for c in alarms.composites]
        body = pulumi.Output.all(_resolved(watched), pulumi.Output.all(*[arns[n] for n in shown])).apply(
            lambda resolved: json.dumps(dashboard_body(DashboardInputs(
                title=args.name_prefix,
                region=args.region,
                service_name=args.service_name,
                metrics_namespace=args.metrics_namespace,
                context=ctx,
                watched=resolved[0],
                alarms=alarms,
                alarm_arns=resolved[1],
                business_metrics=args.business_metrics,
                slos=slo_targets(args.config),
                slo_window_days=args.config.slo.window_days,
                runbooks={kind: runbook_url(args.config.runbook_base_url, kind) for kind in KINDS},
                kinds=KINDS,
                saved_queries=queries,
            )))
        )
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.name_prefix,
            dashboard_body=body,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return dashboard.dashboard_name, dashboard.dashboard_name.apply(lambda n: dashboard_url(args.region, n))
