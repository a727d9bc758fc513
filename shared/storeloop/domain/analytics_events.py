"""The business events analytics counts, recognised from an item's old and new stream images: pure rules.

Also the counters' names, which campaigns an order counts for, and repeat buyers; docs/analytics.md defines each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from storeloop.domain import campaign_kinds_tracking as kinds
from storeloop.domain.clock import CN_TZ, parse_rfc3339
from storeloop.domain.sources import source_key

CLAIMED, REDEEMED, UNREDEEMED, PAID, REFUNDED, JOINED, VISIT = (
    "claimed", "redeemed", "unredeemed", "paid", "refunded", "joined", "visit")
VIEWED = "viewed"  # issue 9: an exposure (a VIEW# item's INSERT)
KIND_COUNTS = "kind_counts"  # issue 10: a campaign kind's numbers (domain/campaign_kinds_tracking.py)
REPEAT_WINDOW = timedelta(days=30)
MAX_BUYER_ENTRIES = 200  # a member's paid orders kept (the last 30 days'); bounds the item well under 400 KB

STORE_DAY_FIELDS = ("visits", "redemptions", "orders", "revenue_fen", "new_members", "refunds",
                    *kinds.STORE_DAY_FIELDS)  # issue 10: the campaign kinds' numbers
CAMPAIGN_FIELDS = ("claimed", "redeemed", "new_members", "orders", "revenue_fen", "refunds", "repeat_buyers_30d",
                   "views")
SOURCE_FIELDS = ("views", "claimed", "redeemed", "new_members", "orders", "revenue_fen", "refunds")  # issue 9
CAMPAIGN_STORE_FIELDS = ("redeemed", "new_members", "orders", "revenue_fen", "refunds")

# The items whose changes are business events; the template's FilterCriteria say the same, so in AWS the
# consumer is not even invoked for the rest (including its own counters).
RELEVANT = (("COUPON#", "COUPON"), ("ORDER#", "ORDER"), ("POSSALE#", "SALE"), ("APPT#", "APPT"),
            ("MEMBER#", "PROFILE"), ("POSRETURN#", "RETURN"),  # POSRETURN: issue 15, till returns
            ("VIEW#", "VIEW"), *kinds.RELEVANT)  # VIEW: issue 9, exposures; issue 10: the campaign kinds


def local_day(value: str) -> str:
    """The China Standard Time date (YYYY-MM-DD) of an RFC 3339 time."""
    return parse_rfc3339(value).astimezone(CN_TZ).date().isoformat()


def number(item: dict[str, Any] | None, name: str) -> int:
    """A counter's value in a counter item (0 when the item or the counter is absent)."""
    return int((item or {}).get(name) or 0)


# ---------------------------------------------------------------------------------------------- recognising


@dataclass(frozen=True)
class Change:
    """One business event read off a stream record."""

    kind: str
    campaign_id: str | None = None
    store_id: str | None = None
    day: str | None = None
    amount_fen: int = 0
    member_id: str | None = None
    order_key: str | None = None  # paid: "order:<id>" or "pos:<store>:<sale>"
    paid_at: str | None = None
    coupon_id: str | None = None  # an online order's coupon
    codes: tuple[str, ...] = ()  # a till sale's redeemed codes (12 digits or QR tokens)
    source: str | None = None  # issue 9: the source key (claims, redemptions, views, joins)
    counts: tuple[tuple[str, int], ...] = ()  # issue 10 (KIND_COUNTS): store day counters to add


def is_relevant(pk: str, sk: str) -> bool:
    """Whether changes of the item with this key can be business events (RELEVANT)."""
    return any(pk.startswith(prefix) and sk == kind for prefix, kind in RELEVANT)


