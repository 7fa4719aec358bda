"""The Celery pipeline with a real worker and Redis: a posted request becomes stored offers and
queued notifications; tasks are safe to run twice."""

import statistics
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.matching.models import Offer
from notifications.models import InboxItem
from tests import factories
from tests.workers import wait_for

pytestmark = pytest.mark.worker


def _post(client, store):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/delivery-requests/",
        {
            "store_id": store.pk,
            "order_reference": "ORD-9",
            "dropoff_address": "3 Place Bellecour, Lyon",
            "dropoff": {"lat": 45.7600, "lng": 4.8800},
            "contact_phone": "+33 4 00 00 00 00",
            "window_start": (timezone.now() + timedelta(minutes=20)).isoformat(),
            "window_end": (timezone.now() + timedelta(hours=3)).isoformat(),
            "parcels": [{"weight_kg": "12.0", "volume_l": "80.0", "longest_side_cm": 90}],
        },
        format="json",
    )


def test_a_posted_request_becomes_offers_through_the_worker(
    api,
    transactional_db,  # type: ignore[no-untyped-def]
    celery_worker,
):
    store = factories.StoreFactory(offer_fanout_k=3)
    trips = [factories.TripFactory(store=store) for _ in range(4)]
    customer = factories.UserFactory()
    seconds = []
    for _ in range(3):
        started = time.perf_counter()
        request_id = _post(api(customer), store).json()["id"]
        offers = wait_for(
            lambda rid=request_id: list(Offer.objects.filter(request_id=rid))
            if Offer.objects.filter(request_id=rid).count() == 3
            else None
        )
        seconds.append(time.perf_counter() - started)

    assert {offer.trip_id for offer in offers} <= {trip.pk for trip in trips}
    inbox = InboxItem.objects.filter(event="offer.new", payload__request_id=request_id)
    assert inbox.count() == 3
    print(f"\npost -> offers through the worker: median {statistics.median(seconds):.3f} s")


def test_a_declared_trip_is_offered_the_open_requests_it_fits(
    api,
    transactional_db,  # type: ignore[no-untyped-def]
    celery_worker,
):
    store = factories.StoreFactory()
    request = factories.DeliveryRequestFactory(store=store)
    driver = factories.DriverFactory()

    created = api(driver).post(
        "/api/v1/trips/",
        {
            "store_id": store.pk,
            "departure_earliest": timezone.now().isoformat(),
            "departure_latest": (timezone.now() + timedelta(hours=1)).isoformat(),
            "destination": {"lat": 45.7800, "lng": 4.8800},
            "max_detour_min": 15,
        },
        format="json",
    )

    assert created.status_code == 201
    offer = wait_for(lambda: Offer.objects.filter(request=request).first())
    assert offer.trip_id == created.json()["id"]


def test_running_the_match_twice_or_racing_creates_each_offer_once(
    transactional_db,  # type: ignore[no-untyped-def]
    celery_worker,
):
    from backend.matching.tasks import match_request

    store = factories.StoreFactory(offer_fanout_k=5)
    for _ in range(3):
        factories.TripFactory(store=store)
    request = factories.DeliveryRequestFactory(store=store)

    results = [
        match_request.apply_async(kwargs={"request_id": request.pk, "store_id": store.pk})
        for _ in range(4)
    ]
    counts = [result.get(timeout=30) for result in results]

    assert sum(counts) == 3
    assert Offer.objects.filter(request=request).count() == 3
    assert InboxItem.objects.filter(event="offer.new").count() == 3
