"""Members: the profile keyed by our own member id, the openid link to it, and staff assignments."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from storeloop.data.keys import member_pk
from storeloop.data.models import Entity, connection
from storeloop.domain.clock import now, to_rfc3339


class MemberProfile(Entity):
    member_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    openid_enc = UnicodeAttribute(null=True)  # encrypted; needed to message or charge the member
    status = UnicodeAttribute(default="active")
    joined_at = UnicodeAttribute(null=True)
    joined_store_id = UnicodeAttribute(null=True)
    joined_campaign_id = UnicodeAttribute(null=True)
    points = NumberAttribute(default=0)
    lifetime_spend_fen = NumberAttribute(default=0)
    # --- issue 9: where the shopper came from and what segments read
    source_channel = UnicodeAttribute(null=True)  # first touch (first view or claim with a source)
    source_store_id = UnicodeAttribute(null=True)
    source_ref = UnicodeAttribute(null=True)
    source_at = UnicodeAttribute(null=True)
    joined_source = UnicodeAttribute(null=True)  # the source key of the coupon the membership came through
    last_purchase_at = UnicodeAttribute(null=True)
    stores_bought = UnicodeSetAttribute(null=True)


class OpenIdLink(Entity):
    """PK OPENID#<keyed hash of the openid>: the openid itself never appears in a key or a log."""

    member_id = UnicodeAttribute()


class StaffAssignment(Entity):
    member_id = UnicodeAttribute()
    role = UnicodeAttribute()  # clerk | manager
    store_ids = ListAttribute(of=UnicodeAttribute)
    updated_at = UnicodeAttribute()


@dataclass(frozen=True)
class LoginIdentity:
    member_id: str
    created: bool


def find_or_create_member(openid_hash: str, openid_enc: str) -> LoginIdentity:
    """The member linked to this openid, created (link and profile in one transaction) on first login."""
    link_pk = f"OPENID#{openid_hash}"
    try:
        return LoginIdentity(OpenIdLink.get(link_pk, "LINK").member_id, created=False)
    except DoesNotExist:
        pass
    member_id = "m_" + uuid.uuid4().hex[:20]
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(OpenIdLink(link_pk, "LINK", member_id=member_id), condition=OpenIdLink.PK.does_not_exist())
            tx.save(MemberProfile(member_pk(member_id), "PROFILE", member_id=member_id,
                                  created_at=to_rfc3339(now()), openid_enc=openid_enc),
                    condition=MemberProfile.PK.does_not_exist())
    except TransactWriteError:
        # Two first logins raced; the other one linked the openid. Use its member.
        return LoginIdentity(OpenIdLink.get(link_pk, "LINK", consistent_read=True).member_id, created=False)
    return LoginIdentity(member_id, created=True)


def get_profile(member_id: str) -> MemberProfile | None:
    try:
        return MemberProfile.get(member_pk(member_id), "PROFILE")
    except DoesNotExist:
        return None


def get_staff(member_id: str) -> StaffAssignment | None:
    try:
        return StaffAssignment.get(member_pk(member_id), "STAFF")
    except DoesNotExist:
        return None


def start_membership(tx: TransactWrite, member_id: str, at: str, store_id: str | None,
                     campaign_id: str | None = None, *, source: str | None = None) -> None:
    """Add to `tx` the update that makes a shopper a member at their first redemption, paid order or POS sale.

    `joined_at` is set only if absent, so the first event wins and later ones change nothing; the store and
    campaign it came through are kept for analytics (new members per store and per campaign).
    """
    actions: list[Action] = [MemberProfile.joined_at.set(MemberProfile.joined_at | at)]
    if store_id:
        actions.append(MemberProfile.joined_store_id.set(MemberProfile.joined_store_id | store_id))
    if campaign_id:
        actions.append(MemberProfile.joined_campaign_id.set(MemberProfile.joined_campaign_id | campaign_id))
        if source:  # issue 9: the coupon's source, for new members by source
            actions.append(MemberProfile.joined_source.set(MemberProfile.joined_source | source))
    tx.update(MemberProfile(member_pk(member_id), "PROFILE"), actions=actions,
              condition=MemberProfile.PK.exists())
