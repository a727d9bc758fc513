"""Console login (扫码登录): the ticket the browser holds, the confirm screen's view, the poll's answer."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from storeloop.schemas import Model
from storeloop.schemas.coupons import _DropNone

TicketStatus = Literal["pending", "approved", "expired", "consumed"]


class ConsoleTicketOut(Model):
    ticket: str = Field(description="the browser's secret: it polls with it; never shown in the code")
    scene: str = Field(description="what the mini-program code carries (≤ 32 characters)")
    qr_image: str = Field(description="data:image/png;base64,… the mini-program code of `scene`")
    expires_in: int


class RequestedBy(Model):
    user_agent: str | None = None
    ip: str | None = None


class ConsoleSceneOut(Model):
    scene: str
    status: TicketStatus
    expires_in: int
    requested_by: RequestedBy


class ConsoleApprovalOut(Model):
    scene: str
    status: TicketStatus
    member_id: str
    roles: list[str]


class ConsoleTicketStatusOut(_DropNone):
    _omit_if_none: ClassVar[frozenset[str]] = frozenset({"expires_in", "token", "member_id", "roles", "store_ids"})

    status: TicketStatus
    expires_in: int | None = Field(default=None, description="while pending")
    token: str | None = Field(default=None, description="once, on the poll that finds the ticket approved")
    member_id: str | None = None
    roles: list[str] | None = None
    store_ids: list[str] | None = None
