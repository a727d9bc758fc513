"""Stores and staff: create stores, find the nearest, assign staff, issue a store's POS secret."""

from __future__ import annotations

import secrets

from storeloop import crypto
from storeloop.data import stores
from storeloop.domain.geo import geohash_encode, geohash_neighbors, haversine_m
from storeloop.errors import Conflict, NotFound, ValidationFailed
from storeloop.schemas.stores import AssignStaffRequest, CreateStoreRequest, PosSecretOut, StaffOut, StoreOut
from storeloop.settings import Settings

# Search widens cell by cell: ~20 km (precision 4) → ~156 km (3) → ~1,250 km (2), each with its 8 neighbours.
SEARCH_PRECISIONS = (4, 3, 2)


def create_store(body: CreateStoreRequest) -> StoreOut:
    try:
        store = stores.create_store(**body.model_dump())
    except stores.AlreadyExists:
        raise Conflict(f"store {body.store_id} already exists", code="STORE_EXISTS") from None
    return StoreOut(**store.public())


def get_store(store_id: str) -> StoreOut:
    store = stores.get_store(store_id)
    if store is None:
        raise NotFound(f"store {store_id} not found")
    return StoreOut(**store.public())


def nearest_stores(lat: float, lng: float, limit: int) -> list[StoreOut]:
    """Nearest first, by querying the geohash cell around the point and its neighbours, widening if too few."""
    found: dict[str, stores.Store] = {}
    center = geohash_encode(lat, lng, max(SEARCH_PRECISIONS))
    for precision in SEARCH_PRECISIONS:
        for cell in geohash_neighbors(center[:precision]):
            for store in stores.stores_in_cell(cell):
                found[store.store_id] = store
        if len(found) >= limit:
            break
    ranked = sorted(((haversine_m(lat, lng, float(s.lat), float(s.lng)), s) for s in found.values()),
                    key=lambda pair: (pair[0], pair[1].store_id))
    return [StoreOut(**s.public(), distance_m=d) for d, s in ranked[:limit]]


def stores_in_city(city: str, limit: int) -> list[StoreOut]:
    return [StoreOut(**s.public()) for s in stores.stores_in_city(city, limit)]


def assign_staff(body: AssignStaffRequest) -> StaffOut:
    store_ids = list(dict.fromkeys(body.store_ids))
    known = stores.get_stores(store_ids)
    unknown = [s for s in store_ids if s not in known]
    if unknown:
        raise ValidationFailed("unknown store ids", details=[{"field": "store_ids", "issue": "unknown",
                                                               "message": ", ".join(unknown)}])
    from storeloop.services import access  # the staff assignment and its revocation (issue 8)

    access.assign_staff(body.member_id, body.role, store_ids)
    return StaffOut(member_id=body.member_id, role=body.role, store_ids=store_ids)


def issue_pos_secret(settings: Settings, store_id: str) -> PosSecretOut:
    if stores.get_store(store_id) is None:
        raise NotFound(f"store {store_id} not found")
    secret = secrets.token_urlsafe(32)
    stores.set_pos_secret(store_id, crypto.encrypt(settings.data_key, secret, f"pos:{store_id}"))
    return PosSecretOut(store_id=store_id, secret=secret)


def pos_secret(settings: Settings, store_id: str) -> str | None:
    store = stores.get_store(store_id)
    if store is None or not store.pos_secret_enc:
        return None
    return crypto.decrypt(settings.data_key, store.pos_secret_enc, f"pos:{store_id}")
