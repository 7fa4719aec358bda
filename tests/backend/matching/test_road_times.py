"""Promises on real roads: offers measured by OSRM on the bundled Monaco extract and saying so,
places off the network refused, and an engine that is down degrading the product, not
stopping it."""

import socket
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from backend.deliveries.models import DeliveryRequest
from backend.matching.models import Offer, Trip
from backend.matching.services import offers_create_for_request
from tests import factories

FONTVIEILLE = (43.7285, 7.4165)
CASINO = {"lat": 43.7396, "lng": 7.4278}
BEAUSOLEIL = {"lat": 43.7445, "lng": 7.4236}
AT_SEA = {"lat": 43.7150, "lng": 7.4300}


def _iso(delta: timedelta) -> str:
    return (timezone.now() + delta).isoformat()


def _request_body(store_pk: int, **overrides: Any) -> dict[str, Any]:
    return {
        "store_id": store_pk,
        "order_reference": "ORD-ROAD-1",
        "dropoff_address": "Place du Casino, Monaco",
        "dropoff": CASINO,
        "contact_phone": "+33 6 98 76 54 32",
        "access_notes": "",
        "window_start": _iso(timedelta(minutes=20)),
        "window_end": _iso(timedelta(hours=3)),
        "parcels": [
            {"weight_kg": "25.0", "volume_l": "120.0", "longest_side_cm": 140, "fragile": False}
        ],
        **overrides,
    }


def _trip_body(store_pk: int, **overrides: Any) -> dict[str, Any]:
    return {
        "store_id": store_pk,
        "departure_earliest": _iso(timedelta(0)),
        "departure_latest": _iso(timedelta(hours=1)),
        "destination": BEAUSOLEIL,
        "max_detour_min": 15,
        **overrides,
    }


@pytest.fixture
def monaco_store(db):  # type: ignore[no-untyped-def]
    return factories.StoreFactory(location=factories.point(*FONTVIEILLE), service_radius_m=20_000)


def _offer_for_posted_request(api, store, customer, driver) -> tuple[Offer, dict[str, Any]]:  # type: ignore[no-untyped-def]
    trip = api(driver).post("/api/v1/trips/", _trip_body(store.pk), format="json")
    assert trip.status_code == 201, trip.json()
    posted = api(customer).post(
        "/api/v1/delivery-requests/", _request_body(store.pk), format="json"
    )
    assert posted.status_code == 201, posted.json()
    offers_create_for_request(request_id=posted.json()["id"])
    offer = Offer.objects.get(request_id=posted.json()["id"], trip_id=trip.json()["id"])
    shown = api(driver).get("/api/v1/offers/").json()
    (listed,) = [row for row in shown.get("results", shown) if row["id"] == offer.pk]
    return offer, listed


@pytest.mark.django_db
def test_an_offer_on_roads_is_measured_by_osrm_and_says_so(  # type: ignore[no-untyped-def]
    on_roads, api, monaco_store, customer, driver
):
    offer, listed = _offer_for_posted_request(api, monaco_store, customer, driver)
    assert offer.travel_engine == "osrm"
    assert listed["travel_engine"] == "osrm"
    assert listed["detour_estimated"] is False
    trip = Trip.objects.get(pk=offer.trip_id)
    assert trip.direct_s == 342  # OSRM: Fontvieille to Beausoleil, 341.3 s, rounded up
    # Via the casino: Fontvieille → casino (220 s) → Beausoleil, less the direct drive.
    assert 0 < offer.detour_s < 15 * 60


@pytest.mark.django_db
def test_with_the_engine_down_offers_are_still_made_flagged_estimated_and_health_degraded(  # type: ignore[no-untyped-def]
    settings, api, monaco_store, customer, driver
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.TRAVEL_ENGINE = "osrm-http"
    settings.OSRM_URL = f"http://127.0.0.1:{closed_port}"
    settings.OSRM_TIMEOUT_S = 0.5
    offer, listed = _offer_for_posted_request(api, monaco_store, customer, driver)
    assert offer.travel_engine == "haversine"
    assert listed["travel_engine"] == "haversine"
    assert listed["detour_estimated"] is True
    # Without a road time home, the trip's reach is not bounded by one.
    assert Trip.objects.get(pk=offer.trip_id).direct_s is None
    health = api().get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["checks"]["roads"]["status"] == "degraded"
    assert health.json()["checks"]["roads"]["engine"] == "osrm-http"


@pytest.mark.django_db
def test_the_engine_up_reports_healthy(on_roads, api):  # type: ignore[no-untyped-def]
    from django.core.cache import cache

    cache.delete("travel:degraded")
    health = api().get("/healthz").json()
    assert health["checks"]["roads"] == {"status": "ok", "engine": "osrm"}


@pytest.mark.django_db
def test_a_dropoff_off_the_road_network_is_a_400_naming_it(  # type: ignore[no-untyped-def]
    on_roads, api, monaco_store, customer
):
    answer = api(customer).post(
        "/api/v1/delivery-requests/", _request_body(monaco_store.pk, dropoff=AT_SEA), format="json"
    )
    assert answer.status_code == 400
    assert "dropoff" in answer.json()["fields"]
    assert not DeliveryRequest.objects.exists()


@pytest.mark.django_db
def test_a_destination_off_the_road_network_is_a_400_naming_it(  # type: ignore[no-untyped-def]
    on_roads, api, monaco_store, driver
):
    answer = api(driver).post(
        "/api/v1/trips/", _trip_body(monaco_store.pk, destination=AT_SEA), format="json"
    )
    assert answer.status_code == 400
    assert "destination" in answer.json()["fields"]
    assert not Trip.objects.exists()


@pytest.mark.django_db
def test_the_batch_plans_on_roads_and_its_offers_say_so(  # type: ignore[no-untyped-def]
    on_roads, api, monaco_store, customer, driver
):
    from backend.matching.batch import store_reoptimise

    trip = api(driver).post("/api/v1/trips/", _trip_body(monaco_store.pk), format="json")
    posted = api(customer).post(
        "/api/v1/delivery-requests/", _request_body(monaco_store.pk), format="json"
    )
    Offer.objects.filter(request_id=posted.json()["id"]).delete()  # the batch's own offer
    result = store_reoptimise(store_id=monaco_store.pk, time_limit_s=0.5)
    assert result.served == 1
    offer = Offer.objects.get(request_id=posted.json()["id"], trip_id=trip.json()["id"])
    assert offer.source == Offer.Source.BATCH
    assert offer.travel_engine == "osrm"
