"""PIPL rights: export every personal record held about the caller, and erase the caller.

Erasure, in this order (each step idempotent, so a failed erasure is simply run again):
1. the profile's status becomes `erasing`: the authorizer refuses the member's tokens from now on (but DELETE /me);
2. the openid link goes: a login with the same WeChat account makes a new member;
3. pending orders are cancelled (their stock, coupon and points released while the profile still exists); every
   order is kept for accounting, de-personalised (member id → `erased`, off the member's index);
4. coupons are de-personalised the same way, the unused ones revoked (a code nobody holds must not stay
   redeemable); the verification of a redeemed one is de-personalised too;
5. booked visits are cancelled (their places freed), then every appointment is de-personalised and its note removed;
6. POS sales found through the points ledger are de-personalised, and so are points-mall redemptions and the
   group-buy records (memberships, and the groups the member opened: `leader_id`) found through the orders;
7. everything in the member's partitions is deleted (staff role, consents, grants, message records, holdings, the
   points ledger, visit markers), then the profile itself.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from aws_lambda_powertools import Logger

from storeloop import crypto
from storeloop.caller import Caller
from storeloop.data import appointments
from storeloop.data.privacy import (
    TOMBSTONE,
    delete_member_items,
    delete_openid_link,
    delete_profile,
    depersonalise,
    depersonalise_verification,
    export_section,
    get_pos_sale,
    get_profile,
    get_verification,
    group_records,
    index_items,
    ledger_entries,
    mark_erasing,
    member_indexes,
    member_items,
    record_type,
    set_if,
    strip_keys,
)
from storeloop.domain.clock import now, to_rfc3339
from storeloop.errors import ApiError
from storeloop.schemas.privacy import ErasureOut, MemberExport
from storeloop.services import consents
from storeloop.settings import Settings

logger = Logger(service="storeloop")

INDEX_PASSES = 2
OPENID_NOTICE = ("held encrypted, to send you the messages you subscribed to and to take your payments; "
                 "it is not shown, not even to you, and is deleted when you erase your account")


# ---------------------------------------------------------------- export


def _profile(settings: Settings, item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    out = strip_keys(item)
    if item.get("phone_enc"):  # personal fields encrypted at rest are shown decrypted to their owner
        try:
            out["phone"] = crypto.decrypt(settings.data_key, item["phone_enc"], "phone")
        except Exception:  # noqa: BLE001 - an undecryptable field is withheld, never a failed export
            out["phone"] = None
    return out


def export_member(settings: Settings, caller: Caller) -> MemberExport:
    m = caller.member_id
    sections: dict[str, list[dict[str, Any]]] = {
        "message_grants": [], "messages": [], "points": [], "other": []}
    profile: dict[str, Any] | None = None
    for item in member_items(m):
        section = export_section(m, item)
        if section == "profile":
            profile = item
        elif section == "consents":
            continue  # from the consents service below: current and history
        elif section == "other":
            sections["other"].append({"record": record_type(item), **strip_keys(item)})
        else:
            sections[section].append(strip_keys(item))
    indexed = {name: [strip_keys(i) for i in index_items(pk)] for name, pk in member_indexes(m).items()}
    for coupon in indexed["coupons"]:
        if coupon.get("verification_id"):
            verification = get_verification(coupon["verification_id"])
            if verification is not None and verification.get("member_id") == m:
                sections["other"].append({"record": "verification", **strip_keys(verification)})
    for sale in _pos_sales(m, sections["points"]):
        sections["other"].append({"record": "pos_sale", **strip_keys(sale)})
    groups = [{"record": "group_membership" if field == "member_id" else "group_opened", **strip_keys(item)}
              for field, item in group_records(m, indexed["orders"])]
    return MemberExport(
        member_id=m, exported_at=to_rfc3339(now()), profile=_profile(settings, profile),
        identifiers={"wechat_openid": OPENID_NOTICE} if profile and profile.get("openid_enc") else {},
        consents=consents.consents_of(m), coupons=indexed["coupons"], appointments=indexed["appointments"],
        orders=indexed["orders"], redemptions=indexed["redemptions"], group_buys=groups, **sections)


def _pos_sales(member_id: str, ledger: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The POS sales that earned this member points (the ledger names them; a sale keeps the member id)."""
    sales = []
    for key in dict.fromkeys((e["store_id"], e["sale_id"]) for e in ledger if e.get("sale_id") and e.get("store_id")):
        sale = get_pos_sale(*key)
        if sale is not None and sale.get("member_id") == member_id:
            sales.append(sale)
    return sales


