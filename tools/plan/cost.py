"""Monthly cost estimate of a plan: what the stack costs at rest and at its configured traffic.

Pure functions over a `Plan` (tools/plan/harness.py): resources are counted by type and their
inputs read (Lambda memory and architecture, alarm metrics and periods, log group retention, canary
schedules, X-Ray sampling, ...), then priced with `prices.json` for each resource's own region.
Because the estimate reads the plan, it changes when the stack changes, not only when config does.

Two scenarios:
- at rest: no client traffic. Whatever runs on a schedule still runs (canaries, and the requests
  they send through the API, function and table), stored data is still stored.
- at traffic: the `prodready:traffic` level on top of that.

List prices, first tier, free tier excluded (see prices.json). AWS Backup is priced from the plan's
rules (one full recovery point of each selected table per scheduled backup, kept as the lifecycle says)
and each copy's transfer out of its region. The estimate leaves out what no plan input can predict:
Logs Insights queries, X-Ray trace retrieval, the canary's own Lambda and S3 artifacts, restore jobs,
and support plans.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from components.cost.settings import TrafficConfig
from components.service.settings import OPENTELEMETRY_EXEC_WRAPPER
from components.types import ACM_CERTIFICATE as CERTIFICATE
from components.types import APIGATEWAYV2_API as HTTP_API
from components.types import APIGATEWAYV2_INTEGRATION as INTEGRATION
from components.types import APIGATEWAYV2_ROUTE as ROUTE
from components.types import APIGATEWAYV2_STAGE as STAGE
from components.types import (
    BACKUP_PLAN,
    BACKUP_SELECTION,
    BUDGETS_BUDGET,
    CHATBOT_SLACK_CHANNEL_CONFIGURATION,
    CHATBOT_TEAMS_CHANNEL_CONFIGURATION,
    COSTEXPLORER_ANOMALY_MONITOR,
    COSTEXPLORER_ANOMALY_SUBSCRIPTION,
    KMS_KEY,
)
from components.types import BACKUP_RESTORE_TESTING_PLAN as RESTORE_TESTING_PLAN
from components.types import BACKUP_RESTORE_TESTING_SELECTION as RESTORE_TESTING_SELECTION
from components.types import CLOUDFRONT_DISTRIBUTION as DISTRIBUTION
from components.types import CLOUDFRONT_MONITORING_SUBSCRIPTION as MONITORING_SUBSCRIPTION
from components.types import CLOUDTRAIL_TRAIL as TRAIL
from components.types import CLOUDWATCH_COMPOSITE_ALARM as COMPOSITE_ALARM
from components.types import CLOUDWATCH_DASHBOARD as DASHBOARD
from components.types import CLOUDWATCH_LOG_DATA_PROTECTION_POLICY as DATA_PROTECTION
from components.types import CLOUDWATCH_LOG_GROUP as LOG_GROUP
from components.types import CLOUDWATCH_LOG_METRIC_FILTER as METRIC_FILTER
from components.types import CLOUDWATCH_LOG_SUBSCRIPTION_FILTER as SUBSCRIPTION_FILTER
from components.types import CLOUDWATCH_METRIC_ALARM as METRIC_ALARM
from components.types import CODEDEPLOY_DEPLOYMENT_GROUP as DEPLOYMENT_GROUP
from components.types import COGNITO_USER_POOL_CLIENT as USER_POOL_CLIENT
from components.types import DYNAMODB_TABLE as TABLE
from components.types import EDGE_FRONT as EDGE_COMPONENT
from components.types import KINESIS_FIREHOSE_DELIVERY_STREAM as FIREHOSE
from components.types import LAMBDA_FUNCTION as FUNCTION
from components.types import LAMBDA_PROVISIONED_CONCURRENCY_CONFIG as PROVISIONED_CONCURRENCY
from components.types import POST_TRAFFIC_HOOK as POST_HOOK_COMPONENT
from components.types import PRE_TRAFFIC_HOOK as HOOK_COMPONENT
from components.types import ROUTE53_RECORD as RECORD
from components.types import S3_BUCKET as BUCKET
from components.types import S3_BUCKET_LIFECYCLE_CONFIGURATION as LIFECYCLE
from components.types import SERVERLESS_SERVICE as SERVICE_COMPONENT
from components.types import SNS_TOPIC as TOPIC
from components.types import SNS_TOPIC_SUBSCRIPTION as SUBSCRIPTION
from components.types import SYNTHETICS_CANARY as CANARY
from components.types import WAFV2_WEB_ACL as WEB_ACL
from components.types import XRAY_SAMPLING_RULE as SAMPLING_RULE
from tools.plan.harness import Plan, PlannedResource

PRICES_PATH = Path(__file__).with_name("prices.json")
# The pre-traffic hook invokes the version under test with the readiness route and a read, in about a
# second of its own billed duration.
HOOK_CHECKS = 2
HOOK_SECONDS_PER_RELEASE = 1.0


@dataclass(frozen=True)
class TrafficHook:
    """A release's lifecycle hook as the estimate prices it."""

    component: str
    """Type token of its component."""
    name: str
    """Its name on the estimate's lines."""
    checks: str
    """What it invokes besides itself."""
    invocations: int
    """Requests it makes per release (app/<hook>/handler.py's checks)."""


# Each release runs both: the pre-traffic hook invokes the version under test twice (readiness, a read),
# the post-traffic hook the alias three times (the smoke test's reads).
TRAFFIC_HOOKS: tuple[TrafficHook, ...] = (
    TrafficHook(HOOK_COMPONENT, "pre-traffic", "hook and version under test", HOOK_CHECKS),
    TrafficHook(POST_HOOK_COMPONENT, "post-traffic", "hook and alias", 3),
)
SERVICE, OPERATIONS = "service", "operations"
GB = 1024**3
FALLBACK_REGION = "us-east-1"

RELEASE = "pulumi-python:dynamic/prodready:Release"
# WAF delivers its logs only to groups named so.
WAF_LOG_PREFIX = "aws-waf-logs-"
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
ARCHIVE_PRICE_KEYS = {"STANDARD_IA": "s3.standardIaGbMonth", "ONEZONE_IA": "s3.oneZoneIaGbMonth",
                      "GLACIER_IR": "s3.glacierIrGbMonth", "GLACIER": "s3.glacierGbMonth",
                      "DEEP_ARCHIVE": "s3.deepArchiveGbMonth"}
