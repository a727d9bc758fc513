"""HQ's coupon templates: list by status with live counts, read one, edit the editable terms, restock."""

from __future__ import annotations

from storeloop.data import coupons, stores, template_admin
from storeloop.domain.clock import now, to_rfc3339
from storeloop.errors import Conflict, NotFound, RateLimited, ValidationFailed
from storeloop.schemas.coupons import is_id
from storeloop.schemas.template_admin import (
    EditTemplateRequest,
    ManagedTemplateList,
    ManagedTemplateOut,
    RestockOut,
)


def _out(t: template_admin.ManagedTemplate, counts: dict[str, tuple[int, int]]) -> ManagedTemplateOut:
    remaining, released = counts.get(t.template_id, (0, 0))
    fields = {**t.public(), "remaining": remaining, "issued": max(0, int(t.total_stock) - remaining - released),
              "daily_limit": int(t.daily_limit) if t.daily_limit is not None else None,
              "archived": bool(t.archived), "archived_at": t.archived_at, "updated_at": t.updated_at}
    return ManagedTemplateOut(**fields)


def _must_get(template_id: str) -> template_admin.ManagedTemplate:
    found = template_admin.get(template_id) if is_id(template_id) else None
    if found is None:
        raise NotFound(f"template {template_id} not found")
    return found


def list_templates(status: str, limit: int, cursor: str | None) -> ManagedTemplateList:
    found, after = template_admin.list_templates(status, limit, cursor)
    counts = template_admin.stock_counts(found)
    return ManagedTemplateList(items=[_out(t, counts) for t in found], next=after)


def get_template(template_id: str) -> ManagedTemplateOut:
    template = _must_get(template_id)
    return _out(template, template_admin.stock_counts([template]))


def edit_template(template_id: str, body: EditTemplateRequest) -> ManagedTemplateOut:
    changes = body.model_dump(exclude_unset=True)
    template = _must_get(template_id)
    nulls = [k for k, v in changes.items() if v is None and k != "daily_limit"]
    if nulls:
        raise ValidationFailed("these fields cannot be null", details=[
            {"field": k, "issue": "null", "message": "send a value or leave the field out"} for k in nulls])
    if "per_member_limit" in changes and changes["per_member_limit"] < int(template.per_member_limit):
        raise ValidationFailed("per_member_limit may only be raised", details=[
            {"field": "per_member_limit", "issue": "lowered",
             "message": f"at least {int(template.per_member_limit)}"}])
    if changes.get("store_ids"):
        known = stores.get_stores(changes["store_ids"])
        unknown = [s for s in changes["store_ids"] if s not in known]
        if unknown:
            raise ValidationFailed("unknown store ids", details=[{"field": "store_ids", "issue": "unknown",
                                                                   "message": ", ".join(unknown)}])
    if changes:
        try:
            template_admin.edit(template, changes, to_rfc3339(now()))
        except template_admin.NotChanged:
            raise Conflict("the template changed meanwhile; read it again", code="TEMPLATE_CHANGED") from None
        coupons.forget_template(template_id)
    return get_template(template_id)


def restock_template(template_id: str, add: int) -> RestockOut:
    _must_get(template_id)
    try:
        template = template_admin.restock(template_id, add)
    except template_admin.TemplateGone:
        raise NotFound(f"template {template_id} not found") from None
    except template_admin.Busy:
        raise RateLimited("the template is being changed; retry", headers={"Retry-After": "1"}) from None
    coupons.forget_template(template_id)
    remaining, released = template_admin.stock_counts([template]).get(template_id, (0, 0))
    return RestockOut(template_id=template_id, total_stock=int(template.total_stock), remaining=remaining,
                      issued=max(0, int(template.total_stock) - remaining - released))
