"""Great-circle distances and a grid index for "the nearest k places to this point".

Stations change only on import, so the index is read-only: built once from the database,
rebuilt after an import. A lookup scans grid cells in rings around the query point and stops
as soon as no unseen cell can hold anything closer than what it already has; distances are
exact haversine on the few candidates, never approximations.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

# Mean Earth radius (IUGG), metres. Tests compute their expected distances with the same value.
EARTH_RADIUS_M = 6_371_000.0
METRES_PER_DEGREE_LAT = EARTH_RADIUS_M * math.pi / 180.0

T = TypeVar("T")


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class Hit(Generic[T]):
    item: T
    distance_m: float


class GridIndex(Generic[T]):
    """Points bucketed in square cells of `cell_deg` degrees; nearest-k by expanding rings."""

    def __init__(self, points: Iterable[tuple[float, float, T]], cell_deg: float = 0.01) -> None:
        self.cell = cell_deg
        self._cells: dict[tuple[int, int], list[tuple[float, float, T]]] = {}
        self.size = 0
        for lat, lon, item in points:
            self._cells.setdefault(self._key(lat, lon), []).append((lat, lon, item))
            self.size += 1
        if self._cells:
            ys = [k[0] for k in self._cells]
            xs = [k[1] for k in self._cells]
            self._bounds = (min(ys), max(ys), min(xs), max(xs))
        else:
            self._bounds = (0, -1, 0, -1)

    def _key(self, lat: float, lon: float) -> tuple[int, int]:
        return (math.floor(lat / self.cell), math.floor(lon / self.cell))

    def _ring_lower_bound_m(self, lat: float, ring: int) -> float:
        """No point in ring `ring` (or beyond) is closer than this to a point in ring 0.

        Between the query's cell and a ring-r cell lie at least r-1 whole cells, in latitude
        or in longitude. A latitude gap of d degrees is at least d * metres-per-degree; a
        longitude gap is at least the chord-free great-circle bound 2R·asin(cos φ·sin(Δλ/2))
        taken at the highest latitude the ring reaches.
        """
        gap = (ring - 1) * self.cell
        if gap <= 0:
            return 0.0
        by_lat = gap * METRES_PER_DEGREE_LAT
        phi = min(89.999, abs(lat) + (ring + 1) * self.cell)
        by_lon = (
            2
            * EARTH_RADIUS_M
            * math.asin(
                min(1.0, math.cos(math.radians(phi)) * math.sin(math.radians(min(gap, 180)) / 2))
            )
        )
        return min(by_lat, by_lon)

    def nearest(
        self,
        lat: float,
        lon: float,
        k: int,
        max_m: float = math.inf,
        accept: Callable[[T], bool] | None = None,
    ) -> list[Hit[T]]:
        """The k nearest accepted items within `max_m` metres, nearest first (ties by order)."""
        if k <= 0 or not self._cells:
            return []
        cy, cx = self._key(lat, lon)
        y0, y1, x0, x1 = self._bounds
        # Beyond this ring every cell lies outside the data's bounding box.
        last_ring = max(abs(cy - y0), abs(cy - y1), abs(cx - x0), abs(cx - x1))
        best: list[tuple[float, int, T]] = []  # max-heap by negated distance
        seq = 0
        ring = 0
        while ring <= last_ring:
            bound = self._ring_lower_bound_m(lat, ring)
            if bound > max_m or (len(best) >= k and bound > -best[0][0]):
                break
            for key in _ring_cells(cy, cx, ring, self._bounds):
                bucket = self._cells.get(key)
                if not bucket:
                    continue
                for plat, plon, item in bucket:
                    if accept is not None and not accept(item):
                        continue
                    d = haversine_m(lat, lon, plat, plon)
                    if d > max_m:
                        continue
                    seq += 1
                    if len(best) < k:
                        heapq.heappush(best, (-d, -seq, item))
                    elif d < -best[0][0]:
                        heapq.heapreplace(best, (-d, -seq, item))
            ring += 1
        ordered = sorted(((-nd, -ns, item) for nd, ns, item in best), key=lambda t: t[:2])
        return [Hit(item, d) for d, _, item in ordered]


def _ring_cells(
    cy: int, cx: int, ring: int, bounds: tuple[int, int, int, int]
) -> Iterable[tuple[int, int]]:
    """Cells at Chebyshev distance `ring` from (cy, cx), clipped to the data's bounds."""
    y0, y1, x0, x1 = bounds
    if ring == 0:
        yield (cy, cx)
        return
    top, bottom = cy + ring, cy - ring
    left, right = max(cx - ring, x0), min(cx + ring, x1)
    for y in (bottom, top):
        if y0 <= y <= y1:
            for x in range(left, right + 1):
                yield (y, x)
    lo, hi = max(bottom + 1, y0), min(top - 1, y1)
    for x in (cx - ring, cx + ring):
        if x0 <= x <= x1:
            for y in range(lo, hi + 1):
                yield (y, x)


def brute_force_nearest(
    points: Iterable[tuple[float, float, T]], lat: float, lon: float, k: int
) -> list[Hit[T]]:
    """The reference answer: every point's distance, sorted. Used by tests and the bench."""
    hits = [Hit(item, haversine_m(lat, lon, plat, plon)) for plat, plon, item in points]
    hits.sort(key=lambda h: h.distance_m)
    return hits[:k]
