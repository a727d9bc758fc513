"""Subscription messages: what the mini-program reports after wx.requestSubscribeMessage, and a queued message."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from storeloop.schemas import Model, RequestModel

# WeChat template ids are 43 characters of [A-Za-z0-9_-]; a little room either way.
TEMPLATE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
TemplateId = Annotated[str, StringConstraints(pattern=TEMPLATE_ID_PATTERN)]

# wx.requestSubscribeMessage answers accept or reject per template, and "ban" (the user turned messages off) or
# "filter" (the template was filtered) in some cases; only "accept" grants a send.
SubscriptionResult = Literal["accept", "reject", "ban", "filter"]


class SubscribeRequest(RequestModel):
    results: dict[TemplateId, SubscriptionResult] = Field(
        min_length=1, max_length=20, description="template id → what wx.requestSubscribeMessage returned for it",
        json_schema_extra={"additionalProperties": False})  # keys outside the pattern are refused, say so


class GrantOut(Model):
    template_id: str
    available: int = Field(description="sends this member has granted and that have not been used yet")


class SubscribeResponse(Model):
    accepted: list[str]
    not_accepted: list[str]
    grants: list[GrantOut] = Field(description="the member's unused grants for the templates in this request")


class OutboundMessage(Model):
    """The body of one SQS message on OutboundMessagesQueue: ids, the template's fields, never an openid."""

    message_id: str = Field(min_length=1, max_length=128)
    member_id: str = Field(min_length=1, max_length=64)
    template_id: TemplateId
    data: dict[str, Any]
    page: str | None = Field(default=None, max_length=512)
    reason: str = Field(min_length=1, max_length=64)
    enqueued_at: str