FREE_COST_TYPES = (
    BUDGETS_BUDGET,
    CHATBOT_SLACK_CHANNEL_CONFIGURATION,
    CHATBOT_TEAMS_CHANNEL_CONFIGURATION,
    COSTEXPLORER_ANOMALY_MONITOR,
    COSTEXPLORER_ANOMALY_SUBSCRIPTION,
    "pulumi-python:dynamic/prodready:CostAllocationTags",
)
# Chat channel configurations (Amazon Q Developer in chat applications): free, listed so the estimate shows them.
CHAT_CHANNEL_TYPES = (
    CHATBOT_SLACK_CHANNEL_CONFIGURATION,
    CHATBOT_TEAMS_CHANNEL_CONFIGURATION,
)
# The function an integration URI targets: `...:function:<name>[:<qualifier>]`, bare or inside an invoke ARN.
_TARGET_FUNCTION = re.compile(r":lambda:[^:]+:\d{12}:function:([^:/]+)")


# --- prices -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prices:
    """The price file: per-region unit prices plus the constants the model assumes."""

    as_of: str
    basis: str
    hours_per_month: float
    regions: Mapping[str, Mapping[str, float]]
    assumptions: Mapping[str, Any]
    sources: Mapping[str, str] = field(default_factory=dict)

    def price(self, region: str, key: str) -> float:
        table = self.regions.get(region) or self.regions[FALLBACK_REGION]
        if key not in table:
            raise KeyError(f"prices.json has no {key!r} for region {region}")
        return float(table[key])

    def covers(self, region: str) -> bool:
        return region in self.regions

    @property
    def seconds_per_month(self) -> float:
        return self.hours_per_month * 3600


def load_prices(path: Path = PRICES_PATH) -> Prices:
    data = json.loads(path.read_text())
    return Prices(
        as_of=data["asOf"],
        basis=data["basis"],
        hours_per_month=730.0,
        regions=data["regions"],
        assumptions=data["assumptions"],
        sources=data.get("sources", {}),
    )


# --- the result -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostLine:
    """One priced item: quantity in `unit` per month in each scenario, times the unit price."""

    layer: str
    item: str
    unit: str
    unit_price: float
    quantity_at_rest: float
    quantity_at_traffic: float
    region: str

    @property
    def at_rest(self) -> float:
        return self.quantity_at_rest * self.unit_price

    @property
    def at_traffic(self) -> float:
        return self.quantity_at_traffic * self.unit_price


@dataclass(frozen=True)
class Estimate:
    stack: str
    region: str
    lines: tuple[CostLine, ...]
    traffic: TrafficConfig
    prices_as_of: str
    budget_usd: float | None = None
    warn_share: float = 0.8
    notes: tuple[str, ...] = ()

    def total(self, scenario: str, layer: str | None = None) -> float:
        return sum(
            line.at_rest if scenario == "rest" else line.at_traffic
            for line in self.lines
            if layer is None or line.layer == layer
        )

    @property
    def share_of_budget(self) -> float | None:
        return self.total("traffic") / self.budget_usd if self.budget_usd else None

    @property
    def warning(self) -> str | None:
        """Set when the estimate at the configured traffic exceeds warn_share of the budget."""
        share = self.share_of_budget
        if share is None or self.budget_usd is None or share <= self.warn_share:
            return None
        return (
            f"estimated {_usd(self.total('traffic'))}/month at the configured traffic is {share:.0%} of the "
            f"{_usd(self.budget_usd)} budget (warn above {self.warn_share:.0%}): raise prodready:cost."
            "monthlyBudgetUsd or cut the cost before deploying"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "region": self.region,
            "currency": "USD",
            "pricesAsOf": self.prices_as_of,
            "freeTier": "excluded",
            "traffic": self.traffic.model_dump(by_alias=True),
            "lines": [
                {**asdict(line), "atRest": round(line.at_rest, 4), "atTraffic": round(line.at_traffic, 4)}
                for line in self.lines
            ],
            "totals": {
                scenario: {
                    SERVICE: round(self.total(scenario, SERVICE), 2),
                    OPERATIONS: round(self.total(scenario, OPERATIONS), 2),
                    "total": round(self.total(scenario), 2),
                }
                for scenario in ("rest", "traffic")
            },
            "budgetUsd": self.budget_usd,
            "warnShare": self.warn_share,
            "shareOfBudget": None if self.share_of_budget is None else round(self.share_of_budget, 4),
            "warning": self.warning,
            "notes": list(self.notes),
        }


# --- reading the plan -------------------------------------------------------------------------


def resource_region(plan: Plan, resource: PlannedResource) -> str:
    """The region a resource lives in: its own `region` input, else its provider's, else the stack's."""
    if resource.inputs.get("region"):
        return str(resource.inputs["region"])
    if resource.provider_urn:
        provider = plan.by_urn().get(resource.provider_urn)
        if provider and provider.inputs.get("region"):
            return str(provider.inputs["region"])
    return str(plan.config.get("aws:region", FALLBACK_REGION))


def within(plan: Plan, resource: PlannedResource, component_type: str) -> bool:
    """Whether `resource` is (under) a component of `component_type`."""
    by_urn = plan.by_urn()
    current: PlannedResource | None = resource
    while current is not None:
        if current.type == component_type:
            return True
        current = by_urn.get(current.parent) if current.parent else None
    return False


def layer_of(plan: Plan, resource: PlannedResource) -> str:
    """`service` for what the service component or its front owns (they serve requests), else `operations`."""
    serving = within(plan, resource, SERVICE_COMPONENT) or within(plan, resource, EDGE_COMPONENT)
    return SERVICE if serving else OPERATIONS


def _value(resource: PlannedResource, key: str, default: Any = None) -> Any:
    value = resource.inputs.get(key)
    if value is None:
        value = resource.outputs.get(key)
    return default if value is None else value


def api_functions(plan: Plan) -> list[PlannedResource]:
    """The functions client requests reach: targets of an API integration (all functions if the
    plan has no integration at all)."""
    functions = plan.of_type(FUNCTION)
    integrations = plan.of_type(INTEGRATION)
    if not integrations:
        return functions
    # The URI names the function itself or one of its aliases.
    targets = {m.group(1) for i in integrations if (m := _TARGET_FUNCTION.search(str(i.inputs.get("integrationUri"))))}
    return [f for f in functions if str(_value(f, "name")) in targets]


# One Powertools idempotency record: key hash, status, expiry, the stored response (an item) and the
# payload hash; well under a kilobyte.
IDEMPOTENCY_RECORD_BYTES = 1024


def _env(fn: PlannedResource) -> dict[str, Any]:
    return dict((_value(fn, "environment", {}) or {}).get("variables") or {})


