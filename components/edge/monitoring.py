"""The front's alarms and dashboard, in us-east-1 where CloudFront and CLOUDFRONT-scope WAF publish.

An alarm reads metrics of its own region only and notifies topics of its own region only, so the front gets
alert topics of its own in us-east-1 (the same subscribers as the service's), and its critical alarms notify
directly: the service's critical roll-up, a composite in the stack's region, cannot name them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alerting.alert_routing import AlertRouting, AlertRoutingArgs
from components.monitoring.alarm_resources import metric_alarm_resource
from components.monitoring.alarm_set import alarm_context
from components.monitoring.catalog import AlarmSpec
from components.monitoring.dashboard import PANEL_HEIGHT, dashboard_url
from components.monitoring.kinds.certificate import WatchedCertificate
from components.monitoring.kinds.edge import EDGE_REGION, WatchedEdge
from components.monitoring.panels import GRID_COLUMNS, Grid, panel_widget
from components.monitoring.settings import MonitoringConfig
from components.types import EDGE_MONITORING

Watched = WatchedEdge | WatchedCertificate


def edge_alarm_specs(watched: Sequence[Watched], config: MonitoringConfig, prefix: str) -> list[AlarmSpec]:
    """The front's alarms, every one routed to its severity's topic (no roll-up reaches us-east-1). Pure."""
    ctx = dataclasses.replace(alarm_context(config, prefix), rolled_up=False)
    return [spec for resource in watched for spec in resource.alarms(ctx)]


def edge_dashboard_body(watched: Sequence[Watched], config: MonitoringConfig, prefix: str,
                        specs: Sequence[AlarmSpec], alarm_arns: Sequence[str]) -> dict[str, Any]:
    """The front's dashboard: its alarms' status, then its bands, each graph with its alarms' thresholds
    (`specs`, the alarms `edge_alarm_specs` built). Pure."""
    ctx = alarm_context(config, prefix)
    grid = Grid()
    grid.row(2, (GRID_COLUMNS, {"type": "text", "properties": {"markdown": (
        f"# {prefix} edge\nCloudFront distribution and WAF web ACL in front of the API ({EDGE_REGION}). "
        f"The service's own dashboard is `{prefix}` in its region.")}}))
    grid.row(4, (GRID_COLUMNS, {"type": "alarm", "properties": {"title": "Edge alarms", "alarms": list(alarm_arns)}}))
    for resource in watched:
        band = resource.band(ctx)
        widgets = []
        for panel in band.panels:
            alarms = [s for s in specs if s.resource == band.key and s.panel == panel.key]
            widgets.append((panel.width, panel_widget(band, panel, EDGE_REGION, alarms)))
        grid.flow(PANEL_HEIGHT, widgets)
    return {"start": "-PT24H", "periodOverride": "inherit", "widgets": grid.widgets}


@dataclass(frozen=True)
class EdgeMonitoringArgs:
    name_prefix: str
    """Prefix of every physical name, `<service>-<stack>`."""
    watched: WatchedEdge
    """The distribution and web ACL."""
    config: MonitoringConfig
    """The stack's monitoring config (thresholds, runbooks, subscribers)."""
    provider: pulumi.ProviderResource
    """An aws provider for us-east-1."""
    webhook_endpoints: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """HTTPS endpoint per severity, as secret outputs (the service's)."""
    certificate: WatchedCertificate | None = None
    """The distribution's certificate (us-east-1, where its DaysToExpiry is published)."""


class EdgeMonitoring(pulumi.ComponentResource):
    """Alert topics, alarms and dashboard of the front, in us-east-1."""

    alert_topic_arns: dict[str, pulumi.Output[str]]
    alarm_names: pulumi.Output[list[str]]
    dashboard_name: pulumi.Output[str] | None
    dashboard_url: pulumi.Output[str] | None

    def __init__(self, name: str, args: EdgeMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(EDGE_MONITORING, name, None, opts)
        in_east = pulumi.ResourceOptions(parent=self, provider=args.provider)
        config = args.config
        routing = AlertRouting(
            f"{name}-routing",
            AlertRoutingArgs(
                name_prefix=f"{args.name_prefix}-edge",
                emails={severity: list(emails) for severity, emails in config.alert_emails.items()},
                webhook_endpoints=args.webhook_endpoints,
            ),
            opts=pulumi.ResourceOptions(parent=self, providers=[args.provider]),
        )
        specs = edge_alarm_specs(self._watched(args), config, args.name_prefix)
        alarms = {
            spec.name: metric_alarm_resource(
                f"{name}-{spec.name.removeprefix(args.name_prefix + '-')}", spec,
                [routing.topic_arns[spec.severity]], in_east,
            )
            for spec in specs
        }
        self.alert_topic_arns = routing.topic_arns
        self.alarm_names = pulumi.Output.all(*[a.name for a in alarms.values()])
        self.dashboard_name = None
        if config.dashboard:
            resolved = pulumi.Output.all(
                pulumi.Output.all(args.watched.distribution_id, args.watched.web_acl_name,
                                  args.certificate.certificate_arn if args.certificate else None),
                pulumi.Output.all(*[a.arn for a in alarms.values()]),
            )
            dashboard = aws.cloudwatch.Dashboard(
                f"{name}-dashboard",
                dashboard_name=f"{args.name_prefix}-edge",
                dashboard_body=resolved.apply(lambda v: json.dumps(edge_dashboard_body(
                    [dataclasses.replace(args.watched, distribution_id=v[0][0], web_acl_name=v[0][1]),
                     *([dataclasses.replace(args.certificate, certificate_arn=v[0][2])] if args.certificate else [])],
                    config, args.name_prefix, specs, v[1]))),
                opts=in_east,
            )
            self.dashboard_name = dashboard.dashboard_name
        self.dashboard_url = (
            self.dashboard_name.apply(lambda n: dashboard_url(EDGE_REGION, n)) if self.dashboard_name else None
        )
        self.register_outputs({"alarmNames": self.alarm_names, "dashboardName": self.dashboard_name,
                               "dashboardUrl": self.dashboard_url})

    @staticmethod
    def _watched(args: EdgeMonitoringArgs) -> list[Watched]:
        return [args.watched, *([args.certificate] if args.certificate else [])]
