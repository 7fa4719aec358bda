"""Measure live matching on the data in the database (fill it with ``seed_load`` first):
candidate search + exact insertion for new requests, and one store's batch re-optimisation."""

import os
import statistics
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import redis
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from backend.accounts.models import User
from backend.core.tasks import ping
from backend.core.workers import QUEUES, worker_start
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.deliveries.services import ParcelInput, PostedRequest
from backend.matching.batch import store_reoptimise
from backend.matching.models import Offer, Trip
from backend.matching.selectors import (
    MAX_CANDIDATES,
    candidates_for_request,
    rank_insertions,
    trip_candidates_for_request,
)
from backend.matching.services import request_post
from backend.stores.models import Store


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


class Command(BaseCommand):
    help = "Benchmark candidate search + insertion (p50/p95/p99 ms) and a batch re-optimisation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--samples", type=int, default=200)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--batch-store",
            type=int,
            default=None,
            help="Store to re-optimise (default: the one with most open requests)",
        )
        parser.add_argument(
            "--batch-time-limit",
            type=float,
            default=None,
            help="Solver seconds (default: the BATCH_TIME_LIMIT_S setting)",
        )
        parser.add_argument("--skip-batch", action="store_true")
        parser.add_argument(
            "--explain", action="store_true", help="Print the candidate query's plan."
        )
        parser.add_argument(
            "--pipeline",
            type=int,
            default=0,
            metavar="N",
            help="Also post N requests and time each to stored offers through a real Celery "
            "worker (started here) and Redis.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rng = np.random.default_rng(options["seed"])
        open_ids = list(
            DeliveryRequest.objects.filter(state=RequestState.OPEN)
            .values_list("pk", flat=True)
            .order_by("pk")
        )
        if not open_ids:
            self.stderr.write("No open requests: run `manage.py seed_load` first.")
            return
        active_trips = Trip.objects.filter(state=Trip.State.ACTIVE).count()
        sample = rng.choice(open_ids, size=min(options["samples"], len(open_ids)), replace=False)
        requests = {
            r.pk: r
            for r in DeliveryRequest.objects.select_related("store").filter(
                pk__in=[int(i) for i in sample]
            )
        }
        timings_ms, candidates, offers = [], [], []
        for request_id in sample:
            request = requests[int(request_id)]
            started = time.perf_counter()
            trips = candidates_for_request(request=request)
            ranked = rank_insertions(request=request, trips=trips, k=request.store.offer_fanout_k)
            timings_ms.append((time.perf_counter() - started) * 1000)
            candidates.append(len(trips))
            offers.append(len(ranked))
        self.stdout.write(
            f"candidate search + insertion over {len(sample)} requests, {active_trips} active "
            f"trips: median candidates {statistics.median(candidates):.0f}, median offers "
            f"{statistics.median(offers):.0f}"
        )
        if options["explain"]:
            self._explain(requests[int(sample[0])])
        batch_s = float("nan")
        if not options["skip_batch"]:
            store_id = options["batch_store"] or (
                Store.objects.annotate(
                    open=Count("requests", filter=Q(requests__state=RequestState.OPEN))
                )
                .order_by("-open")
                .values_list("pk", flat=True)
                .first()
            )
            if store_id is None:
                self.stderr.write("No store to re-optimise.")
                return
            started = time.perf_counter()
            result = store_reoptimise(store_id=store_id, time_limit_s=options["batch_time_limit"])
            batch_s = time.perf_counter() - started
            self.stdout.write(
                f"batch re-optimisation of store {store_id}: {result.open_requests} open "
                f"requests x {result.trips} trips, served {result.served}, "
                f"{result.offers_created} new offers, {batch_s:.2f} s"
            )
        pipeline = ""
        if options["pipeline"]:
            pipeline_ms = self._pipeline(options["pipeline"], rng)
            pipeline = (
                f" pipeline_p50_ms={_percentile(pipeline_ms, 50):.0f}"
                f" pipeline_p95_ms={_percentile(pipeline_ms, 95):.0f}"
            )
        self.stdout.write(
            f"summary: trips={active_trips} requests={len(open_ids)} "
            f"p50_ms={_percentile(timings_ms, 50):.1f} p95_ms={_percentile(timings_ms, 95):.1f} "
            f"p99_ms={_percentile(timings_ms, 99):.1f} batch_s={batch_s:.2f}{pipeline}"
        )

    def _explain(self, request: DeliveryRequest) -> None:
        query = trip_candidates_for_request(request=request)[:MAX_CANDIDATES]
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            for (line,) in cursor.fetchall():
                self.stdout.write(line)

    def _pipeline(self, n: int, rng: np.random.Generator) -> list[float]:
        """Post n requests through the service (as the API does) and time each one from its
        commit to its offers stored and notifications queued, with a worker of our own."""
        store = Store.objects.annotate(trips_n=Count("trips")).order_by("-trips_n").first()
        if store is None:
            return [float("nan")]
        customer, _ = User.objects.get_or_create(email="bench-pipeline@load.example.invalid")
        worker = worker_start(name="bench", env=dict(os.environ))
        timings = []
        try:
            ping.apply_async().get(timeout=60)  # the worker is up
            self._wait_idle()
            for _ in range(n):
                lat = store.location.y + rng.uniform(-0.05, 0.05)
                lng = store.location.x + rng.uniform(-0.05, 0.05)
                start = timezone.now() + timedelta(minutes=30)
                posted = PostedRequest(
                    store_id=store.pk,
                    order_reference="BENCH",
                    dropoff_address="Bench",
                    dropoff_point=Point(lng, lat, srid=4326),
                    contact_phone="+33 4 00 00 00 00",
                    window_start=start,
                    window_end=start + timedelta(hours=2),
                    parcels=(
                        ParcelInput(
                            weight_kg=Decimal(10), volume_l=Decimal(50), longest_side_cm=80
                        ),
                    ),
                )
                request = request_post(customer=customer, posted=posted)
                committed = time.perf_counter()
                deadline = committed + 30
                while not Offer.objects.filter(request=request).exists():
                    if time.perf_counter() > deadline:
                        break
                    time.sleep(0.005)
                timings.append((time.perf_counter() - committed) * 1000)
                self._wait_idle()  # the offers' pushes are sent before the next post
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        return timings

    def _wait_idle(self, timeout_s: float = 120) -> None:
        """Wait until the worker has drained its queues (an idle system)."""
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        deadline = time.perf_counter() + timeout_s
        while any(broker.llen(queue) for queue in QUEUES):
            if time.perf_counter() > deadline:
                return
            time.sleep(0.01)
