"""Issue 9, where shoppers come from: entry codes per channel and store, scenes, shares, exposures, and the source a
claim carries. docs/sources.md has the design."""

from __future__ import annotations

import re
from typing import Any

from storeloop.caller import Caller
from storeloop.data import attribution, campaigns, stores
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from storeloop.errors import NotFound, ValidationFailed
from storeloop.schemas.coupons import is_id
from storeloop.schemas.sources import (
    SCENE_PATTERN,
    EntryCodeOut,
    EntryCodeRequest,
    SceneOut,
    ShareOut,
    SourceIn,
    SourceOut,
    ViewOut,
    ViewRequest,
)

_SCENE = re.compile(SCENE_PATTERN)
CAMPAIGN_PAGE = "pages/campaign/index"  # the mini-program page a campaign's codes and shares open


class SceneNotFound(NotFound):
    code, message = "SCENE_NOT_FOUND", "no code has this scene"


def _path(scene: str) -> str:
    return f"{CAMPAIGN_PAGE}?scene={scene}"


def _campaign(campaign_id: str, *, drafts: bool) -> campaigns.Campaign:
    campaign = campaigns.cached_campaign(campaign_id) if is_id(campaign_id) else None
    if campaign is None or (campaign.status == campaigns.DRAFT and not drafts):
        raise NotFound(f"campaign {campaign_id} not found")
    return campaign


def create_entry_code(campaign_id: str, body: EntryCodeRequest) -> EntryCodeOut:
    """The campaign's code for this channel, store and ref: made (WeChat wxacode.getUnlimited) the first time, the
    same scene and image every time after (WeChat allows 5,000 codes a minute for the whole app)."""
    _campaign(campaign_id, drafts=True)
    if body.store_id and stores.get_store(body.store_id) is None:
        raise ValidationFailed("unknown store", details=[{"field": "store_id", "issue": "unknown",
                                                          "message": body.store_id}])
    source = body.model_dump(exclude_none=True)
    sk = attribution.entry_sk(body.channel, body.store_id, body.ref)
    entry = attribution.get_entry(campaign_id, sk)
    if entry is None:
        scene = attribution.make_scene(campaign_id, source, to_rfc3339(clock.now()))
        from storeloop.services import miniprogram_codes  # WeChat's client loads only where codes are made

        image = miniprogram_codes.mini_program_code_data_url(scene.scene, CAMPAIGN_PAGE)
        entry = attribution.put_entry(campaign_id, sk, scene, _path(scene.scene), image)
    return EntryCodeOut(campaign_id=campaign_id, scene=entry.scene, path=entry.path, qr_image=entry.qr_image or "",
                        source=SourceOut(**source))


def create_share(caller: Caller, campaign_id: str) -> ShareOut:
    """The sharer's own scene for this campaign (`share`, ref = the sharer's member id), made once."""
    _campaign(campaign_id, drafts=False)
    source = {"channel": "share", "ref": caller.member_id}
    sk = attribution.share_sk(caller.member_id)
    entry = attribution.get_entry(campaign_id, sk)
    if entry is None:
        scene = attribution.make_scene(campaign_id, source, to_rfc3339(clock.now()))
        entry = attribution.put_entry(campaign_id, sk, scene, _path(scene.scene), None)
    return ShareOut(campaign_id=campaign_id, scene=entry.scene, path=entry.path, source=SourceOut(**source))


def get_scene(scene: str) -> SceneOut:
    found = attribution.get_scene(scene) if _SCENE.match(scene) else None
    if found is None:
        raise SceneNotFound()
    return SceneOut(campaign_id=found.campaign_id, source=SourceOut(**found.source()))


def resolve(campaign_id: str, source: SourceIn | None, scene: str | None) -> dict[str, Any] | None:
    """The source a claim or view names: its own, or its scene's (which must be of this campaign)."""
    if source is not None and scene is not None:
        raise ValidationFailed("give source or scene, not both", details=[
            {"field": "scene", "issue": "exclusive", "message": "source and scene are exclusive"}])
    if scene is not None:
        found = attribution.get_scene(scene)
        if found is None:
            raise SceneNotFound()
        if found.campaign_id != campaign_id:
            raise ValidationFailed("this scene is of another campaign", details=[
                {"field": "scene", "issue": "other_campaign", "message": found.campaign_id}])
        return {k: v for k, v in found.source().items() if v is not None}
    return source.model_dump(exclude_none=True) if source is not None else None


def record_view(caller: Caller, campaign_id: str, body: ViewRequest) -> ViewOut:
    """One exposure (202): its own item, counted by the stream consumer, so no item is hot at a launch."""
    _campaign(campaign_id, drafts=False)
    source = resolve(campaign_id, body.source, body.scene) or {"channel": "direct"}
    attribution.record_view(campaign_id, caller.member_id, source, to_rfc3339(clock.now()))
    return ViewOut(campaign_id=campaign_id, source=SourceOut(**source))
