"""Points: the member's ledger (one entry per balance change) and the POS sales that earn points.

The balance lives on the member profile (`points`, with `lifetime_spend_fen` and `joined_at`); every change to it
is made in the same transaction as its ledger entry, so the entries always add up to the balance.

Keys (docs/data-model.md, "Products, orders and points"):
- ledger entry `MEMBER#<member_id>` / `POINTS#<UTC time, microseconds>#<entry id>`: newest last, so a reverse
               Query on the `POINTS#` prefix is the member's statement.
- POS sale     `POSSALE#<store_id>#<sale_id>` / `SALE`; GSI2 `STORE#<store_id>#SALES` / `<occurred_at>#<sale_id>`.
- points expiry the profile's GSI2 `POINTS_EXPIRY#<date, China time>` / `<member_id>` (sparse): the day its balance
               expires (services/points_expiry.py has the rule); removed when the balance expires.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from storeloop.data import cursors
from storeloop.data.keys import member_pk
from storeloop.data.members import MemberProfile
from storeloop.data.models import Entity, cancellation_codes, connection, read_page, start_key
from storeloop.domain import clock
from storeloop.domain.clock import CN_TZ, now, to_rfc3339
from storeloop.domain.points import points_expire_on

LEDGER_PREFIX = "POINTS#"

# Why a balance changed (the `reason` of a ledger entry).
ORDER_POINTS_USED = "order_points_used"  # reserved when an order is placed (negative)
ORDER_POINTS_RELEASED = "order_points_released"  # given back when an unpaid order is cancelled or times out
ORDER_POINTS_EARNED = "order_points_earned"  # earned when an order is paid
REFUND_POINTS_RETURNED = "refund_points_returned"  # the points a refunded order used, given back
REFUND_CLAWBACK = "refund_clawback"  # the points a refunded order earned, taken back (never below zero)
POS_SALE_EARNED = "pos_sale_earned"  # earned by a sale at the till
POINTS_EXPIRED = "points_expired"  # the whole balance, expired by the daily job (services/points_expiry.py)

POINTS_EXPIRY_PREFIX = "POINTS_EXPIRY#"


class PointsLedgerEntry(Entity):
    entry_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    delta = NumberAttribute()
    reason = UnicodeAttribute()
    created_at = UnicodeAttribute()
    order_id = UnicodeAttribute(null=True)
    sale_id = UnicodeAttribute(null=True)
    store_id = UnicodeAttribute(null=True)
    shortfall = NumberAttribute(null=True)  # clawback only: points that were already spent and so not taken

    def public(self) -> dict:
        return {
            "entry_id": self.entry_id, "delta": int(self.delta), "reason": self.reason,
            "created_at": self.created_at, "order_id": self.order_id, "sale_id": self.sale_id,
            "store_id": self.store_id, "shortfall": int(self.shortfall) if self.shortfall is not None else None,
        }


class PosSale(Entity):
    """One till sale, claimed by the first delivery of its sale_id and finished once (`status` processing → done)."""

    store_id = UnicodeAttribute()
    sale_id = UnicodeAttribute()
    status = UnicodeAttribute()  # processing | done
    claim_token = UnicodeAttribute()  # which delivery is processing it
    claimed_at = NumberAttribute()  # unix seconds; a claim older than CLAIM_STALE_SECONDS may be taken over
    member_id = UnicodeAttribute(null=True)
    total_fen = NumberAttribute()
    points_earned = NumberAttribute(null=True)
    coupons_redeemed = ListAttribute(of=UnicodeAttribute, null=True)  # codes, appended with each redemption
    occurred_at = UnicodeAttribute()
    received_at = UnicodeAttribute()
    answer = UnicodeAttribute(null=True)  # the JSON answered the first time, answered again to a replay
    # issue 15 (services/pos_returns.py): what was sold, and what the till's returns took back so far
    items_json = UnicodeAttribute(null=True)  # [{"sku", "qty", "price_fen"}]
    returned_fen = NumberAttribute(null=True)
    returned_json = UnicodeAttribute(null=True)  # {"<sku>": qty returned}
    points_due_back = NumberAttribute(null=True)  # points the returns took back, with what could not be (shortfall)


# A claim outlives any Lambda run (the POS webhook times out after 10 s) by a wide margin before another delivery
# may take it over.
CLAIM_STALE_SECONDS = 60


class SaleBusy(Exception):
    """Another delivery of this sale_id is processing it right now."""


def pos_sale_key(store_id: str, sale_id: str) -> tuple[str, str]:
    return f"POSSALE#{store_id}#{sale_id}", "SALE"


def ledger_entry(member_id: str, delta: int, reason: str, at: datetime, *, order_id: str | None = None,
                 sale_id: str | None = None, store_id: str | None = None,
                 shortfall: int | None = None) -> PointsLedgerEntry:
    entry_id = "pt_" + uuid.uuid4().hex[:20]
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")  # sortable; microseconds keep one order's entries apart
    return PointsLedgerEntry(member_pk(member_id), f"{LEDGER_PREFIX}{stamp}#{entry_id}", entry_id=entry_id,
                             member_id=member_id, delta=delta, reason=reason, created_at=to_rfc3339(at),
                             order_id=order_id, sale_id=sale_id, store_id=store_id, shortfall=shortfall)


def add_entry(tx: TransactWrite, entry: PointsLedgerEntry) -> None:
    tx.save(entry, condition=PointsLedgerEntry.SK.does_not_exist())


def credit_profile(tx: TransactWrite, member_id: str, *, points: int = 0, spend_fen: int = 0,
                   join_at: str | None = None, join_store_id: str | None = None,
                   join_campaign_id: str | None = None, join_source: str | None = None) -> bool:
    """Add to `tx` one update of the profile: points and lifetime spend added, membership started if not yet.

    One update, not two: a transaction may touch an item once. Returns whether anything was added. `joined_at` is
    set only if absent, as `members.start_membership` does, so the first paid order, POS sale or redemption wins.
    A purchase (`spend_fen`) also moves the balance's expiry date; points given back keep it (`_expiry_actions`).
    """
    actions: list[Any] = []
    if points:
        actions.append(MemberProfile.points.add(points))
    if spend_fen:
        actions.append(MemberProfile.lifetime_spend_fen.add(spend_fen))
    if join_at:
        actions.append(MemberProfile.joined_at.set(MemberProfile.joined_at | join_at))
        if join_store_id:
            actions.append(MemberProfile.joined_store_id.set(MemberProfile.joined_store_id | join_store_id))
        if join_campaign_id:  # the campaign whose coupon the first paid order used (new members per campaign)
            actions.append(MemberProfile.joined_campaign_id.set(MemberProfile.joined_campaign_id | join_campaign_id))
            if join_source:  # issue 9: the source of that coupon
                actions.append(MemberProfile.joined_source.set(MemberProfile.joined_source | join_source))
    if spend_fen > 0:  # issue 9: what segments' purchase rules read
        actions.append(MemberProfile.last_purchase_at.set(to_rfc3339(clock.now())))
    if spend_fen > 0 or points > 0:
        actions += _expiry_actions(member_id, purchase=spend_fen > 0)
    if not actions:
        return False
    tx.update(MemberProfile(member_pk(member_id), "PROFILE"), actions=actions, condition=MemberProfile.PK.exists())
    return True


def debit_profile(tx: TransactWrite, member_id: str, points: int) -> None:
    """Add to `tx` taking `points` from the balance, on condition the balance holds them (never negative)."""
    tx.update(MemberProfile(member_pk(member_id), "PROFILE"), actions=[MemberProfile.points.add(-points)],
              condition=MemberProfile.points >= points)


def set_balance(tx: TransactWrite, member_id: str, expected: int, new: int, spend_delta_fen: int) -> None:
    """Add to `tx` moving the balance from `expected` (read just before) to `new`: optimistic, so a change in
    between cancels the transaction instead of being overwritten."""
    actions: list[Any] = [MemberProfile.points.set(new)]
    if spend_delta_fen:
        actions.append(MemberProfile.lifetime_spend_fen.add(spend_delta_fen))
    if new > 0:
        actions += _expiry_actions(member_id, purchase=False)
    tx.update(MemberProfile(member_pk(member_id), "PROFILE"), actions=actions,
              condition=MemberProfile.points == expected)


def balance(member_id: str) -> int | None:
    """The member's balance now (a strongly consistent read), or None if the profile is gone."""
    try:
        return int(MemberProfile.get(member_pk(member_id), "PROFILE", consistent_read=True,
                                     attributes_to_get=["points"]).points)
    except DoesNotExist:
        return None


