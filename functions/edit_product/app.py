"""PATCH /admin/products/{sku}: name, price_fen, active (false: cannot be ordered); other fields are a 400."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.product_admin import EditProductRequest, ManagedProductOut
from storeloop.services import product_admin

app = make_app()


@app.patch("/admin/products/<sku>", summary="Edit or deactivate a product", tags=["products"])
def edit_product(sku: str, body: EditProductRequest) -> ManagedProductOut:
    require_admin(current_caller(app))
    return product_admin.edit_product(sku, body)


lambda_handler = lambda_handler_for(app)
