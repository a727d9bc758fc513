"""GET /stores/{store_id}: one store's profile."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.stores import StoreOut
from storeloop.services import stores

app = make_app()


@app.get("/stores/<store_id>", summary="One store", tags=["stores"])
def get_store(store_id: str) -> StoreOut:
    current_caller(app)
    return stores.get_store(store_id)


lambda_handler = lambda_handler_for(app)