def _tables_named_by(functions: Sequence[PlannedResource], variable: str) -> set[str]:
    """Names of the tables the functions' environment variable `variable` points at."""
    return {str(_env(fn)[variable]) for fn in functions if _env(fn).get(variable)}


def _idempotency_ttl(functions: Sequence[PlannedResource]) -> float:
    values = [float(_env(fn)["IDEMPOTENCY_TTL_SECONDS"]) for fn in functions if _env(fn).get("IDEMPOTENCY_TTL_SECONDS")]
    return max(values, default=3600.0)


def canary_runs_per_month(expression: str, hours_per_month: float = 730.0) -> float:
    """Runs a month of a Synthetics schedule: `rate(N minute|minutes|hour|hours)`, `rate(0 minute)`
    (run once) or a cron whose minute and hour fields are `*`, `*/N`, a number or a list."""
    expression = expression.strip()
    match = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours)\)", expression)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        if amount == 0:
            return 0.0  # runs once, at creation
        minutes = amount * (60 if unit.startswith("hour") else 1)
        return hours_per_month * 60 / minutes
    match = re.fullmatch(r"cron\((.+)\)", expression)
    if match:
        fields = match.group(1).split()
        per_hour = _cron_count(fields[0], 60)
        per_day = _cron_count(fields[1], 24)
        return per_hour * per_day * hours_per_month / 24
    raise ValueError(f"unsupported canary schedule {expression!r}")


def _cron_count(field_: str, size: int) -> int:
    if field_ in ("*", "?"):
        return size
    if field_.startswith("*/") or "/" in field_:
        step = int(field_.split("/")[1])
        return math.ceil(size / step)
    return len(field_.split(","))


def sampled_traces(requests: float, reservoir_per_second: float, fixed_rate: float, seconds: float) -> float:
    """Traces X-Ray records for `requests` spread evenly over `seconds`: the reservoir's worth each
    second, then fixed_rate of the rest."""
    if requests <= 0:
        return 0.0
    per_second = requests / seconds
    kept = min(per_second, reservoir_per_second) + max(per_second - reservoir_per_second, 0.0) * fixed_rate
    return kept * seconds


def sampling(plan: Plan, prices: Prices) -> tuple[float, float, str]:
    """(reservoir per second, fixed rate, explanation) of the traces the API's functions record.

    An HTTP API sends no tracing header, so Lambda makes the sampling decision for each request,
    at its fixed rate (1 request per second plus 5 %), which AWS documents as not configurable for
    functions. Sampling rules in the plan that match the functions (X-Ray's own `*`/`?` patterns)
    therefore do not change the estimate; they are named in the explanation.
    """
    default = prices.assumptions["lambdaDefaultSampling"]
    reservoir, rate = float(default["reservoirPerSecond"]), float(default["fixedRate"])
    names = [str(_value(f, "name")) for f in api_functions(plan)]
    rules = sorted(
        (
            r
            for r in plan.of_type(SAMPLING_RULE)
            if any(fnmatch.fnmatchcase(name, str(r.inputs.get("serviceName", "*"))) for name in names)
            and str(r.inputs.get("serviceType", "*")) in ("*", "AWS::Lambda::Function")
        ),
        key=lambda r: float(r.inputs.get("priority", 10000)),
    )
    explanation = "Lambda's fixed rate for requests without an upstream tracing header"
    if rules:
        rule = rules[0]
        explanation += (
            f"; sampling rule {_value(rule, 'ruleName', rule.name)} "
            f"({float(rule.inputs.get('reservoirSize', 0)):g}/s then {float(rule.inputs.get('fixedRate', 0)):.0%}) "
            "applies where X-Ray makes the decision, not to these"
        )
    return reservoir, rate, explanation


def alarm_metrics(alarm: PlannedResource) -> tuple[int, bool]:
    """(metrics billed, high resolution) of a metric alarm. Each metric an alarm reads is billed; an
    anomaly-detection band bills three per metric; a period under 60 s makes it high resolution."""
    queries = alarm.inputs.get("metricQueries") or []
    periods = [float(alarm.inputs["period"])] if alarm.inputs.get("period") else []
    if queries:
        metrics = [q["metric"] for q in queries if q.get("metric")]
        periods += [float(m["period"]) for m in metrics if m.get("period")]
        count = len(metrics)
        if any("ANOMALY_DETECTION_BAND" in str(q.get("expression", "")) for q in queries):
            count *= 3
    else:
        count = 1
    return count, any(p < 60 for p in periods)


# --- the estimate -----------------------------------------------------------------------------


@dataclass
class _Lines:
    """Accumulates priced quantities for both scenarios, keyed by (layer, item, region)."""

    prices: Prices
    items: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)

    def add(self, layer: str, item: str, unit: str, price: float, rest: float, traffic: float, region: str) -> None:
        key = (layer, item, region)
        if key not in self.items:
            self.items[key] = [unit, price, 0.0, 0.0]
        self.items[key][2] += rest
        self.items[key][3] += traffic

    def lines(self) -> tuple[CostLine, ...]:
        order = {SERVICE: 0, OPERATIONS: 1}
        return tuple(
            CostLine(layer, item, unit, price, rest, traffic, region)
            for (layer, item, region), (unit, price, rest, traffic) in sorted(
                self.items.items(), key=lambda kv: order[kv[0][0]]
            )
        )


