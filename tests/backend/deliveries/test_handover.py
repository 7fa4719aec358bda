"""Pickup confirmed at the store's desk with the driver's pass, delivery with the customer's code
or a photo, the lock after five wrong codes, the store's review, the live position. (Who may
confirm a pickup and what a photo proves: tests/security/test_handover_proof.py.)"""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from backend.deliveries.models import DeliveryRequest, Earning, RequestState
from backend.matching.services import offer_respond
from backend.stores.models import StoreMembership
from tests import factories


@pytest.fixture
def assigned(db, store):  # type: ignore[no-untyped-def]
    offer = factories.OfferFactory(request=factories.DeliveryRequestFactory(store=store))
    offer_respond(offer_id=offer.pk, driver=offer.trip.driver)
    request = DeliveryRequest.objects.get(pk=offer.request_id)
    assert request.state == RequestState.ASSIGNED
    return request


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def _desk(request: DeliveryRequest):  # type: ignore[no-untyped-def]
    """A member of the request's store's staff, at the pickup desk."""
    return factories.MembershipFactory(store=request.store, role=StoreMembership.Role.STAFF).user


def _pick_up(api, request: DeliveryRequest):  # type: ignore[no-untyped-def]
    """The driver shows its pass at the desk; the store's staff confirm the pickup with it."""
    return api(_desk(request)).post(
        f"/api/v1/desk/requests/{request.pk}/pickup/", {"pickup_code": request.pickup_code}
    )


def test_five_wrong_pickup_codes_lock_the_step_until_the_store_reviews(api, assigned, store):  # type: ignore[no-untyped-def]
    desk = api(_desk(assigned))
    url = f"/api/v1/desk/requests/{assigned.pk}/pickup/"
    answers = [desk.post(url, {"pickup_code": _wrong(assigned.pickup_code)}) for _ in range(5)]

    assert [a.status_code for a in answers] == [400, 400, 400, 400, 423]
    assert answers[0].json()["fields"]["pickup_code"][0].endswith("4 attempt(s) left.")
    assert answers[4].json()["code"] == "step_locked"
    # Even the right code is refused now: the store must look first.
    assert desk.post(url, {"pickup_code": assigned.pickup_code}).status_code == 423
    assigned.refresh_from_db()
    assert assigned.review_required
    assert assigned.state == RequestState.ASSIGNED

    manager = factories.MembershipFactory(store=store).user
    reviewed = api(manager).post(f"/api/v1/manager/requests/{assigned.pk}/review/", {})
    assert reviewed.status_code == 200
    assert reviewed.json()["review_required"] is False
    assert desk.post(url, {"pickup_code": assigned.pickup_code}).status_code == 200


def test_delivery_with_a_photo_is_flagged_for_the_store(api, assigned):  # type: ignore[no-untyped-def]
    driver = api(assigned.assigned_driver)
    assert _pick_up(api, assigned).status_code == 200
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format="JPEG")
    photo = SimpleUploadedFile("door.jpg", buffer.getvalue(), content_type="image/jpeg")

    answer = driver.post(
        f"/api/v1/delivery-requests/{assigned.pk}/deliver/photo/",
        {"photo": photo},
        format="multipart",
    )

    assert answer.status_code == 200, answer.json()
    assigned.refresh_from_db()
    assert assigned.state == RequestState.DELIVERED
    assert assigned.proof == DeliveryRequest.Proof.PHOTO
    assert assigned.review_required
    # Booked, but held until the store has reviewed the photo.
    assert Earning.objects.get(request=assigned).state == Earning.State.HELD


def test_a_text_file_is_not_a_photo(api, assigned):  # type: ignore[no-untyped-def]
    driver = api(assigned.assigned_driver)
    assert _pick_up(api, assigned).status_code == 200
    fake = SimpleUploadedFile("door.jpg", b"not an image", content_type="image/jpeg")

    answer = driver.post(
        f"/api/v1/delivery-requests/{assigned.pk}/deliver/photo/",
        {"photo": fake},
        format="multipart",
    )

    assert answer.status_code == 400
    assert "photo" in answer.json()["fields"]
    assigned.refresh_from_db()
    assert assigned.state == RequestState.PICKED_UP


def test_only_the_customer_sees_the_driver_position_and_only_on_the_way(api, assigned):  # type: ignore[no-untyped-def]
    driver = api(assigned.assigned_driver)
    url = f"/api/v1/delivery-requests/{assigned.pk}/position/"
    position = {"position": {"lat": 45.7500, "lng": 4.8800}}
    assert driver.post(url, position).status_code == 409  # not picked up yet
    assert _pick_up(api, assigned).status_code == 200

    assert driver.post(url, position).status_code == 200
    seen = api(assigned.customer).get(url)
    assert seen.status_code == 200
    assert seen.json()["position"] == {"lat": 45.75, "lng": 4.88}
    assert api(factories.UserFactory()).get(url).status_code == 404
    assert driver.get(url).status_code == 404


