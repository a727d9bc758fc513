"""Mini-program codes for a `scene` (entry codes of campaigns, console login tickets): one call into WeChat.

WeChat's limit is 5,000 codes a minute for the whole app: callers make each code once and keep the image
(or what it stands for) rather than asking again per view.
"""

from __future__ import annotations

import base64

from aws_lambda_powertools import Logger

from storeloop.errors import UpstreamUnavailable
from storeloop.services.messages import TableTokenStore
from storeloop.settings import Settings, get_settings
from storeloop.wechat.http import WeChatUnavailable
from storeloop.wechat.messages import SubscribeMessageClient, WeChatMessageError
from storeloop.wechat.wxacode import RATE_LIMITED, WxaCodeError, get_unlimited, valid_scene

logger = Logger(service="storeloop")

__all__ = ["mini_program_code", "mini_program_code_data_url", "valid_scene"]


def mini_program_code(scene: str, page: str | None = None, *, settings: Settings | None = None) -> bytes:
    """The image of the code for `scene` (opening `page`). WeChat down or refusing → 503 UPSTREAM_UNAVAILABLE."""
    settings = settings or get_settings()
    tokens = SubscribeMessageClient(settings.wechat_api_base, settings.wechat_appid, settings.wechat_app_secret,
                                    TableTokenStore(settings))
    try:
        return get_unlimited(settings.wechat_api_base, tokens, scene, page)
    except (WeChatUnavailable, WeChatMessageError) as exc:
        logger.warning("mini-program code: WeChat unavailable", extra={"reason": str(exc)})
        raise UpstreamUnavailable() from None
    except WxaCodeError as exc:
        logger.warning("mini-program code refused", extra={"errcode": exc.errcode})
        headers = {"Retry-After": "60"} if exc.errcode == RATE_LIMITED else None
        raise UpstreamUnavailable(headers=headers) from None


def mini_program_code_data_url(scene: str, page: str | None = None, *, settings: Settings | None = None) -> str:
    """The code as a `data:image/png;base64,…` URL, the shape API.md's `qr_image` fields have."""
    image = mini_program_code(scene, page, settings=settings)
    kind = "jpeg" if image[:3] == b"\xff\xd8\xff" else "png"
    return f"data:image/{kind};base64," + base64.b64encode(image).decode()
