"""Every alarm kind against concrete datapoints: values that must fire it and values that must not.

The numbers here are written out, not derived from the alarm specs: each scenario sits on the default
threshold's boundary (just above fires, at the threshold stays quiet), so that inverting a comparison,
moving a default threshold or changing an M-out-of-N window fails a test. Datapoints are keyed by metric
name (`Errors`), statistic (`Duration:p99`) and qualifier (`Errors@alias`, `Errors@version`, `SystemErrors@GetItem`,
`ReadThrottleEvents@by-name`), see `cloudwatch_semantics.metric_keys`.
"""

from __future__ import annotations

from typing import Any

import pytest
from cloudwatch_semantics import alarm_state, composite_state

from components.monitoring.alarm_set import alarm_set
from components.monitoring.catalog import AlarmContext, AlarmSet, AlarmSpec, Thresholds
from components.monitoring.kinds import (
    WatchedApi,
    WatchedCanary,
    WatchedFunction,
    WatchedStream,
    WatchedTable,
    WatchedTopic,
    WatchedVault,
    account,
)
from components.monitoring.kinds.certificate import WatchedCertificate
from components.monitoring.kinds.edge import WatchedEdge
from components.monitoring.registry import KINDS
from components.monitoring.service_level import SloTarget

BASE = "https://example.com/runbooks"
NS = "prodready/svc-test"
FUNCTION = WatchedFunction("api", "svc-test-api", "/aws/lambda/svc-test-api", timeout_seconds=10, memory_mb=512,
                           metrics_namespace=NS, reserved_concurrency=100, alias="live", release_version="7",
                           snap_start=True)
API = WatchedApi("http", "a1b2c3d4e5", "$default", "https://a1b2c3d4e5.example", "/aws/apigateway/x", NS,
                 throttling_rate_limit=500)
TABLE = WatchedTable("table", "svc-test-items", index_names=("by-name",), operations=("GetItem", "PutItem"))
PLAIN_TABLE = WatchedTable("plain", "svc-test-plain", operations=("GetItem",))
CANARY = WatchedCanary("health", "svc-test-health", "/health/ready", timeout_seconds=60)
TOPICS = (WatchedTopic("critical", "svc-test-alerts-critical", "warning"),
          WatchedTopic("warning", "svc-test-alerts-warning", "critical"))
CERTIFICATE = WatchedCertificate("domain", "arn:aws:acm:eu-west-1:123456789012:certificate/1234abcd-0000-0000-0000-"
                                 "000000000000", "api.example.com")
EDGE = WatchedEdge("front", "E2QWRUHAPOMQZL", "svc-test-edge", ("per-ip", "per-client"))
VAULT = WatchedVault("backup", "svc-test-backup")
ARCHIVE = WatchedStream("log-archive", "svc-test-log-archive")
SLOS = (SloTarget("slo-availability-burn-rate", 99.9), SloTarget("slo-latency-burn-rate", 99.0, 500))


def _ctx(thresholds: Thresholds | None = None) -> AlarmContext:
    return AlarmContext("svc-test", BASE, thresholds or Thresholds(KINDS), min_requests=10, expect_traffic=True,
                        anomaly_detection=True)


FULL: AlarmSet = alarm_set(_ctx(), [FUNCTION, API, TABLE, PLAIN_TABLE, CANARY, *TOPICS, CERTIFICATE, EDGE, VAULT,
                                     ARCHIVE], metrics_namespace=NS, slos=SLOS)


def _specs(kind: str, resource: str | None = None) -> dict[str, AlarmSpec]:
    """The alarms of a kind, by severity (and by qualifier for per-operation ones)."""
    found = {}
    for spec in FULL.alarms:
        if spec.kind == kind and (resource is None or spec.resource == resource):
            found[spec.name.removeprefix("svc-test-")] = spec
    assert found, f"no alarm of kind {kind}"
    return found


def _states(kind: str, periods: list[dict[str, Any]], resource: str | None = None) -> dict[str, str]:
    return {name: alarm_state(spec, periods) for name, spec in _specs(kind, resource).items()}


def _times(n: int, period: dict[str, Any]) -> list[dict[str, Any]]:
    return [period] * n


CANARY_FAILING = ([{"Errors@version": 5, "Invocations@version": 50, "Errors@alias": 5, "Invocations@alias": 500}] * 2
                  + [{"Errors@version": 0, "Invocations@version": 50, "Errors@alias": 0, "Invocations@alias": 500}])
