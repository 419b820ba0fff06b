"""Watched kind: the API's CloudFront front and its WAF web ACL. Its metrics once; its alarms and its graphs
from them.

CloudFront publishes AWS/CloudFront in us-east-1 only, with dimensions DistributionId and Region=Global;
OriginLatency is one of the additional metrics (the distribution's monitoring subscription) and is read as a
percentile. WAF publishes AWS/WAFV2 for a CLOUDFRONT-scope web ACL in us-east-1, by WebACL and Rule (`ALL`
for the whole ACL), without a Region dimension. Alarms on them must live in us-east-1 too
(components/edge/monitoring.py builds them there); the panels name their region.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.monitoring.catalog import GT, AlarmContext, AlarmKind, AlarmSpec, metric_alarm
from components.monitoring.kinds.base import LogFilter
from components.monitoring.metrics import CLOUDFRONT_NS, WAF_NS, Metric, Query, gated
from components.monitoring.panels import Band, Panel, expression, hidden, shown

EDGE_REGION = "us-east-1"
# The key of the stack's front in alarm names (`<prefix>-front-edge-5xx-rate-critical`).
EDGE_KEY = "front"
ERROR_RATE = AlarmKind(
    "edge-5xx-rate", "Edge 5xx rate", "edge", "%", GT,
    "more than {threshold:g}% of viewer requests answered 5xx by CloudFront over {window}",
    {"critical": 3, "warning": 1})
ORIGIN_LATENCY = AlarmKind(
    "edge-origin-latency-p99", "Edge origin latency p99", "edge", "ms", GT,
    "p99 origin latency (CloudFront to the API and back) above {threshold:g} ms in {datapoints} of {evaluations} "
    "{period_text} periods", {"warning": 3000}, evaluation_periods=3, datapoints_to_alarm=2)
BLOCKED = AlarmKind(
    "edge-waf-blocked-requests", "Edge requests blocked by WAF", "edge", "requests", GT,
    "the web ACL blocked more than {threshold:g} requests over {window}: an attack, or a rule refusing real "
    "clients", {"warning": 500})
RATE_LIMITED = AlarmKind(
    "edge-rate-limited-requests", "Edge requests rate-limited", "edge", "requests", GT,
    "the {detail} rate rule answered 429 to more than {threshold:g} requests over {window}", {"warning": 100})

ALARM_KINDS: tuple[AlarmKind, ...] = (ERROR_RATE, ORIGIN_LATENCY, BLOCKED, RATE_LIMITED)
# Every panel reads us-east-1, whatever region the dashboard is in.
_IN_EAST = {"region": EDGE_REGION}


@dataclass(frozen=True)
class WatchedEdge:
    """A CloudFront distribution and its web ACL."""

    key: str
    """Short stable key used in alarm names (`front`)."""
    distribution_id: Any
    """Distribution id (output)."""
    web_acl_name: Any
    """Web ACL name (output)."""
    rate_rules: tuple[str, ...]
    """Names of the web ACL's rate-based rules (each its own metric and alarm)."""

    # -- the metrics, once ----------------------------------------------------------------------

    def _cloudfront(self, name: str, stat: str, label: str) -> Metric:
        return Metric(CLOUDFRONT_NS, name, {"DistributionId": self.distribution_id, "Region": "Global"}, stat, label)

    def requests(self) -> Metric:
        return self._cloudfront("Requests", "Sum", "Requests")

    def error_rate(self) -> Metric:
        return self._cloudfront("5xxErrorRate", "Average", "5xx rate (%)")

    def origin_latency(self, stat: str = "p99") -> Metric:
        return self._cloudfront("OriginLatency", stat, f"Origin latency {stat}")

    def blocked(self, rule: str = "ALL") -> Metric:
        label = "Blocked (all rules)" if rule == "ALL" else f"Blocked by {rule}"
        return Metric(WAF_NS, "BlockedRequests", {"WebACL": self.web_acl_name, "Rule": rule}, "Sum", label)

    def allowed(self) -> Metric:
        return Metric(WAF_NS, "AllowedRequests", {"WebACL": self.web_acl_name, "Rule": "ALL"}, "Sum", "Allowed")

    # -- alarms ---------------------------------------------------------------------------------

    def alarms(self, ctx: AlarmContext) -> list[AlarmSpec]:
        subject = f"Edge '{self.key}' of {ctx.prefix}"
        specs: list[AlarmSpec] = []

        def alarm(info: AlarmKind, severity: str, threshold: float, panel: str, **kwargs: Any) -> AlarmSpec:
            return metric_alarm(ctx, info, severity=severity, resource=self.key, subject=subject,
                                threshold=threshold, panel=panel, **kwargs)

        p = ERROR_RATE.period
        for severity, threshold in ctx.each_severity(ERROR_RATE.kind, self.key):
            specs.append(alarm(ERROR_RATE, severity, threshold, "5xx-rate", queries=(
                Query("rate", self.error_rate().at(p), label="5xx rate (%)"),
                Query("requests", self.requests().at(p), label="Requests"),
                Query("error_rate", expression=gated("rate", "requests", ctx.min_requests), label="5xx rate (%)",
                      return_data=True),
            )))
        for severity, threshold in ctx.each_severity(ORIGIN_LATENCY.kind, self.key):
            specs.append(alarm(ORIGIN_LATENCY, severity, threshold, "origin-latency", queries=(
                Query("p99", self.origin_latency().at(p), label="Origin latency p99 (ms)"),
                Query("requests", self.requests().at(p), label="Requests"),
                Query("latency", expression=gated("p99", "requests", ctx.min_requests),
                      label="Origin latency p99 (ms)", return_data=True),
            ), extra="Needs the distribution's additional metrics (its monitoring subscription)."))
        for severity, threshold in ctx.each_severity(BLOCKED.kind, self.key):
            specs.append(alarm(BLOCKED, severity, threshold, "waf", metric=self.blocked().at(BLOCKED.period),
                               extra="The WAF log group (aws-waf-logs-<prefix>, us-east-1) says which rule and why."))
        for rule in self.rate_rules:
            for severity, threshold in ctx.each_severity(RATE_LIMITED.kind, self.key):
                specs.append(alarm(RATE_LIMITED, severity, threshold, "rate-limited", qualifier=rule, detail=rule,
                                   metric=self.blocked(rule).at(RATE_LIMITED.period)))
        return specs

    # -- graphs ---------------------------------------------------------------------------------

    def band(self, ctx: AlarmContext) -> Band:
        p = ERROR_RATE.period
        return Band(self.key, f"Edge {self.key}", (
            Panel("requests", "requests (CloudFront)", (shown(self.requests()),), "count", p, extra=_IN_EAST),
            Panel("5xx-rate", "5xx rate", (
                expression(f"IF(requests >= {ctx.min_requests}, rate, 0)", "error_rate", "5xx rate"),
                hidden(self.error_rate(), "rate"), hidden(self.requests(), "requests"),
            ), "%", p, extra=_IN_EAST),
            Panel("origin-latency", "origin latency",
                  tuple(shown(self.origin_latency(s)) for s in ("p50", "p90", "p99")), "ms", p, extra=_IN_EAST),
            Panel("waf", "WAF verdicts", (shown(self.allowed()), shown(self.blocked())), "count", BLOCKED.period,
                  extra=_IN_EAST),
            Panel("rate-limited", "rate-limited (429)", tuple(shown(self.blocked(rule)) for rule in self.rate_rules),
                  "count", RATE_LIMITED.period, extra=_IN_EAST),
        ))

    def log_filters(self) -> list[LogFilter]:
        return []
