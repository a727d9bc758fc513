"""PIPL data access: every item held about a member (by partition and member index), and the erasure's writes.

Items are read raw (plain dicts), so the export and the erasure cover what other aggregates store without knowing
their models: the member's partition `MEMBER#<m>` (profile, staff, consents, grants, messages, holdings, points
ledger), the appointment markers `MEMBER#<m>#APPT`, and the GSI1 member indexes of coupons, appointments and
orders. The key shapes come from the aggregates' own modules; the services see items, never their keys. The
erasure's first write, `mark_erasing`, is what the authorizer then refuses tokens on: it reads the profile's
status itself (data/access.py `member_access`, functions/authorizer).
"""

from __future__ import annotations

import time
from typing import Any

from storeloop.data.connection import dynamodb_client
from storeloop.data.keys import member_pk
from storeloop.data.raw import item_from_raw, query_items, table_name, value_to_raw

KEY_NAMES = ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")
TOMBSTONE = "erased"  # what replaces the member id on records kept for accounting


def member_indexes(member_id: str) -> dict[str, str]:
    """What GSI1 lists per member, by export section (key shapes from each aggregate's module)."""
    from storeloop.data.appointments import member_index_pk as appointments_index_pk
    from storeloop.data.coupons import member_coupons_partition
    from storeloop.data.orders import member_orders_pk
    from storeloop.data.rewards import member_redemptions_pk

    return {"coupons": member_coupons_partition(member_id), "appointments": appointments_index_pk(member_id),
            "orders": member_orders_pk(member_id), "redemptions": member_redemptions_pk(member_id)}


