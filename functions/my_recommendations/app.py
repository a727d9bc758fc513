"""GET /me/recommendations?store_id=&limit=: products for this member at that store (bought together, popular, new)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.recommendations import RecommendationList
from storeloop.schemas.stores import ID_PATTERN
from storeloop.services import recommendations

app = make_app()


@app.get("/me/recommendations", summary="My recommendations at a store", tags=["recommendations"])
def my_recommendations(
    store_id: Annotated[str, Query(pattern=ID_PATTERN)],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> RecommendationList:
    return recommendations.for_member(current_caller(app).member_id, store_id, limit)


lambda_handler = lambda_handler_for(app)
