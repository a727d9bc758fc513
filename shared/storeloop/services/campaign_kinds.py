"""(issue 10) What the campaign kinds share: an offer's product and stores checked at creation, its window's status,
and placing a campaign order through the ordinary order machinery (services/orders.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from storeloop.caller import Caller
from storeloop.data import orders, products, stores
from storeloop.domain.clock import parse_rfc3339, to_rfc3339
from storeloop.domain.errors import OutOfStock
from storeloop.errors import Forbidden, NotFound, RateLimited, ValidationFailed
from storeloop.schemas.orders import CreateOrderResponse
from storeloop.services import payments
from storeloop.services.orders import start_payment
from storeloop.settings import Settings


def product_name(sku: str, store_ids: list[str]) -> str:
    """The product's name; 400 naming the field when the sku or a store does not exist."""
    product = products.get_product(sku)
    if product is None:
        raise ValidationFailed("unknown sku", details=[{"field": "sku", "issue": "unknown", "message": sku}])
    known = stores.get_stores(store_ids)
    missing = [i for i, s in enumerate(store_ids) if s not in known]
    if missing:
        raise ValidationFailed("unknown store", details=[{"field": f"store_ids.{i}", "issue": "unknown",
                                                          "message": store_ids[i]} for i in missing])
    return str(product.name)


def window_status(starts_at: str, ends_at: str, at: datetime) -> str:
    if at < parse_rfc3339(starts_at):
        return "upcoming"
    return "live" if at < parse_rfc3339(ends_at) else "ended"


def place_campaign_order(settings: Settings, caller: Caller, store_id: str, sku: str, name: str, price_fen: int,
                         kind: str, ref: str, at: datetime, attempt: Callable[[orders.Order], None],
                         *, store_stock: bool) -> CreateOrderResponse:
    """One unit of `sku` at `price_fen`, picked up at `store_id`, as an ordinary order of `kind` (campaign_kind) with
    the campaign's own reservation: `attempt(order)` places it (data/order_transitions.place_order with the
    campaign's step) and raises what refused it. Then the payment timer and WeChat prepay, exactly as POST /orders
    does."""
    if not settings.order_state_machine_arn:
        raise RuntimeError("ORDER_STATE_MACHINE_ARN is not set for this function")
    try:
        profile, stock, _ = orders.read_for_order(caller.member_id, store_id, [sku] if store_stock else [], None)
    except orders.Busy:
        raise RateLimited("too many orders at once, retry", headers={"Retry-After": "1"}) from None
    if profile is None or not profile.openid_enc:
        raise Forbidden("this member can no longer order")
    if store_stock:
        if sku not in stock:
            if stores.get_store(store_id) is None:
                raise NotFound(f"store {store_id} not found")
            raise OutOfStock(f"{sku} is not sold at this store", details={"sku": sku})
        if int(stock[sku].stock) < 1:
            raise OutOfStock(details={"sku": sku})
    payments.require_configured(settings)
    order_id = "ord_" + uuid.uuid4().hex[:24]
    deadline = at + timedelta(seconds=settings.order_payment_timeout_seconds)
    order = orders.new_order(order_id, caller.member_id, store_id, [(sku, name, 1, price_fen)], price_fen, 0, 0,
                                 price_fen, None, to_rfc3339(at), to_rfc3339(deadline))
    order.campaign_kind, order.campaign_ref = kind, ref
    try:
        attempt(order)
    except orders.Busy:
        raise RateLimited("too many orders at once, retry", headers={"Retry-After": "1"}) from None
    return start_payment(settings, caller, order, profile.openid_enc, at)


def stock_refusal(failed: orders.ReservationFailed, sku: str) -> Any:
    """The store-stock refusal of a placement, if that was it."""
    return OutOfStock(details={"sku": sku}) if failed.what == "stock" else None