CANARY_SLOW = ([{"Duration@version:p99": 8500, "Invocations@version": 50, "Duration@alias:p99": 900,
                 "Invocations@alias": 500}] * 2
               + [{"Duration@version:p99": 10, "Invocations@version": 50, "Duration@alias:p99": 10,
                   "Invocations@alias": 500}])

# (kind, resource, what happens, periods oldest first, expected state by alarm name without the prefix)
SCENARIOS: list[tuple[str, str | None, str, list[dict[str, Any]], dict[str, str]]] = [
    ("lambda-error-rate", None, "5.1% of 1000 fail: both severities", [{"Errors": 51, "Invocations": 1000}],
     {"api-lambda-error-rate-critical": "ALARM", "api-lambda-error-rate-warning": "ALARM"}),
    ("lambda-error-rate", None, "exactly 5%: warning only", [{"Errors": 50, "Invocations": 1000}],
     {"api-lambda-error-rate-critical": "OK", "api-lambda-error-rate-warning": "ALARM"}),
    ("lambda-error-rate", None, "exactly 1%: quiet", [{"Errors": 10, "Invocations": 1000}],
     {"api-lambda-error-rate-critical": "OK", "api-lambda-error-rate-warning": "OK"}),
    ("lambda-error-rate", None, "9 of 9 fail, under 10 invocations: not judged", [{"Errors": 9, "Invocations": 9}],
     {"api-lambda-error-rate-critical": "OK", "api-lambda-error-rate-warning": "OK"}),
    ("lambda-throttles", None, "11 throttles", [{"Throttles": 11}], {"api-lambda-throttles-warning": "ALARM"}),
    ("lambda-throttles", None, "10 throttles", [{"Throttles": 10}], {"api-lambda-throttles-warning": "OK"}),
    ("lambda-duration-p99", None, "p99 8.1 s of a 10 s timeout in 2 of 3 periods",
     [{"Duration:p99": 8100, "Invocations": 100}, {"Duration:p99": 100, "Invocations": 100},
      {"Duration:p99": 8100, "Invocations": 100}], {"api-lambda-duration-p99-warning": "ALARM"}),
    ("lambda-duration-p99", None, "p99 8.1 s in 1 of 3 periods",
     [{"Duration:p99": 100, "Invocations": 100}, {"Duration:p99": 100, "Invocations": 100},
      {"Duration:p99": 8100, "Invocations": 100}], {"api-lambda-duration-p99-warning": "OK"}),
    ("lambda-duration-p99", None, "p99 exactly 8 s throughout", _times(3, {"Duration:p99": 8000, "Invocations": 100}),
     {"api-lambda-duration-p99-warning": "OK"}),
    ("lambda-concurrency", None, "81 of 100 reserved", [{"ConcurrentExecutions": 81}],
     {"api-lambda-concurrency-warning": "ALARM"}),
    ("lambda-concurrency", None, "80 of 100 reserved", [{"ConcurrentExecutions": 80}],
     {"api-lambda-concurrency-warning": "OK"}),
    ("lambda-init-duration-p99", None, "2.1 s init in 2 of 3", [{"InitDuration:p99": 2100}, {"InitDuration:p99": 2100},
                                                                 {"InitDuration:p99": 300}],
     {"api-lambda-init-duration-p99-warning": "ALARM"}),
    ("lambda-init-duration-p99", None, "2 s init", _times(3, {"InitDuration:p99": 2000}),
     {"api-lambda-init-duration-p99-warning": "OK"}),
    ("lambda-memory", None, "410 of 512 MB", [{"MaxMemoryUsed": 410}], {"api-lambda-memory-warning": "ALARM"}),
    ("lambda-memory", None, "409 of 512 MB", [{"MaxMemoryUsed": 409}], {"api-lambda-memory-warning": "OK"}),
    ("lambda-error-logs", None, "6 ERROR lines", [{"ErrorLogLines": 6}], {"api-lambda-error-logs-warning": "ALARM"}),
    ("lambda-error-logs", None, "5 ERROR lines", [{"ErrorLogLines": 5}], {"api-lambda-error-logs-warning": "OK"}),
    # A log group that stops receiving events publishes no IncomingLogEvents at all (None), not 0.
    ("lambda-log-ingestion", None, "invoked 15 min, no log events published",
     _times(3, {"Invocations": 10, "IncomingLogEvents": None}), {"api-lambda-log-ingestion-warning": "ALARM"}),
    ("lambda-log-ingestion", None, "silent in 2 of 3 periods only",
     [*_times(2, {"Invocations": 10, "IncomingLogEvents": None}), {"Invocations": 10, "IncomingLogEvents": 30}],
     {"api-lambda-log-ingestion-warning": "OK"}),
    ("lambda-log-ingestion", None, "invoked and logging", _times(3, {"Invocations": 10, "IncomingLogEvents": 30}),
     {"api-lambda-log-ingestion-warning": "OK"}),
    ("lambda-log-ingestion", None, "9 invocations, under the minimum: not judged",
     _times(3, {"Invocations": 9, "IncomingLogEvents": None}), {"api-lambda-log-ingestion-warning": "OK"}),
    ("lambda-log-ingestion", None, "no invocations, no logs: a quiet function, not a broken one",
     _times(3, {"Invocations": None, "IncomingLogEvents": None}), {"api-lambda-log-ingestion-warning": "OK"}),
    ("lambda-alias-error-rate", None, "2% through the alias in 2 of 3 minutes, none function-wide",
     [{"Errors@alias": 2, "Invocations@alias": 100}, {"Errors@alias": 0, "Invocations@alias": 100},
      {"Errors@alias": 2, "Invocations@alias": 100, "Errors": 0, "Invocations": 1000}],
     {"api-lambda-alias-error-rate-warning": "ALARM"}),
    ("lambda-alias-error-rate", None, "function-wide errors do not judge a release",
     _times(3, {"Errors": 500, "Invocations": 1000, "Errors@alias": 1, "Invocations@alias": 100}),
     {"api-lambda-alias-error-rate-warning": "OK"}),
    ("lambda-alias-duration-p99", None, "alias p99 8.5 s in 2 of 3",
     [{"Duration@alias:p99": 8500, "Invocations@alias": 50}] * 2
     + [{"Duration@alias:p99": 10, "Invocations@alias": 50}],
     {"api-lambda-alias-duration-p99-warning": "ALARM"}),
    ("lambda-alias-duration-p99", None, "alias p99 8 s",
     _times(3, {"Duration@alias:p99": 8000, "Invocations@alias": 50}),
     {"api-lambda-alias-duration-p99-warning": "OK"}),
    # At a 10% canary: 5 of the 50 requests the new version got failed (10%), 1% of the alias's 500. The
    # alias alarm does not see it; the version's does.
    ("lambda-version-error-rate", None, "10% of the canary's requests fail in 2 of 3 minutes, 1% on the alias",
     CANARY_FAILING, {"api-lambda-version-error-rate-warning": "ALARM"}),
    ("lambda-alias-error-rate", None, "the same canary: 1% on the alias as a whole",
     CANARY_FAILING, {"api-lambda-alias-error-rate-warning": "OK"}),
    ("lambda-version-error-rate", None, "exactly 1% of the version's requests fail",
     _times(3, {"Errors@version": 1, "Invocations@version": 100}), {"api-lambda-version-error-rate-warning": "OK"}),
    ("lambda-version-error-rate", None, "the alias failing on the other version does not judge this one",
     _times(3, {"Errors@alias": 50, "Invocations@alias": 500, "Errors@version": 0, "Invocations@version": 50}),
     {"api-lambda-version-error-rate-warning": "OK"}),
    ("lambda-version-error-rate", None, "9 of 9 fail, under 10 invocations: not judged",
     _times(3, {"Errors@version": 9, "Invocations@version": 9}), {"api-lambda-version-error-rate-warning": "OK"}),
    ("lambda-version-duration-p99", None, "the version's p99 8.5 s in 2 of 3, the alias's 900 ms",
     CANARY_SLOW, {"api-lambda-version-duration-p99-warning": "ALARM"}),
    ("lambda-alias-duration-p99", None, "the same slow canary: the alias's p99 900 ms",
     CANARY_SLOW, {"api-lambda-alias-duration-p99-warning": "OK"}),
    ("lambda-version-duration-p99", None, "the version's p99 8 s",
     _times(3, {"Duration@version:p99": 8000, "Invocations@version": 50}),
     {"api-lambda-version-duration-p99-warning": "OK"}),
    ("lambda-restore-duration-p99", None, "1.1 s restores in 2 of 3",
     [{"RestoreDuration:p99": 1100}, {"RestoreDuration:p99": 300}, {"RestoreDuration:p99": 1100}],
     {"api-lambda-restore-duration-p99-warning": "ALARM"}),
    ("lambda-restore-duration-p99", None, "1 s restores, and slow inits do not count as restores",
     _times(3, {"RestoreDuration:p99": 1000, "InitDuration:p99": 5000}),
     {"api-lambda-restore-duration-p99-warning": "OK"}),
    ("api-5xx-rate", None, "3.1% 5xx", [{"5xx": 31, "Count": 1000}],
     {"http-api-5xx-rate-critical": "ALARM", "http-api-5xx-rate-warning": "ALARM"}),
    ("api-5xx-rate", None, "2% 5xx", [{"5xx": 20, "Count": 1000}],
     {"http-api-5xx-rate-critical": "OK", "http-api-5xx-rate-warning": "ALARM"}),
    ("api-5xx-rate", None, "1% 5xx", [{"5xx": 10, "Count": 1000}],
     {"http-api-5xx-rate-critical": "OK", "http-api-5xx-rate-warning": "OK"}),
    ("api-4xx-rate", None, "10.1% 4xx", [{"4xx": 101, "Count": 1000}], {"http-api-4xx-rate-warning": "ALARM"}),
    ("api-4xx-rate", None, "10% 4xx", [{"4xx": 100, "Count": 1000}], {"http-api-4xx-rate-warning": "OK"}),
    ("api-latency-p99", None, "p99 3.1 s in 2 of 3",
     [{"Latency:p99": 3100, "Count": 100}, {"Latency:p99": 3100, "Count": 100}, {"Latency:p99": 50, "Count": 100}],
     {"http-api-latency-p99-warning": "ALARM"}),
    ("api-latency-p99", None, "p99 3 s", _times(3, {"Latency:p99": 3000, "Count": 100}),
     {"http-api-latency-p99-warning": "OK"}),
    ("api-integration-latency-p99", None, "integration p99 2.6 s in 2 of 3",
     [{"IntegrationLatency:p99": 2600, "Count": 100}] * 2 + [{"IntegrationLatency:p99": 20, "Count": 100}],
     {"http-api-integration-latency-p99-warning": "ALARM"}),
    ("api-integration-latency-p99", None, "integration p99 2.5 s",
     _times(3, {"IntegrationLatency:p99": 2500, "Count": 100}), {"http-api-integration-latency-p99-warning": "OK"}),
    ("api-no-traffic", None, "no request for 15 minutes", _times(3, {"Count": 0}),
     {"http-api-no-traffic-critical": "ALARM"}),
    ("api-no-traffic", None, "no data at all for 15 minutes", _times(3, {}), {"http-api-no-traffic-critical": "ALARM"}),
    ("api-no-traffic", None, "one request in the last period", [{"Count": 0}, {"Count": 0}, {"Count": 1}],
     {"http-api-no-traffic-critical": "OK"}),
    ("api-near-throttle-limit", None, "401 rps of a 500 rps limit in 3 of 5 minutes",
     [{"Count": 24060}] * 3 + [{"Count": 60}] * 2, {"http-api-near-throttle-limit-warning": "ALARM"}),
    ("api-near-throttle-limit", None, "400 rps", _times(5, {"Count": 24000}),
     {"http-api-near-throttle-limit-warning": "OK"}),
    ("api-auth-refusals", None, "101 refused", [{"AuthRefusals": 101}], {"http-api-auth-refusals-warning": "ALARM"}),
    ("api-auth-refusals", None, "100 refused", [{"AuthRefusals": 100}], {"http-api-auth-refusals-warning": "OK"}),
    ("api-access-log-ingestion", None, "requests for 15 min, empty access log",
     _times(3, {"Count": 50, "IncomingLogEvents": None}), {"http-api-access-log-ingestion-warning": "ALARM"}),
    ("api-access-log-ingestion", None, "requests and their access-log lines",
     _times(3, {"Count": 50, "IncomingLogEvents": 50}), {"http-api-access-log-ingestion-warning": "OK"}),
    ("api-access-log-ingestion", None, "no requests: not judged",
     _times(3, {"Count": None, "IncomingLogEvents": None}), {"http-api-access-log-ingestion-warning": "OK"}),
    ("api-traffic-anomaly", None, "traffic above its band", _times(3, {"Count": 250, "band": (100, 200)}),
     {"http-api-traffic-anomaly-warning": "ALARM"}),
    ("api-traffic-anomaly", None, "traffic below its band (an outage of clients)",
     _times(3, {"Count": 50, "band": (100, 200)}), {"http-api-traffic-anomaly-warning": "ALARM"}),
    ("api-traffic-anomaly", None, "traffic within its band", _times(3, {"Count": 150, "band": (100, 200)}),
     {"http-api-traffic-anomaly-warning": "OK"}),
    ("api-latency-anomaly", None, "latency above its band", _times(3, {"Latency:p99": 900, "band": (100, 400)}),
     {"http-api-latency-anomaly-warning": "ALARM"}),
    ("api-latency-anomaly", None, "latency below its band is good news", _times(3, {"Latency:p99": 20,
                                                                                      "band": (100, 400)}),
     {"http-api-latency-anomaly-warning": "OK"}),
    ("dynamodb-read-throttles", "table", "one throttled read on the index",
     [{"ReadThrottleEvents": 0, "ReadThrottleEvents@by-name": 1}], {"table-dynamodb-read-throttles-critical": "ALARM"}),
    ("dynamodb-read-throttles", "table", "none", [{"ReadThrottleEvents": 0, "ReadThrottleEvents@by-name": 0}],
     {"table-dynamodb-read-throttles-critical": "OK"}),
    ("dynamodb-read-throttles", "plain", "one throttled read, table without index", [{"ReadThrottleEvents": 1}],
     {"plain-dynamodb-read-throttles-critical": "ALARM"}),
    ("dynamodb-write-throttles", "table", "one throttled write on the table",
     [{"WriteThrottleEvents": 1, "WriteThrottleEvents@by-name": 0}],
     {"table-dynamodb-write-throttles-critical": "ALARM"}),
    ("dynamodb-write-throttles", "table", "none", [{"WriteThrottleEvents": 0}],
     {"table-dynamodb-write-throttles-critical": "OK"}),
    ("dynamodb-system-errors", "table", "one 500 on PutItem", [{"SystemErrors@PutItem": 1}],
     {"table-dynamodb-system-errors-warning": "ALARM"}),
    ("dynamodb-system-errors", "table", "no 500", [{"SystemErrors@GetItem": 0, "SystemErrors@PutItem": 0}],
     {"table-dynamodb-system-errors-warning": "OK"}),
    ("dynamodb-latency-p99", "table", "GetItem p99 120 ms in 2 of 3, PutItem fine",
     [{"SuccessfulRequestLatency@GetItem:p99": 120, "SuccessfulRequestLatency@GetItem:SampleCount": 50,
       "SuccessfulRequestLatency@PutItem:p99": 8, "SuccessfulRequestLatency@PutItem:SampleCount": 50}] * 2,
     {"table-dynamodb-latency-p99-getitem-warning": "ALARM", "table-dynamodb-latency-p99-putitem-warning": "OK"}),
    ("dynamodb-latency-p99", "table", "GetItem p99 120 ms over 5 requests: not judged",
     _times(3, {"SuccessfulRequestLatency@GetItem:p99": 120, "SuccessfulRequestLatency@GetItem:SampleCount": 5}),
     {"table-dynamodb-latency-p99-getitem-warning": "OK", "table-dynamodb-latency-p99-putitem-warning": "OK"}),
    ("dynamodb-user-errors", None, "6 rejected requests", [{"UserErrors": 6}],
     {"dynamodb-user-errors-warning": "ALARM"}),
    ("dynamodb-user-errors", None, "5 rejected requests", [{"UserErrors": 5}], {"dynamodb-user-errors-warning": "OK"}),
    ("canary-success-rate", None, "80% in 2 of 3",
     [{"SuccessPercent": 80}, {"SuccessPercent": 80}, {"SuccessPercent": 100}],
     {"canary-success-rate-critical": "ALARM"}),
    ("canary-success-rate", None, "85% once, 95% otherwise",
     [{"SuccessPercent": 95}, {"SuccessPercent": 85}, {"SuccessPercent": 95}], {"canary-success-rate-critical": "OK"}),
    ("canary-success-rate", None, "exactly 90%", _times(3, {"SuccessPercent": 90}),
     {"canary-success-rate-critical": "OK"}),
    ("canary-success-rate", None, "the canary stopped reporting", _times(3, {}),
     {"canary-success-rate-critical": "ALARM"}),
    ("canary-duration", None, "31 s runs of a 60 s timeout in 2 of 3",
     [{"Duration": 31000}, {"Duration": 31000}, {"Duration": 900}], {"canary-duration-warning": "ALARM"}),
    ("canary-duration", None, "30 s runs", _times(3, {"Duration": 30000}), {"canary-duration-warning": "OK"}),
    ("alert-topic-delivery-failures", "critical", "a page could not be delivered", [{"NumberOfNotificationsFailed": 1}],
     {"critical-alert-topic-delivery-failures-warning": "ALARM"}),
    ("alert-topic-delivery-failures", "warning", "a warning could not be delivered",
     [{"NumberOfNotificationsFailed": 1}], {"warning-alert-topic-delivery-failures-critical": "ALARM"}),
    ("alert-topic-delivery-failures", "critical", "every delivery succeeded", [{"NumberOfNotificationsFailed": 0}],
     {"critical-alert-topic-delivery-failures-warning": "OK"}),
    ("certificate-days-to-expiry", None, "44 days left: ACM did not renew",
     [{"DaysToExpiry": 44}], {"domain-certificate-days-to-expiry-warning": "ALARM",
                              "domain-certificate-days-to-expiry-critical": "OK"}),
    ("certificate-days-to-expiry", None, "45 days left: renewal still has time", [{"DaysToExpiry": 45}],
     {"domain-certificate-days-to-expiry-warning": "OK", "domain-certificate-days-to-expiry-critical": "OK"}),
    ("certificate-days-to-expiry", None, "13 days left: page", [{"DaysToExpiry": 13}],
     {"domain-certificate-days-to-expiry-warning": "ALARM", "domain-certificate-days-to-expiry-critical": "ALARM"}),
    ("certificate-days-to-expiry", None, "exactly 14 days left", [{"DaysToExpiry": 14}],
     {"domain-certificate-days-to-expiry-critical": "OK"}),
    ("edge-5xx-rate", None, "3.1% of 1000 viewer requests", [{"5xxErrorRate": 3.1, "Requests": 1000}],
     {"front-edge-5xx-rate-critical": "ALARM", "front-edge-5xx-rate-warning": "ALARM"}),
    ("edge-5xx-rate", None, "exactly 1%", [{"5xxErrorRate": 1, "Requests": 1000}],
     {"front-edge-5xx-rate-critical": "OK", "front-edge-5xx-rate-warning": "OK"}),
    ("edge-5xx-rate", None, "all 9 of 9 failed: too few to judge", [{"5xxErrorRate": 100, "Requests": 9}],
     {"front-edge-5xx-rate-critical": "OK"}),
    ("edge-origin-latency-p99", None, "3.1 s in 2 of 3 periods",
     [{"OriginLatency:p99": 3100, "Requests": 100}, {"OriginLatency:p99": 200, "Requests": 100},
      {"OriginLatency:p99": 3100, "Requests": 100}], {"front-edge-origin-latency-p99-warning": "ALARM"}),
    ("edge-origin-latency-p99", None, "3.1 s once", [{"OriginLatency:p99": 200, "Requests": 100},
     {"OriginLatency:p99": 200, "Requests": 100}, {"OriginLatency:p99": 3100, "Requests": 100}],
     {"front-edge-origin-latency-p99-warning": "OK"}),
    ("edge-waf-blocked-requests", None, "501 blocked", [{"BlockedRequests": 501}],
     {"front-edge-waf-blocked-requests-warning": "ALARM"}),
    ("edge-waf-blocked-requests", None, "500 blocked", [{"BlockedRequests": 500}],
     {"front-edge-waf-blocked-requests-warning": "OK"}),
    ("edge-rate-limited-requests", None, "101 answered 429 by each rule", [{"BlockedRequests": 101}],
     {"front-edge-rate-limited-requests-per-ip-warning": "ALARM",
      "front-edge-rate-limited-requests-per-client-warning": "ALARM"}),
    ("edge-rate-limited-requests", None, "100 answered 429", [{"BlockedRequests": 100}],
     {"front-edge-rate-limited-requests-per-ip-warning": "OK"}),
    ("backup-jobs-failed", "backup", "the nightly backup of one table failed", [{"NumberOfBackupJobsFailed": 1}],
     {"backup-backup-jobs-failed-warning": "ALARM"}),
    ("backup-jobs-failed", "backup", "both backups completed",
     [{"NumberOfBackupJobsFailed": 0, "NumberOfBackupJobsCompleted": 2}], {"backup-backup-jobs-failed-warning": "OK"}),
    ("backup-jobs-failed", "backup", "no backup ran this hour", [{}], {"backup-backup-jobs-failed-warning": "OK"}),
    ("backup-copy-jobs-failed", "backup", "a copy to the second region failed", [{"NumberOfCopyJobsFailed": 1}],
     {"backup-backup-copy-jobs-failed-warning": "ALARM"}),
    ("backup-copy-jobs-failed", "backup", "every copy completed",
     [{"NumberOfCopyJobsFailed": 0, "NumberOfCopyJobsCompleted": 2}], {"backup-backup-copy-jobs-failed-warning": "OK"}),
    ("log-archive-delivery-failures", "log-archive", "one S3 put of the period failed",
     [{"DeliveryToS3.Success": 0.5}], {"log-archive-log-archive-delivery-failures-warning": "ALARM"}),
    ("log-archive-delivery-failures", "log-archive", "every put succeeded", [{"DeliveryToS3.Success": 1}],
     {"log-archive-log-archive-delivery-failures-warning": "OK"}),
    ("log-archive-delivery-failures", "log-archive", "nothing to deliver (idle stack)", [{}],
     {"log-archive-log-archive-delivery-failures-warning": "OK"}),
    ("maintenance-window", None, "an operator opened a window", [{"MaintenanceWindow": 1}],
     {"maintenance-window-warning": "ALARM"}),
    ("maintenance-window", None, "closed", [{"MaintenanceWindow": 0}], {"maintenance-window-warning": "OK"}),
]


