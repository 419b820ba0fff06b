"""Resilience settings: backups with a copy in a second region and the recovery objectives they must meet,
the log archive, the audit trail (`ServiceBackup`, `LogArchive`, `AuditTrail`'s own argument types)."""

from __future__ import annotations

import itertools
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.settings import Settings

# DynamoDB keeps a table restorable to any second up to about five minutes ago while PITR is on
# (LatestRestorableDateTime): the in-region recovery point objective PITR can promise.
PITR_RPO_MINUTES = 5


def schedule_interval_minutes(expression: str) -> int | None:
    """Longest gap between two runs of an AWS Backup schedule, in minutes, or None when it cannot be read.

    Reads `cron(m h dom mon dow year)` with every day of the month (`*` or `?`) and a fixed minute:
    the hour field a number (daily), `*` (hourly), `*/n` or `a/n` (every n hours) or a list (the widest
    gap, wrapping past midnight). Anything else (weekdays only, days of the month) is not guessed at."""
    match = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", expression.strip())
    if not match:
        return None
    minute, hour, day, month, weekday, _year = match.groups()
    if not minute.isdigit() or day not in ("*", "?") or month != "*" or weekday not in ("*", "?"):
        return None
    if hour == "*":
        return 60
    step = re.fullmatch(r"(\*|\d{1,2})/(\d{1,2})", hour)
    if step:
        every = int(step.group(2))
        return every * 60 if every and 24 % every == 0 else None
    if re.fullmatch(r"\d{1,2}(,\d{1,2})*", hour):
        hours = sorted({int(h) for h in hour.split(",")})
        if any(h > 23 for h in hours):
            return None
        gaps = [b - a for a, b in itertools.pairwise(hours)] + [hours[0] + 24 - hours[-1]]
        return max(gaps) * 60
    return None


class ResilienceConfig(Settings):
    """Backups, their copy in a second region, and the recovery objectives they must meet."""

    enabled: bool = False
    """AWS Backup for the stack's tables: a vault per region under its own key, a plan with a copy
    action to the second region, notifications of failed jobs and alarms on them."""
    rpo_minutes: int = Field(default=60, ge=1, le=525_600)
    """Recovery point objective in the stack's region, in minutes: the most data a restore may lose.
    PITR meets it down to 5 minutes; without PITR only the backup interval can."""
    copy_rpo_minutes: int = Field(default=1440, ge=1, le=525_600)
    """Recovery point objective when the stack's region is lost, in minutes: only the copies in the
    second region survive, so it can be no shorter than the backup interval."""
    rto_minutes: int = Field(default=60, ge=15, le=10_080)
    """Recovery time objective, in minutes: from the decision to restore to a serving table. At least 15:
    a restore creates a new table, which takes minutes even when it is empty."""
    backup_schedule: str = "cron(0 3 * * ? *)"
    """When AWS Backup takes a backup (UTC cron expression; default daily at 03:00)."""
    retention_days: int = Field(default=30, ge=1, le=36_500)
    """Days a backup is kept in the stack's region."""
    cold_storage_after_days: int | None = Field(default=None, ge=1, le=36_500)
    """Days after which a backup moves to cold storage (cheaper; AWS Backup keeps it there at least 90
    days, so retentionDays must be at least this plus 90). None keeps every backup warm."""
    copy_region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    """Region of the second vault that receives a copy of every backup; None makes no copy."""
    copy_retention_days: int | None = Field(default=None, ge=1, le=36_500)
    """Days a copy is kept in the second region; None keeps it as long as the backup (retentionDays)."""
    restore_test_schedule: str | None = None
    """When AWS Backup restores the latest backup of the items table into a scratch table and a function
    validates it (schema, items) before AWS Backup deletes it (cron, UTC); None runs no restore test."""
    vault_lock: bool = False
    """Lock both vaults in governance mode: nobody deletes a backup before its retention ends, except a
    principal allowed backup:DeleteBackupVaultLockConfiguration (see the README for why not compliance)."""

    @field_validator("backup_schedule")
    @classmethod
    def _schedule_is_readable(cls, schedule: str) -> str:
        if schedule_interval_minutes(schedule) is None:
            raise ValueError(
                "use a cron expression AWS Backup accepts with every day of the month and a fixed minute, e.g. "
                "cron(0 3 * * ? *) (daily), cron(0 */6 * * ? *) (every 6 hours); the recovery point objectives "
                "are checked against its interval"
            )
        return schedule

    @model_validator(mode="after")
    def _lifecycle_aws_accepts(self) -> ResilienceConfig:
        cold = self.cold_storage_after_days
        if cold is not None and self.retention_days < cold + 90:
            raise ValueError(
                f"retentionDays ({self.retention_days}) must be at least coldStorageAfterDays ({cold}) + 90: "
                "AWS Backup keeps a backup in cold storage for at least 90 days"
            )
        if cold is not None and self.copy_retention_days is not None and self.copy_retention_days < cold + 90:
            raise ValueError(
                f"copyRetentionDays ({self.copy_retention_days}) must be at least coldStorageAfterDays ({cold}) "
                "+ 90: the copy moves to cold storage on the same schedule"
            )
        if self.restore_test_schedule is not None and not re.fullmatch(r"cron\(\S+( \S+){5}\)",
                                                                        self.restore_test_schedule):
            raise ValueError(
                f"restoreTestSchedule {self.restore_test_schedule!r} is not a cron expression AWS Backup accepts, "
                "e.g. cron(0 6 ? * MON *) (Mondays 06:00 UTC)"
            )
        if self.copy_retention_days is not None and self.copy_region is None:
            raise ValueError("copyRetentionDays applies only with copyRegion")
        return self

    @property
    def interval_minutes(self) -> int:
        """Longest gap between two backups (the schedule was validated readable)."""
        return schedule_interval_minutes(self.backup_schedule) or 0

    @property
    def copy_days(self) -> int:
        """Days a copy is kept in the second region."""
        return self.copy_retention_days or self.retention_days


