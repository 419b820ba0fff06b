"""Release settings: how a new version reaches traffic (`SafeDelivery`'s own argument type)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, StrictBool, model_validator

from components.settings import Settings


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
