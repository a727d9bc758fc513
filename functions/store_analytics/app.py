"""GET /admin/analytics/stores/{store_id}?from=YYYY-MM-DD&to=YYYY-MM-DD: a store's days, one Query."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.analytics import StoreAnalyticsOut
from storeloop.services import analytics_reads

app = make_app()


@app.get("/admin/analytics/stores/<store_id>", summary="A store's daily numbers", tags=["analytics"])
def store_analytics(
    store_id: str,
    date_from: Annotated[str | None, Query(alias="from", max_length=10, description="YYYY-MM-DD; to - 6 days")] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=10, description="YYYY-MM-DD; today")] = None,
) -> StoreAnalyticsOut:
    require_admin(current_caller(app))
    return analytics_reads.store_analytics(store_id, date_from, date_to)


lambda_handler = lambda_handler_for(app)
