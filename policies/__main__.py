"""prodready-guard: the CrossGuard policy pack of prodready. Builds and serves the pack, nothing else.

Run by the engine: `pulumi preview -s prod --policy-pack policies --policy-pack-config
policies/config/prod.json`. The rules live in the prodready_policy package next to this file.
"""

from __future__ import annotations

import gc
import signal

from prodready_policy.pack import ENFORCEMENT_LEVEL, GC_THRESHOLDS, PACK_NAME, all_policies
from pulumi_policy import PolicyPack

# The SDK builds a proxy tree per resource for every stack policy and drops them all when the call
# returns; with CPython's default thresholds the collector re-walks those live trees so often that
# AnalyzeStack grows faster than the stack (see pack.GC_THRESHOLDS).
gc.set_threshold(*GC_THRESHOLDS)
# SIGTERM stops the pack as SIGINT does (the SDK stops its server on KeyboardInterrupt and the
# process exits 0): a pack started by a background job inherits an ignored SIGINT, so whoever
# stops it has only SIGTERM left for a clean stop.
signal.signal(signal.SIGTERM, signal.default_int_handler)

PolicyPack(
    name=PACK_NAME,
    enforcement_level=ENFORCEMENT_LEVEL,
    policies=all_policies(),
)
