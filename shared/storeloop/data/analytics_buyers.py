"""Each buyer's recent paid orders (repeat buyers): read, and saved with the counts they newly add in one transaction.

The record sits in the member's partition (the export lists it, the erasure deletes it); the stream consumer writes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from storeloop.data.analytics import (
    RETRYABLE,
    buyer_key,
    campaign_counter,
    cancellation_reasons,
    counter_update,
    error_code,
    raw_key,
)
from storeloop.data.connection import dynamodb_client
from storeloop.data.raw import item_from_raw, item_to_raw, table_name


@dataclass
class Buyer:
    """A member's paid orders of the last 30 days (order key → paid_at, campaigns) and the campaigns it already
    counts as a repeat buyer of; `version` guards the read-modify-write."""

    member_id: str
    paid: dict[str, dict[str, Any]] = field(default_factory=dict)
    repeat_campaigns: set[str] = field(default_factory=set)
    version: int = 0


def get_buyer(member_id: str) -> Buyer:
    """The buyer's record as it stands (consistent); a fresh one at version 0 if it has none."""
    raw = dynamodb_client().get_item(TableName=table_name(), Key=raw_key(*buyer_key(member_id)),
                                     ConsistentRead=True).get("Item")
    if not raw:
        return Buyer(member_id)
    item = item_from_raw(raw)
    paid = {k: {"at": str(v.get("at")), "campaigns": list(v.get("campaigns") or [])}
            for k, v in (item.get("paid") or {}).items()}
    return Buyer(member_id, paid, set(item.get("repeat_campaigns") or []), int(item.get("version", 0)))


def save_buyer(buyer: Buyer, newly_repeat: Iterable[str], stamp: str) -> str:
    """Write the buyer (if still at the version read) and count it once for each newly repeat campaign, in one
    transaction, only while the member exists. Returns "saved", "changed" (read again and retry) or "gone"."""
    pk, sk = buyer_key(buyer.member_id)
    item: dict[str, Any] = {"PK": pk, "SK": sk, "member_id": buyer.member_id, "paid": buyer.paid,
                            "version": buyer.version + 1, "updated_at": stamp}
    if buyer.repeat_campaigns:
        item["repeat_campaigns"] = sorted(buyer.repeat_campaigns)
    condition = ("attribute_not_exists(PK)" if buyer.version == 0 else "version = :v")
    put: dict[str, Any] = {"TableName": table_name(), "Item": item_to_raw(item), "ConditionExpression": condition}
    if buyer.version:
        put["ExpressionAttributeValues"] = {":v": {"N": str(buyer.version)}}
    request: list[dict[str, Any]] = [
        {"ConditionCheck": {"TableName": table_name(), "Key": raw_key(f"MEMBER#{buyer.member_id}", "PROFILE"),
                            "ConditionExpression": "attribute_exists(PK)"}},
        {"Put": put},
    ]
    for campaign_id in sorted(set(newly_repeat)):
        write = campaign_counter(campaign_id)
        write.add("repeat_buyers_30d", 1)
        request.append(counter_update(write, stamp))
    try:
        dynamodb_client().transact_write_items(TransactItems=request)
        return "saved"
    except ClientError as exc:
        if error_code(exc) != "TransactionCanceledException":
            raise
        reasons = cancellation_reasons(exc)
        if reasons and reasons[0] == "ConditionalCheckFailed":
            return "gone"
        if "ConditionalCheckFailed" in reasons or any(r in RETRYABLE for r in reasons):
            return "changed"
        raise
