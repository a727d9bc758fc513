"""Unit tests for storeloop.domain.geo: haversine distances and geohash cells."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from storeloop.domain.geo import (
    EARTH_RADIUS_M,
    STORE_GEOHASH_PRECISION,
    geohash_bounds,
    geohash_encode,
    geohash_neighbors,
    haversine_m,
    nearby_store_cells,
)

PEOPLES_SQUARE = (31.2304, 121.4737)
BUND = (31.2400, 121.4906)  # Chen Yi statue, where Nanjing Road East meets the Bund
BEIJING = (39.9042, 116.4074)

# Reference distances are WGS-84 ellipsoid geodesics (GeographicLib's Geodesic.WGS84.Inverse), an
# independent method; the sphere stays within 0.5% of them.
GEODESIC_CASES = [
    (PEOPLES_SQUARE, BUND, 1_930),
    (PEOPLES_SQUARE, BEIJING, 1_065_846),
    (
        (36.12, -86.67),
        (33.94, -118.40),
        2_892_777,
    ),  # Nashville to Los Angeles, the classic example
    (
        (51.5007, -0.1246),
        (40.6892, -74.0445),
        5_589_857,
    ),  # Big Ben to the Statue of Liberty
    ((22.5431, 114.0579), (22.3193, 114.1694), 27_312),  # Shenzhen to Hong Kong
    ((0.0, 179.5), (0.0, -179.5), 111_319),  # across the antimeridian
]


def destination(lat: float, lng: float, bearing_deg: float, distance_m: float) -> tuple[float, float]:
    """The point `distance_m` from (lat, lng) along `bearing_deg` on the same sphere."""
    delta = distance_m / EARTH_RADIUS_M
    theta = math.radians(bearing_deg)
    phi1, lambda1 = math.radians(lat), math.radians(lng)
    phi2 = math.asin(math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta))
    lambda2 = lambda1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1),
        math.cos(delta) - math.sin(phi1) * math.sin(phi2),
    )
    return math.degrees(phi2), (math.degrees(lambda2) + 540) % 360 - 180


class TestHaversine:
    @pytest.mark.parametrize(("a", "b", "expected"), GEODESIC_CASES)
    def test_known_distances_within_half_a_percent(
        self, a: tuple[float, float], b: tuple[float, float], expected: int
    ) -> None:
        assert haversine_m(*a, *b) == pytest.approx(expected, rel=0.005)

    def test_peoples_square_to_the_bund(self) -> None:
        # About 1.9 km as the crow flies (the walk along Nanjing Road East is longer).
        distance = haversine_m(*PEOPLES_SQUARE, *BUND)
        assert distance == pytest.approx(1_930, rel=0.05)
        assert 1_800 < distance < 2_050

    def test_same_point_is_zero(self) -> None:
        assert haversine_m(*PEOPLES_SQUARE, *PEOPLES_SQUARE) == 0

    def test_one_degree_of_latitude(self) -> None:
        assert haversine_m(0, 0, 1, 0) == round(2 * math.pi * EARTH_RADIUS_M / 360) == 111_195
        assert haversine_m(31, 121, 32, 121) == 111_195  # anywhere along a meridian

    def test_one_degree_of_longitude_shrinks_with_latitude(self) -> None:
        at_equator = haversine_m(0, 121, 0, 122)
        at_shanghai = haversine_m(31.23, 121, 31.23, 122)
        assert at_equator == 111_195
        assert at_shanghai == pytest.approx(111_195 * math.cos(math.radians(31.23)), rel=0.001)

    def test_antimeridian_is_short_way_round(self) -> None:
        assert haversine_m(0, 179.5, 0, -179.5) == haversine_m(0, -0.5, 0, 0.5) == 111_195

    def test_antipodes_are_half_the_circumference(self) -> None:
        half = round(math.pi * EARTH_RADIUS_M)
        assert haversine_m(0, 0, 0, 180) == half
        assert haversine_m(90, 0, -90, 0) == half
        assert haversine_m(31.2304, 121.4737, -31.2304, -58.5263) == half

    def test_returns_whole_metres(self) -> None:
        assert isinstance(haversine_m(*PEOPLES_SQUARE, *BUND), int)

    def test_one_metre_apart(self) -> None:
        lat, lng = destination(*PEOPLES_SQUARE, 45, 1.0)
        assert haversine_m(*PEOPLES_SQUARE, lat, lng) == 1

    @pytest.mark.parametrize(
        "coords",
        [
            (90.0001, 0, 0, 0),
            (-90.0001, 0, 0, 0),
            (0, 180.0001, 0, 0),
            (0, 0, 0, -180.0001),
            (float("nan"), 0, 0, 0),
            (0, float("inf"), 0, 0),
            ("31.2", 121.4, 31.2, 121.4),
            (None, 0, 0, 0),
            (True, 0, 0, 0),
        ],
    )
    def test_rejects_bad_coordinates(self, coords: tuple[Any, ...]) -> None:
        with pytest.raises(ValueError):
            haversine_m(*coords)

    def test_accepts_the_extremes(self) -> None:
        assert haversine_m(90, 180, -90, -180) == round(math.pi * EARTH_RADIUS_M)

    @given(
        st.floats(min_value=-90, max_value=90),
        st.floats(min_value=-180, max_value=180),
        st.floats(min_value=-90, max_value=90),
        st.floats(min_value=-180, max_value=180),
    )
    def test_symmetric_and_bounded(self, lat1: float, lng1: float, lat2: float, lng2: float) -> None:
        d = haversine_m(lat1, lng1, lat2, lng2)
        assert d == haversine_m(lat2, lng2, lat1, lng1)
        assert 0 <= d <= round(math.pi * EARTH_RADIUS_M)


class TestGeohashEncode:
    # Vectors cross-checked against the pygeohash package.
    @pytest.mark.parametrize(
        ("lat", "lng", "precision", "expected"),
        [
            (42.6, -5.6, 5, "ezs42"),  # the Wikipedia example
            (57.64911, 10.40744, 11, "u4pruydqqvj"),  # the original geohash.org example
            (31.2304, 121.4737, 4, "wtw3"),  # People's Square
            (31.2304, 121.4737, 9, "wtw3sjq6q"),
            (31.2304, 121.4737, 12, "wtw3sjq6q2e8"),
            (39.9042, 116.4074, 5, "wx4g0"),  # Beijing
            (22.5431, 114.0579, 9, "ws105ry7j"),  # Shenzhen
            (-33.8688, 151.2093, 5, "r3gx2"),  # Sydney
            (0.0, 0.0, 4, "s000"),  # edges belong to the north-east cell
            (-0.000001, -0.000001, 4, "7zzz"),
            (90.0, 180.0, 4, "zzzz"),
            (-90.0, -180.0, 4, "0000"),
            (31.2304, 121.4737, 1, "w"),
        ],
    )
    def test_known_hashes(self, lat: float, lng: float, precision: int, expected: str) -> None:
        assert geohash_encode(lat, lng, precision) == expected

    def test_default_precision_is_the_store_partition(self) -> None:
        assert STORE_GEOHASH_PRECISION == 4
        assert geohash_encode(*PEOPLES_SQUARE) == "wtw3"

    @pytest.mark.parametrize("precision", [0, 13, -1, 4.0, True, None])
    def test_rejects_bad_precision(self, precision: Any) -> None:
        with pytest.raises(ValueError):
            geohash_encode(*PEOPLES_SQUARE, precision)

    @pytest.mark.parametrize(("lat", "lng"), [(91, 0), (0, 181), (float("nan"), 0)])
    def test_rejects_bad_coordinates(self, lat: float, lng: float) -> None:
        with pytest.raises(ValueError):
            geohash_encode(lat, lng, 5)

    @given(
        st.floats(min_value=-90, max_value=90),
        st.floats(min_value=-180, max_value=180),
        st.integers(min_value=1, max_value=12),
    )
    def test_cell_contains_the_point_and_prefixes_nest(self, lat: float, lng: float, precision: int) -> None:
        cell = geohash_encode(lat, lng, precision)
        assert len(cell) == precision
        lat_lo, lat_hi, lng_lo, lng_hi = geohash_bounds(cell)
        assert lat_lo <= lat <= lat_hi
        assert lng_lo <= lng <= lng_hi
        assert geohash_encode(lat, lng, 12).startswith(cell)


class TestGeohashBounds:
    def test_precision_four_cell_size(self) -> None:
        lat_lo, lat_hi, lng_lo, lng_hi = geohash_bounds("wtw3")
        assert lat_hi - lat_lo == 180 / 2**10
        assert lng_hi - lng_lo == 360 / 2**10
        # ~19.5 km tall, ~39 km wide at the equator, ~33.5 km wide at Shanghai.
        height_m = haversine_m(lat_lo, lng_lo, lat_hi, lng_lo)
        assert 19_000 < height_m < 20_000
        assert 33_000 < haversine_m(31.23, 121.0, 31.23, 121.0 + 360 / 2**10) < 34_000
        assert 39_000 < haversine_m(0, 0, 0, 360 / 2**10) < 39_500

    def test_single_character_cells(self) -> None:
        assert geohash_bounds("s") == (0.0, 45.0, 0.0, 45.0)
        assert geohash_bounds("0") == (-90.0, -45.0, -180.0, -135.0)
        assert geohash_bounds("z") == (45.0, 90.0, 135.0, 180.0)

    def test_case_insensitive(self) -> None:
        assert geohash_bounds("WTW3") == geohash_bounds("wtw3")

    @pytest.mark.parametrize("bad", ["", "wtwa", "wtwi", "wtwl", "wtwo", "wtw3 ", "w" * 13, None, 1234])
    def test_rejects_bad_hashes(self, bad: Any) -> None:
        with pytest.raises(ValueError):
            geohash_bounds(bad)


def touches(a: str, b: str) -> bool:
    """True if cells a and b share an edge or a corner (allowing for the antimeridian)."""
    a_lat_lo, a_lat_hi, a_lng_lo, a_lng_hi = geohash_bounds(a)
    b_lat_lo, b_lat_hi, b_lng_lo, b_lng_hi = geohash_bounds(b)
    lat_ok = a_lat_lo == b_lat_hi or a_lat_hi == b_lat_lo or a_lat_lo == b_lat_lo
    shifts = (0.0, 360.0, -360.0)
    lng_ok = any(a_lng_lo == b_lng_hi + s or a_lng_hi == b_lng_lo + s or a_lng_lo == b_lng_lo + s for s in shifts)
    return lat_ok and lng_ok and a != b


class TestGeohashNeighbors:
    def test_itself_first_then_clockwise_from_north(self) -> None:
        # The precision-1 grid: north of "s" is "u", east "t", south "k", west "e".
        assert geohash_neighbors("s") == ["s", "u", "v", "t", "m", "k", "7", "e", "g"]

    def test_known_vector(self) -> None:
        assert geohash_neighbors("9q8yy") == [
            "9q8yy", "9q8zn", "9q8zp", "9q8yz", "9q8yx", "9q8yw", "9q8yt", "9q8yv", "9q8zj",
        ]  # fmt: skip

    def test_across_a_parent_cell_edge(self) -> None:
        # "ezs42" sits on the west edge of "ezs4": its west neighbours are in "ezef".
        cells = geohash_neighbors("ezs42")
        assert cells[7] == "ezefr"
        assert {"ezefr", "ezefx", "ezefp"} <= set(cells)

    def test_across_the_equator_and_prime_meridian(self) -> None:
        cells = geohash_neighbors("s000")
        assert cells[0] == "s000"
        assert cells[5] == "kpbp"  # south: across the equator
        assert cells[6] == "7zzz"  # south-west: across both
        assert cells[7] == "ebpb"  # west: across the prime meridian
        assert geohash_neighbors("kpbp")[1] == "s000"

    def test_shanghai_store_partition(self) -> None:
        assert geohash_neighbors("wtw3") == [
            "wtw3",
            "wtw6",
            "wtwd",
            "wtw9",
            "wtw8",
            "wtw2",
            "wtw0",
            "wtw1",
            "wtw4",
        ]

    def test_wraps_across_the_antimeridian(self) -> None:
        cells = geohash_neighbors("8")  # lng -180..-135, lat 0..45
        assert cells == ["8", "b", "c", "9", "3", "2", "r", "x", "z"]

    def test_polar_cells_have_no_row_beyond_the_pole(self) -> None:
        assert geohash_neighbors("b") == ["b", "c", "9", "8", "x", "z"]
        assert geohash_neighbors("0") == ["0", "2", "3", "1", "p", "r"]

    def test_upper_case_input(self) -> None:
        assert geohash_neighbors("WTW3") == geohash_neighbors("wtw3")

    def test_rejects_bad_hashes(self) -> None:
        with pytest.raises(ValueError):
            geohash_neighbors("wtwa")

    @given(
        st.floats(min_value=-89, max_value=89),
        st.floats(min_value=-180, max_value=180),
        st.integers(min_value=1, max_value=12),
    )
    def test_nine_distinct_cells_all_touching(self, lat: float, lng: float, precision: int) -> None:
        cell = geohash_encode(lat, lng, precision)
        lat_lo, lat_hi, _, _ = geohash_bounds(cell)
        assume(lat_lo > -90 and lat_hi < 90)  # polar rows are covered above
        cells = geohash_neighbors(cell)
        assert len(cells) == len(set(cells)) == 9
        assert cells[0] == cell
        assert all(len(c) == precision for c in cells)
        assert all(touches(cell, other) for other in cells[1:])
        # Symmetry: I am my neighbour's neighbour.
        assert all(cell in geohash_neighbors(other) for other in cells[1:])


class TestNearbyStoreCells:
    def test_peoples_square(self) -> None:
        assert nearby_store_cells(*PEOPLES_SQUARE) == geohash_neighbors("wtw3")

    def test_a_store_across_the_cell_edge_is_found(self) -> None:
        # A shopper just south of a cell edge and a store 200 m north of it fall in different cells.
        _, lat_hi, lng_lo, lng_hi = geohash_bounds("wtw3")
        shopper = (lat_hi - 0.0001, (lng_lo + lng_hi) / 2)
        store = (lat_hi + 0.002, shopper[1])
        assert geohash_encode(*shopper) != geohash_encode(*store)
        assert geohash_encode(*store) in nearby_store_cells(*shopper)

    @given(
        st.floats(min_value=18, max_value=53.5),  # mainland China's latitudes
        st.floats(min_value=73, max_value=135),
        st.floats(min_value=0, max_value=360, exclude_max=True),
        st.floats(min_value=0, max_value=19_000),
    )
    def test_every_store_within_19_km_is_in_the_nine_cells(
        self, lat: float, lng: float, bearing: float, distance: float
    ) -> None:
        store = destination(lat, lng, bearing, distance)
        assert geohash_encode(*store) in nearby_store_cells(lat, lng)
