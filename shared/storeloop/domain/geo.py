"""Geography: great-circle distance and geohash cells for finding the nearest stores without a Scan."""

from __future__ import annotations

import math
from typing import Final

# IUGG mean Earth radius (metres); haversine on a sphere is within ~0.5% of the ellipsoid, far finer
# than "nearest store first" needs.
EARTH_RADIUS_M: Final = 6_371_008.8

_BASE32: Final = "0123456789bcdefghjkmnpqrstuvwxyz"
_DECODE: Final = {c: i for i, c in enumerate(_BASE32)}
MAX_GEOHASH_PRECISION: Final = 12

# Stores are partitioned by their precision-4 geohash (a GSI keyed on it). A precision-4 cell is
# 180/2^10 = 0.176° of latitude by 360/2^10 = 0.352° of longitude: about 19.5 km × 39.1 km at the
# equator and 19.5 km × 33.5 km at Shanghai (31°N). A shopper's cell plus its 8 neighbours is 9
# key Queries, no Scan, and is guaranteed to contain every store within one cell height (~19.5 km),
# which covers a city's stores; distances are then computed exactly and sorted. Precision 5
# (4.9 km × 4.9 km) would miss stores a few km away; precision 3 (156 km × 156 km) would read a whole
# region per query. Widening to precision 3 is the fallback when the 9 cells hold nothing.
STORE_GEOHASH_PRECISION: Final = 4


def _check_coordinates(lat: float, lng: float) -> None:
    for name, value, limit in (("lat", lat, 90.0), ("lng", lng, 180.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
        if not -limit <= value <= limit:
            raise ValueError(f"{name} must be within ±{limit:g}, got {value}")


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> int:
    """Great-circle distance in whole metres (rounded) between two WGS-84 points in degrees."""
    _check_coordinates(lat1, lng1)
    _check_coordinates(lat2, lng2)
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lng2 - lng1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    # min() guards against a hair above 1.0 from rounding for antipodal points.
    return round(2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a))))


def _check_precision(precision: int) -> None:
    if isinstance(precision, bool) or not isinstance(precision, int):
        # ValueError even for a wrong type: pydantic validators turn it into a 400, a TypeError into a 500.
        raise ValueError(f"precision must be an integer, got {precision!r}")
    if not 1 <= precision <= MAX_GEOHASH_PRECISION:
        raise ValueError(f"precision must be 1..{MAX_GEOHASH_PRECISION}, got {precision}")


def geohash_encode(lat: float, lng: float, precision: int = STORE_GEOHASH_PRECISION) -> str:
    """The standard base-32 geohash of a point (bits alternate longitude first, as everywhere).

    Points exactly on a cell edge belong to the cell to their north/east (lower bounds inclusive);
    lat 90 and lng 180 fall in the last cell.
    """
    _check_coordinates(lat, lng)
    _check_precision(precision)
    lat_lo, lat_hi, lng_lo, lng_hi = -90.0, 90.0, -180.0, 180.0
    chars: list[str] = []
    bits = 0
    bit_count = 0
    even = True  # even bits refine longitude
    while len(chars) < precision:
        if even:
            mid = (lng_lo + lng_hi) / 2
            if lng >= mid:
                bits = bits * 2 + 1
                lng_lo = mid
            else:
                bits *= 2
                lng_hi = mid
        else:
            mid = (lat_lo + lat_hi) / 2
            if lat >= mid:
                bits = bits * 2 + 1
                lat_lo = mid
            else:
                bits *= 2
                lat_hi = mid
        even = not even
        bit_count += 1
        if bit_count == 5:
            chars.append(_BASE32[bits])
            bits = 0
            bit_count = 0
    return "".join(chars)


def geohash_bounds(geohash: str) -> tuple[float, float, float, float]:
    """The cell of `geohash` as `(lat_min, lat_max, lng_min, lng_max)` in degrees."""
    if not isinstance(geohash, str) or not 1 <= len(geohash) <= MAX_GEOHASH_PRECISION:
        raise ValueError(f"geohash must be 1..{MAX_GEOHASH_PRECISION} characters, got {geohash!r}")
    lat_lo, lat_hi, lng_lo, lng_hi = -90.0, 90.0, -180.0, 180.0
    even = True
    for char in geohash.lower():
        if char not in _DECODE:
            raise ValueError(f"invalid geohash character {char!r} in {geohash!r}")
        value = _DECODE[char]
        for shift in range(4, -1, -1):
            bit = (value >> shift) & 1
            if even:
                mid = (lng_lo + lng_hi) / 2
                if bit:
                    lng_lo = mid
                else:
                    lng_hi = mid
            else:
                mid = (lat_lo + lat_hi) / 2
                if bit:
                    lat_lo = mid
                else:
                    lat_hi = mid
            even = not even
    return lat_lo, lat_hi, lng_lo, lng_hi


def geohash_neighbors(geohash: str) -> list[str]:
    """The cell itself followed by its 8 neighbours (N, NE, E, SE, S, SW, W, NW), same precision.

    Longitude wraps at the antimeridian. At a pole there is nothing further north (or south), so
    the polar row is left out and fewer than 9 cells come back; no duplicates are ever returned.
    Works by stepping one cell from the centre and re-encoding: centres sit half a cell from any
    edge, so floating-point rounding cannot land in the wrong cell.
    """
    lat_lo, lat_hi, lng_lo, lng_hi = geohash_bounds(geohash)
    precision = len(geohash)
    height, width = lat_hi - lat_lo, lng_hi - lng_lo
    lat_c, lng_c = (lat_lo + lat_hi) / 2, (lng_lo + lng_hi) / 2
    cells = [geohash.lower()]
    for d_lat, d_lng in (
        (1, 0),
        (1, 1),
        (0, 1),
        (-1, 1),
        (-1, 0),
        (-1, -1),
        (0, -1),
        (1, -1),
    ):
        lat = lat_c + d_lat * height
        if not -90.0 < lat < 90.0:
            continue
        lng = (lng_c + d_lng * width + 180.0) % 360.0 - 180.0
        cell = geohash_encode(lat, lng, precision)
        if cell not in cells:
            cells.append(cell)
    return cells


def nearby_store_cells(lat: float, lng: float) -> list[str]:
    """The precision-4 cells to Query for stores near a shopper: their cell and its neighbours."""
    return geohash_neighbors(geohash_encode(lat, lng, STORE_GEOHASH_PRECISION))