@pytest.mark.parametrize(("kind", "resource", "story", "periods", "expected"), SCENARIOS,
                         ids=[f"{s[0]}: {s[2]}" for s in SCENARIOS])
def test_alarm_kind_scenarios(kind: str, resource: str | None, story: str, periods: list[dict[str, Any]],
                              expected: dict[str, str]) -> None:
    states = _states(kind, periods, resource)
    assert {name: states[name] for name in expected} == expected, story


def _pair(kind: str, pair: str, severity: str) -> tuple[AlarmSpec, AlarmSpec]:
    long = _specs(kind)[f"http-{kind}-{pair}-long-{severity}"]
    short = _specs(kind)[f"http-{kind}-{pair}-short-{severity}"]
    return long, short


def test_availability_burn_rate_pages_when_both_windows_burn_fast() -> None:
    long, short = _pair("slo-availability-burn-rate", "1h5m", "critical")
    # 1.45% of requests failing burns a 99.9% SLO's budget at 14.5x; 1.43% at 14.3x.
    fast, slow = {"5xx": 145, "Count": 10_000}, {"5xx": 143, "Count": 10_000}
    assert [alarm_state(long, [fast]), alarm_state(short, [fast])] == ["ALARM", "ALARM"]
    assert alarm_state(long, [slow]) == alarm_state(short, [slow]) == "OK"
    # A short spike alone does not page: the pair is long AND short.
    assert composite_state("AND", [alarm_state(long, [slow]), alarm_state(short, [fast])]) == "OK"
    assert composite_state("AND", [alarm_state(long, [fast]), alarm_state(short, [fast])]) == "ALARM"


