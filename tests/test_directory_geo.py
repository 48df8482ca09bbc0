"""Exact lookups: haversine against hand-computed distances, the grid index against a brute
force scan, the 15-minute boundary, and opening hours edge cases."""

from __future__ import annotations

import math
import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.directory import Station
from bot.services.directory import CIRCLE_M, Place
from bot.services.geo import GridIndex, brute_force_nearest, haversine_m
from bot.services.hours import HoursError, open_status, parse_hours

SH = ZoneInfo("Asia/Shanghai")
ONE_DEGREE_M = 6_371_000 * math.pi / 180  # 111,194.93 m


def test_haversine_hand_computed() -> None:
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111_194.93, abs=0.01)
    assert haversine_m(0, 0, 0, 1) == pytest.approx(111_194.93, abs=0.01)
    assert haversine_m(0, 0, 0, 90) == pytest.approx(10_007_543.4, abs=0.1)
    assert haversine_m(90, 0, -90, 0) == pytest.approx(math.pi * 6_371_000, abs=0.1)
    # Zhujing centre to the smart station: Δlat 0.004° = 444.78 m north-south, Δlon 0.003°
    # × cos(30.893°) = 286.25 m east-west; √(444.78² + 286.25²) = 528.93 m.
    assert haversine_m(30.8950, 121.1620, 30.8910, 121.1650) == pytest.approx(528.93, abs=0.1)
    assert haversine_m(30.9, 121.2, 30.9, 121.2) == 0


def _station(i: int, lat: float, lon: float) -> Station:
    return Station(f"s{i}", "station", f"站{i}", "", "", "", "", "", lat, lon, "", "", "")


def test_fifteen_minute_boundary() -> None:
    lat0 = 30.9
    on_edge = lat0 + CIRCLE_M / ONE_DEGREE_M
    d = haversine_m(lat0, 121.2, on_edge, 121.2)
    place = Place(_station(1, on_edge, 121.2), d, open_status(parse_hours(""), datetime.now()))
    assert d == pytest.approx(1200.0, abs=1e-6)
    assert place.within_circle and place.walk_minutes == 15
    beyond = Place(place.station, 1201.0, place.status)
    assert not beyond.within_circle and beyond.walk_minutes == 16
    assert Place(place.station, 80.0, place.status).walk_minutes == 1


def test_grid_matches_brute_force() -> None:
    rng = random.Random(4)
    points = [
        (30.7 + rng.random() * 0.25, 121.0 + rng.random() * 0.45, _station(i, 0, 0))
        for i in range(3000)
    ]
    grid = GridIndex(points)
    for _ in range(300):
        lat, lon = 30.6 + rng.random() * 0.45, 120.9 + rng.random() * 0.65
        got = grid.nearest(lat, lon, 3)
        want = brute_force_nearest(points, lat, lon, 3)
        assert [round(h.distance_m, 6) for h in got] == [round(h.distance_m, 6) for h in want]
    # A query far away still finds the true nearest, and max_m cuts it off.
    far = grid.nearest(39.9, 116.4, 1)
    assert far and far[0].distance_m == pytest.approx(
        brute_force_nearest(points, 39.9, 116.4, 1)[0].distance_m
    )
    assert grid.nearest(39.9, 116.4, 1, max_m=30_000) == []
    only_even = grid.nearest(30.8, 121.2, 2, accept=lambda s: int(s.id[1:]) % 2 == 0)
    assert all(int(h.item.id[1:]) % 2 == 0 for h in only_even) and len(only_even) == 2


def _at(day: int, hh: int, mm: int) -> datetime:
    # 2026-11-23 is a Monday.
    return datetime(2026, 11, 23 + day, hh, mm, tzinfo=SH)


def test_opening_hours_edges() -> None:
    centre = parse_hours("Mon-Fri 08:00-16:30; Sat 08:00-11:30")
    assert not open_status(centre, _at(1, 7, 59)).open
    assert open_status(centre, _at(1, 7, 59)).opens_today == 8 * 60
    assert open_status(centre, _at(1, 8, 0)).open
    assert open_status(centre, _at(1, 16, 29)).until == 16 * 60 + 30
    assert not open_status(centre, _at(1, 16, 30)).open  # the closing minute is closed
    assert open_status(centre, _at(5, 11, 29)).open  # Saturday half-day
    assert not open_status(centre, _at(5, 11, 30)).open
    sunday = open_status(centre, _at(6, 10, 0))
    assert sunday.known and not sunday.open and sunday.opens_today is None
    lunch = parse_hours("Mon-Fri 08:00-11:30,13:00-16:30")
    assert open_status(lunch, _at(2, 12, 0)).opens_today == 13 * 60
    always = parse_hours("Daily 00:00-24:00")
    assert open_status(always, _at(6, 23, 59)).open
    assert not open_status(parse_hours(""), _at(1, 10, 0)).known
    assert open_status(parse_hours("Mon,Wed,Fri 08:00-11:30"), _at(2, 9, 0)).open


@pytest.mark.parametrize(
    "text",
    [
        "Mon-Fri 17:00-08:00",
        "Xyz 08:00-10:00",
        "Mon 25:00-26:00",
        "Mon-Fri",
        "Fri-Mon 08:00-09:00",
        "Mon 8-9",
    ],
)
def test_bad_hours_are_rejected(text: str) -> None:
    with pytest.raises(HoursError):
        parse_hours(text)
