"""The authorizer's one read: is this member still there (not erased), and what staff access do they hold now?

Plain botocore, nothing else loaded. One strongly consistent GetItem of the profile, projected to the few
attributes the authorizer needs (1 RCU: the profile is far below 4 KB). The staff access is kept on the profile
(`staff_role`, `staff_store_ids`, `access_version`) in the same transaction that writes or deletes the staff
assignment (data/members.py), so a revocation is seen by the very next request, whatever tokens were issued.
"""

from __future__ import annotations

from dataclasses import dataclass

from storeloop.data.connection import aws_client
from storeloop.data.keys import member_pk


@dataclass(frozen=True)
class MemberAccess:
    status: str  # active | erasing
    # None: the profile has never had its access changed since access was kept on it (older profiles), and the
    # token's own roles stand. Otherwise the stored staff access replaces the token's.
    access_version: int | None = None
    staff_role: str | None = None
    staff_store_ids: tuple[str, ...] = ()


def member_access(member_id: str, table_name: str) -> MemberAccess | None:
    """The profile's status and staff access, or None when there is no profile (erased). The client is the
    process's DynamoDB client (the authorizer makes it at cold start with its own settings)."""
    raw = aws_client("dynamodb").get_item(
        TableName=table_name,
        Key={"PK": {"S": member_pk(member_id)}, "SK": {"S": "PROFILE"}},
        ConsistentRead=True, ProjectionExpression="PK, #s, access_version, staff_role, staff_store_ids",
        ExpressionAttributeNames={"#s": "status"}).get("Item")
    if not raw:
        return None
    version = raw.get("access_version", {}).get("N")
    stores = raw.get("staff_store_ids", {}).get("L") or []
    return MemberAccess(status=str(raw.get("status", {}).get("S", "active")),
                        access_version=int(version) if version is not None else None,
                        staff_role=raw.get("staff_role", {}).get("S"),
                        staff_store_ids=tuple(str(s.get("S")) for s in stores if s.get("S")))