def estimate(
    plan: Plan,
    traffic: TrafficConfig,
    prices: Prices | None = None,
    *,
    budget_usd: float | None = None,
    warn_share: float = 0.8,
    business_metrics: Sequence[str] | None = None,
) -> Estimate:
    """Price `plan` at rest and at `traffic`.

    `business_metrics` are the EMF metric names the function emits (default: the app's catalog);
    each is one custom metric (single `service` dimension), plus Powertools' ColdStart.
    """
    prices = prices or load_prices()
    if business_metrics is None:
        business_metrics = _catalog_metrics()
    region = str(plan.config.get("aws:region", FALLBACK_REGION))
    out = _Lines(prices)
    p = prices.price
    seconds = prices.seconds_per_month
    hours = prices.hours_per_month
    notes: list[str] = []

    runs = {c.urn: canary_runs_per_month(str((c.inputs.get("schedule") or {}).get("expression", "")), hours)
            for c in plan.of_type(CANARY)}
    synthetic = sum(runs.values()) * traffic.canary_requests_per_run
    rest_n, traffic_n = synthetic, synthetic + traffic.requests_per_month

    # Lambda: requests and GB-seconds of the functions the API invokes.
    functions = api_functions(plan)
    for fn in functions:
        r = resource_region(plan, fn)
        layer = layer_of(plan, fn)
        memory_gb = float(_value(fn, "memorySize", 128)) / 1024
        arch = (list(_value(fn, "architectures", ["x86_64"])) or ["x86_64"])[0]
        out.add(layer, "Lambda requests", "M requests", p(r, "lambda.requestsPerMillion"),
                rest_n / 1e6, traffic_n / 1e6, r)
        gb_s = memory_gb * traffic.average_duration_ms / 1000
        out.add(layer, f"Lambda compute ({arch}, {memory_gb * 1024:g} MB)", "GB-s", p(r, f"lambda.gbSecond.{arch}"),
                rest_n * gb_s, traffic_n * gb_s, r)
        snap_start = str((_value(fn, "snapStart", {}) or {}).get("applyOn")) == "PublishedVersions"
        variables = (_value(fn, "environment", {}) or {}).get("variables") or {}
        if variables.get("AWS_LAMBDA_EXEC_WRAPPER") == OPENTELEMETRY_EXEC_WRAPPER:
            # The OpenTelemetry layer's bootstrap runs in every init, and Lambda bills init. With SnapStart, init
            # runs once per published version (about one per release); restores replace it on cold starts.
            init_gb_s = memory_gb * float(prices.assumptions["openTelemetryLayerInitMs"]) / 1000
            rest_inits, traffic_inits = ((0.0, float(traffic.releases_per_month)) if snap_start else
                                         (rest_n * traffic.cold_start_share, traffic_n * traffic.cold_start_share))
            out.add(layer, f"Lambda OpenTelemetry layer init ({arch})", "GB-s", p(r, f"lambda.gbSecond.{arch}"),
                    rest_inits * init_gb_s, traffic_inits * init_gb_s, r)
        if snap_start:
            # The snapshot of each cached version is billed per GB-second of the function's memory, whether
            # invoked or not; each new execution environment restores it, billed per GB restored.
            # The versions the release keeps (it deletes older ones), else the price file's assumption.
            kept = [r.inputs["keepVersions"] for r in plan.of_type(RELEASE)
                    if r.inputs.get("functionName") == _value(fn, "name") and r.inputs.get("keepVersions")]
            versions = float(kept[0]) if kept else float(prices.assumptions["snapStartCachedVersions"])
            cached = memory_gb * seconds * versions
            out.add(layer, "Lambda SnapStart cache", "GB-s", p(r, "lambda.snapStartCacheGbSecond"), cached, cached, r)
            out.add(layer, "Lambda SnapStart restores", "GB", p(r, "lambda.snapStartRestoreGb"),
                    rest_n * traffic.cold_start_share * memory_gb, traffic_n * traffic.cold_start_share * memory_gb, r)
    for config in plan.of_type(PROVISIONED_CONCURRENCY):
        fn = next((f for f in functions if str(_value(f, "name")) == str(config.inputs.get("functionName"))), None)
        if fn is None:
            continue
        r, layer = resource_region(plan, config), layer_of(plan, config)
        memory_gb = float(_value(fn, "memorySize", 128)) / 1024
        arch = (list(_value(fn, "architectures", ["x86_64"])) or ["x86_64"])[0]
        kept = float(config.inputs.get("provisionedConcurrentExecutions") or 0) * memory_gb * seconds
        # Billed whether used or not. Requests served on it are priced above at the on-demand duration rate,
        # which is higher than provisioned duration: the estimate errs high.
        out.add(layer, f"Lambda provisioned concurrency ({arch})", "GB-s", p(r, f"lambda.provisionedGbSecond.{arch}"),
                kept, kept, r)

    # Releases: each runs its traffic hooks, which invoke the new version; CodeDeploy itself is free for
    # Lambda. Counted at traffic only: a stack at rest releases nothing.
    for kind in TRAFFIC_HOOKS:
        for hook in [f for f in plan.of_type(FUNCTION) if within(plan, f, kind.component)]:
            r, layer = resource_region(plan, hook), layer_of(plan, hook)
            invocations = traffic.releases_per_month * (1 + kind.invocations)
            out.add(layer, f"Lambda {kind.name} checks ({kind.checks})", "M requests",
                    p(r, "lambda.requestsPerMillion"), 0, invocations / 1e6, r)
            arch = (list(_value(hook, "architectures", ["x86_64"])) or ["x86_64"])[0]
            hook_gb = float(_value(hook, "memorySize", 128)) / 1024
            hook_gb_s = hook_gb * HOOK_SECONDS_PER_RELEASE * traffic.releases_per_month
            out.add(layer, f"Lambda {kind.name} hook compute ({arch})", "GB-s", p(r, f"lambda.gbSecond.{arch}"),
                    0, hook_gb_s, r)
    if plan.of_type(DEPLOYMENT_GROUP):
        out.add(layer_of(plan, plan.of_type(DEPLOYMENT_GROUP)[0]), "CodeDeploy deployments to Lambda", "deployments",
                p(region, "codedeploy.lambdaDeployment"), 0, traffic.releases_per_month, region)

    # HTTP API requests, metered in 512 KB increments, and the responses' data transfer out.
    metering = math.ceil(traffic.average_payload_kb / float(prices.assumptions["apiGatewayMeteringKb"]))
    for api in plan.of_type(HTTP_API):
        if str(api.inputs.get("protocolType", "HTTP")) != "HTTP":
            continue
        r, layer = resource_region(plan, api), layer_of(plan, api)
        out.add(layer, "HTTP API requests", "M requests", p(r, "apigateway.httpRequestsPerMillion"),
                rest_n * metering / 1e6, traffic_n * metering / 1e6, r)
        # Behind a CloudFront front the responses leave AWS from CloudFront (priced with it); API Gateway to
        # CloudFront is free.
        if not plan.of_type(DISTRIBUTION):
            gb_out = traffic.average_payload_kb * 1024 / GB
            out.add(layer, "Data transfer out (responses)", "GB", p(r, "dataTransfer.outToInternetGb"),
                    rest_n * gb_out, traffic_n * gb_out, r)

    # The edge: ACM public certificates are free; alias records to API Gateway or CloudFront answer without a
    # query charge; other records (the certificate's validation CNAME) are queried by ACM alone.
    for certificate in plan.of_type(CERTIFICATE):
        r, layer = resource_region(plan, certificate), layer_of(plan, certificate)
        out.add(layer, "ACM public certificates", "certificates", p(r, "acm.publicCertificateMonth"), 1, 1, r)
    for record in plan.of_type(RECORD):
        if not record.inputs.get("aliases"):
            continue
        r, layer = resource_region(plan, record), layer_of(plan, record)
        dns_share = float(prices.assumptions["dnsQueriesPerRequest"])
        out.add(layer, "Route 53 alias queries (API Gateway, CloudFront targets)", "M queries",
                p(r, "route53.aliasQueriesPerMillion"), rest_n * dns_share / 1e6, traffic_n * dns_share / 1e6, r)

    # A CloudFront front: every request and response passes the distribution and its web ACL (the API behind
    # it is still billed above); the distribution's responses leave AWS, not the API's.
    for distribution in plan.of_type(DISTRIBUTION):
        r, layer = resource_region(plan, distribution), layer_of(plan, distribution)
        out.add(layer, "CloudFront HTTPS requests", "10k requests", p(r, "cloudfront.httpsRequestsPer10k"),
                rest_n / 1e4, traffic_n / 1e4, r)
        gb_out = traffic.average_payload_kb * 1024 / GB
        out.add(layer, "CloudFront data transfer out", "GB", p(r, "cloudfront.dataTransferOutGb"),
                rest_n * gb_out, traffic_n * gb_out, r)
    for subscription in plan.of_type(MONITORING_SUBSCRIPTION):
        # The distribution's additional metrics are billed as custom metrics while it has traffic.
        r = resource_region(plan, subscription)
        count = float(prices.assumptions["cloudfrontAdditionalMetrics"])
        out.add(OPERATIONS, "CloudFront additional metrics", "metrics", p(r, "cloudwatch.customMetricMonth"),
                count if rest_n else 0, count if traffic_n else 0, r)
    for acl in plan.of_type(WEB_ACL):
        r, layer = resource_region(plan, acl), layer_of(plan, acl)
        rules = len(acl.inputs.get("rules") or [])
        out.add(layer, "WAF web ACLs", "web ACLs", p(r, "waf.webAclMonth"), 1, 1, r)
        out.add(layer, "WAF rules and managed rule groups", "rules", p(r, "waf.ruleMonth"), rules, rules, r)
        out.add(layer, "WAF requests inspected", "M requests", p(r, "waf.requestsPerMillion"),
                rest_n / 1e6, traffic_n / 1e6, r)

    # DynamoDB: request units (every write also writes each index), storage, backups. The items table
    # takes the traffic's request units and data; the idempotency table two write units per create that
    # carries an Idempotency-Key, and holds each record until its TTL.
    table_keys: set[str] = set()
    backup_sizes: dict[str, tuple[float, float]] = {}
    idempotency_tables = _tables_named_by(functions, "IDEMPOTENCY_TABLE_NAME")
    idempotent_rest, idempotent_traffic = (0.0, traffic_n * traffic.idempotent_requests_share)
    for table in plan.of_type(TABLE):
        r, layer = resource_region(plan, table), layer_of(plan, table)
        indexes = list(table.inputs.get("globalSecondaryIndexes") or [])
        idempotency = str(_value(table, "name")) in idempotency_tables
        if idempotency:
            ttl = float(_idempotency_ttl(functions))
            held_gb = idempotent_traffic / seconds * ttl * IDEMPOTENCY_RECORD_BYTES / GB
            wru_rest, wru_traffic = idempotent_rest * 2, idempotent_traffic * 2
            rru_rest = rru_traffic = 0.0
            stored = (0.0, held_gb)
        else:
            wru = traffic.write_units_per_request * (1 + len(indexes))
            wru_rest, wru_traffic = rest_n * wru, traffic_n * wru
            rru_rest, rru_traffic = rest_n * traffic.read_units_per_request, traffic_n * traffic.read_units_per_request
            copies = 1 + sum(1 for i in indexes if i.get("projectionType") == "ALL")
            stored = (traffic.stored_gb * copies, traffic.stored_gb * copies)
        if str(table.inputs.get("billingMode", "PROVISIONED")) == "PAY_PER_REQUEST":
            out.add(layer, "DynamoDB write request units", "M WRU", p(r, "dynamodb.writeRequestUnitsPerMillion"),
                    wru_rest / 1e6, wru_traffic / 1e6, r)
            if rru_traffic:
                out.add(layer, "DynamoDB read request units", "M RRU", p(r, "dynamodb.readRequestUnitsPerMillion"),
                        rru_rest / 1e6, rru_traffic / 1e6, r)
        else:
            wcu = float(table.inputs.get("writeCapacity") or 0) + sum(float(i.get("writeCapacity") or 0)
                                                                       for i in indexes)
            rcu = float(table.inputs.get("readCapacity") or 0) + sum(float(i.get("readCapacity") or 0)
                                                                      for i in indexes)
            out.add(layer, "DynamoDB provisioned writes", "WCU-hours", p(r, "dynamodb.wcuHour"),
                    wcu * hours, wcu * hours, r)
            out.add(layer, "DynamoDB provisioned reads", "RCU-hours", p(r, "dynamodb.rcuHour"),
                    rcu * hours, rcu * hours, r)
        out.add(layer, "DynamoDB storage", "GB-month", p(r, "dynamodb.storageGbMonth"), stored[0], stored[1], r)
        if (table.inputs.get("pointInTimeRecovery") or {}).get("enabled"):
            base = (stored[0], stored[1]) if idempotency else (traffic.stored_gb, traffic.stored_gb)
            out.add(layer, "DynamoDB point-in-time recovery", "GB-month", p(r, "dynamodb.pitrGbMonth"),
                    base[0], base[1], r)
        sse = table.inputs.get("serverSideEncryption") or {}
        if sse.get("kmsKeyArn"):
            table_keys.add(str(sse["kmsKeyArn"]))
        # A DynamoDB backup is a full copy of the table's data, like the PITR base.
        backup_sizes[str(table.outputs.get("arn"))] = (stored[0], stored[1]) if idempotency \
            else (traffic.stored_gb, traffic.stored_gb)

    # KMS: each customer-managed key, and the requests DynamoDB makes with a table key.
    for key in plan.of_type(KMS_KEY):
        r, layer = resource_region(plan, key), layer_of(plan, key)
        out.add(layer, "KMS customer-managed keys", "keys", p(r, "kms.keyMonth"), 1, 1, r)
        if str(key.outputs.get("arn")) in table_keys:
            requests = float(prices.assumptions["kmsRequestsPerTableKeyPerMonth"]) / 10_000
            out.add(layer, "KMS requests", "10k requests", p(r, "kms.requestsPer10k"),
                    requests if rest_n else 0, requests if traffic_n else 0, r)

    # CloudWatch Logs: the function writes to its group, the stage to its access-log group.
    function_groups = {str((_value(f, "loggingConfig", {}) or {}).get("logGroup") or f"/aws/lambda/{_value(f, 'name')}")
                       for f in functions}
    access_groups = {str((s.inputs.get("accessLogSettings") or {}).get("destinationArn")) for s in plan.of_type(STAGE)}
    for group in plan.of_type(LOG_GROUP):
        r = resource_region(plan, group)
        per_request = 0.0
        if str(_value(group, "name")) in function_groups:
            per_request += traffic.function_log_bytes_per_request
        if str(group.outputs.get("arn")) in access_groups:
            per_request += traffic.access_log_bytes_per_request
        if str(_value(group, "name")).startswith(WAF_LOG_PREFIX) and plan.of_type(WEB_ACL):
            per_request += float(prices.assumptions["wafLogBytesPerRequest"])
        if not per_request:
            continue
        rest_gb, traffic_gb = rest_n * per_request / GB, traffic_n * per_request / GB
        out.add(OPERATIONS, "CloudWatch Logs ingestion", "GB", p(r, "cloudwatch.logsIngestionGb"),
                rest_gb, traffic_gb, r)
        # Steady state once retention is reached: retention days' worth of ingestion, stored
        # uncompressed (an upper bound; CloudWatch bills the compressed size).
        months_kept = float(group.inputs.get("retentionInDays") or 365) / (hours / 24)
        out.add(OPERATIONS, "CloudWatch Logs storage", "GB-month", p(r, "cloudwatch.logsStorageGbMonth"),
                rest_gb * months_kept, traffic_gb * months_kept, r)

    # Data protection scans everything ingested into a group that has a policy.
    protected_groups = {str(d.inputs.get("logGroupName")) for d in plan.of_type(DATA_PROTECTION)}
    for group in plan.of_type(LOG_GROUP):
        if str(_value(group, "name")) in protected_groups and str(_value(group, "name")) in function_groups:
            r = resource_region(plan, group)
            per_request = traffic.function_log_bytes_per_request
            out.add(OPERATIONS, "CloudWatch Logs data protection scanning", "GB",
                    p(r, "cloudwatch.logsDataProtectionGb"), rest_n * per_request / GB, traffic_n * per_request / GB, r)

    # Cognito: machine-to-machine clients and the access tokens they request (client-credentials grants).
    for client in plan.of_type(USER_POOL_CLIENT):
        if "client_credentials" not in list(client.inputs.get("allowedOauthFlows") or []):
            continue
        r, layer = resource_region(plan, client), layer_of(plan, client)
        out.add(layer, "Cognito M2M app clients", "app clients", p(r, "cognito.m2mAppClientMonth"), 1, 1, r)
        out.add(layer, "Cognito M2M token requests", "1k requests", p(r, "cognito.m2mTokenRequestsPer1k"),
                0.0, traffic.token_requests_per_month / 1000, r)

    # Alarms, by resolution; composite alarms; dashboards.
    for alarm in plan.of_type(METRIC_ALARM):
        r = resource_region(plan, alarm)
        count, high = alarm_metrics(alarm)
        key = "cloudwatch.alarmHighResolutionMetricMonth" if high else "cloudwatch.alarmStandardMetricMonth"
        item = "CloudWatch alarms, high resolution" if high else "CloudWatch alarms, standard"
        out.add(OPERATIONS, item, "alarm metrics", p(r, key), count, count, r)
    for alarm in plan.of_type(COMPOSITE_ALARM):
        r = resource_region(plan, alarm)
        out.add(OPERATIONS, "CloudWatch composite alarms", "alarms", p(r, "cloudwatch.compositeAlarmMonth"), 1, 1, r)
    for dashboard in plan.of_type(DASHBOARD):
        r = resource_region(plan, dashboard)
        out.add(OPERATIONS, "CloudWatch dashboards", "dashboards", p(r, "cloudwatch.dashboardMonth"), 1, 1, r)

    # Custom metrics: billed for each month a metric receives data, i.e. whenever requests flow.
    metric_count = 0
    for fn in functions:
        variables = ((_value(fn, "environment", {}) or {}).get("variables") or {})
        if variables.get("POWERTOOLS_METRICS_NAMESPACE"):
            metric_count += len(business_metrics) + 1  # + ColdStart
    metric_count += len(plan.of_type(METRIC_FILTER))
    per_route = int(prices.assumptions["httpApiDetailedMetricsPerRoute"])
    for stage in plan.of_type(STAGE):
        if (stage.inputs.get("defaultRouteSettings") or {}).get("detailedMetricsEnabled"):
            routes = [x for x in plan.of_type(ROUTE) if x.inputs.get("apiId") == stage.inputs.get("apiId")]
            metric_count += per_route * len(routes)
    if metric_count:
        out.add(OPERATIONS, "CloudWatch custom metrics", "metrics", p(region, "cloudwatch.customMetricMonth"),
                metric_count if rest_n else 0, metric_count if traffic_n else 0, region)

    # Synthetics canary runs.
    for canary in plan.of_type(CANARY):
        r = resource_region(plan, canary)
        out.add(OPERATIONS, "Synthetics canary runs", "runs", p(r, "synthetics.canaryRun"),
                runs[canary.urn], runs[canary.urn], r)

    # X-Ray traces recorded by actively traced functions.
    if any((_value(f, "tracingConfig", {}) or {}).get("mode") == "Active" for f in functions):
        reservoir, rate, source = sampling(plan, prices)
        notes.append(f"X-Ray sampling: {reservoir:g}/s then {rate:.0%}, {source}")
        out.add(OPERATIONS, "X-Ray traces recorded", "M traces", p(region, "xray.tracesRecordedPerMillion"),
                sampled_traces(rest_n, reservoir, rate, seconds) / 1e6,
                sampled_traces(traffic_n, reservoir, rate, seconds) / 1e6, region)

    # SNS: alert publishes and their email deliveries.
    topics = plan.of_type(TOPIC)
    if topics:
        emails = sum(1 for s in plan.of_type(SUBSCRIPTION) if s.inputs.get("protocol") == "email")
        publishes = float(traffic.alerts_per_month)
        deliveries = publishes * emails / len(topics)
        out.add(OPERATIONS, "SNS alert publishes", "M publishes", p(region, "sns.publishesPerMillion"),
                publishes / 1e6, publishes / 1e6, region)
        out.add(OPERATIONS, "SNS email deliveries", "100k emails", p(region, "sns.emailPer100k"),
                deliveries / 1e5, deliveries / 1e5, region)

    _backups(plan, prices, backup_sizes, out)
    per_group = {name: traffic.function_log_bytes_per_request for name in function_groups}
    for group in plan.of_type(LOG_GROUP):
        if str(group.outputs.get("arn")) in access_groups:
            per_group[str(_value(group, "name"))] = per_group.get(str(_value(group, "name")), 0) \
                + traffic.access_log_bytes_per_request
    _log_archive(plan, prices, per_group, rest_n, traffic_n, out)

    # CloudTrail: the data events of the tables a trail selects, one per DynamoDB call.
    for trail in plan.of_type(TRAIL):
        selectors = trail.inputs.get("advancedEventSelectors") or []
        selects_tables = any("AWS::DynamoDB::Table" in (f.get("equals") or [])
                             for selector in selectors for f in selector.get("fieldSelectors") or [])
        if selects_tables:
            r = resource_region(plan, trail)
            per_request = float(prices.assumptions["cloudTrailDataEventsPerRequest"])
            out.add(OPERATIONS, "CloudTrail data events (tables)", "100k events", p(r, "cloudtrail.dataEventsPer100k"),
                    rest_n * per_request / 1e5, traffic_n * per_request / 1e5, r)

    free = sum(len(plan.of_type(t)) for t in FREE_COST_TYPES)
    if free:
        out.add(OPERATIONS, "Budgets, anomaly detection, cost allocation tags", "resources",
                p(region, "budgets.budgetMonth"), free, free, region)

    # Configurations live in a Chatbot API region, but serve the stack: priced (at nothing) with its own.
    channels = sum(len(plan.of_type(t)) for t in CHAT_CHANNEL_TYPES)
    if channels:
        out.add(OPERATIONS, "Chat channels (Amazon Q Developer in chat applications)", "channels",
                p(region, "chatbot.channelMonth"), channels, channels, region)

    for r in sorted({line.region for line in out.lines()}):
        if not prices.covers(r):
            notes.append(f"no prices for {r} in prices.json: {FALLBACK_REGION} prices used")
    return Estimate(
        stack=plan.stack,
        region=region,
        lines=out.lines(),
        traffic=traffic,
        prices_as_of=prices.as_of,
        budget_usd=budget_usd,
        warn_share=warn_share,
        notes=tuple(notes),
    )


