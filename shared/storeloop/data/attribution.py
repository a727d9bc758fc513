"""Issue 9, where shoppers come from: scenes (what a mini-program code stands for), a campaign's entry codes and
share scenes (each made once and kept), and exposures (one short-lived item per view, counted by the stream).

Keys (docs/data-model.md, "Sources, segments and coupon mechanics"):
- scene        `SCENE#<scene>` / `SCENE`: campaign_id and the source
- entry code   `CAMPAIGN#<campaign_id>` / `ENTRY#<channel>#<store|->#<ref|->`: scene, path, the code's image
- share        `CAMPAIGN#<campaign_id>` / `SHARE#<member_id>`: the sharer's scene
- view         `VIEW#<uuid>` / `VIEW`: campaign_id, member_id, source; TTL `expires_at` (the stream counts it)
"""

from __future__ import annotations

import secrets
import string
import threading
import time
import uuid
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from storeloop.data.keys import campaign_pk
from storeloop.data.models import Entity, connection
from storeloop.domain.sources import source_key

VIEW_TTL_SECONDS = 3 * 86_400  # the stream delivers within 24 h; the item only has to outlive that
SCENE_LENGTH = 12  # 62^12 ≈ 3e21 scenes: unguessable, and far under WeChat's 32 characters
_ALPHABET = string.ascii_letters + string.digits
_scene_cache: dict[str, Scene] = {}
_scene_lock = threading.Lock()


def scene_pk(scene: str) -> str:
    return f"SCENE#{scene}"


def entry_sk(channel: str, store_id: str | None, ref: str | None) -> str:
    return f"ENTRY#{source_key(channel, store_id, ref)}"


def share_sk(member_id: str) -> str:
    """The sharer's own entry of a campaign (`share`, ref = the sharer)."""
    return f"SHARE#{member_id}"


def new_scene() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(SCENE_LENGTH))


class Scene(Entity):
    scene = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    store_id = UnicodeAttribute(null=True)
    ref = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()

    def source(self) -> dict[str, Any]:
        return {"channel": self.channel, "store_id": self.store_id, "ref": self.ref}


class EntryCode(Entity):
    """An entry code or a share: the scene it stands for and (entry codes) the code's image, kept once made."""

    scene = UnicodeAttribute()
    path = UnicodeAttribute()
    qr_image = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class View(Entity):
    campaign_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    store_id = UnicodeAttribute(null=True)
    ref = UnicodeAttribute(null=True)
    viewed_at = UnicodeAttribute()
    expires_at = NumberAttribute()


def get_entry(campaign_id: str, sk: str) -> EntryCode | None:
    try:
        return EntryCode.get(campaign_pk(campaign_id), sk, consistent_read=True)
    except DoesNotExist:
        return None


def put_entry(campaign_id: str, sk: str, scene: Scene, path: str, qr_image: str | None) -> EntryCode:
    """The scene and its entry in one transaction, once: False-free — a concurrent maker's entry wins and is read
    back (the caller's scene is then simply not written)."""
    entry = EntryCode(campaign_pk(campaign_id), sk, scene=scene.scene, path=path, qr_image=qr_image,
                      created_at=scene.created_at)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(entry, condition=EntryCode.PK.does_not_exist())
            tx.save(scene, condition=Scene.PK.does_not_exist())
    except TransactWriteError:
        existing = get_entry(campaign_id, sk)
        if existing is None:
            raise
        return existing
    return entry


def make_scene(campaign_id: str, source: dict[str, Any], at: str) -> Scene:
    return Scene(scene_pk(s := new_scene()), "SCENE", scene=s, campaign_id=campaign_id,
                 channel=source["channel"], store_id=source.get("store_id"), ref=source.get("ref"), created_at=at)


def get_scene(scene: str) -> Scene | None:
    """A scene never changes once made, so a warm container keeps it (a claim by scene reads it at most once)."""
    hit = _scene_cache.get(scene)
    if hit is not None:
        return hit
    try:
        found = Scene.get(scene_pk(scene), "SCENE")
    except DoesNotExist:
        return None
    with _scene_lock:
        if len(_scene_cache) >= 10_000:
            _scene_cache.clear()
        _scene_cache[scene] = found
    return found


def record_view(campaign_id: str, member_id: str, source: dict[str, Any], at: str) -> None:
    """One exposure: a put of its own item on a fresh key, so a launch's views touch no shared item."""
    View(f"VIEW#{uuid.uuid4().hex}", "VIEW", campaign_id=campaign_id, member_id=member_id,
         channel=source.get("channel") or "direct", store_id=source.get("store_id"), ref=source.get("ref"),
         viewed_at=at, expires_at=int(time.time()) + VIEW_TTL_SECONDS).save()
