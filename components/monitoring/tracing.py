"""X-Ray names and expressions for a stack. Pure functions.

A sampling rule per stack matches the stack's services by name (`<prefix>-*`, which covers every
function this stack names) and sets the stack's rate: dev traces every request, prod a reservoir per
second plus a share of the rest. Note that Lambda decides sampling for a function's own segment
when no upstream service sent a tracing header, and AWS documents that rate (1 request per second
plus 5 %) as not configurable for functions; the rule applies wherever the X-Ray service makes the
decision for our services (SDK-instrumented entry points, a REST API or Step Functions in front).
That holds with either tracing provider (`lambda.tracing.provider`): the OpenTelemetry layer's
parent-based sampler follows the decision Lambda passes in `_X_AMZN_TRACE_ID`, as the X-Ray SDK does
(docs/tracing.md).
The group collects the stack's traces with faults (5xx) or errors (4xx) and has X-Ray Insights and
its notifications on, so anomalies in them reach EventBridge.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

# X-Ray limits: sampling rule names and group names are at most 32 characters.
MAX_NAME_LENGTH = 32
# Lower numbers are evaluated first; the Default rule is 10000.
SAMPLING_RULE_PRIORITY = 9000


def xray_name(prefix: str, suffix: str) -> str:
    """`<prefix>-<suffix>`, shortened with a stable hash when it exceeds X-Ray's 32 characters."""
    name = f"{prefix}-{suffix}"
    if len(name) <= MAX_NAME_LENGTH:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:6]
    keep = MAX_NAME_LENGTH - len(suffix) - len(digest) - 2
    return f"{prefix[:keep]}-{digest}-{suffix}"


def sampling_service_pattern(prefix: str) -> str:
    """Service-name pattern of the rule: every service this stack names."""
    return f"{prefix}-*"


def faults_filter_expression(service_names: Sequence[str]) -> str:
    """Traces through any of the stack's services that carry a fault or an error."""
    if not service_names:
        raise ValueError("a fault group needs at least one service name")
    return " OR ".join(f'service("{name}") {{ fault = true OR error = true }}' for name in service_names)
