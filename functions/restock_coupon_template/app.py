"""POST /admin/coupon-templates/{id}/restock {"add"}: more units across the stock shards (Idempotency-Key)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import current_caller, idempotent_request, lambda_handler_for, make_app, require_admin
from storeloop.schemas.template_admin import RestockOut, RestockRequest
from storeloop.services import template_admin

app = make_app()


@app.post("/admin/coupon-templates/<template_id>/restock", summary="Restock a coupon template", tags=["coupons"])
def restock_template(
    template_id: str,
    body: RestockRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[RestockOut, int]:
    caller = require_admin(current_caller(app))
    return idempotent_request(
        "restock_template", caller.member_id, idempotency_key, {"template_id": template_id, **body.model_dump()},
        lambda: (template_admin.restock_template(template_id, body.add).model_dump(mode="json"), 200))


lambda_handler = lambda_handler_for(app)
