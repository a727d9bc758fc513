"""The store's own day (staff of that store; admins for any): GET /stores/{store_id}/appointments, /orders,
/verifications, and /analytics (its manager)."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.analytics import StoreAnalyticsOut
from storeloop.schemas.store_day import StoreOrderList, StoreVerificationList, StoreVisitList
from storeloop.services import store_day
from storeloop.settings import get_settings

app = make_app()

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2048)]
Day = Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD (China time); today by default")]


@app.get("/stores/<store_id>/appointments", summary="The store's visits of a day, by slot", tags=["store day"])
def visits(store_id: str, date: Day = None,
           status: Annotated[Literal["booked", "checked_in", "cancelled"] | None, Query()] = None,
           limit: Limit = 100, cursor: Cursor = None) -> StoreVisitList:
    return store_day.visits(get_settings(), current_caller(app), store_id, date, status, limit, cursor)


@app.get("/stores/<store_id>/orders", summary="Pickups waiting at the store, oldest first", tags=["store day"])
def pickups(store_id: str, status: Annotated[Literal["paid"], Query()] = "paid",
            limit: Limit = 20, cursor: Cursor = None) -> StoreOrderList:
    return store_day.pickups(current_caller(app), store_id, limit, cursor)


@app.get("/stores/<store_id>/verifications", summary="The store's verifications of a day", tags=["store day"])
def verifications(store_id: str, date: Day = None, limit: Limit = 20, cursor: Cursor = None) -> StoreVerificationList:
    return store_day.verifications(current_caller(app), store_id, date, limit, cursor)


@app.get("/stores/<store_id>/analytics", summary="The store's numbers (its manager)", tags=["store day"])
def numbers(
    store_id: str,
    date_from: Annotated[str | None, Query(alias="from", max_length=10, description="YYYY-MM-DD; to - 6 days")] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=10, description="YYYY-MM-DD; today")] = None,
) -> StoreAnalyticsOut:
    return store_day.numbers(current_caller(app), store_id, date_from, date_to)


lambda_handler = lambda_handler_for(app)
