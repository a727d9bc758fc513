"""Issue 9, where shoppers come from: sources, entry codes, scenes, shares, views."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from storeloop.domain.sources import REF_MAX, REF_PATTERN, SourceChannel
from storeloop.schemas import Model, RequestModel
from storeloop.schemas.stores import ID_PATTERN

Id = Annotated[str, Field(pattern=ID_PATTERN)]

SCENE_PATTERN = r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$"  # WeChat's scene alphabet (wechat.wxacode)


class SourceIn(RequestModel):
    channel: SourceChannel
    store_id: Id | None = None
    ref: str | None = Field(default=None, max_length=REF_MAX, pattern=REF_PATTERN,
                            description="an article id, an ad id, a sharer's member id (≤ 64 characters)")


class SourceOut(Model):
    channel: str
    store_id: str | None = None
    ref: str | None = None


class EntryCodeRequest(SourceIn):
    pass


class EntryCodeOut(Model):
    campaign_id: str
    scene: str = Field(description="≤ 32 characters; GET /scenes/{scene} says what it stands for")
    path: str
    qr_image: str = Field(description="data:image/png;base64,… the mini-program code for the scene")
    source: SourceOut


class SceneOut(Model):
    campaign_id: str
    source: SourceOut


class ShareOut(Model):
    campaign_id: str
    scene: str
    path: str
    source: SourceOut


class ViewRequest(RequestModel):
    source: SourceIn | None = None
    scene: str | None = Field(default=None, pattern=SCENE_PATTERN)


class ViewOut(Model):
    campaign_id: str
    source: SourceOut
