"""The `prodready:monitoring` config section: profiles, stack values and mistakes named by key."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from components.config import ConfigError, load_stack_config
from tools.plan.harness import committed_config, stack_config


def _monitoring(stack: str) -> dict[str, Any]:
    raw, _ = stack_config(stack)
    return json.loads(raw["prodready:monitoring"])


def _with_monitoring(stack: str, monitoring: dict[str, Any]) -> dict[str, Any]:
    raw, _ = stack_config(stack)
    raw["prodready:monitoring"] = json.dumps(monitoring)
    return raw


def _problems(stack: str, monitoring: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(stack, _with_monitoring(stack, monitoring))
    return caught.value.problems


def _changed(stack: str, **changes: Any) -> dict[str, Any]:
    monitoring = copy.deepcopy(_monitoring(stack))
    monitoring.update(changes)
    return monitoring


def test_committed_stacks_configure_monitoring() -> None:
    dev = committed_config("dev").monitoring
    prod = committed_config("prod").monitoring
    assert not dev.expect_traffic and not dev.canary.enabled and dev.tracing.sampling_rate == 1.0
    assert prod.expect_traffic and prod.canary.enabled and prod.tracing.sampling_rate == 0.05
    assert prod.thresholds["api-latency-p99"]["warning"] == 500
    assert prod.slo.latency_threshold_ms == 500
    for config in (dev, prod):
        assert config.runbook_base_url.startswith("https://") and not config.runbook_base_url.endswith("/")
        assert config.alert_emails["critical"] and config.alert_emails["warning"]
        assert config.webhook_secrets == {}


def test_profile_supplies_tracing_and_canary_when_the_stack_file_is_silent() -> None:
    monitoring = {"alertEmails": {"critical": ["a@example.com"], "warning": ["b@example.com"]}}
    prod = load_stack_config("prod", _with_monitoring("prod", monitoring)).monitoring
    assert prod.canary.enabled and prod.expect_traffic and prod.tracing.sampling_rate == 0.05
    dev = load_stack_config("dev", _with_monitoring("dev", monitoring)).monitoring
    assert not dev.canary.enabled and not dev.expect_traffic and dev.tracing.sampling_rate == 1.0


def test_unknown_alarm_kind_in_thresholds_is_named() -> None:
    problems = _problems("dev", _changed("dev", thresholds={"lambda-eror-rate": {"critical": 5}}))
    assert len(problems) == 1
    assert problems[0].startswith("prodready:monitoring.thresholds: lambda-eror-rate: unknown alarm kind "
                                  "'lambda-eror-rate'; thresholds apply to ")


def test_unknown_severity_in_thresholds_is_named() -> None:
    problems = _problems("dev", _changed("dev", thresholds={"api-5xx-rate": {"page": 5}}))
    assert len(problems) == 1
    assert problems[0].startswith("prodready:monitoring.thresholds.api-5xx-rate.page")


@pytest.mark.parametrize("value", [150, -1])
def test_percent_threshold_out_of_range_is_named(value: float) -> None:
    problems = _problems("dev", _changed("dev", thresholds={"lambda-error-rate": {"critical": value}}))
    assert problems[0].startswith("prodready:monitoring.thresholds:")
    assert "lambda-error-rate.critical: threshold must be between 0 and 100" in problems[0]


def test_null_threshold_is_accepted_and_removes_the_severity() -> None:
    config = load_stack_config("dev", _with_monitoring("dev", _changed(
        "dev", thresholds={"lambda-error-rate": {"warning": None}}))).monitoring
    assert config.thresholds == {"lambda-error-rate": {"warning": None}}


def test_bad_email_is_named() -> None:
    problems = _problems("dev", _changed("dev", alertEmails={"critical": ["oncall"], "warning": ["b@example.com"]}))
    assert problems == ["prodready:monitoring.alertEmails: critical: 'oncall' is not an email address "
                        "(got {'critical': ['oncall'], 'warning': ['b@example.com']})"]


def test_a_severity_without_subscriber_is_refused() -> None:
    problems = _problems("prod", _changed("prod", alertEmails={"critical": ["a@example.com"]}))
    assert len(problems) == 1
    assert problems[0].startswith("prodready:monitoring: alertEmails/webhookSecrets/chat: no subscriber for warning")


def test_a_webhook_counts_as_a_subscriber() -> None:
    config = load_stack_config("prod", _with_monitoring("prod", _changed(
        "prod", alertEmails={"warning": ["a@example.com"]},
        webhookSecrets={"critical": "alerting:criticalWebhookUrl"}))).monitoring
    assert config.webhook_secrets == {"critical": "alerting:criticalWebhookUrl"}


@pytest.mark.parametrize("key", ["prodready:criticalWebhook", "aws:webhook", "no-namespace", "alerting:"])
def test_webhook_secret_key_must_be_another_namespace(key: str) -> None:
    problems = _problems("dev", _changed("dev", webhookSecrets={"critical": key}))
    assert len(problems) == 1
    assert problems[0].startswith("prodready:monitoring.webhookSecrets: critical:")


def test_runbook_base_url_must_be_https_without_trailing_slash() -> None:
    for url in ("http://wiki.example.com/runbooks", "https://wiki.example.com/runbooks/"):
        problems = _problems("dev", _changed("dev", runbookBaseUrl=url))
        assert problems[0].startswith("prodready:monitoring.runbookBaseUrl:"), problems


@pytest.mark.parametrize(
    ("section", "value", "where"),
    [
        ("slo", {"availabilityTargetPercent": 100}, "prodready:monitoring.slo.availabilityTargetPercent"),
        ("slo", {"windowDays": 3}, "prodready:monitoring.slo.windowDays"),
        ("tracing", {"samplingRate": 1.5}, "prodready:monitoring.tracing.samplingRate"),
        ("canary", {"enabled": True, "schedule": "every 5 minutes"}, "prodready:monitoring.canary.schedule"),
        ("canary", {"runtimeVersion": "syn-python-selenium-5.1"}, "prodready:monitoring.canary.runtimeVersion"),
        ("canary", {"timeoutSeconds": 5}, "prodready:monitoring.canary.timeoutSeconds"),
    ],
)
def test_nested_values_are_validated_with_their_path(section: str, value: dict[str, Any], where: str) -> None:
    monitoring = _monitoring("prod")
    monitoring[section] = {**monitoring.get(section, {}), **value}
    problems = _problems("prod", monitoring)
    assert len(problems) == 1 and problems[0].startswith(where + ":"), problems


def test_unknown_monitoring_key_is_named() -> None:
    problems = _problems("dev", _changed("dev", dashbord=False))
    assert problems == ["prodready:monitoring.dashbord: unknown config key (value False) (did you mean 'dashboard'?)"]
