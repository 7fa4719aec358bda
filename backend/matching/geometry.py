"""The reach of a trip: every drop-off point D with d(S,D) + d(D,H) ≤ d(S,H) + budget lies in
an ellipse with foci S (the store) and H (home). Stored per trip as a polygon that contains that
ellipse, under a spatial index, so that the trips that can reach a drop-off are found by an index
lookup and not by scanning every trip."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.contrib.gis.geos import Point, Polygon

import routing
from backend.core import travel

EARTH_RADIUS_M = 6_371_008.8  # the mean radius PostGIS and the routing core use for spheres
VERTICES = 32
# Margin for the local flat projection (well under 0.1 % over a city) and for rounding.
SAFETY_FACTOR = 1.01
SAFETY_M = 50.0


def reach_ellipse(*, store: Point, home: Point, budget_m: float) -> Polygon:
    """A polygon (SRID 4326) containing every point D with d(S,D)+d(D,H) ≤ d(S,H) + budget_m.

    The ellipse is built in a flat projection centred on the store and circumscribed (each
    polygon edge lies outside the curve), then widened by a safety margin.
    """
    lat0 = math.radians(store.y)
    metres_per_deg_lat = math.pi * EARTH_RADIUS_M / 180
    metres_per_deg_lng = metres_per_deg_lat * math.cos(lat0)
    hx = (home.x - store.x) * metres_per_deg_lng
    hy = (home.y - store.y) * metres_per_deg_lat
    focal = math.hypot(hx, hy)  # distance between the foci, metres
    a = (focal + max(budget_m, 0.0)) / 2 * SAFETY_FACTOR + SAFETY_M
    c = focal / 2
    b = math.sqrt(max(a * a - c * c, 0.0))
    # A polygon through points on a slightly larger ellipse contains the true one.
    grow = 1 / math.cos(math.pi / VERTICES)
    angle = math.atan2(hy, hx)
    cx, cy = hx / 2, hy / 2
    ring = []
    for i in range(VERTICES):
        t = 2 * math.pi * i / VERTICES
        ex, ey = a * grow * math.cos(t), b * grow * math.sin(t)
        x = cx + ex * math.cos(angle) - ey * math.sin(angle)
        y = cy + ex * math.sin(angle) + ey * math.cos(angle)
        ring.append((store.x + x / metres_per_deg_lng, store.y + y / metres_per_deg_lat))
    ring.append(ring[0])
    return Polygon(ring, srid=4326)


@dataclass(frozen=True)
class TripReach:
    """Where a trip can go within its budget: ``direct_s`` (store to destination, seconds; None
    when no travel time could be had), ``reach_m`` (the bound of d(S,D) + d(D,H), straight-line
    metres, for any drop-off D it could take) and ``area``, the polygon holding that ellipse."""

    direct_s: int | None
    reach_m: int
    area: Polygon


# With no travel time from the store to the destination the reach cannot be bounded by it: the
# trip is then a candidate for any drop-off within this distance (the longest trip allowed).
UNBOUNDED_REACH_M = 200_000


def trip_reaches(
    *, store: Point, homes: Sequence[Point], budgets_s: Sequence[float]
) -> list[TripReach]:
    """The reach of trips from ``store`` to each of ``homes`` with those detour budgets.

    A drop-off D fits only if the route S → … → D → … → H takes at most t(S,H) + budget. Every
    travel time is at least the straight-line distance at the travel model's speed bound ``v``
    (less the distance of its ends to their roads), so d(S,D) + d(D,H) ≤ v · (t(S,H) + budget)
    plus the snapping margins: an ellipse with foci S and H. With a road engine, the bound holds
    for the road times and for the straight-line fallback alike (``v`` is the larger of both)."""
    if not homes:
        return []
    store_ll = np.asarray([[store.y, store.x]], dtype=np.float64)
    home_ll = np.asarray([[home.y, home.x] for home in homes], dtype=np.float64)
    direct = travel.on_roads(
        lambda provider: provider.paired(np.repeat(store_ll, len(homes), axis=0), home_ll)
    )
    # Great-circle metres on the sphere PostGIS uses for geography distances.
    straight_m = (
        routing.HaversineTravel(circuity=1.0)
        .paired(np.repeat(store_ll, len(homes), axis=0), home_ll)
        .distance_m.tolist()
    )
    speed = travel.straight_speed_bound_m_per_s()
    margin_m = speed * travel.ROUNDING_S
    if not direct.estimated:
        # Each end and the drop-off may lie up to the snapping limit off their roads.
        margin_m += 4 * float(settings.ROAD_MAX_SNAP_M)
    reaches = []
    for index, home in enumerate(homes):
        budget_s = max(float(budgets_s[index]), 0.0)
        if direct.estimated and travel.road_configured():
            # The road time is not known (the engine did not answer): no bound from it.
            direct_s = None
            reach_m = max(UNBOUNDED_REACH_M, straight_m[index])
        else:
            direct_s = math.ceil(float(direct.value.duration_s[index]))
            reach_m = math.ceil(speed * (direct_s + budget_s) + margin_m)
        reach_m = max(reach_m, math.ceil(straight_m[index]))
        reaches.append(
            TripReach(
                direct_s=direct_s,
                reach_m=reach_m,
                area=reach_ellipse(store=store, home=home, budget_m=reach_m - straight_m[index]),
            )
        )
    return reaches
