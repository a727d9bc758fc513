"""The authorizer's one read: is this member still there (not erased)? Plain botocore, nothing else loaded."""

from __future__ import annotations

from storeloop.data.connection import dynamodb_client
from storeloop.settings import get_settings


def member_status(member_id: str) -> str | None:
    """The profile's status, or None when there is no profile (erased): one small strongly consistent GetItem."""
    raw = dynamodb_client().get_item(TableName=get_settings().table_name,
                                     Key={"PK": {"S": f"MEMBER#{member_id}"}, "SK": {"S": "PROFILE"}},
                                     ConsistentRead=True, ProjectionExpression="PK, #s",
                                     ExpressionAttributeNames={"#s": "status"}).get("Item")
    if not raw:
        return None
    return str(raw.get("status", {}).get("S", "active"))
