"""Measure live matching on the data in the database (fill it with ``seed_load`` first):
candidate search + exact insertion for new requests, and one store's batch re-optimisation."""

import statistics
import time
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.db.models import Count, Q

from backend.deliveries.models import DeliveryRequest, RequestState
from backend.matching.batch import store_reoptimise
from backend.matching.models import Trip
from backend.matching.selectors import (
    MAX_CANDIDATES,
    candidates_for_request,
    rank_insertions,
    trip_candidates_for_request,
)
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
        parser.add_argument("--batch-time-limit", type=float, default=3.0)
        parser.add_argument("--skip-batch", action="store_true")
        parser.add_argument(
            "--explain", action="store_true", help="Print the candidate query's plan."
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
        self.stdout.write(
            f"summary: trips={active_trips} requests={len(open_ids)} "
            f"p50_ms={_percentile(timings_ms, 50):.1f} p95_ms={_percentile(timings_ms, 95):.1f} "
            f"p99_ms={_percentile(timings_ms, 99):.1f} batch_s={batch_s:.2f}"
        )

    def _explain(self, request: DeliveryRequest) -> None:
        query = trip_candidates_for_request(request=request)[:MAX_CANDIDATES]
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            for (line,) in cursor.fetchall():
                self.stdout.write(line)
