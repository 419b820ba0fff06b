"""Change windows and the error-budget freeze: when `pulumi up` may start a release. Pure.

A window is a set of weekdays and an hour range in UTC, `[startHour, endHour)`: Tue-Thu 02-04 admits
Tuesday 02:00:00 and refuses Tuesday 04:00:00. With no window declared, any time is a release time.
Outside every window the release provider refuses to start a deployment, naming the windows and the
one-update override (`delivery.outsideWindow: true`). Rollbacks (`tools.release rollback`) never ask.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

DAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
OVERRIDE_KEY = "prodready:delivery.outsideWindow"
FREEZE_OVERRIDE_KEY = "prodready:delivery.ignoreErrorBudget"


@dataclass(frozen=True)
class Window:
    """Weekdays (`Mon`..`Sun`) and UTC hours `[start_hour, end_hour)` in which releases may start."""

    days: tuple[str, ...]
    start_hour: int
    end_hour: int

    def __post_init__(self) -> None:
        unknown = [d for d in self.days if d not in DAYS]
        if unknown or not self.days:
            raise ValueError(f"days must be a non-empty list of {list(DAYS)}, got {list(self.days)}")
        if not 0 <= self.start_hour < self.end_hour <= 24:
            raise ValueError(f"need 0 <= startHour < endHour <= 24, got {self.start_hour}-{self.end_hour}")

    def admits(self, now: datetime) -> bool:
        now = now.astimezone(UTC)
        return DAYS[now.weekday()] in self.days and self.start_hour <= now.hour < self.end_hour

    def __str__(self) -> str:
        days = sorted(self.days, key=DAYS.index)
        indexes = [DAYS.index(d) for d in days]
        run = len(days) > 2 and indexes == list(range(indexes[0], indexes[0] + len(days)))
        named = f"{days[0]}-{days[-1]}" if run else ",".join(days)
        return f"{named} {self.start_hour:02d}:00-{self.end_hour:02d}:00 UTC"


def windows_from(config: Iterable[dict]) -> tuple[Window, ...]:
    """Windows from their stack-config (or provider-input) shape: `{days, startHour, endHour}`."""
    return tuple(Window(tuple(w["days"]), int(w["startHour"]), int(w["endHour"])) for w in config)


def window_refusal(windows: Sequence[Window], now: datetime, override: bool = False) -> str | None:
    """Why a release may not start at `now` (None: it may)."""
    if not windows or override or any(w.admits(now) for w in windows):
        return None
    return (f"it is {now.astimezone(UTC):%a %H:%M} UTC, outside the release windows ({'; '.join(map(str, windows))}). "
            f"Release inside a window, or set `{OVERRIDE_KEY}: true` for this one update (and unset it after); "
            f"`python -m tools.release rollback` is always allowed")


def freeze_refusal(alarms_in_alarm: Sequence[str], override: bool = False) -> str | None:
    """Why a release may not start while the availability error budget burns (None: it may)."""
    if not alarms_in_alarm or override:
        return None
    return (f"releases are frozen: the availability SLO's error budget is burning too fast "
            f"({', '.join(alarms_in_alarm)} in ALARM). Fix forward with an override, `{FREEZE_OVERRIDE_KEY}: true` "
            f"for this one update, or wait for the alarms to clear; `python -m tools.release rollback` is always "
            f"allowed")
