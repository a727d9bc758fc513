"""GET /admin/segments/{segment_id}: a segment with its size as last counted (issue 9)."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.segments import SegmentOut
from storeloop.services import segments

app = make_app()


@app.get("/admin/segments/<segment_id>", summary="One segment", tags=["segments"])
def get_segment(segment_id: str) -> SegmentOut:
    require_admin(current_caller(app))
    return segments.get_segment(segment_id)


lambda_handler = lambda_handler_for(app)
