"""Analytics: the admin routes' response shapes (all counts and money are integers; money in fen)."""

from __future__ import annotations

from pydantic import Field

from storeloop.schemas import Model


class CampaignStoreOut(Model):
    store_id: str
    redeemed: int = Field(description="coupons of the campaign redeemed at this store, net of reversals")
    new_members: int = Field(description="members whose membership started at this store through the campaign")
    orders: int = Field(description="paid orders and till sales at this store that used a coupon of the campaign")
    revenue_fen: int = Field(description="what those orders paid, less what was refunded")
    refunds: int = Field(description="refunds of those orders")


class CampaignSourceOut(Model):
    """Issue 9: the campaign's funnel for one source; the rows add up to the campaign's totals."""

    channel: str
    store_id: str | None = None
    ref: str | None = None
    views: int
    claimed: int
    redeemed: int
    new_members: int
    orders: int
    revenue_fen: int
    refunds: int


class CampaignAnalyticsOut(Model):
    campaign_id: str
    claimed: int
    redeemed: int = Field(description="net of reversals")
    redemption_rate: float = Field(description="redeemed / claimed, 4 decimals; 0 before the first claim")
    new_members: int = Field(description="members whose first redemption, order or till sale came through it")
    orders: int
    revenue_fen: int
    refunds: int
    repeat_buyers_30d: int = Field(description="members with two paid orders within 30 days, one of them using "
                                               "a coupon of this campaign; each member counted once")
    by_store: list[CampaignStoreOut]
    views: int = Field(default=0, description="issue 9: exposures (POST /campaigns/{id}/views)")
    by_source: list[CampaignSourceOut] = Field(default_factory=list, description="issue 9: the funnel by source")


class StoreTotalsOut(Model):
    """A store's counters over the range (`totals`); each day of `days` has the same ones for that day."""

    visits: int = Field(description="appointments checked in")
    redemptions: int = Field(description="coupons redeemed, net of reversals")
    orders: int = Field(description="online orders paid and till sales")
    revenue_fen: int = Field(description="paid, less refunds completed")
    new_members: int
    refunds: int
    # issue 10: the campaign kinds
    groups_opened: int = Field(default=0, description="group buy groups opened at this store")
    groups_formed: int = Field(default=0, description="groups that formed (every member paid in time)")
    groups_failed: int = Field(default=0, description="groups that failed and were refunded")
    flash_units: int = Field(default=0, description="flash-sale units paid for, less those refunded")
    flash_revenue_fen: int = Field(default=0, description="what flash-sale orders paid, less refunds")
    rewards_redeemed: int = Field(default=0, description="points-mall rewards redeemed for this store")
    points_spent: int = Field(default=0, description="points those redemptions spent")


class StoreDayOut(StoreTotalsOut):
    date: str = Field(description="YYYY-MM-DD, China Standard Time")


class StoreAnalyticsOut(Model):
    store_id: str
    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    days: list[StoreDayOut] = Field(description="every day of the range, in order; days without activity are 0")
    totals: StoreTotalsOut

    model_config = {"populate_by_name": True}