# ---------------------------------------------------------------- erasure


def erase_member(settings: Settings, caller: Caller) -> ErasureOut:
    m = caller.member_id
    at = to_rfc3339(now())
    profile = get_profile(m)
    if profile is not None:
        mark_erasing(m, at)
        from storeloop.services.access import flush_authorizer_cache

        flush_authorizer_cache()  # from now on only DELETE /me passes the authorizer: no cached allow outlives it
        from storeloop.services.access import on_member_erased  # issue 8: staff links, the revocation hook

        on_member_erased(m)
        if profile.get("openid_enc"):
            openid = crypto.decrypt(settings.data_key, profile["openid_enc"], "openid")
            delete_openid_link(crypto.keyed_hash(settings.data_key, openid, "openid"), m)
    indexes = member_indexes(m)
    kept = 0
    # Twice: the indexes are eventually consistent, so a record written just before the profile was marked may
    # show only on the second read. Every step is conditional on the record still naming the member.
    for _ in range(INDEX_PASSES):
        orders = index_items(indexes["orders"])
        _cancel_pending_orders(caller, orders)
        kept += sum(depersonalise(item, member_field=field, only_if_member=m)
                    for field, item in group_records(m, orders))
        kept += sum(depersonalise(o, only_if_member=m) for o in orders)
        kept += sum(depersonalise(r, only_if_member=m) for r in index_items(indexes["redemptions"]))
        kept += _depersonalise_coupons(m, index_items(indexes["coupons"]))
        kept += _depersonalise_appointments(m, index_items(indexes["appointments"]), at)
    items = member_items(m)
    kept += _depersonalise_pos_sales(m, ledger_entries(m, items))
    deleted = delete_member_items(m, items) + int(delete_profile(m))
    logger.info("member erased", extra={"member_id": m, "deleted": deleted, "depersonalised": kept})
    return ErasureOut(member_id=m, erased_at=at, deleted=deleted, depersonalised=kept)


def _cancel_pending_orders(caller: Caller, orders: list[dict[str, Any]]) -> None:
    """Orders still waiting for payment are cancelled first, through the orders service, so their stock, coupon and
    points are released exactly once while the profile still exists (a late payment is then refunded)."""
    pending = [o["order_id"] for o in orders if o.get("status") == "pending_payment" and o.get("order_id")]
    if not pending:
        return
    from storeloop.services import orders as order_service  # only erasures with pending orders need it

    for order_id in pending:
        try:
            order_service.cancel_order(caller, order_id)
        except ApiError:
            pass  # paid or cancelled meanwhile: nothing is reserved for it any more


def _depersonalise_coupons(member_id: str, coupons: list[dict[str, Any]]) -> int:
    kept = 0
    for coupon in coupons:
        if coupon.get("member_id") != member_id:
            continue  # a stale index entry of a coupon already de-personalised
        set_if(coupon, "status", "revoked", when_field="status", equals="active")
        kept += depersonalise(coupon, only_if_member=member_id)
        if coupon.get("verification_id"):
            kept += depersonalise_verification(coupon["verification_id"], only_if_member=member_id)
    return kept


def _depersonalise_appointments(member_id: str, items: list[dict[str, Any]], at: str) -> int:
    kept = 0
    for item in items:
        if item.get("status") == appointments.BOOKED:
            appt = appointments.get_appointment(item["appointment_id"])
            if appt is not None and appt.status == appointments.BOOKED and appt.member_id == member_id:
                # Frees the place and the member's marker, once; NotActive: checked in or cancelled meanwhile.
                with contextlib.suppress(appointments.NotActive):
                    appointments.cancel(appt, at)
        kept += depersonalise(item, remove=("note",), only_if_member=member_id)
    return kept


def _depersonalise_pos_sales(member_id: str, ledger: list[dict[str, Any]]) -> int:
    kept = 0
    for sale in _pos_sales(member_id, ledger):
        answer = sale.get("answer")
        also: dict[str, Any] = {}
        if isinstance(answer, str):
            try:
                replay = json.loads(answer)
                if isinstance(replay, dict) and replay.get("member_id") == member_id:
                    replay["member_id"] = TOMBSTONE
                    also["answer"] = json.dumps(replay, ensure_ascii=False, separators=(",", ":"))
            except ValueError:
                pass
        kept += depersonalise(sale, also_set=also, only_if_member=member_id)
    return kept
