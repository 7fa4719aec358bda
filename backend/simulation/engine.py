"""A store evening, simulated through the real system.

Events (customers posting, shoppers leaving, drivers answering offers, pickups, deliveries,
the periodic jobs) are processed in simulated-time order. Each one calls the product's own
services or Celery tasks, with the clock set to the event's time (``backend.core.clock``); then
the simulation waits until the Celery worker has drained its queues, so that the matching it
triggered is done before the next event. Random draws come from one generator seeded by the
run, in event order, so a seeded evening replays exactly.
"""

import heapq
import itertools
import logging
import math
import os
import random
import subprocess
import time as clock_time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import redis
from celery import current_app as celery_app
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction

from backend.accounts.models import User
from backend.analytics.services import rollups_rebuild
from backend.core import clock, travel
from backend.core.errors import DomainError
from backend.core.workers import QUEUES, worker_start
from backend.deliveries import services as deliveries
from backend.deliveries.models import DeliveryRequest, Earning, Rating, RequestState
from backend.matching import services as matching
from backend.matching.models import Offer, OfferState, Trip, VanPlan
from backend.matching.routing_adapter import latlng
from backend.simulation.behaviour import CustomerBehaviour, DriverBehaviour, ShopperBehaviour
from backend.simulation.demo import region
from backend.stores.models import AssignmentMode, Store, StoreMembership

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """Store policy overrides for one run (``--compare`` varies these)."""

    assignment_mode: str | None = None
    offer_fanout_k: int | None = None
    fee_base_eur: Decimal | None = None
    fee_per_detour_km_eur: Decimal | None = None

    def label(self) -> str:
        parts = []
        if self.assignment_mode:
            parts.append(self.assignment_mode)
        if self.offer_fanout_k:
            parts.append(f"k={self.offer_fanout_k}")
        if self.fee_base_eur is not None:
            parts.append(f"fee {self.fee_base_eur}+{self.fee_per_detour_km_eur}/km")
        return ", ".join(parts) or "store policies"


@dataclass(frozen=True)
class SimulationConfig:
    day: date
    start: time = time(16, 0)
    end: time = time(21, 0)
    speed: float = 60.0  # simulated seconds per real second; 0 = as fast as possible
    seed: int = 1
    store_names: tuple[str, ...] = ()  # empty: every demo store
    policy: Policy = field(default_factory=Policy)
    drivers: DriverBehaviour = field(default_factory=DriverBehaviour)
    customers: CustomerBehaviour = field(default_factory=CustomerBehaviour)
    shoppers: ShopperBehaviour = field(default_factory=ShopperBehaviour)
    batch_every_min: int = 5


@dataclass
class SimulationResult:
    stores: list[Store]
    day: date
    events: int
    seconds: float