def retained_points(
    interval_minutes: float, delete_after_days: float, cold_after_days: float | None
) -> tuple[float, float]:
    """Recovery points held at steady state, (warm, cold), for one backup every `interval_minutes` kept
    `delete_after_days` and moved to cold storage after `cold_after_days` (None: never)."""
    per_day = 1440 / interval_minutes
    warm_days = delete_after_days if cold_after_days is None else min(cold_after_days, delete_after_days)
    return warm_days * per_day, (delete_after_days - warm_days) * per_day


def weekly_cron_runs_per_month(expression: str, hours_per_month: float = 730.0) -> float:
    """Runs a month of `cron(m h dom mon dow year)` with fixed minute and hour, every day of the month and
    either every day of the week or named weekdays (`MON`, `MON,THU`, `MON-FRI`); 0 for anything else."""
    match = re.fullmatch(r"cron\((\d+) (\d+) (\S+) \* (\S+) \S+\)", expression.strip())
    if not match or match.group(3) not in ("*", "?"):
        return 0.0
    weekdays = match.group(4).upper()
    days = 7
    if weekdays not in ("*", "?"):
        days = 0
        for part in weekdays.split(","):
            first, _, last = part.partition("-")
            if first not in _WEEKDAYS or (last and last not in _WEEKDAYS):
                return 0.0
            days += (_WEEKDAYS.index(last) - _WEEKDAYS.index(first) + 1) if last else 1
    return hours_per_month / 24 / 7 * days


