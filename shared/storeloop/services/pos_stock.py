"""The till's stock sync: POST /webhooks/pos/{store_id}/stock, signed as sales are (services/pos.py).

Absolute counts per sku, applied as `stock = count − reserved` (domain/till.py; docs/pos.md); per sku an update
older by `sequence` than the one applied changes nothing ("stale"). Replays: the update_id is recorded with the
body's hash and the answer; the same update again answers the same, another body under it is refused (409).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TypeVar

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ValidationError

from storeloop.data.pos_stock import StockBusy, apply_count, claim_update, finish_update
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from storeloop.errors import Conflict, ValidationFailed
from storeloop.schemas.webhooks import PosStockOut, PosStockRequest
from storeloop.services import pos
from storeloop.settings import Settings

logger = Logger(service="storeloop", child=True)

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], raw_body: bytes, what: str) -> M:
    try:
        return model.model_validate_json(raw_body or b"{}")
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in e.get("loc", ())) or "body", "issue": e.get("type", "invalid"),
                    "message": e.get("msg", "")} for e in exc.errors()]
        raise ValidationFailed(f"{what} is not valid", details=details) from None


def body_hash(model: BaseModel) -> str:
    canonical = json.dumps(model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def sync_stock(settings: Settings, store_id: str, headers: Mapping[str, str], raw_body: bytes) -> PosStockOut:
    pos.verify(settings, store_id, headers, raw_body)  # 404 unknown store, 401 unsigned / bad / stale
    update = parse(PosStockRequest, raw_body, "stock update")
    digest = body_hash(update)
    at = to_rfc3339(clock.now())
    record = claim_update(store_id, update.update_id, update.sequence, digest, at)
    if record.body_hash != digest:
        raise Conflict("this update_id was sent with another body", code="IDEMPOTENCY_KEY_REUSED")
    if record.answer:
        return PosStockOut(**json.loads(record.answer))  # a replay: the first answer, nothing changed
    # A first delivery, or a replay of one that stopped half-way: applying the same update again is idempotent.
    applied: list[str] = []
    stale: list[str] = []
    unknown: list[str] = []
    try:
        for sku in sorted(update.counts):
            result = apply_count(store_id, sku, update.counts[sku], update.sequence, update.update_id, at)
            {"applied": applied, "stale": stale, "unknown": unknown}[result.outcome].append(sku)
    except StockBusy:
        raise Conflict("the stock is changing; retry", code="IDEMPOTENCY_IN_PROGRESS",
                       headers={"Retry-After": "1"}) from None
    answer = PosStockOut(applied=applied, stale=stale, unknown=unknown)
    finish_update(store_id, update.update_id, json.dumps(answer.model_dump(mode="json")))
    logger.info("pos stock applied", extra={"store_id": store_id, "update_id": update.update_id,
                                            "sequence": update.sequence, "applied": len(applied),
                                            "stale": len(stale), "unknown": len(unknown)})
    return answer
