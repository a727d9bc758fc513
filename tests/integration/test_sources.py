"""Issue 9, where shoppers come from, through the routes: entry codes and scenes, shares, views, claims that carry a
source to the coupon, the verification, the membership, the order and the till sale, and the campaign's funnel by
source (which adds up to its totals)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
import requests

from local.testing import ok
from storeloop.data import members as members_data
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339

TOTAL_FIELDS = ("claimed", "redeemed", "new_members", "orders", "revenue_fen", "refunds")


pytestmark = pytest.mark.notifiable


def error(resp):
    return resp.json()["error"]["code"]


@pytest.fixture
def world(client, actors, wechat):
    admin = actors.admin["token"]
    actors.store("s1")
    ok(client.post("/admin/products", {"sku": "latte", "name": "拿铁", "price_fen": 3000, "stock": {"s1": 50}},
                   token=admin), 201)
    t = ok(client.post("/admin/coupon-templates", {"name": "¥5 off", "kind": "cash_off", "amount_off_fen": 500,
                                                   "total_stock": 50, "validity": {"type": "relative", "days": 7}},
                       token=admin), 201)
    starts = clock.now() - timedelta(minutes=1)
    c = ok(client.post("/admin/campaigns", {"name": "双十一", "starts_at": to_rfc3339(starts),
                                            "ends_at": to_rfc3339(starts + timedelta(days=2)),
                                            "template_ids": [t["template_id"]]}, token=admin), 201)
    ok(client.post(f"/admin/campaigns/{c['campaign_id']}/publish", token=admin))
    secret = ok(client.post("/admin/stores/s1/pos-secret", token=admin), 201)["secret"]
    wechat.wxacode.reset()
    return {"admin": admin, "campaign": c["campaign_id"], "template": t["template_id"], "secret": secret}


def entry_code(client, world, **source):
    return client.post(f"/admin/campaigns/{world['campaign']}/entry-codes", source, token=world["admin"])


def test_an_entry_code_is_made_once_per_source_and_its_scene_resolves(client, actors, world, wechat):
    first = ok(entry_code(client, world, channel="store_qr", store_id="s1"), 201)
    assert first["qr_image"].startswith("data:image/png;base64,")
    assert base64.b64decode(first["qr_image"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(first["scene"]) <= 32 and first["path"].endswith(first["scene"])
    again = ok(entry_code(client, world, channel="store_qr", store_id="s1"), 201)
    assert again == first
    other = ok(entry_code(client, world, channel="article", ref="art-1"), 201)
    assert other["scene"] != first["scene"]
    assert [c["scene"] for c in wechat.wxacode.calls] == [first["scene"], other["scene"]]  # WeChat asked once each

    shopper = actors.member()["token"]
    assert ok(client.get(f"/scenes/{first['scene']}", token=shopper)) == {
        "campaign_id": world["campaign"], "source": {"channel": "store_qr", "store_id": "s1", "ref": None}}
    assert client.get("/scenes/NoSuchScene1", token=shopper).status == 404
    assert client.get("/scenes/" + "x" * 33, token=shopper).status == 404


def test_bad_sources_are_refused(client, actors, world):
    assert error(entry_code(client, world, channel="article", ref="a" * 65)) == "VALIDATION_FAILED"
    assert error(entry_code(client, world, channel="billboard")) == "VALIDATION_FAILED"
    assert error(entry_code(client, world, channel="store_qr", store_id="nowhere")) == "VALIDATION_FAILED"
    assert entry_code(client, world, channel="article", ref="a" * 64).status == 201
    shopper = actors.member()["token"]
    claims = f"/campaigns/{world['campaign']}/claims"
    assert client.post(claims, {"template_id": world["template"], "source": {"channel": "tv"}},
                       token=shopper).status == 400
    assert client.post(claims, {"template_id": world["template"], "source": {"channel": "share", "ref": "r" * 65}},
                       token=shopper).status == 400
    assert error(client.post(claims, {"template_id": world["template"], "scene": "unknownScene"},
                             token=shopper)) == "SCENE_NOT_FOUND"
    assert client.post(f"/campaigns/{world['campaign']}/views", {"scene": "unknownScene"}, token=shopper).status == 404
    assert client.post("/campaigns/cp_nope/views", {}, token=shopper).status == 404


def till_sale(client, secret, sale_id, total_fen, member_code, codes):
    body = {"sale_id": sale_id, "total_fen": total_fen, "member_code": member_code,
            "items": [{"sku": "latte", "qty": 1, "price_fen": total_fen}], "coupon_codes": codes,
            "occurred_at": to_rfc3339(clock.now())}
    raw = json.dumps(body).encode()
    ts = str(int(time.time()))
    sig = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return ok(client.request("POST", "/webhooks/pos/s1", raw=raw, headers={
        "Content-Type": "application/json", "X-StoreLoop-Timestamp": ts, "X-StoreLoop-Signature": sig}))


def test_attribution_end_to_end_entry_code_to_funnel_row(client, actors, world, wechat, cloud):
    campaign, template = world["campaign"], world["template"]
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    door = ok(entry_code(client, world, channel="store_qr", store_id="s1"), 201)

    # Amy scans the store's door code: the scene resolves, she views and claims with it, the clerk verifies.
    amy = actors.member("amy")
    scene = ok(client.get(f"/scenes/{door['scene']}", token=amy["token"]))
    assert scene["campaign_id"] == campaign
    assert client.post(f"/campaigns/{campaign}/views", {"scene": door["scene"]}, token=amy["token"]).status == 202
    coupon = ok(client.post(f"/campaigns/{campaign}/claims", {"template_id": template, "scene": door["scene"]},
                            token=amy["token"]), 201)["coupon"]
    assert coupon["source"] == {"channel": "store_qr", "store_id": "s1", "ref": None}
    ok(client.post("/verifications", {"code": coupon["code"], "store_id": "s1", "spend_fen": 3000}, token=clerk), 201)

    # Amy shares; Ben opens her share, claims with it and pays an order with the coupon.
    share = ok(client.post(f"/campaigns/{campaign}/shares", token=amy["token"]), 201)
    assert share["source"] == {"channel": "share", "store_id": None, "ref": amy["member_id"]}
    assert ok(client.post(f"/campaigns/{campaign}/shares", token=amy["token"]), 201)["scene"] == share["scene"]
    ben = actors.member("ben")
    assert client.post(f"/campaigns/{campaign}/views", {"scene": share["scene"]}, token=ben["token"]).status == 202
    bens = ok(client.post(f"/campaigns/{campaign}/claims", {"template_id": template, "scene": share["scene"]},
                          token=ben["token"]), 201)["coupon"]
    order = ok(client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": 2}],
                                       "coupon_id": bens["coupon_id"]}, token=ben["token"]), 201)["order"]
    assert order["source"] == {"channel": "share", "store_id": None, "ref": amy["member_id"]}
    assert requests.post(wechat.base_url + "/_sim/pay", json={"order_id": order["order_id"]}, timeout=10).ok
    paid = ok(client.get(f"/orders/{order['order_id']}", token=ben["token"]))
    assert paid["status"] == "paid" and paid["source"]["channel"] == "share"

    # Cat reads an article and pays at the till with her coupon; Dan comes in directly and only claims.
    cat = actors.member("cat")
    article = {"channel": "article", "ref": "art-1111"}
    assert client.post(f"/campaigns/{campaign}/views", {"source": article}, token=cat["token"]).status == 202
    cats = ok(client.post(f"/campaigns/{campaign}/claims", {"template_id": template, "source": article},
                          token=cat["token"]), 201)["coupon"]
    member_code = ok(client.get("/me/member-code", token=cat["token"]))["code"]
    sale = till_sale(client, world["secret"], "S-1", 4000, member_code, [cats["code"]])
    assert sale["coupons_redeemed"] == [cats["code"]]
    assert sale["coupon_sources"] == {cats["code"]: {"channel": "article", "store_id": None, "ref": "art-1111"}}
    dan = actors.member("dan")
    assert client.post(f"/campaigns/{campaign}/views", {}, token=dan["token"]).status == 202
    ok(client.post(f"/campaigns/{campaign}/claims", {"template_id": template}, token=dan["token"]), 201)

    cloud.drain_streams()
    funnel = ok(client.get(f"/admin/analytics/campaigns/{campaign}", token=world["admin"]))
    rows = {(r["channel"], r["store_id"], r["ref"]): r for r in funnel["by_source"]}
    assert funnel["views"] == 4 and funnel["claimed"] == 4 and funnel["redeemed"] == 3
    assert funnel["new_members"] == 3 and funnel["orders"] == 2
    door_row = rows["store_qr", "s1", None]
    assert {k: door_row[k] for k in ("views", "claimed", "redeemed", "new_members", "orders")} == {
        "views": 1, "claimed": 1, "redeemed": 1, "new_members": 1, "orders": 0}
    share_row = rows["share", None, amy["member_id"]]
    assert (share_row["claimed"], share_row["redeemed"], share_row["new_members"], share_row["orders"],
            share_row["revenue_fen"]) == (1, 1, 1, 1, paid["payable_fen"])
    article_row = rows["article", None, "art-1111"]
    assert (article_row["views"], article_row["redeemed"], article_row["orders"], article_row["revenue_fen"],
            article_row["new_members"]) == (1, 1, 1, 4000, 1)
    assert (rows["direct", None, None]["views"], rows["direct", None, None]["claimed"]) == (1, 1)
    for field in ("views", *TOTAL_FIELDS):
        assert sum(r[field] for r in funnel["by_source"]) == funnel[field], field

    # The members keep their first touch; the first touch is the earliest, whatever arrives later.
    assert members_data.get_profile(amy["member_id"]).source_channel == "store_qr"
    assert members_data.get_profile(ben["member_id"]).source_ref == amy["member_id"]
    assert members_data.get_profile(cat["member_id"]).source_channel == "article"
    assert members_data.get_profile(dan["member_id"]).source_channel is None  # direct is no touch


def test_a_redelivered_stream_counts_views_once(client, actors, world, cloud):
    shopper = actors.member()["token"]
    for _ in range(3):
        assert client.post(f"/campaigns/{world['campaign']}/views", {"source": {"channel": "moments_ad", "ref": "ad9"}},
                           token=shopper).status == 202
    cloud.drain_streams()
    first = ok(client.get(f"/admin/analytics/campaigns/{world['campaign']}", token=world["admin"]))
    assert first["views"] == 3 and first["by_source"][0]["views"] == 3
    # the consumer gets the same records again (as after a timeout): the batch markers make it count nothing
    cloud.redeliver_streams()
    cloud.drain_streams()
    assert ok(client.get(f"/admin/analytics/campaigns/{world['campaign']}", token=world["admin"])) == first
