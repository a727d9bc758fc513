"""Mini-program codes (wxacode.getUnlimited) through the WeChat client, against the loopback WeChat fake."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from storeloop.errors import UpstreamUnavailable
from storeloop.services.miniprogram_codes import mini_program_code_data_url
from storeloop.wechat.messages import AccessToken, SubscribeMessageClient
from storeloop.wechat.wxacode import WxaCodeError, get_unlimited, valid_scene

PNG = b"\x89PNG\r\n\x1a\n"


class DictStore:
    def __init__(self) -> None:
        self.token: AccessToken | None = None

    def load(self) -> AccessToken | None:
        return self.token

    def save(self, token: AccessToken, replaces: AccessToken | None) -> bool:
        self.token = token
        return True


@pytest.fixture
def tokens(wechat: Any, msg: Any) -> SubscribeMessageClient:
    wechat.wxacode.reset()
    yield SubscribeMessageClient(wechat.base_url, "wx-app", "secret", DictStore())
    wechat.wxacode.reset()


def test_scene_alphabet_and_length() -> None:
    assert valid_scene("c=cp_01;s=sh-jingan")
    assert valid_scene("a" * 32)
    assert not valid_scene("a" * 33)
    assert not valid_scene("")
    assert not valid_scene("中文")
    assert not valid_scene("with space")


def test_code_is_a_png_of_the_scene(wechat: Any, tokens: SubscribeMessageClient) -> None:
    image = get_unlimited(wechat.base_url, tokens, "t=abc123", "pages/console/approve")
    assert image.startswith(PNG) and len(image) > 200
    assert wechat.wxacode.calls == [{"scene": "t=abc123", "page": "pages/console/approve"}]


def test_rejected_token_is_refreshed_once(wechat: Any, tokens: SubscribeMessageClient) -> None:
    get_unlimited(wechat.base_url, tokens, "first")
    wechat.msg.invalidate_tokens()
    assert get_unlimited(wechat.base_url, tokens, "second").startswith(PNG)
    assert tokens.token_fetches == 2


def test_rate_limit_and_bad_scene(wechat: Any, tokens: SubscribeMessageClient) -> None:
    with pytest.raises(ValueError):
        get_unlimited(wechat.base_url, tokens, "x" * 33)
    wechat.wxacode.rate_limit()
    with pytest.raises(WxaCodeError) as caught:
        get_unlimited(wechat.base_url, tokens, "busy")
    assert caught.value.errcode == 45009


def test_service_gives_a_data_url_and_503_when_wechat_is_down(cloud: Any, wechat: Any, msg: Any) -> None:
    wechat.wxacode.reset()
    url = mini_program_code_data_url("t=svc")
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]).startswith(PNG)
    wechat.down = True
    with pytest.raises(UpstreamUnavailable):
        mini_program_code_data_url("t=down")
