"""POST /admin/products: an admin adds a product with its stock at each store."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app, require_admin
from storeloop.schemas.products import CreateProductRequest, ProductOut
from storeloop.services import products

app = make_app()


@app.post("/admin/products", summary="Create a product with its stock per store", tags=["products"],
          responses={201: {"description": "created"}})
def create_product(
    body: CreateProductRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[ProductOut, int]:
    caller = require_admin(current_caller(app))
    return idempotent_request("create_product", caller.member_id, idempotency_key, body.model_dump(mode="json"),
                              lambda: created(products.create_product(body)))


lambda_handler = lambda_handler_for(app)
