"""Stores and staff: request bodies and response shapes."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from storeloop.schemas import Model, RequestModel
from storeloop.schemas.types import Latitude, Longitude

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class CreateStoreRequest(RequestModel):
    store_id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    city: str = Field(min_length=1, max_length=50)
    address: str = Field(min_length=1, max_length=200)
    lat: Latitude
    lng: Longitude
    open_time: str = Field(default="10:00", pattern=_HHMM.pattern, description="HH:MM, 24 h")
    close_time: str = Field(default="22:00", pattern=_HHMM.pattern, description="HH:MM, 24 h, after open_time")
    slot_minutes: int = Field(default=30, ge=5, le=240)
    slot_capacity: int = Field(default=4, ge=1, le=1000)

    @field_validator("open_time", "close_time")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError("must be HH:MM (24 h)")
        return v

    @model_validator(mode="after")
    def _hours(self) -> CreateStoreRequest:
        if self.close_time <= self.open_time:
            raise ValueError("close_time must be after open_time")
        return self


class StoreOut(Model):
    store_id: str
    name: str
    city: str
    address: str
    lat: float
    lng: float
    open_time: str
    close_time: str
    slot_minutes: int
    slot_capacity: int
    distance_m: int | None = None


class StoreList(Model):
    items: list[StoreOut]
    next: str | None = None


class AssignStaffRequest(RequestModel):
    member_id: str = Field(pattern=ID_PATTERN)
    role: Literal["clerk", "manager"]
    store_ids: list[str] = Field(min_length=1, max_length=50)


class StaffOut(Model):
    member_id: str
    role: str
    store_ids: list[str]
    effective: str = Field(default="now", description="in force from the member's next request, any token")


class PosSecretOut(Model):
    store_id: str
    secret: str
