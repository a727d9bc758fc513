"""PIPL rights: export every personal record held about the caller, and erase the caller.

Erasure, in this order (each step idempotent, so a failed erasure is simply run again):
1. the profile's status becomes `erasing`: the authorizer refuses the member's tokens from now on (but DELETE /me);
2. the openid link goes: a login with the same WeChat account makes a new member;
3. pending orders are cancelled (their stock, coupon and points released while the profile still exists); every
   order is kept for accounting, de-personalised (member id → `erased`, off the member's index);
4. coupons are de-personalised the same way, the unused ones revoked (a code nobody holds must not stay
   redeemable); the verification of a redeemed one is de-personalised too;
5. booked visits are cancelled (their places freed), then every appointment is de-personalised and its note removed;
6. POS sales found through the points ledger are de-personalised;
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
from storeloop.data import appointments as appointments_data
from storeloop.data import privacy as data
from storeloop.data.members import member_pk
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
    out = data.strip_keys(item)
    if item.get("phone_enc"):  # personal fields encrypted at rest are shown decrypted to their owner
        try:
            out["phone"] = crypto.decrypt(settings.data_key, item["phone_enc"], "phone")
        except Exception:  # noqa: BLE001 - an undecryptable field is withheld, never a failed export
            out["phone"] = None
    return out


def _record_type(sk: str) -> str:
    return sk.split("#", 1)[0].lower()


def export_member(settings: Settings, caller: Caller) -> MemberExport:
    m = caller.member_id
    sections: dict[str, list[dict[str, Any]]] = {
        "message_grants": [], "messages": [], "points": [], "other": []}
    profile: dict[str, Any] | None = None
    for item in (i for pk in data.member_partitions(m) for i in data.partition_items(pk)):
        sk = str(item.get("SK", ""))
        if item.get("PK") == member_pk(m) and sk == "PROFILE":
            profile = item
        elif sk.startswith("CONSENT#"):
            continue  # from the consents service below: current and history
        elif sk.startswith("GRANT#"):
            sections["message_grants"].append(data.strip_keys(item))
        elif sk.startswith("MSG#"):
            sections["messages"].append(data.strip_keys(item))
        elif sk.startswith("POINTS#"):
            sections["points"].append(data.strip_keys(item))
        else:
            sections["other"].append({"record": _record_type(sk), **data.strip_keys(item)})
    indexed = {name: [data.strip_keys(i) for i in data.index_items(pk)] for name, pk in data.member_indexes(m).items()}
    for coupon in indexed["coupons"]:
        if coupon.get("verification_id"):
            verification = data.get_item(f"VERIFICATION#{coupon['verification_id']}", "VERIFICATION")
            if verification is not None and verification.get("member_id") == m:
                sections["other"].append({"record": "verification", **data.strip_keys(verification)})
    for sale in _pos_sales(m, sections["points"]):
        sections["other"].append({"record": "pos_sale", **data.strip_keys(sale)})
    return MemberExport(
        member_id=m, exported_at=to_rfc3339(now()), profile=_profile(settings, profile),
        identifiers={"wechat_openid": OPENID_NOTICE} if profile and profile.get("openid_enc") else {},
        consents=consents.consents_of(m), coupons=indexed["coupons"], appointments=indexed["appointments"],
        orders=indexed["orders"], **sections)


def _pos_sales(member_id: str, ledger: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The POS sales that earned this member points (the ledger names them; a sale keeps the member id)."""
    sales = []
    for key in dict.fromkeys((e["store_id"], e["sale_id"]) for e in ledger if e.get("sale_id") and e.get("store_id")):
        sale = data.get_item(f"POSSALE#{key[0]}#{key[1]}", "SALE")
        if sale is not None and sale.get("member_id") == member_id:
            sales.append(sale)
    return sales


# ---------------------------------------------------------------- erasure


def erase_member(settings: Settings, caller: Caller) -> ErasureOut:
    m = caller.member_id
    at = to_rfc3339(now())
    profile = data.get_item(member_pk(m), "PROFILE")
    if profile is not None:
        data.mark_erasing(m, at)
        from storeloop.services.access import flush_authorizer_cache

        flush_authorizer_cache()  # from now on only DELETE /me passes the authorizer: no cached allow outlives it
        from storeloop.services.access import on_member_erased  # issue 8: staff links, the revocation hook

        on_member_erased(m)
        if profile.get("openid_enc"):
            openid = crypto.decrypt(settings.data_key, profile["openid_enc"], "openid")
            data.delete_openid_link(crypto.keyed_hash(settings.data_key, openid, "openid"), m)
    indexes = data.member_indexes(m)
    kept = 0
    # Twice: the indexes are eventually consistent, so a record written just before the profile was marked may
    # show only on the second read. Every step is conditional on the record still naming the member.
    for _ in range(INDEX_PASSES):
        orders = data.index_items(indexes["orders"])
        _cancel_pending_orders(caller, orders)
        kept += sum(data.depersonalise(o["PK"], o["SK"], only_if_member=m) for o in orders)
        kept += _depersonalise_coupons(m, data.index_items(indexes["coupons"]))
        kept += _depersonalise_appointments(m, data.index_items(indexes["appointments"]), at)
    partitions = {pk: data.partition_items(pk) for pk in data.member_partitions(m)}
    kept += _depersonalise_pos_sales(m, [i for i in partitions[member_pk(m)] if str(i["SK"]).startswith("POINTS#")])
    doomed = [(i["PK"], i["SK"]) for items in partitions.values() for i in items
              if not (i["PK"] == member_pk(m) and i["SK"] == "PROFILE")]
    deleted = data.delete_items(doomed) + int(data.delete_profile(m))
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
        pk, sk = coupon["PK"], coupon["SK"]
        if coupon.get("member_id") != member_id:
            continue  # a stale index entry of a coupon already de-personalised
        data.set_if(pk, sk, "status", "revoked", when_field="status", equals="active")
        kept += data.depersonalise(pk, sk, only_if_member=member_id)
        if coupon.get("verification_id"):
            kept += data.depersonalise(f"VERIFICATION#{coupon['verification_id']}", "VERIFICATION",
                                       only_if_member=member_id)
    return kept


def _depersonalise_appointments(member_id: str, items: list[dict[str, Any]], at: str) -> int:
    kept = 0
    for item in items:
        if item.get("status") == appointments_data.BOOKED:
            appt = appointments_data.get_appointment(item["appointment_id"])
            if appt is not None and appt.status == appointments_data.BOOKED and appt.member_id == member_id:
                # Frees the place and the member's marker, once; NotActive: checked in or cancelled meanwhile.
                with contextlib.suppress(appointments_data.NotActive):
                    appointments_data.cancel(appt, at)
        kept += data.depersonalise(item["PK"], item["SK"], remove=("note",), only_if_member=member_id)
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
                    replay["member_id"] = data.TOMBSTONE
                    also["answer"] = json.dumps(replay, ensure_ascii=False, separators=(",", ":"))
            except ValueError:
                pass
        kept += data.depersonalise(sale["PK"], sale["SK"], also_set=also, only_if_member=member_id)
    return kept