def _backups(plan: Plan, prices: Prices, sizes: Mapping[str, tuple[float, float]], out: _Lines) -> None:
    """AWS Backup: each plan rule's recovery points of the tables its selections name, warm and cold, in its
    region; each copy's transfer out of the region and its storage in the destination's."""
    from components.resilience.settings import schedule_interval_minutes

    p = prices.price
    for plan_resource in plan.of_type(BACKUP_PLAN):
        r, layer = resource_region(plan, plan_resource), layer_of(plan, plan_resource)
        selected = [str(arn) for s in plan.of_type(BACKUP_SELECTION)
                    if plan_resource.urn in s.dependencies for arn in (s.inputs.get("resources") or [])]
        rest_gb = sum(sizes.get(arn, (0.0, 0.0))[0] for arn in selected)
        traffic_gb = sum(sizes.get(arn, (0.0, 0.0))[1] for arn in selected)
        for rule in plan_resource.inputs.get("rules") or []:
            interval = schedule_interval_minutes(str(rule.get("schedule") or ""))
            if not interval:
                continue
            backups_per_month = prices.hours_per_month * 60 / interval
            targets = [(r, rule.get("lifecycle") or {}, "")]
            for copy_action in rule.get("copyActions") or []:
                destination = str(copy_action.get("destinationVaultArn") or "").split(":")
                copy_region = destination[3] if len(destination) > 3 and destination[3] else r
                targets.append((copy_region, copy_action.get("lifecycle") or {}, " (copy)"))
                out.add(layer, "AWS Backup cross-region copy transfer", "GB", p(r, "backup.crossRegionTransferGb"),
                        rest_gb * backups_per_month, traffic_gb * backups_per_month, r)
            for region, lifecycle, label in targets:
                kept = float(lifecycle.get("deleteAfter") or 0)
                if not kept:
                    continue
                cold_after = lifecycle.get("coldStorageAfter")
                warm, cold = retained_points(interval, kept, float(cold_after) if cold_after else None)
                out.add(layer, f"AWS Backup warm storage{label}", "GB-month", p(region, "backup.dynamodbWarmGbMonth"),
                        rest_gb * warm, traffic_gb * warm, region)
                if cold:
                    out.add(layer, f"AWS Backup cold storage{label}", "GB-month",
                            p(region, "backup.dynamodbColdGbMonth"), rest_gb * cold, traffic_gb * cold, region)
    # Restore tests: each run restores the selected tables from a warm recovery point, billed per GB.
    plans = {str(r.outputs.get("name") or r.inputs.get("name")): r for r in plan.of_type(RESTORE_TESTING_PLAN)}
    for selection in plan.of_type(RESTORE_TESTING_SELECTION):
        testing_plan = plans.get(str(selection.inputs.get("restoreTestingPlanName")))
        if testing_plan is None:
            continue
        r, layer = resource_region(plan, testing_plan), layer_of(plan, testing_plan)
        runs = weekly_cron_runs_per_month(str(testing_plan.inputs.get("scheduleExpression") or ""),
                                          prices.hours_per_month)
        arns = [str(a) for a in selection.inputs.get("protectedResourceArns") or []]
        rest_gb = sum(sizes.get(a, (0.0, 0.0))[0] for a in arns)
        traffic_gb = sum(sizes.get(a, (0.0, 0.0))[1] for a in arns)
        out.add(layer, "AWS Backup restore tests", "GB restored", p(r, "backup.dynamodbRestoreGb"),
                rest_gb * runs, traffic_gb * runs, r)