def test_latency_burn_rate_opens_a_ticket_at_one_x_and_pages_at_six() -> None:
    ticket_long, _ = _pair("slo-latency-burn-rate", "3d6h", "warning")
    page_long, _ = _pair("slo-latency-burn-rate", "6h30m", "critical")
    # 98.5% within 500 ms against a 99% objective: 1.5x.
    assert alarm_state(ticket_long, [{"Latency:PR(:500)": 98.5}]) == "ALARM"
    assert alarm_state(page_long, [{"Latency:PR(:500)": 98.5}]) == "OK"
    # 93.9% within: 6.1x.
    assert alarm_state(page_long, [{"Latency:PR(:500)": 93.9}]) == "ALARM"
    # Exactly on budget (1x) opens the ticket: the comparison is >=; 99.1% within is 0.9x.
    assert alarm_state(ticket_long, [{"Latency:PR(:500)": 99.0}]) == "ALARM"
    assert alarm_state(ticket_long, [{"Latency:PR(:500)": 99.1}]) == "OK"


def test_billing_alarm_fires_above_its_threshold_and_says_when_billing_alerts_are_off() -> None:
    spec = account.billing_alarm(_ctx(), 400)
    assert alarm_state(spec, [{"EstimatedCharges": 400.01}]) == "ALARM"
    assert alarm_state(spec, [{"EstimatedCharges": 400}]) == "OK"
    assert alarm_state(spec, [{}]) == "INSUFFICIENT_DATA"


