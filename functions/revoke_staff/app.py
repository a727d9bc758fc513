"""DELETE /admin/staff/{member_id}: revoke a member's staff role, in force from their next request (any token)."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.staff import StaffRevokedOut
from storeloop.services import access

app = make_app()


@app.delete("/admin/staff/<member_id>", summary="Revoke a member's staff role", tags=["stores"])
def revoke_staff(member_id: str) -> StaffRevokedOut:
    require_admin(current_caller(app))
    return access.revoke_staff(member_id)


lambda_handler = lambda_handler_for(app)
