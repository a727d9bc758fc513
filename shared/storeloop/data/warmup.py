"""Pre-warm reservations: what each campaign or flash sale with an expected peak needs provisioned, while its
rush lasts.

One item per campaign or sale, `PK WARMUP` / `SK CAMPAIGN#<id>` or `FLASH_SALE#<id>`, with `needs` (target →
environments) and `until`. The partition holds only what is being warmed right now (a handful), and is read by
the warm flow's tasks only, never on a request path: the provisioned concurrency of a target is the sum of the
needs present.
"""

from __future__ import annotations

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError

from storeloop.data.models import Entity

WARMUP_PK = "WARMUP"


def _sk(subject_id: str, kind: str = "campaign") -> str:
    return f"{kind.upper()}#{subject_id}"


class WarmReservation(Entity):
    campaign_id = UnicodeAttribute()  # the campaign's or the flash sale's id (named before sales were warmed)
    kind = UnicodeAttribute(default="campaign")  # campaign | flash_sale
    needs = MapAttribute(default=dict)  # type: ignore[var-annotated]  # target → environments (numbers)
    peak_rps = NumberAttribute()
    until = UnicodeAttribute()  # when the release is due (RFC 3339)


def reserve(subject_id: str, needs: dict[str, int], peak_rps: int, until: str, kind: str = "campaign") -> None:
    """Record (or overwrite with the same values: a retried task) what this campaign or sale needs."""
    WarmReservation(WARMUP_PK, _sk(subject_id, kind), campaign_id=subject_id, kind=kind, needs=dict(needs),
                    peak_rps=peak_rps, until=until).save()


def release(subject_id: str, kind: str = "campaign") -> bool:
    """Drop the reservation; False if there was none (released already, or never warmed)."""
    try:
        WarmReservation(WARMUP_PK, _sk(subject_id, kind)).delete(condition=WarmReservation.PK.exists())
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