def _member(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value != "erased" else None


def recognise(pk: str, sk: str, event: Any, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The business events one change of an item stands for (usually none or one). `event` is the stream's
    eventName; a malformed image raises (the consumer sets its record aside)."""
    if not is_relevant(pk, sk):
        return []
    if pk.startswith("COUPON#"):
        return _coupon(event, old, new)
    if pk.startswith("ORDER#"):
        return _order(old, new) + _kind_counts(kinds.order_counts(old, new))
    if pk.startswith("POSSALE#"):
        return _pos_sale(old, new)
    if pk.startswith("APPT#"):
        return _appointment(old, new)
    if pk.startswith("POSRETURN#"):
        return _pos_return(old, new)
    if pk.startswith("VIEW#"):
        return _view(event, new)
    if pk.startswith(tuple(prefix for prefix, _ in kinds.RELEVANT)):
        return _kind_counts(kinds.recognise(pk, event, old, new))
    return _profile(old, new)


def _source_of(image: dict[str, Any]) -> str:
    return source_key(image.get("source_channel"), image.get("source_store_id"), image.get("source_ref"))


def _coupon(event: Any, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    if event == "INSERT" and new.get("campaign_id"):
        return [Change(CLAIMED, campaign_id=new["campaign_id"], source=_source_of(new))]
    was, now = old.get("status"), new.get("status")
    if event == "MODIFY" and was != "redeemed" and now == "redeemed":
        return [Change(REDEEMED, campaign_id=new["campaign_id"], store_id=new["redeemed_store_id"],
                       day=local_day(new["redeemed_at"]), source=_source_of(new))]
    if event == "MODIFY" and was == "redeemed" and now == "active":  # a reversal takes back its redemption
        return [Change(UNREDEEMED, campaign_id=old["campaign_id"], store_id=old["redeemed_store_id"],
                       day=local_day(old["redeemed_at"]), source=_source_of(old))]
    return []


def _view(event: Any, new: dict[str, Any]) -> list[Change]:
    # Only the INSERT counts: the TTL's REMOVE of the same item days later is no exposure.
    if event == "INSERT" and new.get("campaign_id"):
        return [Change(VIEWED, campaign_id=new["campaign_id"],
                       source=source_key(new.get("channel"), new.get("store_id"), new.get("ref")))]
    return []


def _order(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    was, now = old.get("status"), new.get("status")
    if was != "paid" and now == "paid" and new.get("paid_at"):
        return [Change(PAID, store_id=new["store_id"], day=local_day(new["paid_at"]),
                       amount_fen=int(new["payable_fen"]), member_id=_member(new.get("member_id")),
                       order_key=f"order:{new['order_id']}", paid_at=new["paid_at"], coupon_id=new.get("coupon_id"))]
    if was != "refunded" and now == "refunded" and not new.get("auto_refund") and new.get("paid_at"):
        # A payment that arrived after the order was cancelled was never counted, so its refund is not either.
        return [Change(REFUNDED, store_id=new["store_id"], day=local_day(new["refunded_at"]),
                       amount_fen=int(new["payable_fen"]), coupon_id=new.get("coupon_id"))]
    return []


def _kind_counts(found: list[kinds.Counts]) -> list[Change]:
    return [Change(KIND_COUNTS, store_id=store_id, day=day, counts=counts) for store_id, day, counts in found]


def _pos_sale(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    if old.get("status") != "done" and new.get("status") == "done":
        return [Change(PAID, store_id=new["store_id"], day=local_day(new["occurred_at"]),
                       amount_fen=int(new["total_fen"]), member_id=_member(new.get("member_id")),
                       order_key=f"pos:{new['store_id']}:{new['sale_id']}", paid_at=new["occurred_at"],
                       codes=tuple(new.get("coupons_redeemed") or ()))]
    return []


def _pos_return(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """issue 15: a till return (written once, whole) is a refund of its sale's share, on the day of the return."""
    if old or not new:
        return []
    return [Change(REFUNDED, store_id=new["store_id"], day=local_day(new["occurred_at"]),
                   amount_fen=int(new["total_fen"]), codes=tuple(new.get("coupon_codes") or ()))]


def _appointment(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    if old.get("status") != "checked_in" and new.get("status") == "checked_in":
        # A visit belongs to its slot's day (the store-day appointment index is keyed the same way).
        return [Change(VISIT, store_id=new["store_id"], day=local_day(new["slot_start"]))]
    return []


def _profile(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    if not old.get("joined_at") and new.get("joined_at"):
        return [Change(JOINED, store_id=new.get("joined_store_id"), campaign_id=new.get("joined_campaign_id"),
                       day=local_day(new["joined_at"]), source=new.get("joined_source") or source_key(None))]
    return []


# ---------------------------------------------------------------------------------------------- attribution


def campaigns_for(change: Change, campaign_of: dict[str, str]) -> tuple[str, ...]:
    """The campaigns an order counts for: the campaign of each coupon it used (online: at most one)."""
    refs = ([change.coupon_id] if change.coupon_id else []) + list(change.codes)
    return tuple(dict.fromkeys(campaign_of[r] for r in refs if r in campaign_of))


def sources_for(change: Change, campaign_of: dict[str, str], source_of: dict[str, str]) -> dict[str, str]:
    """Issue 9: campaign → the source an order counts under (that of its first coupon of the campaign)."""
    refs = ([change.coupon_id] if change.coupon_id else []) + list(change.codes)
    found: dict[str, str] = {}
    for r in refs:
        if r in campaign_of:
            found.setdefault(campaign_of[r], source_of.get(r) or source_key(None))
    return found


# ---------------------------------------------------------------------------------------------- repeat buyers


def repeat_campaigns(paid: dict[str, dict[str, Any]], window: timedelta = REPEAT_WINDOW) -> set[str]:
    """The campaigns a buyer is a repeat buyer of: two paid orders at most `window` apart, at least one of them
    using a coupon of the campaign. Order-insensitive, so records from different shards may arrive in any order."""
    entries = sorted((parse_rfc3339(v["at"]), tuple(v.get("campaigns") or ())) for v in paid.values())
    found: set[str] = set()
    for i, (at, campaigns) in enumerate(entries):
        for later, more in entries[i + 1:]:
            if later - at > window:
                break
            found.update(campaigns)
            found.update(more)
    return found


def prune(paid: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Keep the orders that can still pair with a newer one (the last 30 days before the newest), at most 200."""
    if not paid:
        return paid
    newest = max(parse_rfc3339(v["at"]) for v in paid.values())
    kept = sorted(((k, v) for k, v in paid.items() if newest - parse_rfc3339(v["at"]) <= REPEAT_WINDOW),
                  key=lambda kv: parse_rfc3339(kv[1]["at"]))
    return dict(kept[-MAX_BUYER_ENTRIES:])
