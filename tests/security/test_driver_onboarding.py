"""Who may drive: a new driver profile is pending until a manager (staff) or ops (shoppers, after
the identity check) approve it; until then it may look, not respond nor carry. Limits on what
one driver may hold, suspension by people and by the product, and the audit of every decision."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.utils import timezone
from PIL import Image

from backend.accounts.models import DriverDecision, DriverProfile, DriverStatus
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.matching.models import Offer, OfferState
from backend.matching.services import offers_create_for_request
from backend.stores.models import AssignmentMode, StoreMembership
from tests import factories


def _jpeg() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(buffer, format="JPEG")
    buffer.seek(0)
    buffer.name = "passport.jpg"
    return buffer


def _new_driver(api, customer):  # type: ignore[no-untyped-def]
    client = api(customer)
    answer = client.put(
        "/api/v1/me/driver-profile/",
        {"vehicle_type": "car", "capacity_kg": "150", "capacity_l": "500", "max_length_cm": 180},
    )
    assert answer.status_code == 200, answer.json()
    return client, answer.json()


def _trip(client, store, hours_ahead: int = 0):  # type: ignore[no-untyped-def]
    start = timezone.now() + timedelta(hours=hours_ahead)
    return client.post(
        "/api/v1/trips/",
        {
            "store_id": store.pk,
            "departure_earliest": start.isoformat(),
            "departure_latest": (start + timedelta(minutes=45)).isoformat(),
            "destination": {"lat": 45.7800, "lng": 4.8800},
            "max_detour_min": 15,
        },
    )


def test_a_new_driver_is_pending_and_cannot_respond_nor_read_the_customer(api, store, customer):  # type: ignore[no-untyped-def]
    client, profile = _new_driver(api, customer)
    assert profile["status"] == "pending"
    assert profile["verified"] is False
    trip = _trip(client, store)
    assert trip.status_code == 201, trip.json()  # declaring a trip is allowed: to look around
    request = factories.DeliveryRequestFactory(store=store)
    offer = factories.OfferFactory(request=request, trip_id=trip.json()["id"])

    answer = client.post(f"/api/v1/offers/{offer.pk}/respond/")

    assert answer.status_code == 403
    assert answer.json()["code"] == "driver_not_approved"
    request.refresh_from_db()
    assert request.state == RequestState.OPEN
    assert request.assigned_driver_id is None
    seen = client.get(f"/api/v1/delivery-requests/{request.pk}/").json()
    assert request.contact_phone not in str(seen)
    assert request.dropoff_address not in str(seen)


def test_a_pending_driver_browses_the_feed_but_cannot_take_from_it(api, store, customer):  # type: ignore[no-untyped-def]
    client, _ = _new_driver(api, customer)
    trip_id = _trip(client, store).json()["id"]
    request = factories.DeliveryRequestFactory(store=store)

    feed = client.get(f"/api/v1/trips/{trip_id}/opportunities/")
    assert feed.status_code == 200
    assert [item["id"] for item in feed.json()] == [request.pk]
    taken = client.post(f"/api/v1/trips/{trip_id}/opportunities/{request.pk}/respond/")

    assert taken.status_code == 403
    assert taken.json()["code"] == "driver_not_approved"
    assert not Offer.objects.filter(request=request).exists()


def test_pending_drivers_are_offered_nothing(store):  # type: ignore[no-untyped-def]
    pending = factories.TripFactory(store=store, driver__profile__status=DriverStatus.PENDING)
    approved = factories.TripFactory(store=store)
    request = factories.DeliveryRequestFactory(store=store)

    offers = offers_create_for_request(request_id=request.pk)

    assert [offer.trip_id for offer in offers] == [approved.pk]
    assert not Offer.objects.filter(trip=pending).exists()


def test_a_manager_approves_their_own_staff_driver_and_the_decision_is_audited(  # type: ignore[no-untyped-def]
    api, store, manager
):
    staff = factories.DriverFactory(profile__status=DriverStatus.PENDING)
    StoreMembership.objects.create(store=store, user=staff, role=StoreMembership.Role.STAFF)
    shopper = factories.DriverFactory(profile__status=DriverStatus.PENDING)
    other_manager = factories.MembershipFactory().user
    url = f"/api/v1/manager/stores/{store.pk}/drivers/"

    listed = api(manager).get(url)
    assert listed.status_code == 200
    assert [(d["user_id"], d["status"]) for d in listed.json()] == [(staff.pk, "pending")]
    assert api(other_manager).get(url).status_code == 404
    # A shopper does not work here: the store's manager does not decide for them.
    assert api(manager).post(f"{url}{shopper.pk}/approve/", {}).status_code == 404
    assert api(staff).post(f"{url}{staff.pk}/approve/", {}).status_code == 404

    approved = api(manager).post(f"{url}{staff.pk}/approve/", {"reason": "Works the evening"})

    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved"
    assert approved.json()["last_decision"] == "approved"
    decision = DriverDecision.objects.get(driver=staff, kind=DriverDecision.Kind.APPROVED)
    assert (decision.by_id, decision.store_id, decision.reason) == (
        manager.pk,
        store.pk,
        "Works the evening",
    )
    suspended = api(manager).post(f"{url}{staff.pk}/suspend/", {"reason": "Rude at the desk"})
    assert suspended.json()["status"] == "suspended"
    again = api(manager).post(f"{url}{staff.pk}/suspend/", {})
    assert again.status_code == 409  # already suspended: nothing to decide
    assert api(manager).post(f"{url}{staff.pk}/fly/", {}).status_code == 404


def test_ops_approve_a_shopper_after_looking_at_the_private_identity_document(  # type: ignore[no-untyped-def]
    api, customer
):
    client, _ = _new_driver(api, customer)
    not_a_document = io.BytesIO(b"just text")
    not_a_document.name = "passport.jpg"
    refused = client.put(
        "/api/v1/me/driver-profile/identity/", {"document": not_a_document}, format="multipart"
    )
    assert refused.status_code == 400
    assert "document" in refused.json()["fields"]

    sent = client.put(
        "/api/v1/me/driver-profile/identity/", {"document": _jpeg()}, format="multipart"
    )

    assert sent.status_code == 200, sent.json()
    assert sent.json()["identity_submitted_at"] is not None
    assert sent.json()["status"] == "pending"
    profile = DriverProfile.objects.get(user=customer)
    stored = Path(profile.identity_document.path)
    assert stored.is_file()
    # Private: outside the public media folder, and no URL to it.
    assert Path(settings.PRIVATE_MEDIA_ROOT) in stored.parents
    assert Path(settings.MEDIA_ROOT) not in stored.parents
    assert stored.name not in str(client.get("/api/v1/me/driver-profile/").json())

    ops = factories.UserFactory(is_staff=True, is_superuser=True)
    admin = site._registry[DriverProfile]
    http = RequestFactory().post("/admin/")
    http.user = ops
    http.session = {}  # type: ignore[attr-defined]
    http._messages = []  # type: ignore[attr-defined]
    admin.message_user = lambda *args, **kwargs: None  # type: ignore[method-assign]
    admin.approve(http, DriverProfile.objects.filter(pk=profile.pk))

    profile.refresh_from_db()
    assert profile.status == DriverStatus.APPROVED
    assert DriverDecision.objects.filter(
        driver=customer, kind=DriverDecision.Kind.APPROVED, by=ops
    ).exists()


def test_ops_see_the_identity_document_and_nobody_else_does(api, client, customer):  # type: ignore[no-untyped-def]
    api_client, _ = _new_driver(api, customer)
    api_client.put("/api/v1/me/driver-profile/identity/", {"document": _jpeg()}, format="multipart")
    profile = DriverProfile.objects.get(user=customer)
    url = f"/admin/accounts/driverprofile/{profile.pk}/identity-document/"

    client.force_login(factories.UserFactory())
    assert client.get(url).status_code in (302, 403, 404)
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    shown = client.get(url)

    assert shown.status_code == 200
    assert b"".join(shown.streaming_content).startswith(b"\xff\xd8\xff")


def test_giving_up_deliveries_repeatedly_suspends_the_driver(api, store):  # type: ignore[no-untyped-def]
    store.suspend_after_failures = 2
    store.save(update_fields=["suspend_after_failures"])
    trip = factories.TripFactory(store=store)
    driver = trip.driver
    for _ in range(2):
        offer = factories.OfferFactory(
            request=factories.DeliveryRequestFactory(store=store), trip=trip
        )
        assert api(driver).post(f"/api/v1/offers/{offer.pk}/respond/").status_code == 200
        failed = api(driver).post(
            f"/api/v1/delivery-requests/{offer.request_id}/fail/", {"reason": "Car broke down"}
        )
        assert failed.status_code == 200, failed.json()

    profile = DriverProfile.objects.get(user=driver)
    assert profile.status == DriverStatus.SUSPENDED
    decision = DriverDecision.objects.get(driver=driver, kind=DriverDecision.Kind.SUSPENDED)
    assert decision.by_id is None
    assert decision.store_id == store.pk
    assert "2 deliveries given up" in decision.reason
    offer = factories.OfferFactory(request=factories.DeliveryRequestFactory(store=store), trip=trip)
    assert api(driver).post(f"/api/v1/offers/{offer.pk}/respond/").status_code == 403


def test_one_active_trip_per_driver_per_time_window(api, store, driver):  # type: ignore[no-untyped-def]
    client = api(driver)
    assert _trip(client, store).status_code == 201
    overlapping = _trip(client, store)
    assert overlapping.status_code == 409
    assert overlapping.json()["code"] == "trip_overlaps"
    assert _trip(client, store, hours_ahead=3).status_code == 201


@pytest.mark.parametrize(
    ("vehicle", "field", "value"),
    [
        ("car", "capacity_kg", "1000"),
        ("cargo_bike", "capacity_l", "1500"),
        ("car", "max_length_cm", 390),
    ],
)
def test_a_vehicle_cannot_claim_more_than_its_kind_carries(api, customer, vehicle, field, value):  # type: ignore[no-untyped-def]
    body = {
        "vehicle_type": vehicle,
        "capacity_kg": "100",
        "capacity_l": "300",
        "max_length_cm": 150,
    }
    answer = api(customer).put("/api/v1/me/driver-profile/", {**body, field: value})
    assert answer.status_code == 400
    assert field in answer.json()["fields"]
    assert not DriverProfile.objects.filter(user=customer).exists()


def test_responses_waiting_at_one_store_are_capped(api, store):  # type: ignore[no-untyped-def]
    store.assignment_mode = AssignmentMode.CUSTOMER_CHOICE
    store.max_responses_in_flight = 2
    store.save(update_fields=["assignment_mode", "max_responses_in_flight"])
    trip = factories.TripFactory(store=store)
    offers = [
        factories.OfferFactory(request=factories.DeliveryRequestFactory(store=store), trip=trip)
        for _ in range(3)
    ]
    client = api(trip.driver)
    answers = [client.post(f"/api/v1/offers/{offer.pk}/respond/") for offer in offers]

    assert [a.status_code for a in answers] == [200, 200, 409]
    assert answers[2].json()["code"] == "too_many_responses"
    assert Offer.objects.get(pk=offers[2].pk).state == OfferState.PENDING


def test_a_customer_cannot_choose_a_driver_suspended_since_responding(api, store):  # type: ignore[no-untyped-def]
    store.assignment_mode = AssignmentMode.CUSTOMER_CHOICE
    store.save(update_fields=["assignment_mode"])
    offer = factories.OfferFactory(request=factories.DeliveryRequestFactory(store=store))
    assert api(offer.trip.driver).post(f"/api/v1/offers/{offer.pk}/respond/").status_code == 200
    DriverProfile.objects.filter(user=offer.trip.driver).update(status=DriverStatus.SUSPENDED)

    chosen = api(offer.request.customer).post(
        f"/api/v1/delivery-requests/{offer.request_id}/choose/", {"offer_id": offer.pk}
    )

    assert chosen.status_code == 409
    assert chosen.json()["code"] == "driver_unavailable"
    assert DeliveryRequest.objects.get(pk=offer.request_id).state == RequestState.OPEN


def test_the_dashboard_lists_the_staff_who_drive_and_approves_them(client, store, manager):  # type: ignore[no-untyped-def]
    staff = factories.DriverFactory(full_name="Zoé Desk", profile__status=DriverStatus.PENDING)
    StoreMembership.objects.create(store=store, user=staff, role=StoreMembership.Role.STAFF)
    client.force_login(manager)

    page = client.get(f"/manager/stores/{store.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="staff-driver-{staff.pk}" data-status="pending"' in html
    answer = client.post(f"/manager/stores/{store.pk}/drivers/{staff.pk}/approve/")

    assert answer.status_code == 302
    assert DriverProfile.objects.get(user=staff).status == DriverStatus.APPROVED
    assert DriverDecision.objects.get(driver=staff, kind="approved").by_id == manager.pk
    other_store = factories.StoreFactory()
    outsider = factories.MembershipFactory(store=other_store).user
    client.force_login(outsider)
    refused = client.post(f"/manager/stores/{store.pk}/drivers/{staff.pk}/suspend/")
    assert refused.status_code == 404
    assert DriverProfile.objects.get(user=staff).status == DriverStatus.APPROVED


def test_deleting_the_account_deletes_the_identity_document(api, customer):  # type: ignore[no-untyped-def]
    client, _ = _new_driver(api, customer)
    client.put("/api/v1/me/driver-profile/identity/", {"document": _jpeg()}, format="multipart")
    stored = Path(DriverProfile.objects.get(user=customer).identity_document.path)
    assert stored.is_file()

    assert client.delete("/api/v1/me/").status_code == 204

    assert not stored.exists()
    profile = DriverProfile.objects.get(user=customer)
    assert not profile.identity_document
    assert profile.status == DriverStatus.SUSPENDED
