"""The periodic re-optimisation of a store: new offers where the solver finds a match, fees
raised for unanswered requests, the van plan for what the crowd has not taken."""

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.deliveries.models import DeliveryRequest, RequestState
from backend.matching.batch import store_reoptimise
from backend.matching.models import Offer, OfferState, Van, VanPlan
from backend.matching.services import offer_respond
from tests import factories
from tests.concurrency import race


def _van(store):  # type: ignore[no-untyped-def]
    return Van.objects.create(
        store=store,
        name="Van 1",
        capacity_kg=Decimal("800"),
        capacity_l=Decimal("6000"),
        max_length_cm=300,
        shift_start=time(0, 0),
        shift_end=time(23, 59),
    )


@pytest.mark.django_db
def test_batch_offers_a_trip_the_open_request_it_can_take(store):  # type: ignore[no-untyped-def]
    trip = factories.TripFactory(store=store)
    request = factories.DeliveryRequestFactory(store=store)

    result = store_reoptimise(store_id=store.pk, time_limit_s=1)

    assert result.offers_created == 1
    offer = Offer.objects.get(request=request)
    assert offer.trip_id == trip.pk
    assert offer.source == Offer.Source.BATCH
    again = store_reoptimise(store_id=store.pk, time_limit_s=1)
    assert again.offers_created == 0
    assert Offer.objects.filter(request=request).count() == 1


@pytest.mark.django_db
def test_batch_keeps_accepted_parcels_on_their_trip(store):  # type: ignore[no-untyped-def]
    offer = factories.OfferFactory(request=factories.DeliveryRequestFactory(store=store))
    offer_respond(offer_id=offer.pk, driver=offer.trip.driver)
    newcomer = factories.DeliveryRequestFactory(store=store)

    result = store_reoptimise(store_id=store.pk, time_limit_s=1)

    assert result.served == 2
    offer.refresh_from_db()
    assert offer.state == OfferState.SELECTED
    assert DeliveryRequest.objects.get(pk=offer.request_id).state == RequestState.ASSIGNED
    assert Offer.objects.filter(request=newcomer, trip=offer.trip).exists()


@pytest.mark.django_db
def test_unanswered_requests_get_a_higher_fee_within_the_maximum(store, settings):  # type: ignore[no-untyped-def]
    settings.FEE_RAISE_AFTER_S = 600
    store.fee_max_eur = Decimal("6.50")
    store.save()
    old = factories.DeliveryRequestFactory(store=store, fee_eur=Decimal("5.00"))
    DeliveryRequest.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(minutes=20)
    )
    fresh = factories.DeliveryRequestFactory(store=store, fee_eur=Decimal("5.00"))

    store_reoptimise(store_id=store.pk, time_limit_s=1)
    store_reoptimise(store_id=store.pk, time_limit_s=1)  # too soon for a second step

    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.fee_eur == Decimal("6.00")
    assert fresh.fee_eur == Decimal("5.00")
    DeliveryRequest.objects.filter(pk=old.pk).update(
        fee_raised_at=timezone.now() - timedelta(minutes=20)
    )
    store_reoptimise(store_id=store.pk, time_limit_s=1)
    old.refresh_from_db()
    assert old.fee_eur == Decimal("6.50")  # capped at the store's maximum


@pytest.mark.django_db
def test_what_the_crowd_has_not_taken_by_the_cutoff_goes_to_the_van_plan(
    api,
    store,  # type: ignore[no-untyped-def]
    settings,
):
    settings.VAN_CUTOFF_S = 600
    van = _van(store)
    late = factories.DeliveryRequestFactory(store=store)
    DeliveryRequest.objects.filter(pk=late.pk).update(
        created_at=timezone.now() - timedelta(minutes=30)
    )
    recent = factories.DeliveryRequestFactory(
        store=store, window_end=timezone.now() + timedelta(hours=5)
    )

    result = store_reoptimise(store_id=store.pk, time_limit_s=1)

    assert result.van_stops == 1
    plan = VanPlan.objects.get(store=store)
    assert list(plan.stops.values_list("request_id", "van_id")) == [(late.pk, van.pk)]
    manager = factories.MembershipFactory(store=store).user
    shown = api(manager).get(f"/api/v1/manager/stores/{store.pk}/van-plan/")
    assert shown.status_code == 200
    assert shown.json()["stops"][0]["request_id"] == late.pk
    assert recent.pk not in [s["request_id"] for s in shown.json()["stops"]]
    other = factories.MembershipFactory().user
    assert api(other).get(f"/api/v1/manager/stores/{store.pk}/van-plan/").status_code == 404


def _ran(job) -> int:  # type: ignore[no-untyped-def]
    job()
    return 200


@pytest.mark.django_db(transaction=True)
def test_expiry_and_reoptimisation_never_leave_a_request_with_two_drivers(api, store):  # type: ignore[no-untyped-def]
    from backend.matching.services import offers_expire, requests_expire

    requests = [factories.DeliveryRequestFactory(store=store) for _ in range(3)]
    offers = [factories.OfferFactory(request=r) for r in requests for _ in range(2)]
    for offer in offers[:2]:  # the first request: one responds, one is withdrawn
        api(offer.trip.driver).post(f"/api/v1/offers/{offer.pk}/respond/")
    Offer.objects.filter(pk__in=[o.pk for o in offers[2:4]]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    calls = [
        lambda: _ran(lambda: store_reoptimise(store_id=store.pk, time_limit_s=1)),
        lambda: _ran(offers_expire),
        lambda: _ran(requests_expire),
        *[
            (lambda o=o: api(o.trip.driver).post(f"/api/v1/offers/{o.pk}/respond/").status_code)
            for o in offers[2:]
        ],
    ]
    race(calls)

    for request in requests:
        selected = Offer.objects.filter(request=request, state=OfferState.SELECTED)
        request.refresh_from_db()
        assert selected.count() <= 1
        if request.state in (RequestState.ASSIGNED, RequestState.PICKED_UP):
            assert selected.get().trip.driver_id == request.assigned_driver_id
        else:
            assert not selected.exists()
