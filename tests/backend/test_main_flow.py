"""The main flow through the API, for each assignment mode: post, offer, respond, assign,
pick up (the store's desk checks the driver's pass), deliver with the code, rate."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.deliveries.models import DeliveryRequest, Earning, RequestState
from backend.matching.models import Offer, OfferState
from backend.matching.services import offers_create_for_request
from backend.stores.models import AssignmentMode, StoreMembership
from notifications.models import InboxItem
from tests import factories


def _post_request(client, store, **overrides):  # type: ignore[no-untyped-def]
    body = {
        "store_id": store.pk,
        "order_reference": "ORD-1",
        "dropoff_address": "12 Rue des Tilleuls, Villeurbanne",
        "dropoff": {"lat": 45.7600, "lng": 4.8800},
        "contact_phone": "+33 6 98 76 54 32",
        "access_notes": "Code 1234, 3rd floor",
        "window_start": (timezone.now() + timedelta(minutes=20)).isoformat(),
        "window_end": (timezone.now() + timedelta(hours=3)).isoformat(),
        "parcels": [
            {
                "weight_kg": "25.0",
                "volume_l": "120.0",
                "longest_side_cm": 140,
                "fragile": False,
                "description": "Wardrobe",
            }
        ],
        **overrides,
    }
    return client.post("/api/v1/delivery-requests/", body, format="json")


def _declare_trip(client, store):  # type: ignore[no-untyped-def]
    return client.post(
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


@pytest.mark.django_db(transaction=True)
def test_first_response_flow_from_post_to_rating(api, store, customer, driver):  # type: ignore[no-untyped-def]
    store.assignment_mode = AssignmentMode.FIRST_RESPONSE
    store.save()
    trip = _declare_trip(api(driver), store)
    assert trip.status_code == 201, trip.json()
    posted = _post_request(api(customer), store)
    assert posted.status_code == 201, posted.json()
    request_id = posted.json()["id"]
    assert "pickup_code" not in posted.json()

    offers_create_for_request(request_id=request_id)  # what the matching task does
    offers = api(driver).get("/api/v1/offers/").json()["results"]
    assert len(offers) == 1
    assert "dropoff_address" not in offers[0]["request"]
    assert "contact_phone" not in offers[0]["request"]

    responded = api(driver).post(f"/api/v1/offers/{offers[0]['id']}/respond/")
    assert responded.status_code == 200, responded.json()
    assert responded.json()["state"] == "selected"

    detail = api(driver).get(f"/api/v1/delivery-requests/{request_id}/").json()
    assert detail["contact_phone"] == "+33 6 98 76 54 32"
    assert "delivery_code" not in detail
    request = DeliveryRequest.objects.get(pk=request_id)

    # At the store, the driver shows its pass (the pickup code its app shows); the desk enters it.
    assert detail["pickup_code"] == request.pickup_code
    desk = factories.MembershipFactory(store=store, role=StoreMembership.Role.STAFF).user
    wrong = api(desk).post(
        f"/api/v1/desk/requests/{request_id}/pickup/",
        {"pickup_code": "000000" if request.pickup_code != "000000" else "111111"},
    )
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "wrong_code"
    picked = api(desk).post(
        f"/api/v1/desk/requests/{request_id}/pickup/", {"pickup_code": detail["pickup_code"]}
    )
    assert picked.status_code == 200, picked.json()
    assert picked.json()["state"] == "picked_up"

    delivered = api(driver).post(
        f"/api/v1/delivery-requests/{request_id}/deliver/", {"delivery_code": request.delivery_code}
    )
    assert delivered.status_code == 200, delivered.json()
    assert delivered.json()["state"] == "delivered"
    assert "contact_phone" not in delivered.json()

    rated = api(customer).post(
        f"/api/v1/delivery-requests/{request_id}/rating/", {"stars": 5, "comment": "Perfect"}
    )
    assert rated.status_code == 201
    request.refresh_from_db()
    assert request.state == RequestState.DELIVERED
    assert Earning.objects.get(request=request).driver_id == driver.pk
    driver.driver_profile.refresh_from_db()
    assert driver.driver_profile.rating_count == 1
    events = set(InboxItem.objects.filter(user=customer).values_list("event", flat=True))
    assert {"request.assigned", "request.picked_up", "request.delivered"} <= events


@pytest.mark.django_db(transaction=True)
def test_customer_choice_lets_the_customer_pick_among_responders(api, store, customer):  # type: ignore[no-untyped-def]
    store.assignment_mode = AssignmentMode.CUSTOMER_CHOICE
    store.save()
    drivers = [factories.DriverFactory() for _ in range(2)]
    for driver in drivers:
        assert _declare_trip(api(driver), store).status_code == 201
    request_id = _post_request(api(customer), store).json()["id"]
    offers_create_for_request(request_id=request_id)
    for driver in drivers:
        offer = Offer.objects.get(request_id=request_id, trip__driver=driver)
        assert api(driver).post(f"/api/v1/offers/{offer.pk}/respond/").json()["state"] == (
            "responded"
        )

    responders = api(customer).get(f"/api/v1/delivery-requests/{request_id}/responders/").json()
    assert len(responders) == 2
    assert all("destination" not in str(r) for r in responders)
    chosen = responders[1]["offer_id"]
    picked = api(customer).post(
        f"/api/v1/delivery-requests/{request_id}/choose/", {"offer_id": chosen}
    )
    assert picked.status_code == 200, picked.json()
    assert picked.json()["state"] == "assigned"
    states = dict(Offer.objects.filter(request_id=request_id).values_list("pk", "state"))
    assert states[chosen] == OfferState.SELECTED
    assert sorted(states.values()) == [OfferState.NOT_SELECTED, OfferState.SELECTED]


@pytest.mark.django_db(transaction=True)
def test_best_match_assigns_the_smallest_detour_after_the_window(api, store, customer):  # type: ignore[no-untyped-def]
    from backend.matching.services import best_matches_assign_due, request_assign_best

    store.assignment_mode = AssignmentMode.BEST_MATCH
    store.save()
    near, far = factories.DriverFactory(), factories.DriverFactory()
    request_id = _post_request(api(customer), store).json()["id"]
    request = DeliveryRequest.objects.get(pk=request_id)
    small = factories.OfferFactory(request=request, trip__driver=near, detour_s=60)
    large = factories.OfferFactory(request=request, trip__driver=far, detour_s=600)
    assert api(far).post(f"/api/v1/offers/{large.pk}/respond/").status_code == 200
    assert api(near).post(f"/api/v1/offers/{small.pk}/respond/").status_code == 200
    request.refresh_from_db()
    assert request.state == RequestState.OPEN  # still collecting
    assert request_assign_best(request_id=request_id) is None  # the window is not over
    assert best_matches_assign_due() == []
    DeliveryRequest.objects.filter(pk=request_id).update(
        first_response_at=timezone.now() - timedelta(seconds=store.collection_window_s + 1)
    )

    assert best_matches_assign_due() == [request_id]

    request.refresh_from_db()
    assert request.state == RequestState.ASSIGNED
    assert request.assigned_driver_id == near.pk