def group_records(member_id: str, orders: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(member field, item) of the group buys the member's orders joined: each group membership (`member_id`),
    and the group itself where the member opened it (`leader_id`). Found through the orders (a group order names
    its group in `campaign_ref`), so no scan."""
    from storeloop.data.group_buys import MEMBER_PREFIX, group_pk

    out: list[tuple[str, dict[str, Any]]] = []
    for group_id in dict.fromkeys(str(o["campaign_ref"]) for o in orders
                                  if o.get("campaign_kind") == "group_buy" and o.get("campaign_ref")):
        membership = get_item(group_pk(group_id), f"{MEMBER_PREFIX}{member_id}")
        if membership is not None and membership.get("member_id") == member_id:
            out.append(("member_id", membership))
        group = get_item(group_pk(group_id), "GROUP")
        if group is not None and group.get("leader_id") == member_id:
            out.append(("leader_id", group))
    return out


def member_partitions(member_id: str) -> list[str]:
    """Partitions keyed by the member: their own, and the appointment markers."""
    from storeloop.data.appointments import marker_pk

    return [member_pk(member_id), marker_pk(member_id)]


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def _key_of(item: dict[str, Any]) -> dict[str, Any]:
    return _key(str(item["PK"]), str(item["SK"]))


def partition_items(pk: str) -> list[dict[str, Any]]:
    """Every item of one partition (all pages, strongly consistent)."""
    return list(query_items(KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": pk}},
                       ConsistentRead=True))


def index_items(gsi1pk: str) -> list[dict[str, Any]]:
    """Every item one GSI1 partition lists (all pages; a GSI is eventually consistent)."""
    return list(query_items(IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk",
                       ExpressionAttributeValues={":pk": {"S": gsi1pk}}))


def get_item(pk: str, sk: str) -> dict[str, Any] | None:
    raw = dynamodb_client().get_item(TableName=table_name(), Key=_key(pk, sk), ConsistentRead=True).get("Item")
    return item_from_raw(raw) if raw else None


def member_items(member_id: str) -> list[dict[str, Any]]:
    """Every item of the member's partitions (the profile among them), partition by partition."""
    return [item for pk in member_partitions(member_id) for item in partition_items(pk)]


# What the export calls each kind of item of the member's partitions, by its sort key.
_SECTIONS = (("CONSENT#", "consents"), ("GRANT#", "message_grants"), ("MSG#", "messages"), ("POINTS#", "points"))


def export_section(member_id: str, item: dict[str, Any]) -> str:
    """The export's section for an item of `member_items`: `profile`, `consents`, `message_grants`, `messages`,
    `points`, or `other` (then `record_type` names it)."""
    sk = str(item.get("SK", ""))
    if item.get("PK") == member_pk(member_id) and sk == "PROFILE":
        return "profile"
    return next((section for prefix, section in _SECTIONS if sk.startswith(prefix)), "other")


def record_type(item: dict[str, Any]) -> str:
    """What an item is, in a word (its sort key's first part, lower case): `staff`, `holding`, ..."""
    return str(item.get("SK", "")).split("#", 1)[0].lower()


def ledger_entries(member_id: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of `member_items`, the points ledger's entries (in the member's own partition)."""
    return [i for i in items if i.get("PK") == member_pk(member_id) and str(i["SK"]).startswith("POINTS#")]


def get_profile(member_id: str) -> dict[str, Any] | None:
    return get_item(member_pk(member_id), "PROFILE")


def get_verification(verification_id: str) -> dict[str, Any] | None:
    from storeloop.data.verification import verification_pk

    return get_item(verification_pk(verification_id), "VERIFICATION")


def get_pos_sale(store_id: str, sale_id: str) -> dict[str, Any] | None:
    from storeloop.data.points import pos_sale_key

    return get_item(*pos_sale_key(store_id, sale_id))


def _conditional(call: Any, **kwargs: Any) -> bool:
    client = dynamodb_client()
    try:
        call(TableName=table_name(), **kwargs)
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def mark_erasing(member_id: str, at: str) -> bool:
    """The profile's status becomes `erasing`: from now on the authorizer refuses the member's tokens (but DELETE /me,
    so a failed erasure can be run again)."""
    return _conditional(dynamodb_client().update_item, Key=_key(member_pk(member_id), "PROFILE"),
                        UpdateExpression="SET #s = :s, erasing_since = :at", ConditionExpression="attribute_exists(PK)",
                        ExpressionAttributeNames={"#s": "status"},
                        ExpressionAttributeValues={":s": {"S": "erasing"}, ":at": {"S": at}})


def delete_openid_link(openid_hash: str, member_id: str) -> bool:
    """Remove the openid → member link (only if it still points at this member): a new login makes a new member."""
    return _conditional(dynamodb_client().delete_item, Key=_key(f"OPENID#{openid_hash}", "LINK"),
                        ConditionExpression="member_id = :m", ExpressionAttributeValues={":m": {"S": member_id}})


def depersonalise(item: dict[str, Any], *, member_field: str = "member_id", remove: tuple[str, ...] = (),
                  also_set: dict[str, Any] | None = None, only_if_member: str | None = None) -> bool:
    """Keep the item (one read here: its key), with the member replaced by the tombstone, its member-index keys and
    `remove` fields gone.

    `only_if_member`: the item still names this member (a concurrent change or a second run leaves it alone).
    """
    names = {"#m": member_field}
    values: dict[str, Any] = {":t": {"S": TOMBSTONE}}
    sets = ["#m = :t"]
    for i, (name, value) in enumerate((also_set or {}).items()):
        names[f"#s{i}"] = name
        values[f":s{i}"] = value_to_raw(value)
        sets.append(f"#s{i} = :s{i}")
    removals = ["GSI1PK", "GSI1SK"]
    for i, name in enumerate(remove):
        names[f"#r{i}"] = name
        removals.append(f"#r{i}")
    condition = "attribute_exists(PK)"
    if only_if_member is not None:
        condition += " AND #m = :owner"
        values[":owner"] = {"S": only_if_member}
    return _conditional(dynamodb_client().update_item, Key=_key_of(item),
                        UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removals)}",
                        ConditionExpression=condition, ExpressionAttributeNames=names,
                        ExpressionAttributeValues=values)


def depersonalise_verification(verification_id: str, *, only_if_member: str) -> bool:
    """`depersonalise` the verification of a redeemed coupon."""
    from storeloop.data.verification import verification_pk

    return depersonalise({"PK": verification_pk(verification_id), "SK": "VERIFICATION"},
                         only_if_member=only_if_member)


def set_if(item: dict[str, Any], field: str, value: str, *, when_field: str, equals: str) -> bool:
    """SET field = value only while when_field == equals (e.g. revoke a coupon only while it is still active)."""
    return _conditional(dynamodb_client().update_item, Key=_key_of(item), UpdateExpression="SET #f = :v",
                        ConditionExpression="#w = :e", ExpressionAttributeNames={"#f": field, "#w": when_field},
                        ExpressionAttributeValues={":v": {"S": value}, ":e": {"S": equals}})


def delete_member_items(member_id: str, items: list[dict[str, Any]]) -> int:
    """Delete every item of `member_items` but the profile (`delete_profile` goes last). Returns how many."""
    return delete_items([(str(i["PK"]), str(i["SK"])) for i in items
                         if not (i["PK"] == member_pk(member_id) and i["SK"] == "PROFILE")])


def delete_items(keys: list[tuple[str, str]]) -> int:
    """Delete these items (BatchWriteItem, 25 at a time, unprocessed ones resent). Returns how many were asked."""
    client = dynamodb_client()
    for start in range(0, len(keys), 25):
        requests: list[dict[str, Any]] = [{"DeleteRequest": {"Key": _key(pk, sk)}} for pk, sk in keys[start:start + 25]]
        for attempt in range(8):
            answer = client.batch_write_item(RequestItems={table_name(): requests})
            requests = (answer.get("UnprocessedItems") or {}).get(table_name(), [])
            if not requests:
                break
            time.sleep(0.05 * 2 ** attempt)
        if requests:
            raise RuntimeError("DynamoDB left deletions unprocessed; run the erasure again")
    return len(keys)


def delete_profile(member_id: str) -> bool:
    return _conditional(dynamodb_client().delete_item, Key=_key(member_pk(member_id), "PROFILE"))


def strip_keys(item: dict[str, Any]) -> dict[str, Any]:
    """An item as the member may see it: no table keys, no encrypted fields (those are decrypted or withheld)."""
    return {k: v for k, v in item.items() if k not in KEY_NAMES and not k.endswith("_enc")}
