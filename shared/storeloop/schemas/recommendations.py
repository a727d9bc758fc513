"""Recommendations: what GET /me/recommendations and GET /products/{sku}/related answer."""

from __future__ import annotations

from typing import Literal

from storeloop.schemas import Model

Reason = Literal["bought_together", "popular_at_store", "new"]


class RecommendationOut(Model):
    sku: str
    name: str
    price_fen: int
    reason: Reason


class RecommendationList(Model):
    items: list[RecommendationOut]
