"""Benchmark the KPI API on a year of one store's data.

Generates the data in bulk with PostgreSQL (``generate_series``; deterministic with ``setseed``):
drivers, their trips (one in six from a staff commute), requests spread evenly over the last
``--days`` days up to now, 0–5 responses each, and outcomes moved through the request state
machine as the services do (the database trigger checks every step). Then builds the rollups and
times the KPI API (full period, per day) through Django's test client, and the selector alone.

Everything is rolled back at the end unless ``--keep``.
"""

import statistics
import time
from datetime import timedelta
from typing import Any

import numpy as np
from django.contrib.gis.geos import Point
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from backend.accounts.models import User
from backend.analytics.selectors import local_today, store_kpis
from backend.analytics.services import rollups_rebuild
from backend.matching.models import CommuteProfile
from backend.stores.models import Store, StoreMembership

DRIVERS = 60
STAFF = 10
TRIPS_PER_DAY = 25
LAT, LNG = 45.7300, 4.8800

TRIPS_SQL = """
INSERT INTO matching_trip (driver_id, store_id, commute_profile_id, service_date,
    departure_earliest, departure_latest, destination, direct_m, reach_area, capacity_kg,
    capacity_l, max_length_cm, max_detour_s, load_kg, load_l, request_count, state, created_at)
SELECT (%(drivers)s::bigint[])[(d.i * 7 + j) %% %(n_drivers)s + 1],
       %(store)s,
       (%(profiles)s::bigint[])[(d.i * 7 + j) %% %(n_drivers)s + 1],
       d.day,
       (d.day::timestamp AT TIME ZONE %(tz)s) + interval '17 hours',
       (d.day::timestamp AT TIME ZONE %(tz)s) + interval '19 hours',
       ST_GeogFromText(%(home)s), 5560, ST_GeomFromText(%(reach)s, 4326),
       200, 1500, 200, 900, 0, 0, 0, 'completed',
       (d.day::timestamp AT TIME ZONE %(tz)s)
FROM (SELECT i, (%(first_day)s::date + i) AS day FROM generate_series(0, %(days)s) AS i) AS d
CROSS JOIN generate_series(0, %(per_day)s - 1) AS j
"""

REQUESTS_SQL = """
INSERT INTO deliveries_deliveryrequest (store_id, customer_id, order_reference, dropoff_address,
    dropoff_point, contact_phone, access_notes, window_start, window_end, fee_eur, state,
    pickup_code, delivery_code, pickup_code_attempts, delivery_code_attempts, review_required,
    review_reason, proof, proof_photo, cancelled_by, cancel_reason, created_at)
SELECT %(store)s, %(customer)s, 'BENCH-' || g, 'Bench address',
       ST_SetSRID(ST_MakePoint(%(lng)s + (random() - 0.5) * 0.2,
                               %(lat)s + (random() - 0.5) * 0.14), 4326)::geography,
       '+33 6 00 00 00 00', '', t + interval '1 hour', t + interval '4 hours',
       3 + floor(random() * 10), 'open', '000000', '000000', 0, 0, false, '', '', '', '', '', t
FROM (
    SELECT g, %(since)s::timestamptz + ((g - 0.5) * %(step_s)s) * interval '1 second' AS t
    FROM generate_series(1, %(n)s) AS g
) AS s
"""

OFFERS_SQL = """
WITH r AS (
    SELECT id, created_at, fee_eur, (created_at AT TIME ZONE %(tz)s)::date AS day,
           least(5, floor(random() * 7))::int AS c, random() * 1800 AS base_s
    FROM deliveries_deliveryrequest WHERE store_id = %(store)s
),
t AS (
    SELECT id, service_date,
           row_number() OVER (PARTITION BY service_date ORDER BY id) - 1 AS j
    FROM matching_trip WHERE store_id = %(store)s
)
INSERT INTO matching_offer (request_id, trip_id, detour_s, detour_m, fee_eur, expires_at, state,
    source, created_at, responded_at, closed_at)
SELECT r.id, t.id, 300, (300 + random() * 4000)::int, r.fee_eur,
       r.created_at + interval '1 hour',
       CASE WHEN k = 1 AND r.id %% 10 < 9 THEN 'selected' ELSE 'not_selected' END,
       'matching', r.created_at,
       r.created_at + (r.base_s + k * 30 + random() * 25) * interval '1 second', NULL
FROM r
CROSS JOIN LATERAL generate_series(1, r.c) AS k
JOIN t ON t.service_date = r.day AND t.j = (r.id * 7 + k * 5) %% %(per_day)s
"""

