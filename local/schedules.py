"""`python -m local.schedules [name]`: list the schedules template.yaml declares, or run one now on the running local
cloud (`make run`) through its local-only route `POST /_local/schedules/<name>/run`.

A name may be shortened to any part that names one schedule (`visit` for `storeloop-local-visit-reminders`). The API is
at http://127.0.0.1:3000, or STORELOOP_API_URL / STORELOOP_HOST + STORELOOP_API_PORT. Exit status: 0 when the run
answered 200, 1 otherwise, 2 for an unknown or ambiguous name.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from local.scheduler import parse, zone
from local.stack import load_stack


def declared() -> dict[str, dict[str, Any]]:
    """Schedule name → its event properties (plus the function), named as the local cloud names them."""
    from local.clients import REGION
    from local.stack import Resolver

    found: dict[str, dict[str, Any]] = {}
    stack = load_stack()
    resolver = Resolver(stack, REGION, {})  # names use only pseudo parameters (${AWS::StackName})
    for lid, fn in stack.functions.items():
        for event_name, event in fn.events.items():
            if event.get("Type") in ("Schedule", "ScheduleV2"):
                props = {**(event.get("Properties") or {})}
                props["Name"] = resolver.resolve(props.get("Name"))
                found[str(props.get("Name") or f"{lid}-{event_name}")] = {**props, "Function": lid}
    return found


def resolve(name: str, names: list[str]) -> str:
    if name in names:
        return name
    matches = [n for n in names if name in n]
    if len(matches) != 1:
        raise LookupError(f"{'no' if not matches else 'more than one'} schedule matches {name!r}: "
                          f"{', '.join(matches or names)}")
    return matches[0]


def api_base() -> str:
    if os.environ.get("STORELOOP_API_URL"):
        return os.environ["STORELOOP_API_URL"].rstrip("/")
    return f"http://{os.environ.get('STORELOOP_HOST', '127.0.0.1')}:{os.environ.get('STORELOOP_API_PORT', '3000')}"


def run(name: str, base: str | None = None, timeout: float = 900) -> tuple[int, Any]:
    """POST the local-only run route; (HTTP status, JSON answer)."""
    request = urllib.request.Request(f"{base or api_base()}/_local/schedules/{name}/run", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - a loopback URL we build
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def listing() -> str:
    now = datetime.now(UTC)
    lines = []
    for name, props in sorted(declared().items()):
        tz = props.get("ScheduleExpressionTimezone") or "UTC"
        nxt = parse(str(props["ScheduleExpression"]), zone(tz), anchor=now).next_after(now)
        lines.append(f"{name:<40} {props['ScheduleExpression']:<22} {tz:<14} next {nxt.isoformat() if nxt else '-'}"
                     f"   ({props['Function']})")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-l", "--list", "-h", "--help"):
        print(__doc__.strip() if argv and argv[0] in ("-h", "--help") else listing())
        return 0
    try:
        name = resolve(argv[0], sorted(declared()))
    except LookupError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        status, answer = run(name)
    except (urllib.error.URLError, OSError) as exc:
        print(f"cannot reach the local API at {api_base()} ({exc}); is `make run` running?", file=sys.stderr)
        return 1
    print(json.dumps(answer, ensure_ascii=False, indent=2))
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