def ledger(member_id: str, limit: int, cursor: str | None) -> tuple[list[PointsLedgerEntry], str | None]:
    """A member's ledger, newest first, from the client's cursor (a key of this ledger, else 400); the next page's
    cursor, or None on the last page."""
    after = cursors.start_key(cursor, ("PK", "SK"), PK=member_pk(member_id),
                              check=lambda k: k["SK"].startswith(LEDGER_PREFIX))
    query = PointsLedgerEntry.query(member_pk(member_id), PointsLedgerEntry.SK.startswith(LEDGER_PREFIX),
                                    scan_index_forward=False, limit=limit + 1, last_evaluated_key=start_key(after))
    items, last = read_page(query, limit)
    return items, cursors.next_cursor(last)


# --- POS sales ----------------------------------------------------------------------------------------


def get_pos_sale(store_id: str, sale_id: str) -> PosSale | None:
    try:
        return PosSale.get(*pos_sale_key(store_id, sale_id), consistent_read=True)
    except DoesNotExist:
        return None


def claim_pos_sale(store_id: str, sale_id: str, member_id: str | None, total_fen: int, occurred_at: str,
                   token: str, items_json: str | None = None) -> PosSale:
    """Claim the sale for this delivery: a new sale, or one whose claim went stale (its run died). Returns the sale
    as claimed (with the coupons a dead run already redeemed); SaleBusy if another run holds it; the done sale as it
    is if it was finished (the caller answers its stored answer)."""
    at = now()
    pk, sk = pos_sale_key(store_id, sale_id)
    fresh = PosSale(pk, sk, GSI2PK=f"STORE#{store_id}#SALES", GSI2SK=f"{occurred_at}#{sale_id}", store_id=store_id,
                    sale_id=sale_id, status="processing", claim_token=token, claimed_at=int(at.timestamp()),
                    member_id=member_id, total_fen=total_fen, coupons_redeemed=[], occurred_at=occurred_at,
                    received_at=to_rfc3339(at), items_json=items_json)
    try:
        fresh.save(condition=PosSale.PK.does_not_exist())
        return fresh
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    existing = get_pos_sale(store_id, sale_id)
    if existing is None or existing.status == "done":
        return existing or fresh
    stale_before = int(at.timestamp()) - CLAIM_STALE_SECONDS
    try:
        existing.update(actions=[PosSale.claim_token.set(token), PosSale.claimed_at.set(int(at.timestamp()))],
                        condition=(PosSale.status == "processing") & (PosSale.claimed_at < stale_before))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise SaleBusy(sale_id) from None
        raise
    return existing