OUTCOME_SQL = [
    # first response
    """
    UPDATE deliveries_deliveryrequest q SET first_response_at = o.first_at
    FROM (SELECT o.request_id, min(o.responded_at) AS first_at
          FROM matching_offer o JOIN deliveries_deliveryrequest r ON r.id = o.request_id
          WHERE r.store_id = %(store)s
          GROUP BY o.request_id) o
    WHERE q.store_id = %(store)s AND o.request_id = q.id
    """,
    # assigned: the selected offer's driver
    """
    UPDATE deliveries_deliveryrequest q
    SET state = 'assigned', assigned_driver_id = t.driver_id, assigned_at = o.responded_at
    FROM matching_offer o JOIN matching_trip t ON t.id = o.trip_id
    WHERE q.store_id = %(store)s AND o.request_id = q.id AND o.state = 'selected'
    """,
    # picked up, then delivered (one in thirteen late), or cancelled by the customer
    """
    UPDATE deliveries_deliveryrequest SET state = 'picked_up', picked_up_at = window_start
    WHERE store_id = %(store)s AND state = 'assigned' AND id %% 10 < 8
    """,
    """
    UPDATE deliveries_deliveryrequest
    SET state = 'delivered',
        delivered_at = CASE WHEN id %% 13 = 0 THEN window_end + interval '20 minutes'
                            ELSE window_end - interval '40 minutes' END
    WHERE store_id = %(store)s AND state = 'picked_up'
    """,
    """
    UPDATE deliveries_deliveryrequest SET closed_at = delivered_at
    WHERE store_id = %(store)s AND state = 'delivered'
    """,
    """
    UPDATE deliveries_deliveryrequest
    SET state = 'cancelled', cancelled_by = 'customer', closed_at = assigned_at + interval '10 min'
    WHERE store_id = %(store)s AND state = 'assigned'
    """,
    # nobody took it: the customer cancels one in three, the rest expire at the window's end
    """
    UPDATE deliveries_deliveryrequest
    SET state = 'cancelled', cancelled_by = CASE WHEN id %% 2 = 0 THEN 'customer' ELSE 'store' END,
        closed_at = created_at + interval '20 minutes'
    WHERE store_id = %(store)s AND state = 'open' AND id %% 3 = 0 AND created_at < %(now)s
    """,
    """
    UPDATE deliveries_deliveryrequest SET state = 'expired', closed_at = window_end
    WHERE store_id = %(store)s AND state = 'open' AND window_end < %(now)s
    """,
    # half the deliveries are rated
    """
    INSERT INTO deliveries_rating (request_id, direction, rater_id, ratee_id, stars, comment,
        created_at)
    SELECT id, 'customer_to_driver', customer_id, assigned_driver_id, 3 + id %% 3, '',
           delivered_at
    FROM deliveries_deliveryrequest
    WHERE store_id = %(store)s AND state = 'delivered' AND id %% 2 = 0
    """,
]


