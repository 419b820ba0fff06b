"""CloudWatch limits an alarm set can reach, and how the stack config is kept within them.

The limits (PutMetricAlarm, PutCompositeAlarm and the alarm quotas) are met by bounds on the config,
checked with the rest of it before any resource is registered, each naming its key:

- at most `MAX_ALARM_METRICS - 1` global secondary indexes (a table's throttle alarm sums the table's
  metric and each index's, `table.globalSecondaryIndexes`);
- service and stack names of at most 24 characters (alarm names, `service`);
- a runbook base URL of at most `MAX_RUNBOOK_BASE_URL_LENGTH` characters (descriptions end with it,
  `monitoring.runbookBaseUrl`);
- thresholds for known kinds and watched keys only, at most 20 certificates (the alarm count, hence the
  critical roll-up's rule and the dashboard, `monitoring.thresholds`, `monitoring.certificateArns`).

That those bounds are enough is a fact of the catalog, proved by a test that plans the largest stack
the bounds allow and checks every alarm and the dashboard it registers. So a program run builds each alarm
once, in the monitoring component, which still checks its set (`alarm_set_problems`): a program watching
more than this one does is told before it registers an alarm CloudWatch would refuse.
"""

from __future__ import annotations

from components.monitoring.catalog import (
    MAX_ALARM_DESCRIPTION_LENGTH,
    MAX_ALARM_METRICS,
    MAX_ALARM_NAME_LENGTH,
    MAX_ALARM_RULE_LENGTH,
    AlarmSet,
    AlarmSpec,
    CompositeSpec,
)


def alarm_set_problems(alarms: AlarmSet) -> list[str]:
    """Every alarm of the set beyond CloudWatch's limits (empty when it is within them)."""
    problems: list[str] = []
    for spec in alarms.alarms:
        if len(spec.metrics) > MAX_ALARM_METRICS:
            problems.append(f"alarm {spec.name} reads {len(spec.metrics)} metrics; a metric-math alarm "
                            f"may reference at most {MAX_ALARM_METRICS}")
    every: list[AlarmSpec | CompositeSpec] = [*alarms.alarms, *alarms.composites]
    for spec in every:
        if len(spec.name) > MAX_ALARM_NAME_LENGTH:
            problems.append(f"alarm name {spec.name[:60]}... is {len(spec.name)} characters; "
                            f"at most {MAX_ALARM_NAME_LENGTH}")
        if len(spec.description) > MAX_ALARM_DESCRIPTION_LENGTH:
            problems.append(f"alarm {spec.name} has a {len(spec.description)}-character description; "
                            f"at most {MAX_ALARM_DESCRIPTION_LENGTH}")
    for composite in alarms.composites:
        rule = composite.rule()
        if len(rule) > MAX_ALARM_RULE_LENGTH:
            problems.append(f"composite {composite.name} has a {len(rule)}-character rule; "
                            f"at most {MAX_ALARM_RULE_LENGTH}")
    return problems