# Storage classes a lifecycle rule may move the archive to, with the shortest age S3 accepts for it
# (S3 lifecycle: Standard-IA and One Zone-IA need objects at least 30 days old; the Glacier classes none).
ARCHIVE_STORAGE_CLASSES: dict[str, int] = {
    "STANDARD_IA": 30, "ONEZONE_IA": 30, "GLACIER_IR": 0, "GLACIER": 0, "DEEP_ARCHIVE": 0,
}


class LogArchiveConfig(Settings):
    """The function and access logs streamed to an S3 bucket of the stack, kept longer and cheaper than in
    CloudWatch Logs."""

    enabled: bool = False
    """Subscription filters on the function and access log groups feed a Firehose stream that writes to an
    encrypted, versioned, TLS-only bucket with a lifecycle; failed deliveries alarm."""
    archive_after_days: int = Field(default=30, ge=0, le=3650)
    """Days after which archived logs move to `storageClass`."""
    storage_class: Literal["STANDARD_IA", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"] = "GLACIER_IR"
    """The archive storage class (Glacier Instant Retrieval: milliseconds to read, billed 90 days at least)."""
    expire_after_days: int = Field(default=365, ge=1, le=36_500)
    """Days after which archived logs are deleted (older versions 30 days after they are replaced)."""

    @model_validator(mode="after")
    def _lifecycle_s3_accepts(self) -> LogArchiveConfig:
        minimum = ARCHIVE_STORAGE_CLASSES[self.storage_class]
        if self.archive_after_days < minimum:
            raise ValueError(
                f"archiveAfterDays ({self.archive_after_days}) must be at least {minimum} for storageClass "
                f"{self.storage_class} (S3 lifecycle refuses an earlier transition)"
            )
        if self.expire_after_days <= self.archive_after_days:
            raise ValueError(
                f"expireAfterDays ({self.expire_after_days}) must be later than archiveAfterDays "
                f"({self.archive_after_days})"
            )
        return self


class AuditTrailConfig(Settings):
    """A CloudTrail trail of the stack: who did what to its tables and its account region."""

    enabled: bool = False
    """Create the trail, its encrypted bucket and key. Turn it off where an organization trail already
    records this account (see the README for how to check): a second copy of management events is billed."""
    management_events: bool = True
    """Record management events (every control-plane call in the region, and global services such as IAM)."""
    data_events: bool = True
    """Record the stack's tables' data events (every item read and write: GetItem, PutItem, Query...)."""
    retention_days: int = Field(default=365, ge=1, le=36_500)
    """Days the trail's log files are kept in its bucket."""

    @model_validator(mode="after")
    def _records_something(self) -> AuditTrailConfig:
        if self.enabled and not (self.management_events or self.data_events):
            raise ValueError("managementEvents and dataEvents are both off: the trail would record nothing")
        return self
