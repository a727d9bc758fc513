"""Issue 9, exchange codes: a batch's codes stored as keyed hashes, each used at most once.

Keys (docs/data-model.md):
- code  `XCODE#<hmac>` / `XCODE`: template_id, batch_id, status unused|used, used_by, used_at, coupon_id
- batch `XBATCH#<batch_id>` / `XBATCH`: template_id, size, created_at, created_by
A code is marked used in the same transaction as the claim it pays for (data.coupons.claim's `extra`), on condition
it is unused: of 20 concurrent attempts exactly one gets the coupon.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from storeloop.data.models import Entity

UNUSED, USED = "unused", "used"


def code_pk(code_hash: str) -> str:
    return f"XCODE#{code_hash}"


class ExchangeCode(Entity):
    template_id = UnicodeAttribute()
    batch_id = UnicodeAttribute()
    status = UnicodeAttribute()
    used_by = UnicodeAttribute(null=True)
    used_at = UnicodeAttribute(null=True)
    coupon_id = UnicodeAttribute(null=True)


class ExchangeBatch(Entity):
    batch_id = UnicodeAttribute()
    template_id = UnicodeAttribute()
    size = NumberAttribute()  # how many codes (not `count`: that is Model.count)
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute(null=True)


def create_batch(batch_id: str, template_id: str, hashes: list[str], at: str, by: str) -> None:
    """The batch record, then its codes by BatchWriteItem (25 a call; pynamodb retries unprocessed items).
    Two of 10,000 random 80-bit codes colliding has a chance of about 4e-17; a collision would only overwrite an
    unused code of the same batch with an identical one."""
    ExchangeBatch(f"XBATCH#{batch_id}", "XBATCH", batch_id=batch_id, template_id=template_id, size=len(hashes),
                  created_at=at, created_by=by).save(condition=ExchangeBatch.PK.does_not_exist())
    with ExchangeCode.batch_write() as batch:
        for code_hash in hashes:
            batch.save(ExchangeCode(code_pk(code_hash), "XCODE", template_id=template_id, batch_id=batch_id,
                                    status=UNUSED))


def get_code(code_hash: str) -> ExchangeCode | None:
    try:
        return ExchangeCode.get(code_pk(code_hash), "XCODE", consistent_read=True)
    except DoesNotExist:
        return None


def mark_used(code_hash: str, member_id: str, at: str):  # noqa: ANN201 - a claim's `extra` step
    def step(tx: TransactWrite) -> None:
        tx.update(ExchangeCode(code_pk(code_hash), "XCODE"),
                  actions=[ExchangeCode.status.set(USED), ExchangeCode.used_by.set(member_id),
                           ExchangeCode.used_at.set(at)],
                  condition=ExchangeCode.status == UNUSED)
    return step
