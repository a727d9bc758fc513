"""The store's own day, for its staff (admins for any store): visits by slot, pickups waiting, verifications,
and — for its manager — its numbers. Each list is one Query on a key of that store; nothing scans."""

from __future__ import annotations

import re
from datetime import date

from storeloop.caller import Caller
from storeloop.data import store_day, stores
from storeloop.domain.clock import CN_TZ, now
from storeloop.domain.points import tier_for
from storeloop.errors import NotFound, ValidationFailed
from storeloop.schemas.analytics import StoreAnalyticsOut
from storeloop.schemas.store_day import (
    StoreOrderList,
    StoreVerificationList,
    StoreVerificationOut,
    StoreVisitList,
    StoreVisitOut,
    VisitorOut,
)
from storeloop.schemas.stores import ID_PATTERN
from storeloop.services import analytics_reads
from storeloop.services.orders import order_out
from storeloop.services.roles import require_manager_of, require_staff_of
from storeloop.settings import Settings


def _store(caller: Caller, store_id: str, *, manager: bool = False) -> None:
    """Role first (403 for a store the caller does not work at), then the store itself (404)."""
    if manager:
        require_manager_of(caller, store_id)
    else:
        require_staff_of(caller, store_id)
    if not re.fullmatch(ID_PATTERN, store_id) or stores.get_store(store_id) is None:
        raise NotFound(f"store {store_id} not found")


def _day(value: str | None) -> str:
    if value is None:
        return now().astimezone(CN_TZ).date().isoformat()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValidationFailed("date must be YYYY-MM-DD", details=[
            {"field": "date", "issue": "format", "message": "YYYY-MM-DD"}]) from None


def visits(settings: Settings, caller: Caller, store_id: str, day: str | None, status: str | None, limit: int,
           cursor: str | None) -> StoreVisitList:
    _store(caller, store_id)
    the_day = _day(day)
    found, after = store_day.day_appointments(store_id, the_day, status, limit, cursor)
    people = store_day.profiles(a.member_id for a in found)
    items = []
    for a in found:
        p = people.get(a.member_id)
        member = VisitorOut(member_id=a.member_id, is_member=bool(p.joined_at),
                            tier=tier_for(int(p.lifetime_spend_fen or 0), settings.tier_thresholds)) if p else None
        items.append(StoreVisitOut(appointment_id=a.appointment_id, slot_start=a.slot_start, slot_end=a.slot_end,
                                   status=a.status, coupon_id=a.coupon_id, note=a.note,
                                   checked_in_at=a.checked_in_at, member=member))
    return StoreVisitList(store_id=store_id, date=the_day, items=items, next=after)


def pickups(caller: Caller, store_id: str, limit: int, cursor: str | None) -> StoreOrderList:
    _store(caller, store_id)
    found, after = store_day.waiting_pickups(store_id, limit, cursor)
    return StoreOrderList(store_id=store_id, items=[order_out(o, caller) for o in found], next=after)


def verifications(caller: Caller, store_id: str, day: str | None, limit: int, cursor: str | None
                  ) -> StoreVerificationList:
    _store(caller, store_id)
    the_day = _day(day)
    found, after = store_day.day_verifications(store_id, the_day, limit, cursor)
    items = [StoreVerificationOut(
        verification_id=v.verification_id, coupon_id=v.coupon_id, template_id=v.template_id,
        campaign_id=v.campaign_id, channel=v.channel, spend_fen=int(v.spend_fen) if v.spend_fen is not None else None,
        discount_fen=int(v.discount_fen), verified_at=v.verified_at, verified_by=v.staff_member_id,
        reversed=v.reversed_at is not None, reversed_at=v.reversed_at) for v in found]
    return StoreVerificationList(store_id=store_id, date=the_day, items=items, next=after)


def numbers(caller: Caller, store_id: str, first: str | None, last: str | None) -> StoreAnalyticsOut:
    """The same answer as GET /admin/analytics/stores/{id}, for the store's manager."""
    require_manager_of(caller, store_id)
    return analytics_reads.store_analytics(store_id, first, last)
