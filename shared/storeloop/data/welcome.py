"""Issue 9: the welcome gift setting, the marker that a member got theirs, and the profile facts the member-events
consumer keeps (first touch, stores bought at).

Keys (docs/data-model.md):
- setting `SETTINGS` / `WELCOME_GIFT`: template_id (absent: no gift)
- marker  `MEMBER#<member_id>` / `WELCOME_GIFT`: written in the gift's claim transaction, condition not there
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from storeloop.data.connection import dynamodb_client
from storeloop.data.keys import member_pk
from storeloop.data.models import Entity
from storeloop.data.raw import table_name

WELCOME_CAMPAIGN = "welcome"  # the campaign id a welcome gift's coupon carries (there is no campaign item)


class WelcomeGiftSetting(Entity):
    template_id = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()
    updated_by = UnicodeAttribute(null=True)


class WelcomeGiftMarker(Entity):
    template_id = UnicodeAttribute(null=True)
    coupon_id = UnicodeAttribute(null=True)
    given_at = UnicodeAttribute(null=True)


def get_setting() -> WelcomeGiftSetting | None:
    try:
        return WelcomeGiftSetting.get("SETTINGS", "WELCOME_GIFT", consistent_read=True)
    except DoesNotExist:
        return None


def put_setting(template_id: str | None, at: str, by: str) -> WelcomeGiftSetting:
    setting = WelcomeGiftSetting("SETTINGS", "WELCOME_GIFT", template_id=template_id, updated_at=at, updated_by=by)
    setting.save()
    return setting


def mark_given(member_id: str, template_id: str, at: str):  # noqa: ANN201 - a claim's `extra` step
    def step(tx: TransactWrite) -> None:
        tx.update(WelcomeGiftMarker(member_pk(member_id), "WELCOME_GIFT"),
                  actions=[WelcomeGiftMarker.template_id.set(template_id), WelcomeGiftMarker.given_at.set(at)],
                  condition=WelcomeGiftMarker.PK.does_not_exist())
    return step


def given(member_id: str) -> bool:
    try:
        WelcomeGiftMarker.get(member_pk(member_id), "WELCOME_GIFT", consistent_read=True)
        return True
    except DoesNotExist:
        return False


def _update_profile(member_id: str, expression: str, values: dict[str, Any], condition: str,
                    names: dict[str, str] | None = None) -> bool:
    try:
        dynamodb_client().update_item(
            TableName=table_name(), Key={"PK": {"S": member_pk(member_id)}, "SK": {"S": "PROFILE"}},
            UpdateExpression=expression, ConditionExpression=condition, ExpressionAttributeValues=values,
            **({"ExpressionAttributeNames": names} if names else {}))
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise


def set_first_touch(member_id: str, source: dict[str, str | None], at: str) -> bool:
    """The earliest source wins, whatever order the records arrive in (condition on `source_at`)."""
    sets, removes = ["source_channel = :c", "source_at = :at"], []
    values: dict[str, Any] = {":c": {"S": source["channel"]}, ":at": {"S": at}}
    for name, attr in (("store_id", "source_store_id"), ("ref", "source_ref")):
        if source.get(name):
            sets.append(f"{attr} = :{name}")
            values[f":{name}"] = {"S": str(source[name])}
        else:
            removes.append(attr)
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    return _update_profile(member_id, expression, values,
                           "attribute_exists(PK) AND (attribute_not_exists(source_at) OR source_at > :at)")


def add_store_bought(member_id: str, store_id: str) -> bool:
    """A string set: adding the same store again changes nothing, so a redelivered record is harmless."""
    return _update_profile(member_id, "ADD stores_bought :s", {":s": {"SS": [store_id]}}, "attribute_exists(PK)")
