"""GET /stores?lat=&lng=: stores nearest the shopper first, each with its distance (or ?city= for one city)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.errors import ValidationFailed
from storeloop.schemas.stores import StoreList
from storeloop.services import stores

app = make_app()


@app.get("/stores", summary="Stores nearest a point", tags=["stores"])
def list_stores(
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lng: Annotated[float | None, Query(ge=-180, le=180)] = None,
    city: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> StoreList:
    current_caller(app)
    if lat is not None and lng is not None:
        return StoreList(items=stores.nearest_stores(lat, lng, limit))
    if city and lat is None and lng is None:
        return StoreList(items=stores.stores_in_city(city, limit))
    raise ValidationFailed("give lat and lng together, or city",
                           details=[{"field": "lat" if lat is None else "lng", "issue": "missing"}])


lambda_handler = lambda_handler_for(app)
