"""prodready-guard: the CrossGuard policy pack of prodready. Builds and serves the pack, nothing else.

Run by the engine: `pulumi preview -s prod --policy-pack policies --policy-pack-config
policies/config/prod.json`. The rules live in the prodready_policy package next to this file.
"""

from __future__ import annotations

from prodready_policy.pack import ENFORCEMENT_LEVEL, PACK_NAME, all_policies
from pulumi_policy import PolicyPack

PolicyPack(
    name=PACK_NAME,
    enforcement_level=ENFORCEMENT_LEVEL,
    policies=all_policies(),
)
