"""Concurrent attempts against the real database: exactly one winner, the others a clear 409."""

from decimal import Decimal

import pytest

from backend.deliveries.models import DeliveryRequest, RequestState
from backend.matching.models import Offer, OfferState, Trip
from backend.stores.models import AssignmentMode
from tests import factories
from tests.concurrency import race


@pytest.mark.django_db(transaction=True)
def test_only_one_of_many_simultaneous_responders_gets_the_request(api, store):  # type: ignore[no-untyped-def]
    store.assignment_mode = AssignmentMode.FIRST_RESPONSE
    store.save()
    request = factories.DeliveryRequestFactory(store=store)
    offers = [factories.OfferFactory(request=request) for _ in range(6)]
    clients = [(api(offer.trip.driver), offer.pk) for offer in offers]

    statuses = race(
        [
            (lambda c=client, o=offer_id: c.post(f"/api/v1/offers/{o}/respond/").status_code)
            for client, offer_id in clients
        ]
    )

    assert sorted(statuses) == [200] + [409] * 5
    request.refresh_from_db()
    assert request.state == RequestState.ASSIGNED
    selected = Offer.objects.filter(request=request, state=OfferState.SELECTED)
    assert selected.count() == 1
    assert request.assigned_driver_id == selected.get().trip.driver_id
    # Every driver who said yes is counted as a responder, the late ones too.
    assert Offer.objects.filter(request=request, responded_at__isnull=False).count() == 6


@pytest.mark.django_db(transaction=True)
def test_a_trip_never_takes_more_than_its_capacity_under_concurrent_assignments(api, store):  # type: ignore[no-untyped-def]
    store.assignment_mode = AssignmentMode.FIRST_RESPONSE
    store.save()
    # Room for two 20 kg parcels, five requests arrive at once.
    trip = factories.TripFactory(store=store, capacity_kg=Decimal("45"))
    offers = [
        factories.OfferFactory(request=factories.DeliveryRequestFactory(store=store), trip=trip)
        for _ in range(5)
    ]
    client = api(trip.driver)

    statuses = race(
        [
            (lambda o=offer.pk: client.post(f"/api/v1/offers/{o}/respond/").status_code)
            for offer in offers
        ]
    )

    assert sorted(statuses) == [200, 200, 409, 409, 409]
    trip.refresh_from_db()
    assert trip.load_kg == Decimal("40.0")
    assert trip.request_count == 2
    held = DeliveryRequest.objects.filter(assigned_driver=trip.driver, state=RequestState.ASSIGNED)
    assert held.count() == 2


@pytest.mark.django_db(transaction=True)
def test_customer_choosing_while_another_responder_races_leaves_one_driver(api, store):  # type: ignore[no-untyped-def]
    store.assignment_mode = AssignmentMode.CUSTOMER_CHOICE
    store.save()
    request = factories.DeliveryRequestFactory(store=store)
    offers = [factories.OfferFactory(request=request) for _ in range(3)]
    for offer in offers:
        assert api(offer.trip.driver).post(f"/api/v1/offers/{offer.pk}/respond/").status_code == 200
    customer = api(request.customer)

    statuses = race(
        [
            (
                lambda o=offer.pk: customer.post(
                    f"/api/v1/delivery-requests/{request.pk}/choose/", {"offer_id": o}
                ).status_code
            )
            for offer in offers
        ]
    )

    assert sorted(statuses) == [200, 409, 409]
    assert Offer.objects.filter(request=request, state=OfferState.SELECTED).count() == 1
    assert Trip.objects.filter(request_count=1).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_a_second_selected_offer_and_a_backward_move(store):  # type: ignore[no-untyped-def]
    from django.db import IntegrityError, transaction

    request = factories.DeliveryRequestFactory(store=store)
    first, second = factories.OfferFactory(request=request), factories.OfferFactory(request=request)
    Offer.objects.filter(pk=first.pk).update(state=OfferState.SELECTED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Offer.objects.filter(pk=second.pk).update(state=OfferState.SELECTED)

    DeliveryRequest.objects.filter(pk=request.pk).update(
        state=RequestState.ASSIGNED, assigned_driver=first.trip.driver
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        DeliveryRequest.objects.filter(pk=request.pk).update(
            state=RequestState.OPEN, assigned_driver=None
        )
    with pytest.raises(IntegrityError), transaction.atomic():  # skipping picked_up
        DeliveryRequest.objects.filter(pk=request.pk).update(state=RequestState.DELIVERED)
    with pytest.raises(IntegrityError), transaction.atomic():  # over capacity
        Trip.objects.filter(pk=first.trip_id).update(load_kg=first.trip.capacity_kg + 1)
