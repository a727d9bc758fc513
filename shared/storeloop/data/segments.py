"""Issue 9, segments: the segment item (rules, last computed size) and the reads the audience checks make.

Keys (docs/data-model.md):
- segment `SEGMENT#<segment_id>` / `SEGMENT`; GSI1 `SEGMENTS` / `<created_at>#<segment_id>` (the sizing job's list)
Membership is not stored: a shopper's membership is evaluated on their profile (one GetItem); sizes are counted
by the scheduled SegmentSizesFunction (docs/segments.md says why).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from storeloop.data.keys import member_pk
from storeloop.data.members import MemberProfile
from storeloop.data.models import Entity
from storeloop.domain.segments import MemberFacts

SEGMENTS_PARTITION = "SEGMENTS"
CACHE_SECONDS = 60.0  # a segment's rules never change; the cache only bounds memory and a deleted segment
_cache: dict[str, tuple[float, Segment]] = {}
_lock = threading.Lock()


def segment_pk(segment_id: str) -> str:
    return f"SEGMENT#{segment_id}"


class Segment(Entity):
    segment_id = UnicodeAttribute()
    name = UnicodeAttribute()
    rules_json = UnicodeAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute(null=True)
    size = NumberAttribute(null=True)
    size_at = UnicodeAttribute(null=True)

    def rules(self) -> dict[str, Any]:
        return dict(json.loads(self.rules_json))


def put_segment(segment_id: str, name: str, rules: dict[str, Any], at: str, by: str) -> Segment:
    segment = Segment(segment_pk(segment_id), "SEGMENT", segment_id=segment_id, name=name,
                      rules_json=json.dumps(rules, sort_keys=True), created_at=at, created_by=by,
                      GSI1PK=SEGMENTS_PARTITION, GSI1SK=f"{at}#{segment_id}")
    segment.save(condition=Segment.PK.does_not_exist())
    return segment


def load_segment(segment_id: str) -> Segment | None:
    try:
        return Segment.get(segment_pk(segment_id), "SEGMENT")
    except DoesNotExist:
        return None


def cached_segment(segment_id: str) -> Segment | None:
    hit = _cache.get(segment_id)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    segment = load_segment(segment_id)
    if segment is not None:
        with _lock:
            if len(_cache) >= 1_000:
                _cache.clear()
            _cache[segment_id] = (time.monotonic(), segment)
    return segment


def all_segments() -> list[Segment]:
    """Every segment (GSI1 `SEGMENTS`): for the sizing job, never a request path."""
    return list(Segment.gsi1.query(SEGMENTS_PARTITION))  # type: ignore[arg-type]


def set_size(segment_id: str, size: int, at: str) -> None:
    Segment(segment_pk(segment_id), "SEGMENT").update(actions=[Segment.size.set(size), Segment.size_at.set(at)],
                                                      condition=Segment.PK.exists())


def facts(profile: MemberProfile | None) -> MemberFacts:
    if profile is None:
        return MemberFacts()
    return MemberFacts(joined_at=profile.joined_at, lifetime_spend_fen=int(profile.lifetime_spend_fen or 0),
                       last_purchase_at=profile.last_purchase_at, joined_store_id=profile.joined_store_id,
                       stores_bought=frozenset(profile.stores_bought or ()), first_channel=profile.source_channel)


def member_facts(member_id: str) -> MemberFacts:
    try:
        return facts(MemberProfile.get(member_pk(member_id), "PROFILE"))
    except DoesNotExist:
        return MemberFacts()


def members_facts(member_ids: Iterable[str]) -> dict[str, MemberFacts]:
    keys = [(member_pk(m), "PROFILE") for m in dict.fromkeys(member_ids)]
    return {p.member_id: facts(p) for p in MemberProfile.batch_get(keys)} if keys else {}


def every_profile() -> Iterator[MemberProfile]:
    """Every member profile: a parallel-safe Scan filtered to profiles, for the scheduled sizing job ONLY (never on a
    request path; docs/segments.md)."""
    yield from MemberProfile.scan(MemberProfile.SK == "PROFILE", page_size=500)
