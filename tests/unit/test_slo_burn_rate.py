"""SLO burn-rate math matches the SRE workbook, and every window is an alarm CloudWatch accepts."""

from __future__ import annotations

import pytest

from components.monitoring import slo

HOUR, DAY = 3600, 86400


def test_thirty_day_table_is_the_workbook_table() -> None:
    # Given the workbook's 30-day SLO window, When the table is derived, Then it is the workbook's.
    rows = slo.burn_rate_windows(30)
    assert [(r.severity, r.long_window, r.short_window, r.burn_rate, r.budget_consumed) for r in rows] == [
        ("critical", 1 * HOUR, 5 * 60, 14.4, 0.02),
        ("critical", 6 * HOUR, 30 * 60, 6.0, 0.05),
        ("warning", 3 * DAY, 6 * HOUR, 1.0, 0.10),
    ]
    assert [r.name for r in rows] == ["1h5m", "6h30m", "3d6h"]


def test_short_window_is_a_twelfth_of_the_long_one() -> None:
    for row in slo.burn_rate_windows():
        assert row.long_window == 12 * row.short_window, row.name


@pytest.mark.parametrize(("consumed", "window", "expected"), [(0.02, HOUR, 14.4), (0.05, 6 * HOUR, 6.0),
                                                             (0.10, 3 * DAY, 1.0), (1.0, 30 * DAY, 1.0)])
def test_burn_rate_spends_the_budget_share_in_the_window(consumed: float, window: int, expected: float) -> None:
    rate = slo.burn_rate(consumed, window, 30)
    assert rate == pytest.approx(expected)
    # At that rate the window spends exactly that share of a 30-day budget.
    assert rate * window / (30 * DAY) == pytest.approx(consumed)


def test_a_shorter_slo_window_scales_the_thresholds() -> None:
    rows = slo.burn_rate_windows(28)
    assert [r.burn_rate for r in rows] == pytest.approx([13.44, 5.6, 0.933333], rel=1e-5)


def test_error_budget_and_error_ratio_thresholds() -> None:
    assert slo.error_budget(99.9) == 0.001
    assert slo.error_budget(99.0) == 0.01
    page = slo.burn_rate_windows()[0]
    assert page.error_ratio_threshold(99.9) == pytest.approx(0.0144)  # 1.44 % of requests failing
    with pytest.raises(ValueError):
        slo.error_budget(100)


def test_time_to_exhaustion() -> None:
    assert slo.time_to_exhaustion(1.0) == 30 * DAY
    assert slo.time_to_exhaustion(14.4) / HOUR == pytest.approx(50)


@pytest.mark.parametrize(("period", "evaluations"), [
    (10, 1), (30, 6), (60, 1440), (300, 288), (3600, 168), (3 * DAY, 1), (7 * DAY, 1), (21600, 28),
])
def test_alarm_windows_cloudwatch_accepts(period: int, evaluations: int) -> None:
    slo.check_alarm_window(period, evaluations)


@pytest.mark.parametrize(("period", "evaluations", "message"), [
    (45, 1, "multiple of 60"),
    (0, 1, "multiple of 60"),
    (300, 289, "limit of 86400 s for periods under 1 h"),   # > 1 day with a 5-min period
    (60, 1441, "limit of 86400 s"),
    (3600, 169, "limit of 604800 s"),                       # > 7 days
    (8 * DAY, 1, "limit of 604800 s"),
    (300, 0, "at least 1"),
])
def test_alarm_windows_cloudwatch_refuses(period: int, evaluations: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        slo.check_alarm_window(period, evaluations)


def test_every_workbook_window_is_one_legal_alarm_period() -> None:
    for row in slo.burn_rate_windows():
        for window in (row.long_window, row.short_window):
            slo.check_alarm_window(window, 1)


@pytest.mark.parametrize(("hours", "duration"), [(1, "PT1H"), (23, "PT23H"), (24, "P1D"), (25, "P1DT1H"),
                                                 (360, "P15D")])
def test_a_maintenance_window_becomes_a_weekly_cron_and_an_iso_duration(hours: int, duration: str) -> None:
    from components.monitoring.service_level import mute_schedule

    assert mute_schedule(["Tue", "Thu"], 3, hours) == ("cron(0 3 * * TUE,THU)", duration)


@pytest.mark.parametrize("hours", [0, 361])
def test_a_mute_rule_lasts_at_most_fifteen_days(hours: int) -> None:
    from components.monitoring.service_level import mute_schedule

    with pytest.raises(ValueError, match="15 days"):
        mute_schedule(["Sun"], 0, hours)
