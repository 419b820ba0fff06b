"""Metric filter patterns on real-shaped log lines, and the saved queries against the app's log contract."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cloudwatch_semantics import json_filter_matches, metric_filter_value

from components.monitoring import logs_insights
from components.service.http_api import ACCESS_LOG_FIELDS

FILTERS = {spec.key: spec for spec in logs_insights.function_metric_filters(snap_start=True)}
# A new environment's report as AWS documents it, and as a SnapStart function's restored one reads
# (events/README.md says where each comes from).
EVENTS = Path(__file__).resolve().parent / "events"
RECORDED_INIT = json.dumps(json.loads((EVENTS / "platform-report-init.json").read_text()))
RECORDED_RESTORE = json.dumps(json.loads((EVENTS / "platform-report-restore.json").read_text()))

# What Lambda writes with log_format JSON and system_log_level INFO.
COLD_REPORT = json.dumps({
    "time": "2026-11-23T10:00:00.000Z", "type": "platform.report",
    "record": {"requestId": "6f1c", "status": "success", "metrics": {
        "durationMs": 812.4, "billedDurationMs": 813, "memorySizeMB": 512, "maxMemoryUsedMB": 141,
        "initDurationMs": 2480.7}},
})
WARM_REPORT = json.dumps({
    "time": "2026-11-23T10:00:01.000Z", "type": "platform.report",
    "record": {"requestId": "7a2d", "status": "success", "metrics": {
        "durationMs": 12.1, "billedDurationMs": 13, "memorySizeMB": 512, "maxMemoryUsedMB": 143}},
})
PLATFORM_START = json.dumps({"time": "2026-11-23T10:00:00.000Z", "type": "platform.start",
                             "record": {"requestId": "6f1c", "version": "$LATEST"}})
# What the app writes (Powertools JSON).
APP_FIELDS = {"timestamp": "2026-11-23T10:00:00.100Z", "service": "catalog", "cold_start": False,
              "function_name": "catalog-prod-api", "function_request_id": "6f1c",
              "correlation_id": "c0ffee", "xray_trace_id": "1-6740a0a0-abc"}
REQUEST_COMPLETED = json.dumps({**APP_FIELDS, "level": "INFO", "message": "request completed",
                                "http_method": "GET", "route": "GET /items/{id}", "path": "/items/42",
                                "status_code": 200, "duration_ms": 11.5})
APP_ERROR = json.dumps({**APP_FIELDS, "level": "ERROR", "message": "unexpected error",
                        "exception": "Traceback ...", "exception_name": "RuntimeError"})
APP_CRITICAL = json.dumps({**APP_FIELDS, "level": "CRITICAL", "message": "cannot start"})
APP_WARNING = json.dumps({**APP_FIELDS, "level": "WARNING", "message": "dependency throttled"})
BUSINESS_EVENT = json.dumps({**APP_FIELDS, "level": "INFO", "message": "business event",
                             "event": "item_created", "item_id": "42"})
# A message that merely mentions the words must not count.
MENTIONS = json.dumps({**APP_FIELDS, "level": "INFO", "message": "level ERROR platform.report initDurationMs"})
PLAIN_TEXT = "START RequestId: 6f1c Version: $LATEST"


def _published(key: str, line: str) -> float | None:
    spec = FILTERS[key]
    return metric_filter_value(spec.pattern, spec.value, spec.default_value, line)


def test_init_duration_is_published_for_cold_starts_only() -> None:
    assert _published("init-duration", COLD_REPORT) == pytest.approx(2480.7)
    for line in (WARM_REPORT, PLATFORM_START, REQUEST_COMPLETED, APP_ERROR, MENTIONS, PLAIN_TEXT):
        assert _published("init-duration", line) is None, line


def test_cold_starts_are_read_from_both_documented_report_shapes() -> None:
    # An on-demand cold start reports its init; a SnapStart one its restore, and no init.
    assert _published("init-duration", RECORDED_INIT) == pytest.approx(549.04)
    assert _published("init-duration", RECORDED_RESTORE) is None
    assert _published("restore-duration", RECORDED_RESTORE) == pytest.approx(191.6)
    assert _published("restore-duration", RECORDED_INIT) is None
    for line in (WARM_REPORT, COLD_REPORT, PLATFORM_START, REQUEST_COMPLETED, APP_ERROR, MENTIONS, PLAIN_TEXT):
        assert _published("restore-duration", line) is None, line
    # Both are reports: memory is read from either.
    assert _published("max-memory-used", RECORDED_INIT) == _published("max-memory-used", RECORDED_RESTORE) == 94


def test_only_a_snapstart_function_gets_the_restore_filter() -> None:
    plain = [spec.key for spec in logs_insights.function_metric_filters(snap_start=False)]
    snap = [spec.key for spec in logs_insights.function_metric_filters(snap_start=True)]
    assert plain == ["init-duration", "max-memory-used", "error-log-lines"]
    assert snap == [*plain, "restore-duration"]
    assert FILTERS["restore-duration"].value == "$.record.metrics.restoreDurationMs"
    assert FILTERS["restore-duration"].unit == "Milliseconds"
    ns = logs_insights.function_log_metrics_namespace("prodready/catalog-prod", "api")
    assert logs_insights.function_log_metric(ns, "restore-duration").metric_name == "RestoreDuration"


def test_the_cold_start_query_reads_inits_and_restores() -> None:
    (query,) = [q for q in logs_insights.SAVED_QUERIES if q.key == "cold-starts"]
    where, stats = query.query.split("\n| ")
    # Either field selects a report; each is aggregated on its own (counts, p99, max).
    assert "ispresent(record.metrics.initDurationMs) or ispresent(record.metrics.restoreDurationMs)" in where
    for field in ("initDurationMs", "restoreDurationMs"):
        for aggregate in ("count", "pct", "max"):
            assert f"{aggregate}(record.metrics.{field}" in stats, (aggregate, field)
    for event in (RECORDED_INIT, RECORDED_RESTORE):
        metrics = json.loads(event)["record"]["metrics"]
        assert ("initDurationMs" in metrics) != ("restoreDurationMs" in metrics)


def test_max_memory_used_is_published_from_every_report() -> None:
    assert _published("max-memory-used", COLD_REPORT) == 141
    assert _published("max-memory-used", WARM_REPORT) == 143
    for line in (PLATFORM_START, REQUEST_COMPLETED, APP_ERROR, MENTIONS, PLAIN_TEXT):
        assert _published("max-memory-used", line) is None, line


def test_error_lines_count_one_and_everything_else_zero() -> None:
    assert _published("error-log-lines", APP_ERROR) == 1
    assert _published("error-log-lines", APP_CRITICAL) == 1
    for line in (APP_WARNING, REQUEST_COMPLETED, BUSINESS_EVENT, COLD_REPORT, MENTIONS):
        assert _published("error-log-lines", line) == 0, line


def test_the_evaluator_agrees_with_cloudwatch_on_edge_cases() -> None:
    # Missing selectors and type mismatches do not match; && binds tighter than ||.
    assert not json_filter_matches('{ $.record.metrics.initDurationMs > 0 }', WARM_REPORT)
    assert not json_filter_matches('{ $.level > 0 }', APP_ERROR)
    assert json_filter_matches('{ $.level = "X" && $.service = "Y" || $.level = "ERROR" }', APP_ERROR)
    assert not json_filter_matches('{ $.level = "X" && ($.service = "Y" || $.level = "ERROR") }', APP_ERROR)
    with pytest.raises(ValueError):
        json_filter_matches('$.level = "ERROR"', APP_ERROR)


def test_metric_filters_use_the_documented_paths_and_units() -> None:
    assert FILTERS["init-duration"].value == "$.record.metrics.initDurationMs"
    assert FILTERS["max-memory-used"].value == "$.record.metrics.maxMemoryUsedMB"
    assert {spec.unit for spec in FILTERS.values()} == {"Milliseconds", "Megabytes", "Count"}
    # default_value and dimensions conflict in CloudWatch; ours never set dimensions.
    assert FILTERS["error-log-lines"].default_value == "0"


def test_log_metrics_get_a_namespace_per_function() -> None:
    ns = logs_insights.function_log_metrics_namespace("prodready/catalog-prod", "api")
    assert ns == "prodready/catalog-prod/api"
    assert logs_insights.function_log_metric(ns, "init-duration").metric_name == "InitDuration"
    with pytest.raises(KeyError):
        logs_insights.function_log_metric(ns, "nope")


# ---------------------------------------------------------------------------------------------
# Saved queries

APP_LOG_FIELDS = {"level", "message", "timestamp", "service", "cold_start", "function_name", "function_request_id",
                  "correlation_id", "xray_trace_id", "http_method", "route", "path", "status_code", "duration_ms",
                  "event", "item_id", "type", "record"}
INSIGHTS_WORDS = {"filter", "stats", "fields", "sort", "limit", "by", "as", "and", "or", "not", "desc", "asc",
                  "count", "avg", "pct", "max", "min", "bin", "ispresent", "like", "metrics", "initDurationMs",
                  "m", "h", "log", "timestamp"}


def _identifiers(query: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"|/[^/]*/', " ", query)
    words = set(re.findall(r"@?[A-Za-z_][A-Za-z0-9_.]*", without_strings))
    fields = set()
    for word in words:
        head = word.lstrip("@").split(".")[0]
        if word.startswith("@") or head in INSIGHTS_WORDS:
            continue
        fields.add(head)
    return fields


def test_queries_cover_what_the_issue_asks() -> None:
    keys = {q.key for q in logs_insights.SAVED_QUERIES}
    assert {"api-performance", "errors-by-status-and-path", "cold-starts", "slowest-requests", "correlation-id",
            "business-events", "refused-requests"} <= keys


@pytest.mark.parametrize("query", logs_insights.SAVED_QUERIES, ids=lambda q: q.key)
def test_queries_only_read_fields_the_logs_carry(query: logs_insights.SavedQuery) -> None:
    known = set()
    if "function" in query.log_groups:
        known |= APP_LOG_FIELDS
    if "access" in query.log_groups:
        known |= set(ACCESS_LOG_FIELDS)
    aliases = set(re.findall(r"\bas (\w+)", query.query))
    unknown = _identifiers(query.query) - known - aliases
    assert unknown == set(), f"{query.key} reads fields no log line has: {sorted(unknown)}"


def test_queries_are_well_formed() -> None:
    for query in logs_insights.SAVED_QUERIES:
        commands = [part.strip().split(" ", 1)[0] for part in query.query.split("\n| ")]
        assert set(commands) <= {"filter", "stats", "fields", "sort", "limit"}, query.key
        assert query.query.count("(") == query.query.count(")"), query.key
    name = logs_insights.query_name("catalog-prod", logs_insights.SAVED_QUERIES[0])
    assert name == "catalog-prod/API performance by 5 min"
