"""GET /admin/coupon-templates?status= and GET /admin/coupon-templates/{id}: HQ's templates with live counts."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.template_admin import ManagedTemplateList, ManagedTemplateOut, TemplateStatus
from storeloop.services import template_admin

app = make_app()


@app.get("/admin/coupon-templates", summary="Coupon templates by status, newest first", tags=["coupons"])
def list_templates(
    status: Annotated[TemplateStatus, Query()] = "active",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ManagedTemplateList:
    require_admin(current_caller(app))
    return template_admin.list_templates(status, limit, cursor)


@app.get("/admin/coupon-templates/<template_id>", summary="One coupon template with its counts", tags=["coupons"])
def get_template(template_id: str) -> ManagedTemplateOut:
    require_admin(current_caller(app))
    return template_admin.get_template(template_id)


lambda_handler = lambda_handler_for(app)
