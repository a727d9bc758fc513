"""Recommendations: what GET /me/recommendations and GET /products/{sku}/related answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Reason = Literal["bought_together", "popular_at_store", "new"]


class RecommendationOut(BaseModel):
    sku: str
    name: str
    price_fen: int
    reason: Reason


class RecommendationList(BaseModel):
    items: list[RecommendationOut]
