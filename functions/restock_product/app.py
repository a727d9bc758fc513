"""POST /admin/products/{sku}/restock {"store_id", "add"}: more units at a store (Idempotency-Key)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import current_caller, idempotent_request, lambda_handler_for, make_app, require_admin
from storeloop.schemas.product_admin import ProductRestockOut, ProductRestockRequest
from storeloop.services import product_admin

app = make_app()


@app.post("/admin/products/<sku>/restock", summary="Restock a product at a store", tags=["products"])
def restock_product(
    sku: str,
    body: ProductRestockRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[ProductRestockOut, int]:
    caller = require_admin(current_caller(app))
    return idempotent_request(
        "restock_product", caller.member_id, idempotency_key, {"sku": sku, **body.model_dump()},
        lambda: (product_admin.restock_product(sku, body.store_id, body.add).model_dump(mode="json"), 200))


lambda_handler = lambda_handler_for(app)
