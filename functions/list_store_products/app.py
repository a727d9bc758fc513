"""GET /stores/{store_id}/products: what a store sells, with its stock there."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.products import StoreProductList
from storeloop.services import products

app = make_app()


@app.get("/stores/<store_id>/products", summary="A store's products and stock", tags=["products"])
def list_store_products(
    store_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> StoreProductList:
    current_caller(app)
    return products.store_products(store_id, limit, cursor)


lambda_handler = lambda_handler_for(app)
