"""Where shoppers come from (issue 9): the channels of a source, and the one string that names a source in keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, get_args

SourceChannel = Literal["article", "moments_ad", "store_qr", "share", "channels", "search", "direct"]
SOURCE_CHANNELS: Final[frozenset[str]] = frozenset(get_args(SourceChannel))
DIRECT: Final = "direct"
REF_MAX: Final = 64
# A ref is an article id, an ad id or a member id: no separator, no space, so it can sit in a sort key.
REF_PATTERN: Final = r"^[A-Za-z0-9_.:\-]{1,64}$"
_NONE: Final = "~"  # no store id or ref can be "~" (ID_PATTERN, REF_PATTERN), so a key reads back exactly


def source_key(channel: str | None, store_id: str | None = None, ref: str | None = None) -> str:
    """`channel#store#ref` ("~" for what is absent): a by-source counter's sort key. No source at all is `direct`."""
    return f"{channel or DIRECT}#{store_id or _NONE}#{ref or _NONE}"


def parse_source_key(key: str | None) -> dict[str, Any]:
    """The source a key names, as API.md shapes it (`store_id` and `ref` None when absent)."""
    channel, _, rest = (key or source_key(None)).partition("#")
    store_id, _, ref = rest.partition("#")
    return {"channel": channel or DIRECT, "store_id": None if store_id in ("", _NONE) else store_id,
            "ref": None if ref in ("", _NONE) else ref}


def key_of(source: Mapping[str, Any] | None) -> str:
    source = source or {}
    return source_key(source.get("channel"), source.get("store_id"), source.get("ref"))
