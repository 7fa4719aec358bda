"""The reach of a trip: every drop-off point D with d(S,D) + d(D,H) ≤ d(S,H) + budget lies in
an ellipse with foci S (the store) and H (home). Stored per trip as a polygon that contains that
ellipse, under a spatial index, so that the trips that can reach a drop-off are found by an index
lookup and not by scanning every trip."""

import math

from django.contrib.gis.geos import Point, Polygon

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
