"""Watched kind: a backup vault. AWS Backup counts, per vault, the jobs that failed: a failed backup
leaves the stack without that day's recovery point, a failed copy leaves the second region without it
(the objective when the region is lost, `resilience.copyRpoMinutes`, is then missed).

AWS/Backup publishes these metrics in the region that runs the job: backups and copies both run in
the stack's region (a copy job belongs to its source vault), so the alarms live there too. Source: AWS
Backup "Monitoring AWS Backup metrics with CloudWatch" (cloudwatch.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.monitoring.catalog import GT, AlarmContext, AlarmKind, AlarmSpec, metric_alarm
from components.monitoring.kinds.base import LogFilter
from components.monitoring.metrics import BACKUP_NS, Metric
from components.monitoring.panels import Band, Panel, shown

# Backups run once a schedule interval; an hour's sum says whether any job of that hour failed.
BACKUP_JOBS_FAILED = AlarmKind(
    "backup-jobs-failed", "Backup jobs failed", "vault", "count", GT,
    "more than {threshold:g} backup jobs into the vault failed over {window}", {"warning": 0},
    period=3600)
COPY_JOBS_FAILED = AlarmKind(
    "backup-copy-jobs-failed", "Backup copy jobs failed", "vault", "count", GT,
    "more than {threshold:g} copies of the vault's backups to the second region failed over {window}",
    {"warning": 0}, period=3600)

ALARM_KINDS: tuple[AlarmKind, ...] = (BACKUP_JOBS_FAILED, COPY_JOBS_FAILED)


@dataclass(frozen=True)
class WatchedVault:
    """A backup vault of the stack's region whose jobs are watched."""

    key: str
    """Short key in alarm and resource names (`backup`)."""
    vault_name: Any
    """Vault name (the BackupVaultName dimension)."""
    copies: bool = True
    """Whether its backups are copied to a second region (the copy alarm exists only then)."""

    def _backup(self, name: str, label: str) -> Metric:
        return Metric(BACKUP_NS, name, {"BackupVaultName": self.vault_name}, "Sum", label)

    def backups_failed(self) -> Metric:
        return self._backup("NumberOfBackupJobsFailed", "Backup jobs failed")

    def backups_completed(self) -> Metric:
        return self._backup("NumberOfBackupJobsCompleted", "Backup jobs completed")

    def copies_failed(self) -> Metric:
        return self._backup("NumberOfCopyJobsFailed", "Copy jobs failed")

    def copies_completed(self) -> Metric:
        return self._backup("NumberOfCopyJobsCompleted", "Copy jobs completed")

    def alarms(self, ctx: AlarmContext) -> list[AlarmSpec]:
        specs = [
            metric_alarm(ctx, BACKUP_JOBS_FAILED, severity=severity, resource=self.key,
                         subject=f"Backups of {ctx.prefix}", threshold=threshold, panel="backup-jobs",
                         metric=self.backups_failed().at(BACKUP_JOBS_FAILED.period),
                         extra="The failed job's message is in the warning topic's notification and in the "
                               "AWS Backup console (Jobs).")
            for severity, threshold in ctx.each_severity(BACKUP_JOBS_FAILED.kind, self.key)
        ]
        if self.copies:
            specs += [
                metric_alarm(ctx, COPY_JOBS_FAILED, severity=severity, resource=self.key,
                             subject=f"Backups of {ctx.prefix}", threshold=threshold, panel="copy-jobs",
                             metric=self.copies_failed().at(COPY_JOBS_FAILED.period),
                             extra="Until a copy succeeds the second region holds only older recovery points.")
                for severity, threshold in ctx.each_severity(COPY_JOBS_FAILED.kind, self.key)
            ]
        return specs

    def band(self, ctx: AlarmContext) -> Band:
        panels = [Panel("backup-jobs", "backup jobs", (shown(self.backups_completed()), shown(self.backups_failed())),
                        "count", BACKUP_JOBS_FAILED.period, width=12)]
        if self.copies:
            panels.append(Panel("copy-jobs", "copies to the second region",
                                (shown(self.copies_completed()), shown(self.copies_failed())), "count",
                                COPY_JOBS_FAILED.period, width=12))
        return Band(self.key, "Backups", tuple(panels))

    def log_filters(self) -> list[LogFilter]:
        return []
