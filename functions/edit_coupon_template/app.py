"""PATCH /admin/coupon-templates/{id}: edit name, per_member_limit (raise only), daily_limit, channels, store_ids,
archived; any other field is a 400."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.template_admin import EditTemplateRequest, ManagedTemplateOut
from storeloop.services import template_admin

app = make_app()


@app.patch("/admin/coupon-templates/<template_id>", summary="Edit a coupon template", tags=["coupons"])
def edit_template(template_id: str, body: EditTemplateRequest) -> ManagedTemplateOut:
    require_admin(current_caller(app))
    return template_admin.edit_template(template_id, body)


lambda_handler = lambda_handler_for(app)
