"""Issue 9, segments: create and read them (with the size last counted), the audience check on claims and lists, and
the scheduled job that counts sizes. docs/segments.md has the design."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from aws_lambda_powertools import Logger

from storeloop.caller import Caller
from storeloop.data.segments import (
    Segment,
    all_segments,
    cached_segment,
    every_profile,
    facts,
    load_segment,
    member_facts,
    members_facts,
    put_segment,
    set_size,
)
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from storeloop.domain.segments import MemberFacts, matches, unsatisfiable
from storeloop.errors import NotFound, ValidationFailed
from storeloop.schemas.coupons import is_id
from storeloop.schemas.segments import CreateSegmentRequest, SegmentOut

logger = Logger(service="storeloop", child=True)


def _out(segment: Segment) -> SegmentOut:
    return SegmentOut(segment_id=segment.segment_id, name=segment.name, rules=segment.rules(),
                      size=int(segment.size) if segment.size is not None else None, size_at=segment.size_at,
                      created_at=segment.created_at)


def create_segment(caller: Caller, body: CreateSegmentRequest) -> SegmentOut:
    rules = body.rules.model_dump(exclude_none=True)
    problems = unsatisfiable(rules)
    if rules.get("store_ids"):
        from storeloop.data import stores

        known = stores.get_stores(rules["store_ids"])
        unknown = [x for x in rules["store_ids"] if x not in known]
        if unknown:
            problems.append({"field": "rules.store_ids", "issue": "unknown", "message": ", ".join(unknown)})
    if problems:
        raise ValidationFailed("these rules cannot match a shopper", details=problems)
    segment = put_segment("sg_" + uuid.uuid4().hex[:20], body.name, rules, to_rfc3339(clock.now()), caller.member_id)
    return _out(segment)


def get_segment(segment_id: str) -> SegmentOut:
    segment = load_segment(segment_id) if is_id(segment_id) else None
    if segment is None:
        raise NotFound(f"segment {segment_id} not found")
    return _out(segment)


def in_audience(member_id: str, segment_id: str, facts: MemberFacts | None = None) -> bool:
    """Whether the shopper matches the segment now: one GetItem of their profile (the segment is cached); a caller
    checking several campaigns passes the `facts` it read once (`member_facts`)."""
    segment = cached_segment(segment_id)
    if segment is None:
        return False  # a campaign's segment that is gone admits nobody rather than everybody
    return matches(segment.rules(), facts or member_facts(member_id), clock.now())


def audience_of(member_ids: Iterable[str], segment_id: str | None) -> set[str]:
    """Of `member_ids`, those in the segment (all of them without one): one BatchGetItem of their profiles."""
    ids = list(member_ids)
    if not segment_id:
        return set(ids)
    segment = cached_segment(segment_id)
    if segment is None:
        return set()
    rules, now = segment.rules(), clock.now()
    return {m for m, f in members_facts(ids).items() if matches(rules, f, now)}


def count_sizes() -> dict[str, int]:
    """The scheduled job: read every profile once and count each segment's members; written on each segment with
    the time counted. Off every request path (the one Scan in the system, docs/segments.md)."""
    segments = all_segments()
    if not segments:
        return {}
    rules = {s.segment_id: s.rules() for s in segments}
    sizes = dict.fromkeys(rules, 0)
    now = clock.now()
    for profile in every_profile():
        if profile.status != "active":
            continue
        f = facts(profile)
        for segment_id, r in rules.items():
            if matches(r, f, now):
                sizes[segment_id] += 1
    stamp = to_rfc3339(now)
    for segment_id, size in sizes.items():
        set_size(segment_id, size, stamp)
    logger.info("segment sizes counted", extra={"segments": len(sizes)})
    return sizes
