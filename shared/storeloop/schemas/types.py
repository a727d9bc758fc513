"""Annotated types every request model uses, so each bound is written (and shown in OpenAPI) once.

- `Fen` / `PositiveFen`: money, an integer number of fen (no floats, no strings), 0 (1) .. MAX_FEN.
- `BoundedDatetime`: RFC 3339 with an offset, years 2000-2100 (`clock.MIN_YEAR`..`MAX_YEAR`); normalised to
  +08:00 whole seconds, so stored strings compare as times.
- `BoundedDate`: YYYY-MM-DD in the same years (query parameters such as `from`/`to`).
- `Latitude` / `Longitude`: degrees, rounded to 7 decimals (~1 cm): DynamoDB refuses numbers like 1e-200.

The list parameters of a paginated route are `storeloop.api.pagination.LimitQuery` and `CursorQuery`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from storeloop.domain.clock import MAX_YEAR, MIN_YEAR, parse_date, parse_rfc3339, to_rfc3339

MAX_FEN = 10_000_000_000  # 100 million yuan: far above any till

# A year 2000..2100 in the pattern, so a generated client (or a fuzzer) knows the bound before it is refused.
_YEARS = r"(20[0-9]{2}|2100)"
DATETIME_PATTERN = (rf"^{_YEARS}-[0-9]{{2}}-[0-9]{{2}}[Tt][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(\.[0-9]+)?"
                    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$")
DATE_PATTERN = rf"^{_YEARS}-[0-9]{{2}}-[0-9]{{2}}$"


def _datetime(value: str) -> str:
    return to_rfc3339(parse_rfc3339(value))


def _date(value: str) -> str:
    return parse_date(value).isoformat()


Fen = Annotated[int, Field(strict=True, ge=0, le=MAX_FEN, description="integer fen (1/100 yuan)")]
PositiveFen = Annotated[int, Field(strict=True, ge=1, le=MAX_FEN, description="integer fen (1/100 yuan), > 0")]
BoundedDatetime = Annotated[str, AfterValidator(_datetime), Field(
    max_length=40, pattern=DATETIME_PATTERN, json_schema_extra={"format": "date-time"},
    description=f"RFC 3339 with an offset, years {MIN_YEAR}-{MAX_YEAR}")]
BoundedDate = Annotated[str, AfterValidator(_date), Field(
    min_length=10, max_length=10, pattern=DATE_PATTERN, json_schema_extra={"format": "date"},
    description=f"YYYY-MM-DD, years {MIN_YEAR}-{MAX_YEAR}")]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False), AfterValidator(lambda v: round(v, 7))]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False), AfterValidator(lambda v: round(v, 7))]


def _ends_after_start(v: str, info: ValidationInfo) -> str:
    starts_at = info.data.get("starts_at")
    if starts_at is not None and parse_rfc3339(v) <= parse_rfc3339(starts_at):
        raise ValueError("must be after starts_at")
    return v


def ends_after_start() -> Any:
    """A window's `ends_at` after its `starts_at` (declared first): in a model, `_window = ends_after_start()`."""
    return field_validator("ends_at")(_ends_after_start)