def _log_archive(
    plan: Plan, prices: Prices, bytes_per_request: Mapping[str, float], rest_n: float, traffic_n: float, out: _Lines
) -> None:
    """Firehose ingestion of what the subscribed log groups receive, and its storage in the archive bucket:
    Standard until the lifecycle's transition, the archive class until expiry (steady state)."""
    p = prices.price
    buckets = {str(b.outputs.get("arn")): b for b in plan.of_type(BUCKET)}
    for stream in plan.of_type(FIREHOSE):
        r = resource_region(plan, stream)
        arn = str(stream.outputs.get("arn"))
        per_request = sum(bytes_per_request.get(str(f.inputs.get("logGroup")), 0.0)
                          for f in plan.of_type(SUBSCRIPTION_FILTER) if str(f.inputs.get("destinationArn")) == arn)
        if not per_request:
            continue
        rest_gb, traffic_gb = rest_n * per_request / GB, traffic_n * per_request / GB
        out.add(OPERATIONS, "Firehose ingestion (log archive)", "GB", p(r, "firehose.ingestionGb"),
                rest_gb, traffic_gb, r)
        bucket = buckets.get(str((stream.inputs.get("extendedS3Configuration") or {}).get("bucketArn")))
        if bucket is None:
            continue
        rules = [rule for lc in plan.of_type(LIFECYCLE) if lc.inputs.get("bucket") == bucket.outputs.get("bucket")
                 for rule in lc.inputs.get("rules") or []]
        expire = next((float(r_["expiration"]["days"]) for r_ in rules if (r_.get("expiration") or {}).get("days")),
                      None)
        transition = next((t for r_ in rules for t in r_.get("transitions") or []), None)
        kept_days = expire if expire is not None else 365.0
        standard_days = min(float(transition["days"]), kept_days) if transition else kept_days
        days_per_month = prices.hours_per_month / 24
        out.add(OPERATIONS, "S3 Standard storage (log archive)", "GB-month", p(r, "s3.standardGbMonth"),
                rest_gb * standard_days / days_per_month, traffic_gb * standard_days / days_per_month, r)
        if transition and kept_days > standard_days:
            archived = (kept_days - standard_days) / days_per_month
            out.add(OPERATIONS, f"S3 {transition['storageClass']} storage (log archive)", "GB-month",
                    p(r, ARCHIVE_PRICE_KEYS[str(transition["storageClass"])]), rest_gb * archived,
                    traffic_gb * archived, r)


