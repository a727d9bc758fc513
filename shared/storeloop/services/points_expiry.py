"""Points expiry: a member's whole balance expires after POINTS_EXPIRY_DAYS (default 365) without a purchase.

The rule (docs/payments.md, "Points expiry"): every paid order and every POS sale for the member (a purchase,
whatever it earned) moves the balance's expiry date to POINTS_EXPIRY_DAYS after that day, China time. On that date
the daily job (03:00 Asia/Shanghai) expires whatever is left, as one `points_expired` ledger entry. Points that
come back later (an order cancelled, a refund's points returned) keep the date the profile has; if it had none left
(its balance already expired), they have expired by the rule too, and the next run takes them.

Where: the date is the profile's sparse GSI2 key `POINTS_EXPIRY#<date>` / `<member_id>`, written in the same update
as the balance change (data/points.py), so the job Queries one partition per day and never scans. It reads the
days from `CATCH_UP_DAYS` before today to today, so a run that failed (or a day the job did not run) is made up.

Each member is expired in one transaction conditional on the balance and the date being what was read: a
concurrent earn (a later date) or spend (another balance) wins, and the member is read again (a spend leaves the
rest to expire; an earn leaves nothing due). Expiring removes the date, so a second run finds nothing: idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from storeloop.data import points
from storeloop.domain import clock
from storeloop.domain.clock import CN_TZ
from storeloop.domain.points import points_expire_on
from storeloop.settings import get_settings

logger = Logger(service="storeloop", child=True)

DEFAULT_EXPIRY_DAYS = 365
EXPIRY_DAYS_RANGE = (1, 3650)
CATCH_UP_DAYS = 7  # also read the index of the 7 days before today: days a run failed or did not happen
ATTEMPTS = 3  # re-reads of one member whose balance keeps moving; after that it is left to the next run
STOP_WITH_MS_LEFT = 15_000  # stop taking new members this close to the Lambda timeout (the next run goes on)


def expiry_days() -> int:
    """POINTS_EXPIRY_DAYS (default 365, 1..3650), from the settings."""
    return get_settings().points_expiry_days


def expires_on(purchase_day: date) -> date:
    """The day a balance expires when the member's last purchase was on `purchase_day` (China time)."""
    return points_expire_on(purchase_day, expiry_days())


def today_in_china() -> date:
    return clock.now().astimezone(CN_TZ).date()


def _expire_member(state: points.ExpiryState, today: date) -> tuple[str, int]:
    """("expired", points) | ("cleared", 0) (a zero balance: its date removed) | ("moved", 0) (not due any more,
    or gone) | ("contended", 0) (still changing after ATTEMPTS tries: the next run)."""
    current: points.ExpiryState | None = state
    for _ in range(ATTEMPTS):
        if current is None or current.key is None or points.expiry_day_of(current.key) > today:
            return "moved", 0
        try:
            points.expire_balance(current, clock.now())
        except points.ExpiryChanged:
            current = points.expiry_state(state.member_id)
            continue
        return ("expired", current.points) if current.points else ("cleared", 0)
    return "contended", 0


def run(catch_up_days: int = CATCH_UP_DAYS, remaining_ms: Callable[[], int] | None = None) -> dict[str, Any]:
    """Expire every balance whose date is today or in the `catch_up_days` before (China time). Safe to run again."""
    today = today_in_china()
    summary: dict[str, Any] = {"date": today.isoformat(), "expired_members": 0, "expired_points": 0, "cleared": 0,
                               "left_for_next_run": 0, "finished": True}
    for back in range(catch_up_days, -1, -1):  # oldest first
        for state in points.members_expiring_on(today - timedelta(days=back)):
            if remaining_ms is not None and remaining_ms() < STOP_WITH_MS_LEFT:
                summary["finished"] = False  # the dates stay indexed: the next run (or a retry) goes on
                logger.warning("points expiry stopped before the timeout", extra=summary)
                return summary
            outcome, amount = _expire_member(state, today)
            if outcome == "expired":
                summary["expired_members"] += 1
                summary["expired_points"] += amount
                logger.info("points expired", extra={"member_id": state.member_id, "points": amount})
            elif outcome == "cleared":
                summary["cleared"] += 1
            elif outcome == "contended":
                summary["left_for_next_run"] += 1
    logger.info("points expiry run", extra=summary)
    return summary
