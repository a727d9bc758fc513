"""GET /groups/{group_id}: a group's status, paid members and members still needed (any member: it is shared)."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.group_buys import GroupOut
from storeloop.services import group_buys

app = make_app()


@app.get("/groups/<group_id>", summary="One group", tags=["campaign kinds"])
def get_group(group_id: str) -> GroupOut:
    current_caller(app)
    return group_buys.get_group(group_id)


lambda_handler = lambda_handler_for(app)