def test_every_metric_alarm_kind_has_a_scenario_that_fires_and_one_that_does_not() -> None:
    fired = {kind for kind, _, _, _, expected in SCENARIOS if "ALARM" in expected.values()}
    quiet = {kind for kind, _, _, _, expected in SCENARIOS if "OK" in expected.values()}
    composite_or_slo = {"slo-availability-burn-rate", "slo-latency-burn-rate", "service-critical-rollup",
                        "billing-estimated-charges"}
    metric_kinds = {spec.kind for spec in FULL.alarms} - composite_or_slo
    assert metric_kinds == set(KINDS) - composite_or_slo
    assert metric_kinds <= fired and metric_kinds <= quiet, sorted(metric_kinds - (fired & quiet))


def test_per_resource_thresholds_move_only_that_resource() -> None:
    hook = WatchedFunction("hook", "svc-test-hook", "/aws/lambda/svc-test-hook", 30, 256, NS)
    ctx = _ctx(thresholds=Thresholds(KINDS, {"lambda-duration-p99": {"warning": 50},
                                            "hook/lambda-duration-p99": {"warning": 90, "critical": 95}}))
    specs = {s.name: s for s in alarm_set(ctx, [FUNCTION, hook], metrics_namespace=NS).alarms}
    assert specs["svc-test-api-lambda-duration-p99-warning"].threshold == 5000  # 50% of 10 s
    assert specs["svc-test-hook-lambda-duration-p99-warning"].threshold == 27000  # 90% of 30 s
    assert specs["svc-test-hook-lambda-duration-p99-critical"].threshold == 28500
    assert "svc-test-api-lambda-duration-p99-critical" not in specs
    period = {"Duration:p99": 26000, "Invocations": 100}
    assert alarm_state(specs["svc-test-hook-lambda-duration-p99-warning"], [period] * 3) == "OK"
    assert alarm_state(specs["svc-test-api-lambda-duration-p99-warning"],
                       [{"Duration:p99": 5100, "Invocations": 100}] * 3) == "ALARM"