class _Events:
    """A priority queue of (simulated time, sequence, action)."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, str, Callable[[], None]]] = []
        self._sequence = itertools.count()

    def at(self, moment: datetime, name: str, action: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (moment, next(self._sequence), name, action))

    def pop(self) -> tuple[datetime, str, Callable[[], None]] | None:
        if not self._heap:
            return None
        moment, _, name, action = heapq.heappop(self._heap)
        return moment, name, action

    def __len__(self) -> int:
        return len(self._heap)


def simulation_clear(*, stores: list[Store], day: date) -> None:
    """Remove an earlier simulation of this day at these stores (requests posted and trips
    leaving that day), so that a rerun starts from the same state."""
    tz = ZoneInfo(stores[0].timezone) if stores else ZoneInfo("UTC")
    start = datetime.combine(day, time(0, 0), tzinfo=tz)
    end = start + timedelta(days=1)
    requests = DeliveryRequest.objects.filter(
        store__in=stores, created_at__gte=start, created_at__lt=end
    )
    trips = Trip.objects.filter(
        store__in=stores, departure_earliest__gte=start, departure_earliest__lt=end
    )
    with transaction.atomic():
        Earning.objects.filter(request__in=requests).delete()
        Rating.objects.filter(request__in=requests).delete()
        Offer.objects.filter(request__in=requests).delete()
        Offer.objects.filter(trip__in=trips).delete()
        VanPlan.objects.filter(store__in=stores).delete()
        requests.delete()
        trips.delete()


class Simulation:
    def __init__(
        self, config: SimulationConfig, progress: Callable[[float, datetime], None] | None = None
    ) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.events = _Events()
        self.progress = progress or (lambda fraction, moment: None)
        self.data = region()
        self.handled_offers: set[int] = set()
        self.choosing: set[int] = set()  # requests whose customer is about to choose
        self.picking: set[int] = set()  # assigned requests whose pickup is planned
        self.count = 0

    # --- set-up ---------------------------------------------------------------------------

    def _stores(self) -> list[Store]:
        names = self.config.store_names or tuple(s["name"] for s in self.data["stores"])
        stores = list(Store.objects.filter(name__in=names).order_by("name"))
        if not stores:
            raise ValueError("No demo store found: run `manage.py seed_demo` first.")
        return stores

    def _local(self, store: Store, moment: time) -> datetime:
        return datetime.combine(self.config.day, moment, tzinfo=ZoneInfo(store.timezone))

    def _plan_arrivals(self, stores: list[Store]) -> None:
        keys = {s["name"]: s["key"] for s in self.data["stores"]}
        for store in stores:
            key = keys[store.name]
            begin, finish = (
                self._local(store, self.config.start),
                self._local(store, self.config.end),
            )
            customers = [c for c in self.data["customers"] if c["store"] == key]
            moment = begin
            while True:  # Poisson postings with the hour's rate
                rate = self.config.customers.rate_at(moment.hour)
                moment += timedelta(seconds=self.rng.expovariate(rate / 3600))
                if moment >= finish - timedelta(minutes=30):
                    break
                customer = self.rng.choice(customers)
                self.events.at(moment, "post", self._post_action(store, customer))
            for driver in self.data["drivers"]:
                if driver["store"] != key or driver["staff"]:
                    continue
                if self.rng.random() > self.config.shoppers.p_visit:
                    continue
                leaves = begin + timedelta(
                    seconds=self.rng.uniform(0, (finish - begin).total_seconds() - 1800)
                )
                self.events.at(leaves, "shopper leaves", self._shopper_action(store, driver))
            every = timedelta(minutes=self.config.batch_every_min)
            tick = begin + every
            while tick <= finish:
                self.events.at(tick, "batch", self._batch_action(store))
                tick += every
        first = min(self._local(s, self.config.start) for s in stores)
        self.events.at(first, "commutes", self._commute_action())
        last = max(self._local(s, self.config.end) for s in stores) + timedelta(hours=2)
        tick = first + timedelta(minutes=1)
        while tick <= last:  # what beat does every minute
            self.events.at(tick, "minute", self._minute_action())
            tick += timedelta(minutes=1)

    # --- actions --------------------------------------------------------------------------

    def _post_action(self, store: Store, customer: dict[str, Any]) -> Callable[[], None]:
        def post() -> None:
            now = clock.simulated_now()
            behaviour = self.config.customers
            start = now + timedelta(minutes=self.rng.randint(*behaviour.window_lead_min))
            length = timedelta(minutes=self.rng.randint(*behaviour.window_length_min))
            user = User.objects.get(email=customer["email"])
            parcel = deliveries.ParcelInput(
                weight_kg=Decimal(self.rng.randint(5, 45)),
                volume_l=Decimal(self.rng.choice([40, 80, 120, 200, 300])),
                longest_side_cm=self.rng.choice([60, 90, 120, 150, 180]),
                description="Furniture kit",
            )
            try:
                request = matching.request_post(
                    customer=user,
                    posted=deliveries.PostedRequest(
                        store_id=store.pk,
                        order_reference=f"SIM-{self.count}",
                        dropoff_address=customer["address"],
                        dropoff_point=Point(customer["lng"], customer["lat"], srid=4326),
                        contact_phone=customer["phone"],
                        window_start=start,
                        window_end=start + length,
                        parcels=(parcel,),
                    ),
                )
            except DomainError:
                return
            if self.rng.random() < behaviour.p_cancel:
                cancel_at = now + timedelta(minutes=self.rng.uniform(5, 40))
                self.events.at(cancel_at, "customer cancels", self._cancel_action(request.pk))

        return post

    def _shopper_action(self, store: Store, driver: dict[str, Any]) -> Callable[[], None]:
        def leave() -> None:
            now = clock.simulated_now()
            user = User.objects.get(email=driver["email"])
            try:
                matching.trip_create(
                    driver=user,
                    store_id=store.pk,
                    departure_earliest=now,
                    departure_latest=now
                    + timedelta(minutes=self.config.shoppers.departure_flex_min),
                    destination=Point(driver["home_lng"], driver["home_lat"], srid=4326),
                    max_detour_s=driver["max_detour_min"] * 60,
                )
            except DomainError:
                return

        return leave

    def _commute_action(self) -> Callable[[], None]:
        def commutes() -> None:
            matching.commute_trips_create(service_date=self.config.day)

        return commutes

    def _minute_action(self) -> Callable[[], None]:
        def minute() -> None:
            for name in ("matching.expire", "matching.assign_due_best_matches"):
                celery_app.send_task(name)

        return minute

    def _batch_action(self, store: Store) -> Callable[[], None]:
        def batch() -> None:
            celery_app.send_task("matching.reoptimise_store", kwargs={"store_id": store.pk})

        return batch

    def _cancel_action(self, request_id: int) -> Callable[[], None]:
        def cancel() -> None:
            if DeliveryRequest.objects.filter(pk=request_id, state=RequestState.OPEN).exists():
                matching.request_cancel(
                    request_id=request_id, by="customer", reason="No longer needed"
                )

        return cancel

    def _decide_action(self, offer_id: int) -> Callable[[], None]:
        def decide() -> None:
            offer = Offer.objects.select_related("trip__driver", "request").get(pk=offer_id)
            if offer.state != OfferState.PENDING:
                return
            volume = float(sum(p.volume_l for p in offer.request.parcels.all()))
            # Drivers answer what they are shown.
            p = self.config.drivers.p_respond(
                detour_s=offer.shown_detour_s, volume_l=volume, fee_eur=float(offer.fee_eur)
            )
            try:
                if self.rng.random() < p:
                    matching.offer_respond(offer_id=offer.pk, driver=offer.trip.driver)
                else:
                    matching.offer_decline(offer_id=offer.pk, driver=offer.trip.driver)
            except (DomainError, Offer.DoesNotExist):
                pass

        return decide

    def _choose_action(self, request_id: int) -> Callable[[], None]:
        def choose() -> None:
            self.choosing.discard(request_id)  # a later responder may bring them back
            request = DeliveryRequest.objects.select_related("customer").get(pk=request_id)
            responders = list(
                Offer.objects.filter(request_id=request_id, state=OfferState.RESPONDED).order_by(
                    "id"
                )
            )
            if request.state != RequestState.OPEN or not responders:
                return
            # Customers mostly pick the best-rated (here: the smallest detour, a faster
            # delivery), sometimes another one.
            responders.sort(key=lambda o: (o.detour_s, o.pk))
            pick = responders[0] if self.rng.random() < 0.7 else self.rng.choice(responders)
            with suppress(DomainError):  # the request may have gone meanwhile
                matching.request_choose(
                    request_id=request_id, customer=request.customer, offer_id=pick.pk
                )

        return choose

    def _pickup_action(self, request_id: int) -> Callable[[], None]:
        def pickup() -> None:
            request = DeliveryRequest.objects.select_related("assigned_driver").get(pk=request_id)
            if request.state != RequestState.ASSIGNED or request.assigned_driver is None:
                return
            # The driver shows its pass at the desk; someone else of the store's staff checks it.
            desk = (
                StoreMembership.objects.filter(store_id=request.store_id)
                .exclude(user_id=request.assigned_driver.pk)
                .select_related("user")
                .order_by("pk")
                .first()
            )
            if desk is None:
                return
            try:
                deliveries.request_pickup_confirm(
                    request_id=request_id, staff=desk.user, pickup_code=request.pickup_code
                )
            except DomainError:
                return
            drive_s = self._drive_s(request)
            arrive = max(clock.simulated_now() + timedelta(seconds=drive_s), request.window_start)
            self.events.at(arrive, "deliver", self._deliver_action(request_id))

        return pickup

    def _deliver_action(self, request_id: int) -> Callable[[], None]:
        def deliver() -> None:
            request = DeliveryRequest.objects.select_related("assigned_driver", "customer").get(
                pk=request_id
            )
            if request.state != RequestState.PICKED_UP or request.assigned_driver is None:
                return
            driver = request.assigned_driver
            if self.rng.random() < self.config.drivers.p_fail:
                matching.request_fail(request_id=request_id, driver=driver, reason="Nobody at home")
                return
            deliveries.request_deliver(
                request_id=request_id, driver=driver, delivery_code=request.delivery_code
            )
            if self.rng.random() < self.config.customers.p_rate:
                stars = self.rng.choice([3, 4, 4, 5, 5, 5])
                deliveries.rating_create(request_id=request_id, rater=request.customer, stars=stars)

        return deliver

    def _drive_s(self, request: DeliveryRequest) -> float:
        store, dropoff = (
            np.array([latlng(request.store.location)]),
            np.array([latlng(request.dropoff_point)]),
        )
        legs = travel.on_roads(lambda provider: provider.paired(store, dropoff)).value
        return float(legs.duration_s[0]) + settings.DELIVERY_SERVICE_S

    # --- what the system did, turned into people's next moves -----------------------------

    def _react(self, stores: list[Store]) -> None:
        now = clock.simulated_now()
        for offer in (
            Offer.objects.filter(
                request__store__in=stores,
                state=OfferState.PENDING,
            )
            .exclude(pk__in=self.handled_offers)
            .order_by("pk")
        ):
            self.handled_offers.add(offer.pk)
            delay = self.rng.expovariate(1 / self.config.drivers.mean_decision_s)
            decide_at = min(now + timedelta(seconds=delay), offer.expires_at)
            self.events.at(decide_at, "driver answers", self._decide_action(offer.pk))
        choosing = (
            DeliveryRequest.objects.filter(
                store__in=stores,
                store__assignment_mode=AssignmentMode.CUSTOMER_CHOICE,
                state=RequestState.OPEN,
                first_response_at__isnull=False,
            )
            .exclude(pk__in=self.choosing)
            .order_by("pk")
        )
        for request_id in choosing.values_list("pk", flat=True):
            self.choosing.add(request_id)
            delay = self.rng.expovariate(1 / self.config.customers.mean_choose_s)
            self.events.at(
                now + timedelta(seconds=delay), "customer chooses", self._choose_action(request_id)
            )
        assigned = (
            DeliveryRequest.objects.filter(store__in=stores, state=RequestState.ASSIGNED)
            .exclude(pk__in=self.picking)
            .order_by("pk")
        )
        for request_id in assigned.values_list("pk", flat=True):
            self.picking.add(request_id)
            trip = Trip.objects.get(
                offers__request_id=request_id, offers__state=OfferState.SELECTED
            )
            leave = max(now, trip.departure_earliest) + timedelta(minutes=self.rng.uniform(2, 10))
            self.events.at(leave, "pickup", self._pickup_action(request_id))

    # --- the loop -------------------------------------------------------------------------

    def run(self, *, wait_for_worker: Callable[[], None]) -> SimulationResult:
        stores = self._stores()
        simulation_clear(stores=stores, day=self.config.day)
        originals = {
            s.pk: {
                name: getattr(s, name)
                for name in (
                    "assignment_mode",
                    "offer_fanout_k",
                    "fee_base_eur",
                    "fee_per_detour_km_eur",
                )
            }
            for s in stores
        }
        self._apply_policy(stores)
        self._plan_arrivals(stores)
        begin = min(self._local(s, self.config.start) for s in stores)
        # Deliveries may finish after the last posting: the evening runs two hours longer.
        finish = max(self._local(s, self.config.end) for s in stores) + timedelta(hours=2)
        started = clock_time.perf_counter()
        try:
            while (item := self.events.pop()) is not None:
                moment, _, action = item
                if moment > finish:
                    break
                self._pace(begin, moment, started)
                clock.set_time(moment)
                action()
                self.count += 1
                wait_for_worker()
                self._react(stores)
                self.progress((moment - begin) / (finish - begin), moment)
        finally:
            for store in stores:
                for name, value in originals[store.pk].items():
                    setattr(store, name, value)
                store.save(update_fields=list(originals[store.pk]))
        # The dashboard reads closed days from the daily rollups: bring the day's up to date.
        for store in stores:
            rollups_rebuild(store_id=store.pk, start=self.config.day, end=self.config.day)
        return SimulationResult(
            stores=stores,
            day=self.config.day,
            events=self.count,
            seconds=clock_time.perf_counter() - started,
        )

    def _apply_policy(self, stores: list[Store]) -> None:
        policy = self.config.policy
        changes = {k: v for k, v in vars(policy).items() if v is not None}
        for store in stores:
            for name, value in changes.items():
                setattr(store, name, value)
            if changes:
                store.save(update_fields=list(changes))

    def _pace(self, begin: datetime, moment: datetime, started: float) -> None:
        if self.config.speed <= 0:
            return
        due = (moment - begin).total_seconds() / self.config.speed
        wait = due - (clock_time.perf_counter() - started)
        if wait > 0:
            clock_time.sleep(min(wait, 5.0))


# --- the run's own clock, broker and worker --------------------------------------------------


def simulation_environment() -> dict[str, str]:
    """The environment of a simulation run: a clock and a broker database of its own (so the
    product's regular worker never takes its tasks), and a batch solver that stops by solution
    count rather than by the clock, so that runs replay exactly."""
    key = f"simulation:clock:{uuid.uuid4().hex}"
    broker_base = settings.REDIS_URL.rsplit("/", 1)[0]
    broker_url = os.environ.get("SIMULATION_BROKER_URL", f"{broker_base}/12")
    return {
        **os.environ,
        "SIMULATION_CLOCK": key,
        "CELERY_BROKER_URL": broker_url,
        "TEST_CELERY_BROKER_URL": broker_url,
        "BATCH_SOLUTION_LIMIT": os.environ.get("BATCH_SOLUTION_LIMIT", "2"),
        "BATCH_TIME_LIMIT_S": os.environ.get("BATCH_TIME_LIMIT_S", "60"),
        "DJANGO_SETTINGS_MODULE": os.environ.get(
            "DJANGO_SETTINGS_MODULE", "backend.config.settings.dev"
        ),
    }


@contextmanager
def simulated_world() -> Iterator[Callable[[], None]]:
    """In a process started with ``simulation_environment()``: a Celery worker (solo pool) on
    the run's clock and broker. Yields the function that waits until the worker has done
    everything sent so far."""
    if not settings.SIMULATION_CLOCK:
        raise RuntimeError("a simulation runs in its own environment: use `manage.py simulate`")
    key = str(settings.SIMULATION_CLOCK)
    broker_url = str(settings.CELERY_BROKER_URL)
    broker = redis.Redis.from_url(broker_url)
    broker.flushdb()
    env = dict(os.environ)
    worker = worker_start(name=f"simulation-{key[-6:]}", env=env)

    def drained() -> None:
        """Wait until the worker has done everything sent so far. An empty queue is not
        enough (a message the worker has just taken is briefly in neither the queue nor the
        unacknowledged set): a ping sent behind the work on each queue is, since the worker
        takes each queue's messages in order, one at a time."""
        deadline = clock_time.monotonic() + 120
        while True:
            keys = []
            for queue in QUEUES:
                keys.append(f"{key}:barrier:{uuid.uuid4().hex}")
                celery_app.send_task(
                    "core.barrier", args=[keys[-1]], queue=queue, ignore_result=True
                )
            # Polled in Redis rather than through the result backend, whose waiting adds up
            # to a second per call when other results are pending.
            while not all(broker.exists(k) for k in keys):
                if worker.poll() is not None:
                    raise RuntimeError("the simulation's Celery worker stopped")
                if clock_time.monotonic() > deadline:
                    raise RuntimeError("the Celery worker did not catch up in 120 s")
                clock_time.sleep(0.001)
            broker.delete(*keys)
            # Matching work left behind the barrier (a task that queued more) goes round again;
            # notifications sent late change nothing the simulation reads.
            if not broker.llen("matching"):
                return

    try:
        celery_app.send_task("core.ping").get(timeout=60)
        yield drained
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:  # busy in a long task: no need to finish it
            worker.kill()
            worker.wait()
        clock.clear()
        broker.flushdb()


__all__ = ["Policy", "Simulation", "SimulationConfig", "math", "replace", "simulated_world"]
