"""Stores: the store profile, its geohash and city index entries, and its encrypted POS secret."""

from __future__ import annotations

from typing import Any, cast

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError

from storeloop.data.models import Entity
from storeloop.domain.clock import now, to_rfc3339
from storeloop.domain.geo import geohash_encode

# GSI1: GEO#<first 2 geohash chars> / <7-char geohash>#<store id>; a prefix of the sort key narrows the cell.
GEO_PARTITION_PRECISION = 2
GEO_SORT_PRECISION = 7


class AlreadyExists(Exception):
    pass


def store_pk(store_id: str) -> str:
    return f"STORE#{store_id}"


class Store(Entity):
    store_id = UnicodeAttribute()
    name = UnicodeAttribute()
    city = UnicodeAttribute()
    address = UnicodeAttribute()
    lat = NumberAttribute()
    lng = NumberAttribute()
    open_time = UnicodeAttribute()
    close_time = UnicodeAttribute()
    slot_minutes = NumberAttribute()
    slot_capacity = NumberAttribute()
    created_at = UnicodeAttribute()
    pos_secret_enc = UnicodeAttribute(null=True)

    def public(self) -> dict:
        return {
            "store_id": self.store_id, "name": self.name, "city": self.city, "address": self.address,
            "lat": float(self.lat), "lng": float(self.lng), "open_time": self.open_time,
            "close_time": self.close_time, "slot_minutes": int(self.slot_minutes),
            "slot_capacity": int(self.slot_capacity),
        }


def create_store(**fields: Any) -> Store:
    store_id = str(fields["store_id"])
    gh = geohash_encode(float(fields["lat"]), float(fields["lng"]), GEO_SORT_PRECISION)
    store = Store(store_pk(store_id), "PROFILE",
                  GSI1PK=f"GEO#{gh[:GEO_PARTITION_PRECISION]}", GSI1SK=f"{gh}#{store_id}",
                  GSI2PK=f"CITY#{fields['city']}", GSI2SK=f"STORE#{store_id}",
                  created_at=to_rfc3339(now()), **fields)
    try:
        store.save(condition=Store.PK.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise AlreadyExists(store_id) from None
        raise
    return store


def get_store(store_id: str) -> Store | None:
    try:
        return Store.get(store_pk(store_id), "PROFILE")
    except DoesNotExist:
        return None


def get_stores(store_ids: list[str]) -> dict[str, Store]:
    keys = [(store_pk(s), "PROFILE") for s in dict.fromkeys(store_ids)]
    return {s.store_id: s for s in Store.batch_get(keys)} if keys else {}


def stores_in_cell(geohash_prefix: str, limit: int = 200) -> list[Store]:
    """Stores whose geohash starts with `geohash_prefix` (at least GEO_PARTITION_PRECISION characters)."""
    partition = f"GEO#{geohash_prefix[:GEO_PARTITION_PRECISION]}"
    cond = None if len(geohash_prefix) <= GEO_PARTITION_PRECISION else Entity.GSI1SK.startswith(geohash_prefix)
    return cast(list[Store], list(Store.gsi1.query(partition, cond, limit=limit)))


def stores_in_city(city: str, limit: int = 200) -> list[Store]:
    return cast(list[Store], list(Store.gsi2.query(f"CITY#{city}", limit=limit)))


def set_pos_secret(store_id: str, secret_enc: str) -> None:
    Store(store_pk(store_id), "PROFILE").update(actions=[Store.pos_secret_enc.set(secret_enc)],
                                                condition=Store.PK.exists())
