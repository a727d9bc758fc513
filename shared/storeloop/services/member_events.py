"""Issue 9: MainTable's stream, for members — the first touch (the earliest source of a view or claim), the stores a
member bought at (what segments read), and the welcome gift, issued exactly once after a shopper becomes a member by
any path (verification, paid order, POS sale). docs/sources.md and docs/segments.md say why here.

Every write is idempotent on its own (a condition on the earliest time, a string set, the gift's marker in the
gift's claim transaction), so Lambda redelivering or bisecting a batch changes nothing twice.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from storeloop.data import coupon_claims, coupons, welcome
from storeloop.data.records import images, record_kind
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from storeloop.domain.errors import DomainError
from storeloop.schemas.welcome import WelcomeGiftOut, WelcomeGiftRequest

logger = Logger(service="storeloop", child=True)


def _member(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value != "erased" else None


def _handle(record: dict[str, Any]) -> None:
    kind = record_kind(record)
    event = record.get("eventName")
    old, new = images(record)
    if event == "INSERT" and kind == "coupon" and new.get("source_channel"):
        member = _member(new.get("member_id"))
        if member:
            welcome.set_first_touch(member, {"channel": new["source_channel"], "store_id": new.get("source_store_id"),
                                             "ref": new.get("source_ref")}, new["claimed_at"])
    elif event == "INSERT" and kind == "view" and new.get("channel", "direct") != "direct":
        member = _member(new.get("member_id"))
        if member:
            welcome.set_first_touch(member, {"channel": new["channel"], "store_id": new.get("store_id"),
                                             "ref": new.get("ref")}, new["viewed_at"])
    elif kind == "order" and old.get("status") != "paid" and new.get("status") == "paid":
        member = _member(new.get("member_id"))
        if member:
            welcome.add_store_bought(member, new["store_id"])
    elif kind == "pos_sale" and old.get("status") != "done" and new.get("status") == "done":
        member = _member(new.get("member_id"))
        if member:
            welcome.add_store_bought(member, new["store_id"])
    elif kind == "member_profile" and not old.get("joined_at") and new.get("joined_at"):
        member = _member(new.get("member_id"))
        if member:
            give_welcome_gift(member)


def give_welcome_gift(member_id: str) -> str | None:
    """One coupon of the welcome gift's template, once per member (the marker rides in the claim's transaction).
    Returns the coupon id, or None when there is no gift, it was given already, or stock or limits refuse it."""
    setting = welcome.get_setting()
    if setting is None or not setting.template_id or welcome.given(member_id):
        return None
    template = coupons.get_template(setting.template_id)
    if template is None:
        return None
    now = clock.now()
    try:
        coupon = coupon_claims.claim(template, welcome.WELCOME_CAMPAIGN, member_id, now,
                                     extra=welcome.mark_given(member_id, template.template_id, to_rfc3339(now)))
    except coupon_claims.ExtraRefused:
        return None  # given by an earlier delivery of this record
    except DomainError as exc:  # sold out, limits: the gift is simply not given (logged for HQ)
        logger.warning("welcome gift not given", extra={"member_id": member_id, "reason": exc.code})
        return None
    logger.info("welcome gift given", extra={"member_id": member_id, "coupon_id": coupon.coupon_id})
    return coupon.coupon_id


def process_stream_batch(records: list[dict[str, Any]]) -> dict[str, Any]:
    for record in records:
        _handle(record)
    return {"batchItemFailures": []}


def put_welcome_gift(caller_id: str, body: WelcomeGiftRequest) -> WelcomeGiftOut:
    from storeloop.errors import ValidationFailed

    if body.template_id is not None and coupons.get_template(body.template_id) is None:
        raise ValidationFailed("unknown template", details=[{"field": "template_id", "issue": "unknown",
                                                             "message": body.template_id}])
    setting = welcome.put_setting(body.template_id, to_rfc3339(clock.now()), caller_id)
    return WelcomeGiftOut(template_id=setting.template_id, updated_at=setting.updated_at)
