"""GET /products/{sku}/related?store_id=: products bought together with this one, in stock at that store."""

import re
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.errors import NotFound
from storeloop.schemas.coupons import SKU_PATTERN
from storeloop.schemas.recommendations import RecommendationList
from storeloop.schemas.stores import ID_PATTERN
from storeloop.services import recommendations

app = make_app()


@app.get("/products/<sku>/related", summary="Products bought together with this one", tags=["recommendations"])
def related_products(
    sku: str,
    store_id: Annotated[str, Query(pattern=ID_PATTERN)],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> RecommendationList:
    if not re.match(SKU_PATTERN, sku):
        raise NotFound(f"product {sku} not found")
    return recommendations.related(sku, store_id, limit, current_caller(app).member_id)


lambda_handler = lambda_handler_for(app)