def test_the_customer_is_told_once_when_the_driver_comes_near(api, assigned):  # type: ignore[no-untyped-def]
    from notifications.models import InboxItem

    driver = api(assigned.assigned_driver)
    assert _pick_up(api, assigned).status_code == 200
    url = f"/api/v1/delivery-requests/{assigned.pk}/position/"
    for lat in (45.7400, 45.7550, 45.7580, 45.7590):  # the drop-off is at 45.7600
        driver.post(url, {"position": {"lat": lat, "lng": 4.88}})

    soon = InboxItem.objects.filter(user=assigned.customer, event="request.arriving_soon")
    assert soon.count() == 1


def test_cancelling_after_pickup_is_refused(api, assigned):  # type: ignore[no-untyped-def]
    assert _pick_up(api, assigned).status_code == 200
    answer = api(assigned.customer).post(f"/api/v1/delivery-requests/{assigned.pk}/cancel/", {})
    assert answer.status_code == 409
    assert answer.json()["code"] == "invalid_state"


def test_cancelling_an_assigned_request_frees_the_trip_and_tells_the_driver(api, assigned):  # type: ignore[no-untyped-def]
    from backend.matching.models import Trip
    from notifications.models import InboxItem

    trip = Trip.objects.get(offers__request=assigned)
    assert trip.load_kg > 0
    answer = api(assigned.customer).post(
        f"/api/v1/delivery-requests/{assigned.pk}/cancel/", {"reason": "Changed my mind"}
    )
    assert answer.status_code == 200
    assert answer.json()["state"] == "cancelled"
    trip.refresh_from_db()
    assert trip.load_kg == 0
    assert trip.request_count == 0
    assert InboxItem.objects.filter(user=trip.driver, event="offer.withdrawn").exists()


def test_each_side_rates_once(api, assigned):  # type: ignore[no-untyped-def]
    driver = api(assigned.assigned_driver)
    assert _pick_up(api, assigned).status_code == 200
    driver.post(
        f"/api/v1/delivery-requests/{assigned.pk}/deliver/",
        {"delivery_code": assigned.delivery_code},
    )
    url = f"/api/v1/delivery-requests/{assigned.pk}/rating/"

    assert api(assigned.customer).post(url, {"stars": 4}).status_code == 201
    assert api(assigned.customer).post(url, {"stars": 5}).status_code == 409
    assert driver.post(url, {"stars": 5}).status_code == 201
    assert api(factories.UserFactory()).post(url, {"stars": 1}).status_code == 404
    assert api(assigned.customer).post(url, {"stars": 6}).status_code in (400, 409)


def test_a_failed_delivery_frees_the_trip_and_goes_to_the_store(api, assigned):  # type: ignore[no-untyped-def]
    from backend.matching.models import Trip

    driver = api(assigned.assigned_driver)
    assert _pick_up(api, assigned).status_code == 200
    answer = driver.post(
        f"/api/v1/delivery-requests/{assigned.pk}/fail/", {"reason": "Nobody at home"}
    )

    assert answer.status_code == 200, answer.json()
    assigned.refresh_from_db()
    assert assigned.state == RequestState.FAILED
    assert assigned.review_required
    assert Trip.objects.get(offers__request=assigned).load_kg == 0
    again = driver.post(
        f"/api/v1/delivery-requests/{assigned.pk}/deliver/",
        {"delivery_code": assigned.delivery_code},
    )
    assert again.status_code == 409


def test_the_driver_earns_the_fee_agreed_with_their_offer(api, store):  # type: ignore[no-untyped-def]
    request = factories.DeliveryRequestFactory(store=store, fee_eur=Decimal("5.00"))
    offer = factories.OfferFactory(request=request, fee_eur=Decimal("8.40"))
    offer_respond(offer_id=offer.pk, driver=offer.trip.driver)
    request.refresh_from_db()
    # The agreed fee travels with the request: the handover needs nothing from the offers.
    assert request.agreed_fee_eur == Decimal("8.40")
    assert request.fee_eur == Decimal("5.00")  # what the customer was quoted is unchanged

    driver = api(offer.trip.driver)
    url = f"/api/v1/delivery-requests/{request.pk}"
    assert _pick_up(api, request).status_code == 200
    delivered = driver.post(f"{url}/deliver/", {"delivery_code": request.delivery_code})

    assert delivered.status_code == 200, delivered.json()
    assert Earning.objects.get(request=request).amount_eur == Decimal("8.40")