HOOK = WatchedFunction("pre-traffic", "svc-test-pre-traffic", "/aws/lambda/svc-test-pre-traffic", timeout_seconds=60,
                       memory_mb=256, metrics_namespace=NS, min_invocations=1, pages=False)


def test_a_function_called_a_few_times_per_release_is_judged_from_one_invocation_and_never_pages() -> None:
    specs = {spec.name.removeprefix("svc-test-"): spec for spec in HOOK.alarms(_ctx())}
    # Its failures already fail the release in front of whoever released: warnings only.
    assert {spec.severity for spec in specs.values()} == {"warning"}
    error_rate = specs["pre-traffic-lambda-error-rate-warning"]
    assert alarm_state(error_rate, [{"Errors": 1, "Invocations": 2}]) == "ALARM"
    assert alarm_state(error_rate, [{"Errors": 0, "Invocations": 2}]) == "OK"
    # The service function, gated at the stack's 10 requests, would not judge the same two invocations.
    assert _states("lambda-error-rate", [{"Errors": 1, "Invocations": 2}], "api") == {
        "api-lambda-error-rate-critical": "OK", "api-lambda-error-rate-warning": "OK"}


def test_a_vault_without_a_copy_region_has_no_copy_alarm() -> None:
    kinds = {spec.kind for spec in WatchedVault("backup", "svc-test-backup", copies=False).alarms(_ctx())}
    assert kinds == {"backup-jobs-failed"}
