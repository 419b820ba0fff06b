"""SLO burn-rate math (Google SRE workbook, "Alerting on SLOs") and CloudWatch's alarm-window limits.

Pure functions. The workbook's recommended multiwindow, multi-burn-rate alerts for a 30-day SLO:

| severity | long window | short window | burn rate | budget consumed |
| -------- | ----------- | ------------ | --------- | --------------- |
| page     | 1 h         | 5 min        | 14.4      | 2 %             |
| page     | 6 h         | 30 min       | 6         | 5 %             |
| ticket   | 3 d         | 6 h          | 1         | 10 %            |

The burn rate is not a magic number: it is the rate at which `budget consumed` of the SLO window's
error budget is spent in `long window`, i.e. `consumed * slo_window / long_window`. We derive it so that
a different SLO window (say 28 days) gets consistent thresholds. The short window is 1/12 of the long
one, as the workbook recommends, and makes the alert stop soon after the burning stops.

CloudWatch constraints (PutMetricAlarm): a period is 10, 20, 30 or a multiple of 60 seconds;
`period * evaluation_periods` is at most 7 days, and at most 1 day when the period is shorter than
1 hour. Each window here is one alarm period (`evaluation_periods = 1`), which those limits allow
for every row, the 3-day window included (259200 s, period >= 1 h, <= 604800 s). The alarm uses
CloudWatch's default sliding evaluation window, so each window is a rolling one.
"""

from __future__ import annotations

from dataclasses import dataclass

SLO_WINDOW_DAYS = 30
HOUR = 3600
DAY = 86400

# Workbook rows: (severity, long window s, short window s, share of the window's budget consumed).
WORKBOOK_ROWS: tuple[tuple[str, int, int, float], ...] = (
    ("critical", 1 * HOUR, 5 * 60, 0.02),
    ("critical", 6 * HOUR, 30 * 60, 0.05),
    ("warning", 3 * DAY, 6 * HOUR, 0.10),
)

MAX_EVALUATION_RANGE = 7 * DAY
MAX_EVALUATION_RANGE_SHORT_PERIOD = DAY


@dataclass(frozen=True)
class BurnRateWindow:
    """One row of the multiwindow, multi-burn-rate alert table."""

    severity: str
    """critical pages, warning opens a ticket."""
    long_window: int
    """Seconds."""
    short_window: int
    """Seconds."""
    budget_consumed: float
    """Share of the SLO window's error budget spent when this alert fires (0.02 = 2 %)."""
    burn_rate: float
    """Multiple of the sustainable error rate that fires the alert."""

    @property
    def name(self) -> str:
        """Stable short name, e.g. `1h5m`."""
        return f"{_short(self.long_window)}{_short(self.short_window)}"

    def error_ratio_threshold(self, target_percent: float) -> float:
        """Bad-request ratio over a window that means burning at this rate."""
        return self.burn_rate * error_budget(target_percent)


def _short(seconds: int) -> str:
    if seconds % DAY == 0:
        return f"{seconds // DAY}d"
    if seconds % HOUR == 0:
        return f"{seconds // HOUR}h"
    return f"{seconds // 60}m"


def error_budget(target_percent: float) -> float:
    """Allowed bad-request ratio of an SLO: 99.9 % -> 0.001 (rounded off float noise)."""
    if not 0 < target_percent < 100:
        raise ValueError(f"an SLO target is a percentage strictly between 0 and 100, got {target_percent}")
    return round(1 - target_percent / 100, 12)


def burn_rate(budget_consumed: float, long_window: int, slo_window_days: int = SLO_WINDOW_DAYS) -> float:
    """Burn rate that spends `budget_consumed` of the budget in `long_window` seconds."""
    return round(budget_consumed * slo_window_days * DAY / long_window, 6)


def burn_rate_windows(slo_window_days: int = SLO_WINDOW_DAYS) -> tuple[BurnRateWindow, ...]:
    """The workbook table for an SLO window, every window checked against CloudWatch's limits."""
    rows = []
    for severity, long_window, short_window, consumed in WORKBOOK_ROWS:
        for window in (long_window, short_window):
            check_alarm_window(window, 1)
        rows.append(BurnRateWindow(severity, long_window, short_window, consumed,
                                   burn_rate(consumed, long_window, slo_window_days)))
    return tuple(rows)


def time_to_exhaustion(rate: float, slo_window_days: int = SLO_WINDOW_DAYS) -> float:
    """Seconds until the whole budget is gone at a burn rate (30 days at 1x, ~50 h at 14.4x)."""
    return slo_window_days * DAY / rate


def check_alarm_window(period: int, evaluation_periods: int) -> None:
    """Raise ValueError when CloudWatch would refuse this period and evaluation range."""
    if period not in (10, 20, 30) and (period <= 0 or period % 60):
        raise ValueError(f"alarm period {period} s: use 10, 20, 30 or a multiple of 60")
    if evaluation_periods < 1:
        raise ValueError("evaluation periods must be at least 1")
    span = period * evaluation_periods
    limit = MAX_EVALUATION_RANGE if period >= HOUR else MAX_EVALUATION_RANGE_SHORT_PERIOD
    if span > limit:
        raise ValueError(
            f"alarm evaluation range {span} s (period {period} s x {evaluation_periods}) exceeds CloudWatch's "
            f"limit of {limit} s for periods {'of 1 h or more' if period >= HOUR else 'under 1 h'}"
        )
