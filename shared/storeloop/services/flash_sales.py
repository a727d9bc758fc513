"""(issue 10) Flash sales (秒杀): create, list live and upcoming with `remaining`, and buy one unit.

A purchase is an ordinary order (services/orders.py: the payment timer, WeChat prepay, the notification, pickup,
refunds) whose reservation is a unit of the sale's own sharded stock plus one of the member's purchases
(data/flash_sales.py); the order's cancel or payment timeout gives both back in its own transaction, once.
"""

from __future__ import annotations

import uuid

from storeloop.caller import Caller
from storeloop.data import flash_sales, order_transitions, orders
from storeloop.data.campaign_orders import FLASH_SALE
from storeloop.domain.clock import now, to_rfc3339
from storeloop.domain.errors import SoldOut
from storeloop.errors import Conflict, NotFound
from storeloop.schemas.coupons import is_id
from storeloop.schemas.flash_sales import CreateFlashSaleRequest, FlashSaleList, FlashSaleOrderRequest, FlashSaleOut
from storeloop.schemas.orders import CreateOrderResponse
from storeloop.services import campaign_kinds, warmup
from storeloop.settings import Settings


def sale_out(sale: flash_sales.FlashSale, remaining: int) -> FlashSaleOut:
    return FlashSaleOut(
        flash_sale_id=sale.flash_sale_id, sku=sale.sku, name=sale.name, store_ids=[str(s) for s in sale.store_ids],
        price_fen=int(sale.price_fen), stock=int(sale.stock), per_member_limit=int(sale.per_member_limit),
        starts_at=sale.starts_at, ends_at=sale.ends_at,
        status=campaign_kinds.window_status(sale.starts_at, sale.ends_at, now()), remaining=remaining,
        expected_peak_rps=int(sale.expected_peak_rps) if sale.expected_peak_rps else None, created_at=sale.created_at)


def create_flash_sale(caller: Caller, body: CreateFlashSaleRequest) -> FlashSaleOut:
    name = campaign_kinds.product_name(body.sku, body.store_ids)
    sale_id = "fs_" + uuid.uuid4().hex[:20]
    sale = flash_sales.create_sale(sale_id, {**body.model_dump(exclude_none=True), "name": name}, now(),
                                   caller.member_id)
    # With an expected peak, the warm flow (services/warmup.py) provisions the order path before starts_at.
    warmup.start_warm_flow(sale)
    return sale_out(sale, int(sale.stock))


def get_flash_sale(sale_id: str) -> FlashSaleOut:
    sale = flash_sales.get_sale(sale_id) if is_id(sale_id) else None
    if sale is None:
        raise NotFound(f"flash sale {sale_id} not found")
    return sale_out(sale, flash_sales.remaining([sale])[sale.flash_sale_id])


def list_flash_sales(limit: int, cursor: str | None) -> FlashSaleList:
    sales, after = flash_sales.sales_ending_after(to_rfc3339(now()), limit, cursor)
    left = flash_sales.remaining(sales)
    return FlashSaleList(items=[sale_out(s, left[s.flash_sale_id]) for s in sales], next=after)


def buy(settings: Settings, caller: Caller, sale_id: str, body: FlashSaleOrderRequest) -> CreateOrderResponse:
    """One unit at the sale price: 409 FLASH_SALE_NOT_LIVE, SOLD_OUT, PURCHASE_LIMIT_REACHED."""
    sale = flash_sales.get_sale(sale_id, cached=True) if is_id(sale_id) else None
    if sale is None:
        raise NotFound(f"flash sale {sale_id} not found")
    at = now()
    status = campaign_kinds.window_status(sale.starts_at, sale.ends_at, at)
    if status != "live":
        raise Conflict(f"the flash sale is {status}", code="FLASH_SALE_NOT_LIVE")
    if body.store_id not in sale.store_ids:
        raise Conflict("the flash sale is not at this store", code="NOT_SOLD_AT_STORE")

    def attempt(order: orders.Order) -> None:
        # A random shard first, then every other; when all refuse, one consistent read finds units a timed-out
        # order gave back meanwhile, and those are tried once more before SOLD_OUT.
        for shards in (flash_sales.random_shards(sale), None):
            for shard in shards if shards is not None else flash_sales.shards_in_stock(sale):
                order.campaign_shard = shard
                try:
                    order_transitions.place_order(order, at, flash_sales.reserve_step(sale, shard, caller.member_id))
                    return
                except orders.ReservationFailed as failed:
                    if failed.what == "flash_limit":
                        raise Conflict(f"at most {int(sale.per_member_limit)} per member",
                                       code="PURCHASE_LIMIT_REACHED") from None
                    if failed.what != "flash_stock":
                        raise
        raise SoldOut()

    return campaign_kinds.place_campaign_order(settings, caller, body.store_id, sale.sku, sale.name,
                                               int(sale.price_fen), FLASH_SALE, sale.flash_sale_id, at, attempt,
                                               store_stock=False)
