"""The cost and traffic config sections: committed values, profiles, and mistakes named by key."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from components.config import PROFILES, ConfigError, load_stack_config
from tests.conftest import COMMITTED_STACKS
from tools.config_reference import profile_values
from tools.plan.harness import PROJECT_DIR, committed_config, stack_config


def _committed(stack: str, section: str) -> dict[str, Any]:
    return yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"].get(f"prodready:{section}", {})


def _raw(stack: str, section: str, **changes: Any) -> dict[str, Any]:
    raw, _ = stack_config(stack)
    raw[f"prodready:{section}"] = json.dumps({**_committed(stack, section), **changes})
    return raw


def _problems(stack: str, raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(stack, raw)
    assert caught.value.stack == stack
    return caught.value.problems


def test_committed_stacks_have_a_budget_and_a_traffic_level() -> None:
    dev = committed_config("dev")
    prod = committed_config("prod")
    # prod's stack file raises the profile's 200 to 250 for its resilience layer (backups, archive, trail).
    assert dev.cost.monthly_budget_usd < prod.cost.monthly_budget_usd == 250
    assert prod.cost.anomaly_frequency == "IMMEDIATE" and prod.cost.anomaly_threshold_usd == 10
    assert dev.cost.anomaly_frequency == "DAILY" and dev.cost.budget_emails
    assert dev.traffic.requests_per_month < prod.traffic.requests_per_month
    assert dev.cost.estimate_warn_share == prod.cost.estimate_warn_share == 0.8


def test_exactly_one_committed_stack_owns_the_account_level_settings() -> None:
    configs = [committed_config(s) for s in COMMITTED_STACKS]
    owners = [c.stack for c in configs if c.cost.manage_cost_allocation_tags]
    billing = [c.stack for c in configs if c.cost.billing_alarm]
    assert owners == ["prod"] and billing == ["prod"]


def test_profiles_default_the_account_level_switches_off() -> None:
    for profile in profile_values().values():
        assert profile["cost"]["manageCostAllocationTags"] is False
        assert profile["cost"]["billingAlarm"] is False
    assert PROFILES["prod"]["cost"]["monthlyBudgetUsd"] == 250  # the backups in two regions included
    assert PROFILES["dev"]["cost"]["monthlyBudgetUsd"] < 250


@pytest.mark.parametrize(("stack", "section", "changes", "expected"), [
    ("prod", "cost", {"monthlyBudgetUsd": 0}, "prodready:cost.monthlyBudgetUsd: Input should be greater than 0"),
    ("prod", "cost", {"budgetEmails": ["finops"]}, "prodready:cost.budgetEmails: 'finops' is not an email"),
    ("prod", "cost", {"budgetEmails": ["a@example.com", "a@example.com"]}, "prodready:cost.budgetEmails: duplicate"),
    ("prod", "cost", {"anomalyThresholdUsd": -5}, "prodready:cost.anomalyThresholdUsd:"),
    ("prod", "cost", {"anomalyFrequency": "HOURLY"}, "prodready:cost.anomalyFrequency:"),
    ("prod", "cost", {"estimateWarnShare": 1.5}, "prodready:cost.estimateWarnShare:"),
    ("prod", "cost", {"billingAlarmThreshold": 10}, "prodready:cost.billingAlarmThreshold: unknown config key"),
    ("dev", "cost", {"budgetEmails": []}, "prodready:cost: anomalyFrequency DAILY delivers by email only"),
    ("prod", "cost", {"billingAlarmThresholdUsd": None}, "prodready:cost: billingAlarm needs billingAlarmThresholdUsd"),
    ("prod", "cost", {"budgetEmails": [], "billingAlarm": True},
     "prodready:cost: billingAlarm notifies budgetEmails"),
    ("prod", "traffic", {"requestsPerMonth": -1}, "prodready:traffic.requestsPerMonth:"),
    ("dev", "traffic", {"averageDurationMs": 0}, "prodready:traffic.averageDurationMs:"),
    ("dev", "traffic", {"storedGb": "lots"}, "prodready:traffic.storedGb:"),
    ("dev", "traffic", {"requestsPerSecond": 3}, "prodready:traffic.requestsPerSecond: unknown config key"),
])
def test_invalid_values_are_named_by_key(stack: str, section: str, changes: dict[str, Any], expected: str) -> None:
    problems = _problems(stack, _raw(stack, section, **changes))
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems


def test_an_immediate_stack_may_have_no_emails_without_the_billing_alarm() -> None:
    config = load_stack_config("prod", _raw("prod", "cost", budgetEmails=[], billingAlarm=False))
    assert config.cost.budget_emails == () and config.cost.anomaly_frequency == "IMMEDIATE"
