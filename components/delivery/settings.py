"""Release settings: how a new version reaches traffic (`SafeDelivery`'s own argument type)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from components.delivery import windows as release_windows
from components.settings import Settings


class ReleaseWindow(Settings):
    """Weekdays and UTC hours in which `pulumi up` may start a release."""

    days: list[Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]] = Field(min_length=1)
    """Weekdays (UTC), e.g. [Tue, Wed, Thu]."""
    start_hour: int = Field(ge=0, le=23)
    """First UTC hour of the window (inclusive)."""
    end_hour: int = Field(ge=1, le=24)
    """UTC hour the window closes (exclusive): 2 to 4 admits 02:00 to 03:59."""

    @model_validator(mode="after")
    def _ordered(self) -> ReleaseWindow:
        if self.start_hour >= self.end_hour:
            raise ValueError(f"startHour ({self.start_hour}) must be before endHour ({self.end_hour}); a window "
                             f"over midnight is two windows")
        return self

    def window(self) -> release_windows.Window:
        return release_windows.Window(tuple(self.days), self.start_hour, self.end_hour)


class DeliveryConfig(Settings):
    """How a new version reaches traffic: CodeDeploy shifts the live alias, watched by the release alarms."""

    strategy: Literal["canary", "linear", "all-at-once"] = "canary"
    """canary: `percentage` for `intervalMinutes`, then the rest; linear: `percentage` more every
    `intervalMinutes`; all-at-once: every request at once (still after the pre-traffic check)."""
    percentage: int = Field(default=10, ge=1, le=99)
    """Share of traffic of the canary step, or of each linear step."""
    interval_minutes: int = Field(default=5, ge=1, le=1440)
    """Minutes between steps, while the release alarms watch."""
    pre_traffic_check: bool = True
    """Before any traffic moves, a hook function invokes the new version with the readiness route and a
    read; a version that fails never gets a request."""
    # Strict: a YAML string such as "no" must not be read as a switch that is on.
    post_traffic_check: StrictBool = True
    """Once all traffic has moved, a hook function sends the smoke test's reads through the alias; a
    failure fails the release and CodeDeploy moves the alias back to the previous version."""
    keep_versions: int = Field(default=3, ge=2, le=100)
    """Published versions kept after each release (the live one and those before it, for a rollback);
    older ones are deleted: each is stored and, with SnapStart, its snapshot is billed while it exists."""
    retry_failed_version: bool = False
    """Release a version again although its last release failed (set it, `pulumi up`, unset it): without
    it a failed version is never sent to traffic a second time by a later update."""
    max_release_minutes: int = Field(default=45, ge=5, le=345)
    """The longest a release may take, waited for inside `pulumi up` (traffic shifting plus the hooks and
    CodeDeploy's overhead). Keep it below the deploy credentials' lifetime (a CI role's session is 1 hour
    by default) and the CI job's timeout; raise all three together."""

    windows: list[ReleaseWindow] = Field(default_factory=list)
    """When a release may start (e.g. [{days: [Tue, Wed, Thu], startHour: 2, endHour: 4}]); empty: any time.
    Outside them `pulumi up` fails before deploying, naming them; rollbacks are always allowed."""
    outside_window: StrictBool = False
    """Release now although no window is open: set it for one update, then unset it."""
    freeze_on_error_budget: StrictBool = False
    """Refuse to start a release while an availability SLO burn-rate alarm is in ALARM (the error budget
    is being spent faster than the SLO allows); needs monitoring.slo.burnRateAlerts."""
    ignore_error_budget: StrictBool = False
    """Release despite the error-budget freeze (a fix forward): set it for one update, then unset it."""

    @field_validator("windows")
    @classmethod
    def _distinct(cls, value: list[ReleaseWindow]) -> list[ReleaseWindow]:
        if len({(tuple(w.days), w.start_hour, w.end_hour) for w in value}) != len(value):
            raise ValueError("the same window is declared twice")
        return value

    # What a release takes beyond its traffic shifting: CodeDeploy's start-up, the hooks (their timeouts),
    # the final alias update, and a margin; past it `pulumi up` stops the deployment and rolls back.
    OVERHEAD_MINUTES: ClassVar[int] = 15

    @model_validator(mode="after")
    def _release_fits(self) -> DeliveryConfig:
        if self.release_minutes > self.max_release_minutes:
            raise ValueError(
                f"a {self.strategy} release of {self.percentage}% every {self.interval_minutes} min takes up to "
                f"{self.release_minutes} min ({self.total_minutes} of traffic shifting, {self.OVERHEAD_MINUTES} for "
                f"CodeDeploy and the hooks), more than maxReleaseMinutes ({self.max_release_minutes}): `pulumi up` "
                f"would outlive its deploy credentials. Shorten intervalMinutes, raise percentage, or raise "
                f"maxReleaseMinutes together with the deploy role's session duration and the CI job's timeout"
            )
        return self

    @property
    def release_minutes(self) -> int:
        """The longest a release may take, hooks and CodeDeploy included."""
        return self.total_minutes + self.OVERHEAD_MINUTES

    @property
    def total_minutes(self) -> int:
        """How long the traffic shifting takes after the pre-traffic check."""
        if self.strategy == "canary":
            return self.interval_minutes
        if self.strategy == "linear":
            return self.interval_minutes * (-(-100 // self.percentage) - 1)
        return 0
