"""PIPL through the routes: the export holds every personal record; erasure removes or de-personalises them all,
refuses the old token at once, and a new login makes a new member."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from local.stack import ROOT
from local.testing import ok
from local.wechat_fake import openid_for
from storeloop import crypto
from storeloop.data import coupons as coupon_data
from storeloop.data import members, order_transitions
from storeloop.data import orders as order_data
from storeloop.data import privacy as privacy_data
from storeloop.data.products import StoreStock, stock_key
from storeloop.domain import clock
from storeloop.domain.clock import CN_TZ, to_rfc3339
from storeloop.services import messages
from storeloop.settings import get_settings

TEMPLATE = "9Ov4khE3YpMa1w0Lbp8tsUtcqTJsCpKAxumr4Gszb9o"
NOTE = "靠窗的位置，谢谢 — call 13812345678"




def tomorrow_slot(hhmm="14:00"):
    day = (clock.now().astimezone(CN_TZ) + timedelta(days=1)).date().isoformat()
    return day, f"{day}T{hhmm}:00+08:00"


def place_order(member_id, store_id="s1", sku="latte", qty=1, *, paid=False, points=0):
    """An order placed through the orders data layer (its stock reserved), and optionally paid with points earned."""
    order_id = "o_" + uuid.uuid4().hex[:20]
    at = clock.now()
    order = order_data.new_order(order_id, member_id, store_id, [(sku, "拿铁", qty, 3200)], 3200 * qty, 0, 0,
                                 3200 * qty, None, to_rfc3339(at), to_rfc3339(at + timedelta(minutes=15)))
    order_transitions.place_order(order, at)
    if paid:
        order_transitions.mark_paid(order, at, "wx_txn_" + order_id, "123456", points)
    return order_id


def stock_of(store_id="s1", sku="latte"):
    return int(StoreStock.get(*stock_key(store_id, sku), consistent_read=True).stock)


@pytest.fixture
def loop(cloud, client, actors, msg):
    """A shopper who has done everything: consent, subscribe, a message, coupons, a visit, orders, points."""
    admin = actors.admin["token"]
    actors.store("s1")
    ok(client.post("/admin/products", {"sku": "latte", "name": "拿铁", "price_fen": 3200, "stock": {"s1": 10}},
                   token=admin), 201)
    templates = [ok(client.post("/admin/coupon-templates", {
        "name": f"¥{n} off", "kind": "cash_off", "amount_off_fen": n * 100, "total_stock": 100,
        "validity": {"type": "relative", "days": 7}}, token=admin), 201)["template_id"] for n in (5, 10)]
    starts = clock.now() - timedelta(minutes=1)
    campaign = ok(client.post("/admin/campaigns", {"name": "Double 11", "starts_at": to_rfc3339(starts),
                                                   "ends_at": to_rfc3339(starts + timedelta(days=2)),
                                                   "template_ids": templates}, token=admin), 201)
    ok(client.post(f"/admin/campaigns/{campaign['campaign_id']}/publish", token=admin))

    who = actors.member("privacy-shopper")
    token, m = who["token"], who["member_id"]
    ok(client.post("/me/consents", {"policy_version": "2026-01", "scopes": ["location"]}, token=token), 201)
    ok(client.post("/me/consents", {"policy_version": "2026-11", "scopes": ["marketing_messages"]}, token=token), 201)
    ok(client.post("/me/message-subscriptions", {"results": {TEMPLATE: "accept"}}, token=token))
    settings = get_settings().model_copy(update={"message_queue_url": cloud.ref("OutboundMessagesQueue")})
    message_id = messages.enqueue_message(m, TEMPLATE, {"thing1": "到店礼"}, None, "campaign_notify",
                                          settings=settings)
    cloud.drain_queues()
    assert len(msg.messages()) == 1
    coupons = [ok(client.post(f"/campaigns/{campaign['campaign_id']}/claims", {"template_id": t}, token=token),
                  201)["coupon"] for t in templates]
    day, start = tomorrow_slot()
    appt = ok(client.post("/appointments", {"store_id": "s1", "slot_start": start, "note": NOTE}, token=token), 201)
    paid = place_order(m, paid=True, points=64)
    pending = place_order(m, qty=2)
    assert stock_of() == 7
    return {"who": who, "token": token, "member_id": m, "campaign": campaign, "coupons": coupons, "appt": appt,
            "day": day, "slot": start, "paid": paid, "pending": pending, "message_id": message_id}


# ------------------------------------------------------------------------------------------- export


def test_the_export_holds_every_personal_record(client, loop):
    export = ok(client.get("/me/export", token=loop["token"]))
    m = loop["member_id"]
    assert export["member_id"] == m
    assert export["profile"]["member_id"] == m and export["profile"]["points"] == 64
    assert export["profile"]["lifetime_spend_fen"] == 3200
    assert "wechat_openid" in export["identifiers"]
    assert export["consents"]["current"]["scopes"] == ["marketing_messages"]
    assert [c["policy_version"] for c in export["consents"]["history"]] == ["2026-01", "2026-11"]
    assert [(g["template_id"], g["available"], g["accepted_total"]) for g in export["message_grants"]] == [
        (TEMPLATE, 0, 1)]
    assert [(x["message_id"], x["status"]) for x in export["messages"]] == [(loop["message_id"], "sent")]
    assert {c["coupon_id"] for c in export["coupons"]} == {c["coupon_id"] for c in loop["coupons"]}
    assert [(a["appointment_id"], a["note"]) for a in export["appointments"]] == [
        (loop["appt"]["appointment_id"], NOTE)]
    assert {o["order_id"] for o in export["orders"]} == {loop["paid"], loop["pending"]}
    assert [(p["delta"], p["order_id"]) for p in export["points"]] == [(64, loop["paid"])]
    records = {o["record"] for o in export["other"]}
    assert {"holding", "staff"} & records == {"holding"}  # coupon holdings; not staff
    # Nothing the member may not see: no table keys, no ciphertext, no openid.
    text = json.dumps(export, ensure_ascii=False)
    assert openid_for("privacy-shopper") not in text
    for name in ("GSI1PK", '"PK"', '"SK"', "_enc"):
        assert name not in text, name


def test_a_new_member_s_export_is_nearly_empty(client, actors):
    who = actors.member("privacy-new")
    export = ok(client.get("/me/export", token=who["token"]))
    assert export["profile"]["member_id"] == who["member_id"]
    assert export["consents"] == {"current": None, "history": []}
    for section in ("message_grants", "messages", "coupons", "appointments", "orders", "points", "other"):
        assert export[section] == [], section


def test_a_phone_held_encrypted_is_exported_decrypted(client, actors):
    who = actors.member("privacy-phone")
    enc = crypto.encrypt(get_settings().data_key, "13812345678", "phone")
    key = {"PK": {"S": members.member_pk(who["member_id"])}, "SK": {"S": "PROFILE"}}
    privacy_data.dynamodb_client().update_item(TableName=get_settings().table_name, Key=key,
                                               UpdateExpression="SET phone_enc = :p",
                                               ExpressionAttributeValues={":p": {"S": enc}})
    assert "13812345678" not in json.dumps(privacy_data.get_item(members.member_pk(who["member_id"]), "PROFILE"))
    export = ok(client.get("/me/export", token=who["token"]))
    assert export["profile"]["phone"] == "13812345678" and "phone_enc" not in export["profile"]


def test_the_export_needs_a_token(client):
    resp = client.get("/me/export")
    assert resp.status == 401 and resp.json()["error"]["code"] == "UNAUTHENTICATED"


# ------------------------------------------------------------------------------------------- erasure


def test_erasure_round_trip(cloud, client, actors, loop, msg):
    m, token = loop["member_id"], loop["token"]
    body = ok(client.delete("/me", token=token))
    assert body["member_id"] == m and body["status"] == "erased"
    assert body["deleted"] > 0 and body["depersonalised"] >= 5  # 2 orders, 2 coupons, 1 appointment

    # The old token is refused at once, on every route.
    for method, path in (("GET", "/me/export"), ("DELETE", "/me"), ("GET", "/me"), ("GET", "/me/coupons")):
        resp = client.request(method, path, token=token)
        assert resp.status == 401, (path, resp.body)
        assert resp.json()["error"]["code"] == "UNAUTHENTICATED"

    # Nothing keyed by the member is left.
    for pk in privacy_data.member_partitions(m):
        assert privacy_data.partition_items(pk) == [], pk
    for name, pk in privacy_data.member_indexes(m).items():
        assert privacy_data.index_items(pk) == [], name

    # Orders are kept for accounting, de-personalised; the pending one was cancelled and its stock came back.
    paid, pending = order_data.get_order(loop["paid"]), order_data.get_order(loop["pending"])
    assert (paid.member_id, paid.status, paid.GSI1PK) == ("erased", "paid", None)
    assert int(paid.total_fen) == 3200 and paid.transaction_id == "wx_txn_" + loop["paid"]
    assert (pending.member_id, pending.status) == ("erased", "cancelled")
    assert stock_of() == 9
    # Coupons: de-personalised and revoked (a code nobody holds must not stay redeemable).
    for c in loop["coupons"]:
        coupon = coupon_data.get_coupon(c["coupon_id"], consistent=True)
        assert (coupon.member_id, coupon.status, coupon.GSI1PK) == ("erased", "revoked", None)
    # The visit was cancelled (its place freed) and its note removed.
    appt = privacy_data.get_item(f"APPT#{loop['appt']['appointment_id']}", "APPT")
    assert appt["member_id"] == "erased" and appt["status"] == "cancelled" and "note" not in appt
    other = actors.member("privacy-other")
    slots = ok(client.get("/stores/s1/slots", token=other["token"], query={"date": loop["day"]}))["slots"]
    assert next(s["remaining"] for s in slots if s["start"] == loop["slot"]) == 4

    # A message queued for the erased member is dropped.
    settings = get_settings().model_copy(update={"message_queue_url": cloud.ref("OutboundMessagesQueue")})
    messages.enqueue_message(m, TEMPLATE, {}, None, "late", settings=settings)
    cloud.drain_queues()
    assert len(msg.messages()) == 1

    # The same WeChat account logging in again is a new member with nothing.
    again = actors.member("privacy-shopper")
    assert again["member_id"] != m
    export = ok(client.get("/me/export", token=again["token"]))
    assert export["profile"]["member_id"] == again["member_id"]
    assert export["profile"]["points"] == 0
    assert export["consents"] == {"current": None, "history": []}
    for section in ("message_grants", "messages", "coupons", "appointments", "orders", "points", "other"):
        assert export[section] == [], section
    assert ok(client.get("/me", token=again["token"]))["points"] == 0


def test_the_openid_link_goes_with_the_member(client, actors):
    who = actors.member("privacy-link")
    settings = get_settings()
    link = f"OPENID#{crypto.keyed_hash(settings.data_key, openid_for('privacy-link'), 'openid')}"
    assert privacy_data.get_item(link, "LINK")["member_id"] == who["member_id"]
    ok(client.delete("/me", token=who["token"]))
    assert privacy_data.get_item(link, "LINK") is None


def test_while_an_erasure_is_under_way_only_delete_me_is_allowed(client, actors, cloud):
    who = actors.member("privacy-halfway")
    ok(client.post("/me/consents", {"policy_version": "2026-11", "scopes": ["analytics"]}, token=who["token"]), 201)
    # An erasure that stopped after its first step (the profile marked, the stage's authorizer cache flushed) ...
    assert privacy_data.mark_erasing(who["member_id"], to_rfc3339(clock.now()))
    cloud.authorizer_cache.clear()
    assert client.get("/me/export", token=who["token"]).status == 401
    assert client.post("/me/consents", {"policy_version": "2026-11", "scopes": []}, token=who["token"]).status == 401
    # ... is run again by the member, and completes.
    ok(client.delete("/me", token=who["token"]))
    assert client.delete("/me", token=who["token"]).status == 401
    assert privacy_data.partition_items(members.member_pk(who["member_id"])) == []


def test_an_erased_member_cannot_be_written_to(client, actors):
    """A request that passed the authorizer just before the erasure must not leave records behind."""
    from storeloop.caller import Caller
    from storeloop.errors import Unauthenticated
    from storeloop.schemas.messages import SubscribeRequest
    from storeloop.schemas.privacy import ConsentRequest
    from storeloop.services import consents

    who = actors.member("privacy-race")
    ok(client.delete("/me", token=who["token"]))
    caller = Caller(who["member_id"])
    with pytest.raises(Unauthenticated):
        messages.subscribe(caller, SubscribeRequest(results={TEMPLATE: "accept"}))
    with pytest.raises(Unauthenticated):
        consents.record_consent(caller, ConsentRequest(policy_version="v1", scopes=["analytics"]))
    assert privacy_data.partition_items(members.member_pk(who["member_id"])) == []


@pytest.mark.parametrize("folder,function", [("export_me", "ExportMeFunction"), ("erase_me", "EraseMeFunction")])
def test_the_sample_events_run(cloud, actors, folder, function):
    who = actors.member(f"privacy-sample-{folder}")
    event = json.loads((ROOT / "events" / f"{folder}.json").read_text())
    event["requestContext"]["authorizer"].update(member_id=who["member_id"], principalId=who["member_id"])
    result = cloud.invoke(function, event)
    assert result["statusCode"] == 200, result
    assert json.loads(result["body"])["member_id"] == who["member_id"]
