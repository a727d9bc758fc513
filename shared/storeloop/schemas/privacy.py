"""PIPL: consents, the export of everything held about a member, and the answer to an erasure."""

from __future__ import annotations

from typing import Any, Final, Literal, get_args

from pydantic import Field

from storeloop.schemas import Model, RequestModel

# What a member can consent to. marketing_messages: WeChat subscription messages about campaigns, coupons and
# visits (the sender requires it); location: nearest stores from the device's position; analytics: the use of
# their visits and orders in per-member analytics.
ConsentScope = Literal["marketing_messages", "location", "analytics"]
CONSENT_SCOPES: Final[tuple[str, ...]] = get_args(ConsentScope)


class ConsentRequest(RequestModel):
    policy_version: str = Field(pattern=r"^[A-Za-z0-9._-]{1,32}$",
                                description="the version of the privacy policy the member was shown, e.g. 2026-11")
    scopes: list[ConsentScope] = Field(max_length=10,
                                       description="every scope consented to now; [] withdraws all")


class ConsentOut(Model):
    consent_id: str
    policy_version: str
    scopes: list[str]
    recorded_at: str


class ConsentsOut(Model):
    current: ConsentOut | None
    history: list[ConsentOut]


class MemberExport(Model):
    """Every personal record StoreLoop holds about the caller (GET /me/export)."""

    member_id: str
    exported_at: str
    profile: dict[str, Any] | None
    identifiers: dict[str, str] = Field(description="identifiers held but not shown, and why")
    consents: ConsentsOut
    message_grants: list[dict[str, Any]]
    messages: list[dict[str, Any]] = Field(description="outbound messages: ids, template and outcome")
    coupons: list[dict[str, Any]]
    appointments: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    redemptions: list[dict[str, Any]] = Field(default_factory=list, description="points-mall redemptions")
    group_buys: list[dict[str, Any]] = Field(default_factory=list,
                                             description="group-buy memberships, and the groups the member opened")
    points: list[dict[str, Any]]
    other: list[dict[str, Any]] = Field(description="any other record in the member's partition")


class ErasureOut(Model):
    member_id: str
    status: Literal["erased"] = "erased"
    erased_at: str
    deleted: int = Field(description="records deleted")
    depersonalised: int = Field(description="records kept for accounting with the member replaced by a tombstone")
