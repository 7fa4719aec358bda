"""Trips, the "on my way" feed, declining, expiry of an offer, the earnings cap, commutes."""

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.deliveries.models import Earning
from backend.matching.models import CommuteProfile, Offer, OfferState, Trip
from backend.matching.services import commute_trips_create, offers_create_for_request
from tests import factories


def _trip_body(store, **overrides):  # type: ignore[no-untyped-def]
    return {
        "store_id": store.pk,
        "departure_earliest": timezone.now().isoformat(),
        "departure_latest": (timezone.now() + timedelta(hours=1)).isoformat(),
        "destination": {"lat": 45.7800, "lng": 4.8800},
        "max_detour_min": 15,
        **overrides,
    }


@pytest.mark.django_db
def test_declaring_a_trip_needs_a_driver_profile(api, store, customer):  # type: ignore[no-untyped-def]
    answer = api(customer).post("/api/v1/trips/", _trip_body(store))
    assert answer.status_code == 403
    assert answer.json()["code"] == "driver_profile_required"
    assert not Trip.objects.exists()


@pytest.mark.django_db
def test_a_trip_takes_its_capacity_from_the_vehicle_and_keeps_home_private(api, store, driver):  # type: ignore[no-untyped-def]
    created = api(driver).post("/api/v1/trips/", _trip_body(store))
    assert created.status_code == 201, created.json()
    trip = created.json()
    assert trip["capacity_kg"] == "200.0"
    assert trip["destination"] == {"lat": 45.78, "lng": 4.88}
    assert api(factories.DriverFactory()).get(f"/api/v1/trips/{trip['id']}/").status_code == 404
    too_big = api(driver).post("/api/v1/trips/", _trip_body(store, capacity_kg="900"))
    assert too_big.status_code == 400
    assert "capacity_kg" in too_big.json()["fields"]


@pytest.mark.django_db
def test_the_feed_lists_requests_on_my_way_smallest_detour_first(api, store, driver):  # type: ignore[no-untyped-def]
    trip_id = api(driver).post("/api/v1/trips/", _trip_body(store)).json()["id"]
    on_the_way = factories.DeliveryRequestFactory(
        store=store, dropoff_point=factories.point(45.7700, 4.8800)
    )
    slight_detour = factories.DeliveryRequestFactory(
        store=store, dropoff_point=factories.point(45.7600, 4.8950)
    )
    opposite = factories.DeliveryRequestFactory(
        store=store, dropoff_point=factories.point(45.6800, 4.8800)
    )  # behind the store
    own = factories.DeliveryRequestFactory(store=store, customer=driver)

    feed = api(driver).get(f"/api/v1/trips/{trip_id}/opportunities/").json()

    ids = [item["id"] for item in feed]
    assert ids == [on_the_way.pk, slight_detour.pk]
    assert opposite.pk not in ids
    assert own.pk not in ids
    assert feed[0]["detour_m"] < feed[1]["detour_m"]
    assert "dropoff_address" not in feed[0]
    assert feed[0]["dropoff_area"] == {"lat": 45.77, "lng": 4.88}

    taken = api(driver).post(f"/api/v1/trips/{trip_id}/opportunities/{on_the_way.pk}/respond/")
    assert taken.status_code == 201, taken.json()
    assert taken.json()["state"] == "selected"  # first_response store
    assert taken.json()["source"] == "feed"


@pytest.mark.django_db
def test_a_declined_request_is_not_offered_again(store, driver):  # type: ignore[no-untyped-def]
    trip = factories.TripFactory(store=store, driver=driver)
    request = factories.DeliveryRequestFactory(store=store)
    [offer] = offers_create_for_request(request_id=request.pk)
    assert offer.trip_id == trip.pk
    from backend.matching.services import offer_decline

    offer_decline(offer_id=offer.pk, driver=driver)
    assert offers_create_for_request(request_id=request.pk) == []
    assert Offer.objects.get(pk=offer.pk).state == OfferState.DECLINED