def _catalog_metrics() -> tuple[str, ...]:
    try:
        from app.service.metrics_catalog import BUSINESS_METRICS
    except ImportError:
        return ()
    return tuple(BUSINESS_METRICS)


# --- rendering --------------------------------------------------------------------------------


def _usd(amount: float) -> str:
    return f"${amount:,.2f}"


def _quantity(value: float) -> str:
    if value == 0:
        return "0"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if value >= 0.0001:
        return f"{value:.4g}"
    return f"{value:.8f}".rstrip("0")


# Units counted in whole things read "each"; measured units read "per unit".
_COUNTED_UNITS = frozenset({"keys", "alarm metrics", "alarms", "dashboards", "metrics", "runs", "resources",
                            "app clients", "certificates", "web ACLs", "rules"})


def _unit_price(price: float, unit: str) -> str:
    if price == 0:
        text = "0"
    elif price < 0.01:
        text = f"{price:.10f}".rstrip("0")
    else:
        whole, decimals = f"{price:,.6f}".split(".")
        text = f"{whole}.{decimals.rstrip('0').ljust(2, '0')}"
    return f"${text} each" if unit in _COUNTED_UNITS else f"${text}/{unit}"


def render_estimate(estimate: Estimate) -> str:
    """The cost table, subtotals per layer, the budget headroom and any warning."""
    t = estimate.traffic
    header = (
        f"Monthly cost estimate, stack {estimate.stack} ({estimate.region}): USD list prices as of "
        f"{estimate.prices_as_of}, free tier excluded"
    )
    traffic = (
        f"traffic: {t.requests_per_month:,} requests/month, {t.average_duration_ms:g} ms, "
        f"{t.average_payload_kb:g} KB responses, {t.function_log_bytes_per_request:,} + "
        f"{t.access_log_bytes_per_request:,} log bytes/request, {t.read_units_per_request:g} RRU + "
        f"{t.write_units_per_request:g} WRU/request, {t.stored_gb:g} GB stored; at rest: no client traffic"
    )
    rows = [("layer", "item", "region", "quantity at traffic", "unit price", "at rest", "at traffic")]
    for layer in (SERVICE, OPERATIONS):
        for line in (x for x in estimate.lines if x.layer == layer):
            one = line.unit in _COUNTED_UNITS and line.quantity_at_traffic == 1
            unit = line.unit.removesuffix("s") if one else line.unit
            rows.append((layer, line.item, line.region, f"{_quantity(line.quantity_at_traffic)} {unit}",
                         _unit_price(line.unit_price, line.unit), _usd(line.at_rest), _usd(line.at_traffic)))
        rows.append(("", f"{layer} subtotal", "", "", "", _usd(estimate.total("rest", layer)),
                     _usd(estimate.total("traffic", layer))))
    rows.append(("", "total", "", "", "", _usd(estimate.total("rest")), _usd(estimate.total("traffic"))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = {5, 6}

    def fmt(row: Iterable[str]) -> str:
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)]
        return "  ".join(cells).rstrip()

    lines = [header, traffic, "", fmt(rows[0]), "  ".join("-" * w for w in widths)]
    lines += [fmt(row) for row in rows[1:]]
    if estimate.budget_usd:
        share = estimate.share_of_budget or 0.0
        headroom = estimate.budget_usd - estimate.total("traffic")
        lines += [
            "",
            f"budget: {_usd(estimate.budget_usd)}/month; estimate at traffic {_usd(estimate.total('traffic'))} "
            f"= {share:.1%} of budget, headroom {_usd(headroom)} (warns above {estimate.warn_share:.0%})",
        ]
    for note in estimate.notes:
        lines.append(f"note: {note}")
    if estimate.warning:
        lines.append(f"WARNING: {estimate.warning}")
    return "\n".join(lines)
