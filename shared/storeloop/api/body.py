"""The one place a request body is decoded, before Powertools sees it: every route gets the same edges for free.

API Gateway hands a Lambda the body as text, or base64 when it is not valid UTF-8 (and for binary media types).
Powertools then decodes base64 with `.decode()` (a UnicodeDecodeError, a 500), refuses media types it does not
know after our checks passed (its own 422), and parses JSON with `json.loads` (a RecursionError on deep
nesting, a ValueError on an integer past Python's 4,300 digits: both 500s). So here, once per request:

- the size is checked on the decoded bytes (`MAX_BODY_BYTES`);
- a base64 body is decoded and must be UTF-8; the event then carries it as plain text;
- the media type is `application/json` (any case, `charset=utf-8` or none); anything else is 415;
- the JSON is parsed with limits (`MAX_JSON_DEPTH`, `MAX_INT_DIGITS`, no NaN/Infinity) and must be an object;
- the Content-Type header is normalised so Powertools parses what we checked.

Webhooks (`/webhooks/*`) check their raw bodies themselves (signatures are over the exact bytes, and they answer
in their provider's format): for them only size and UTF-8 are checked here.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from storeloop.errors import ApiError, PayloadTooLarge, UnsupportedMediaType, ValidationFailed

MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
MAX_INT_DIGITS = 20  # every integer in the contract fits in 20 digits (fen are bounded far below)
MAX_NUMBER_CHARS = 40
NO_BODY_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


def _invalid(message: str, issue: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": "body", "issue": issue, "message": message}])


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _invalid(f"integers have at most {MAX_INT_DIGITS} digits", "int_too_long")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _invalid(f"numbers have at most {MAX_NUMBER_CHARS} characters", "number_too_long")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _invalid("number out of range", "number_out_of_range")
    return value


def _parse_constant(text: str) -> Any:
    raise _invalid(f"{text} is not JSON", "json_invalid")


def _depth_ok(text: str) -> bool:
    """Nesting depth outside strings, without parsing (so a deep body never reaches a recursive parser)."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def parse_json(text: str) -> Any:
    """JSON with the API's limits; ValidationFailed (400) for anything else. Usable by webhooks on their raw body."""
    if not _depth_ok(text):
        raise _invalid(f"JSON nested deeper than {MAX_JSON_DEPTH}", "json_too_deep")
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except ApiError:
        raise
    except (ValueError, RecursionError):
        raise _invalid("the body is not valid JSON", "json_invalid") from None


def media_type(headers: dict[str, Any]) -> tuple[str, dict[str, str]]:
    raw = str(headers.get("content-type") or "")
    kind, *params = raw.split(";")
    parsed = {}
    for p in params:
        k, _, v = p.partition("=")
        parsed[k.strip().lower()] = v.strip().strip('"').lower()
    return kind.strip().lower(), parsed


def prepare_body(event: dict[str, Any]) -> ApiError | None:
    """Check and normalise the event's body in place; the error to answer instead, or None."""
    body = event.get("body")
    if body is None or body == "":
        return None
    if str(event.get("httpMethod", "")).upper() in NO_BODY_METHODS:
        event["body"], event["isBase64Encoded"] = None, False  # no route reads one: ignored, as HTTP allows
        return None
    webhook = str(event.get("resource", "")).startswith("/webhooks/")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(str(body), validate=True)
        except (binascii.Error, ValueError):
            return _invalid("the body is not valid base64", "encoding")
    else:
        raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
    if len(raw) > MAX_BODY_BYTES:
        return PayloadTooLarge(f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _invalid("the body is not valid UTF-8", "encoding")
    event["body"], event["isBase64Encoded"] = text, False
    if webhook:
        return None

    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    kind, params = media_type(headers)
    if kind and kind != "application/json":
        return UnsupportedMediaType("send the body as application/json")
    if params.get("charset", "utf-8") not in ("utf-8", "utf8"):
        return UnsupportedMediaType("send the body as application/json in UTF-8")
    _normalise_content_type(event)
    if not text.strip():
        return None
    try:
        value = parse_json(text)
    except ValidationFailed as exc:
        return exc
    if not isinstance(value, dict):
        # Every body in the contract is a JSON object; Powertools would quietly unwrap `[{...}]` to `{...}`.
        return ValidationFailed("the body must be a JSON object", details=[
            {"field": "body", "issue": "object_type", "message": "expected a JSON object"}])
    return None


def _normalise_content_type(event: dict[str, Any]) -> None:
    for name in ("headers", "multiValueHeaders"):
        hdrs = event.get(name)
        if not isinstance(hdrs, dict):
            continue
        for key in [k for k in hdrs if str(k).lower() == "content-type"]:
            del hdrs[key]
        hdrs["content-type"] = "application/json" if name == "headers" else ["application/json"]