@pytest.mark.django_db
def test_matching_twice_creates_no_duplicate_offers(store):  # type: ignore[no-untyped-def]
    for _ in range(3):
        factories.TripFactory(store=store)
    request = factories.DeliveryRequestFactory(store=store)

    first = offers_create_for_request(request_id=request.pk)
    second = offers_create_for_request(request_id=request.pk)

    assert len(first) == 3
    assert second == []
    assert Offer.objects.filter(request=request).count() == 3


@pytest.mark.django_db
def test_an_expired_offer_cannot_be_taken(api, store):  # type: ignore[no-untyped-def]
    offer = factories.OfferFactory(
        request=factories.DeliveryRequestFactory(store=store),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    answer = api(offer.trip.driver).post(f"/api/v1/offers/{offer.pk}/respond/")
    assert answer.status_code == 409
    assert answer.json()["code"] == "offer_expired"
    assert Offer.objects.get(pk=offer.pk).state == OfferState.EXPIRED


@pytest.mark.django_db
def test_a_driver_at_the_yearly_earnings_cap_gets_no_offers_and_cannot_respond(
    api,
    store,  # type: ignore[no-untyped-def]
    settings,
):
    settings.EARNINGS_YEARLY_CAP_EUR = Decimal("10")
    capped = factories.TripFactory(store=store)
    past = factories.DeliveryRequestFactory(store=store)
    Earning.objects.create(driver=capped.driver, request=past, amount_eur=Decimal("10"))
    request = factories.DeliveryRequestFactory(store=store)

    assert offers_create_for_request(request_id=request.pk) == []
    offer = factories.OfferFactory(request=request, trip=capped)
    answer = api(capped.driver).post(f"/api/v1/offers/{offer.pk}/respond/")
    assert answer.status_code == 409
    assert answer.json()["code"] == "earnings_cap_reached"


@pytest.mark.django_db
def test_a_commute_profile_yields_one_trip_per_working_day(api, store, settings):  # type: ignore[no-untyped-def]
    staff = factories.DriverFactory()
    factories.MembershipFactory(store=store, user=staff, role="staff")
    tomorrow = timezone.localdate() + timedelta(days=1)
    created = api(staff).post(
        "/api/v1/commute-profiles/",
        {
            "store": store.pk,
            "weekdays": [tomorrow.weekday()],
            "shift_end": "18:30",
            "home": {"lat": 45.79, "lng": 4.90},
            "max_detour_s": 600,
        },
    )
    assert created.status_code == 201, created.json()
    outsider = api(factories.DriverFactory()).post(
        "/api/v1/commute-profiles/",
        {
            "store": store.pk,
            "weekdays": [1],
            "shift_end": "18:30",
            "home": {"lat": 45.79, "lng": 4.90},
            "max_detour_s": 600,
        },
    )
    assert outsider.status_code == 400

    trips = commute_trips_create(service_date=tomorrow)
    again = commute_trips_create(service_date=tomorrow)
    other_day = commute_trips_create(service_date=tomorrow + timedelta(days=1))

    assert len(trips) == 1
    assert again == []
    assert other_day == []
    trip = trips[0]
    assert trip.departure_earliest.astimezone().time() != time(0, 0)
    assert trip.commute_profile_id == CommuteProfile.objects.get(driver=staff).pk
    assert trip.service_date == tomorrow
    assert isinstance(trip.service_date, date)


@pytest.mark.django_db
def test_a_trip_with_a_parcel_on_board_cannot_be_cancelled(api, store):  # type: ignore[no-untyped-def]
    from backend.matching.services import offer_respond

    offer = factories.OfferFactory(request=factories.DeliveryRequestFactory(store=store))
    offer_respond(offer_id=offer.pk, driver=offer.trip.driver)
    answer = api(offer.trip.driver).post(f"/api/v1/trips/{offer.trip_id}/cancel/")
    assert answer.status_code == 409
    assert answer.json()["code"] == "trip_has_parcels"
    idle = factories.TripFactory(store=store)
    factories.OfferFactory(request=factories.DeliveryRequestFactory(store=store), trip=idle)
    assert api(idle.driver).post(f"/api/v1/trips/{idle.pk}/cancel/").json()["state"] == (
        "cancelled"
    )
    assert not Offer.objects.filter(trip=idle, state=OfferState.PENDING).exists()