class Command(BaseCommand):
    help = "Generate a year of one store's requests and time the KPI API (p50/p95 ms)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--requests", type=int, default=200_000)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--samples", type=int, default=30)
        parser.add_argument("--keep", action="store_true", help="Commit the generated data.")

    def _step(self, label: str, started: float) -> float:
        now = time.perf_counter()
        self.stdout.write(f"{label}: {now - started:.1f} s")
        return now

    def handle(self, *args: object, **options: Any) -> None:
        n: int = options["requests"]
        days: int = options["days"]
        with transaction.atomic():
            self._run(n=n, days=days, samples=options["samples"])
            if not options["keep"]:
                transaction.set_rollback(True)
                self.stdout.write("generated data rolled back (use --keep to keep it)")

    def _run(self, *, n: int, days: int, samples: int) -> None:
        started = time.perf_counter()
        now = timezone.now()
        store = Store.objects.create(
            name=f"Bench store {now:%Y%m%d%H%M%S}",
            address="Bench",
            location=Point(LNG, LAT, srid=4326),
        )
        manager = User.objects.create_user(email=f"bench-manager-{store.pk}@example.com")
        StoreMembership.objects.create(store=store, user=manager, role=StoreMembership.Role.MANAGER)
        customer = User.objects.create_user(email=f"bench-customer-{store.pk}@example.com")
        drivers = User.objects.bulk_create(
            User(email=f"bench-driver-{store.pk}-{i}@example.com", full_name=f"Driver {i}")
            for i in range(DRIVERS)
        )
        home = Point(LNG, LAT + 0.05, srid=4326)
        profiles = CommuteProfile.objects.bulk_create(
            CommuteProfile(
                driver=d,
                store=store,
                weekdays=[0, 1, 2, 3, 4, 5, 6],
                shift_end="18:00",
                home=home,
            )
            for d in drivers[:STAFF]
        )
        today = local_today(store=store)
        first_day = today - timedelta(days=days)
        span_s = days * 86_400
        d = 0.15
        reach = (
            f"POLYGON(({LNG - d} {LAT - d}, {LNG + d} {LAT - d}, {LNG + d} {LAT + d}, "
            f"{LNG - d} {LAT + d}, {LNG - d} {LAT - d}))"
        )
        params: dict[str, Any] = {
            "store": store.pk,
            "customer": customer.pk,
            "tz": store.timezone,
            "drivers": [u.pk for u in drivers],
            "profiles": [p.pk for p in profiles] + [None] * (DRIVERS - STAFF),
            "n_drivers": DRIVERS,
            "first_day": first_day,
            "days": days,
            "per_day": TRIPS_PER_DAY,
            "home": f"SRID=4326;POINT({home.x} {home.y})",
            "reach": reach,
            "lat": LAT,
            "lng": LNG,
            "since": now - timedelta(seconds=span_s),
            "step_s": span_s / n,
            "n": n,
            "now": now,
        }
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(0.42)")
            cursor.execute(TRIPS_SQL, params)
            cursor.execute(REQUESTS_SQL, params)
            # Fresh statistics, or the planner takes the new rows for a handful.
            cursor.execute("ANALYZE deliveries_deliveryrequest")
            cursor.execute("ANALYZE matching_trip")
            started = self._step(f"requests: {n}", started)
            cursor.execute(OFFERS_SQL, params)
            started = self._step(f"responses: {cursor.rowcount}", started)
            cursor.execute("ANALYZE matching_offer")
            for sql in OUTCOME_SQL:
                cursor.execute(sql, params)
            for table in (
                "deliveries_deliveryrequest",
                "matching_offer",
                "matching_trip",
                "deliveries_rating",
            ):
                cursor.execute(f"ANALYZE {table}")
        started = self._step("outcomes", started)

        start, end = today - timedelta(days=days), today
        chunk = start
        while chunk < end:  # closed days; today stays live
            last = min(end - timedelta(days=1), chunk + timedelta(days=30))
            rollups_rebuild(store_id=store.pk, start=chunk, end=last)
            chunk = last + timedelta(days=1)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE analytics_storedayrollup")
            cursor.execute("ANALYZE analytics_storedaydriverrollup")
        started = self._step(f"rollups: {days} days", started)

        report = store_kpis(store_id=store.pk, start=start, end=end)
        t = report.totals
        self.stdout.write(
            f"totals: postings={t.postings} response_rate={t.response_rate:.3f} "
            f"responses_per_posting={t.responses_per_posting:.2f} "
            f"median_first_response_s={t.first_response_median_s:.0f} "
            f"delivered_rate={t.delivered_rate:.3f} km_saved={t.km_saved:.0f} "
            f"active_drivers={t.active_drivers}"
        )

        selector_ms = []
        for _ in range(samples):
            began = time.perf_counter()
            store_kpis(store_id=store.pk, start=start, end=end)
            selector_ms.append((time.perf_counter() - began) * 1000)

        token = str(RefreshToken.for_user(manager).access_token)
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        url = f"/api/v1/manager/stores/{store.pk}/kpis/"
        query = {"from": start.isoformat(), "to": end.isoformat(), "granularity": "day"}
        api_ms = []
        with override_settings(ALLOWED_HOSTS=["testserver"]):
            for _ in range(samples + 1):
                began = time.perf_counter()
                response = client.get(url, query)
                api_ms.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, response.content[:300]  # noqa: S101
        api_ms = api_ms[1:]  # the first call warms the URL resolver and serializers

        def p(values: list[float], q: float) -> float:
            return float(np.percentile(np.asarray(values), q))

        self.stdout.write(
            f"selector: p50_ms={statistics.median(selector_ms):.1f} p95_ms={p(selector_ms, 95):.1f}"
        )
        self.stdout.write(
            f"summary: requests={n} p50_ms={statistics.median(api_ms):.1f} "
            f"p95_ms={p(api_ms, 95):.1f}"
        )
