"""GET /admin/products: every product with its stock at each store."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.product_admin import ManagedProductList
from storeloop.services import product_admin

app = make_app()


@app.get("/admin/products", summary="Products with stock per store", tags=["products"])
def list_products(limit: Annotated[int, Query(ge=1, le=100)] = 20,
                  cursor: Annotated[str | None, Query(max_length=2048)] = None) -> ManagedProductList:
    require_admin(current_caller(app))
    return product_admin.list_products(limit, cursor)


lambda_handler = lambda_handler_for(app)
