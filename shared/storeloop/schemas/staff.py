"""Staff as HQ manages them: the list and the answer to a revocation."""

from __future__ import annotations

from pydantic import Field

from storeloop.schemas import Model


class StaffMemberOut(Model):
    member_id: str
    role: str = Field(description="clerk | manager")
    store_ids: list[str]
    updated_at: str | None = None


class StaffList(Model):
    items: list[StaffMemberOut]
    next: str | None = None


class StaffRevokedOut(Model):
    member_id: str
    role: None = None
    store_ids: list[str] = Field(default_factory=list)
    revoked_store_ids: list[str] = Field(default_factory=list, description="the stores the member was staff of")
