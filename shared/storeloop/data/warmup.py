"""Pre-warm reservations: what each campaign with an expected peak needs provisioned, while its rush lasts.

One item per campaign, `PK WARMUP` / `SK CAMPAIGN#<id>`, with `needs` (target → environments) and `until`. The
partition holds only the campaigns being warmed right now (a handful), and is read by the warm flow's tasks
only, never on a request path: the provisioned concurrency of a target is the sum of the needs present.
"""

from __future__ import annotations

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError

from storeloop.data.models import Entity

WARMUP_PK = "WARMUP"


def _sk(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}"


class WarmReservation(Entity):
    campaign_id = UnicodeAttribute()
    needs = MapAttribute(default=dict)  # type: ignore[var-annotated]  # target → environments (numbers)
    peak_rps = NumberAttribute()
    until = UnicodeAttribute()  # when the release is due (RFC 3339)


def reserve(campaign_id: str, needs: dict[str, int], peak_rps: int, until: str) -> None:
    """Record (or overwrite with the same values: a retried task) what this campaign needs."""
    WarmReservation(WARMUP_PK, _sk(campaign_id), campaign_id=campaign_id, needs=dict(needs), peak_rps=peak_rps,
                    until=until).save()


def release(campaign_id: str) -> bool:
    """Drop the campaign's reservation; False if it had none (released already, or never warmed)."""
    try:
        WarmReservation(WARMUP_PK, _sk(campaign_id)).delete(condition=WarmReservation.PK.exists())
    except DeleteError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def totals() -> dict[str, int]:
    """Target → the sum of what every reservation present needs (consistent read of the one small partition)."""
    out: dict[str, int] = {}
    for r in WarmReservation.query(WARMUP_PK, consistent_read=True):
        for target, n in r.needs.as_dict().items():
            out[target] = out.get(target, 0) + int(n)
    return out