def note_redeemed(store_id: str, sale_id: str, code: str, token: str) -> Callable[[TransactWrite], None]:
    """The step a coupon's redemption transaction carries (`tx_extra`): the note that this sale redeemed it (only
    while we hold the claim), so a run taking over after a crash does not redeem it again."""

    def step(tx: TransactWrite) -> None:
        appended = PosSale.coupons_redeemed.set(PosSale.coupons_redeemed.append([code]))
        tx.update(PosSale(*pos_sale_key(store_id, sale_id)), actions=[appended],
                  condition=(PosSale.claim_token == token) & (PosSale.status == "processing"))
    return step


def finish_pos_sale(sale: PosSale, token: str, points: int, answer: dict[str, Any]) -> None:
    """processing → done with its answer, and for a known member the points and membership, in one transaction.
    SaleBusy if our claim was taken over meanwhile (nothing changed)."""
    at = now()
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(PosSale(sale.PK, sale.SK), actions=[
                PosSale.status.set("done"), PosSale.points_earned.set(points),
                PosSale.answer.set(json.dumps(answer, ensure_ascii=False, separators=(",", ":")))],
                condition=(PosSale.claim_token == token) & (PosSale.status == "processing"))
            if sale.member_id:
                credit_profile(tx, sale.member_id, points=points, spend_fen=int(sale.total_fen),
                               join_at=to_rfc3339(at), join_store_id=sale.store_id)
                if points:
                    add_entry(tx, ledger_entry(sale.member_id, points, POS_SALE_EARNED, at, sale_id=sale.sale_id,
                                               store_id=sale.store_id))
    except TransactWriteError as exc:
        # pynamodb sends puts before updates: [ledger entry if any], the sale, [the profile].
        sale_index = 1 if sale.member_id and points else 0
        codes = cancellation_codes(exc)
        if len(codes) > sale_index and codes[sale_index] == "ConditionalCheckFailed":
            raise SaleBusy(sale.sale_id) from None
        raise


