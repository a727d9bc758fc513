"""Key builders more than one aggregate writes under: the member's and the campaign's partitions (plain strings).

Each aggregate's own keys stay in its module (docs/data-model.md lists them all); these are the partitions other
aggregates keep items in (consents, grants, holdings, the points ledger under the member; entry codes under the
campaign), so they are defined once here. Nothing is imported: the authorizer's read (data/access.py) uses it too.
"""

from __future__ import annotations

MEMBER_PREFIX = "MEMBER#"


def member_pk(member_id: str) -> str:
    return f"{MEMBER_PREFIX}{member_id}"


def campaign_pk(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}"