# --- points expiry (services/points_expiry.py) ---------------------------------------------------------


def points_expiry_pk(day: date) -> str:
    return f"{POINTS_EXPIRY_PREFIX}{day.isoformat()}"


def expiry_day_of(key: str) -> date:
    return date.fromisoformat(key.removeprefix(POINTS_EXPIRY_PREFIX))


def _expiry_actions(member_id: str, *, purchase: bool) -> list[Any]:
    """The profile's expiry index, in the same update as the balance change (a transaction touches an item once).

    A purchase (paid order, POS sale) moves the expiry to POINTS_EXPIRY_DAYS from today. Any other credit (points
    given back by a cancel or a refund) keeps the date the profile has; with none (the job already expired the
    balance or cleared the date at zero), today: by the rule those points have expired, so the next run takes them.
    Either way a positive balance always carries a date the daily job will reach.
    """
    from storeloop.settings import get_settings

    today = clock.now().astimezone(CN_TZ).date()
    if purchase:
        expires = points_expire_on(today, get_settings().points_expiry_days)
        return [MemberProfile.GSI2PK.set(points_expiry_pk(expires)), MemberProfile.GSI2SK.set(member_id)]
    return [MemberProfile.GSI2PK.set(MemberProfile.GSI2PK | points_expiry_pk(today)),
            MemberProfile.GSI2SK.set(MemberProfile.GSI2SK | member_id)]


@dataclass(frozen=True)
class ExpiryState:
    member_id: str
    points: int
    key: str | None  # GSI2PK: `POINTS_EXPIRY#<date>`, or None when no date is set


def members_expiring_on(day: date) -> Iterator[ExpiryState]:
    """Profiles indexed to expire on `day` (Query GSI2, eventually consistent: the expiry is conditional on what
    this read, so a stale entry only costs a retry)."""
    for found in MemberProfile.gsi2.query(points_expiry_pk(day)):
        item = cast(MemberProfile, found)
        yield ExpiryState(str(item.member_id), int(item.points or 0), item.GSI2PK)


def expiry_state(member_id: str) -> ExpiryState | None:
    """The profile's balance and expiry date now (strongly consistent), None if the profile is gone."""
    try:
        item = MemberProfile.get(member_pk(member_id), "PROFILE", consistent_read=True,
                                 attributes_to_get=["member_id", "points", "GSI2PK"])
    except DoesNotExist:
        return None
    return ExpiryState(member_id, int(item.points or 0), item.GSI2PK)


class ExpiryChanged(Exception):
    """The balance or the expiry date moved since they were read (an earn, a spend, another run): read again."""


def expire_balance(state: ExpiryState, at: datetime) -> None:
    """Expire the whole balance `state` read, once: points → 0 and the index date removed, on condition that the
    balance and the date are still what was read (and the member is not being erased), with a `points_expired`
    ledger entry of -points in the same transaction. A zero balance only has its date removed. ExpiryChanged if
    the condition failed or another transaction held the profile."""
    profile = MemberProfile(member_pk(state.member_id), "PROFILE")
    condition = ((MemberProfile.points == state.points) & (MemberProfile.GSI2PK == state.key)
                 & (MemberProfile.status.does_not_exist() | (MemberProfile.status != "erasing")))
    actions: list[Any] = [MemberProfile.points.set(0), MemberProfile.GSI2PK.remove(), MemberProfile.GSI2SK.remove()]
    try:
        if state.points == 0:
            profile.update(actions=actions, condition=condition)
            return
        with TransactWrite(connection=connection()) as tx:
            tx.update(profile, actions=actions, condition=condition)
            add_entry(tx, ledger_entry(state.member_id, -state.points, POINTS_EXPIRED, at))
    except UpdateError as exc:
        if exc.cause_response_code in ("ConditionalCheckFailedException", "TransactionConflictException"):
            raise ExpiryChanged(state.member_id) from None
        raise
    except TransactWriteError as exc:
        if {"ConditionalCheckFailed", "TransactionConflict"} & set(cancellation_codes(exc)):
            raise ExpiryChanged(state.member_id) from None
        raise
