"""Register, log in, refresh with rotation, log out; my account, its export and its deletion."""

import pytest
from django.contrib.gis.geos import Point

from backend.accounts.models import User
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.matching.models import Trip
from tests import factories

PASSWORD = "a long enough passphrase 42"


@pytest.mark.django_db
def test_register_log_in_refresh_with_rotation_and_log_out(api):  # type: ignore[no-untyped-def]
    anonymous = api()
    created = anonymous.post(
        "/api/v1/auth/register/",
        {
            "email": "Camille@Example.com",
            "password": PASSWORD,
            "full_name": "Camille Martin",
            "language": "fr",
        },
    )
    assert created.status_code == 202, created.json()
    assert set(created.json()) == {"detail"}

    tokens = anonymous.post(
        "/api/v1/auth/token/", {"email": "camille@example.com", "password": PASSWORD}
    ).json()
    me = api()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert me.get("/api/v1/me/").json()["language"] == "fr"

    rotated = anonymous.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != tokens["refresh"]
    # The old refresh token was blacklisted by the rotation.
    reused = anonymous.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert reused.status_code == 401

    out = me.post("/api/v1/auth/logout/", {"refresh": rotated.json()["refresh"]})
    assert out.status_code == 204
    after = anonymous.post("/api/v1/auth/token/refresh/", {"refresh": rotated.json()["refresh"]})
    assert after.status_code == 401


@pytest.mark.django_db
def test_register_creates_nothing_for_a_taken_email_and_refuses_a_weak_password(api, customer):  # type: ignore[no-untyped-def]
    taken = api().post(
        "/api/v1/auth/register/", {"email": customer.email.upper(), "password": PASSWORD}
    )
    weak = api().post("/api/v1/auth/register/", {"email": "new@example.com", "password": "123"})
    weak_taken = api().post("/api/v1/auth/register/", {"email": customer.email, "password": "1"})

    # A taken address is answered like a new one (tests/security/test_data_hygiene.py).
    assert taken.status_code == 202
    assert User.objects.filter(email__iexact=customer.email).count() == 1
    assert weak.status_code == weak_taken.status_code == 400
    assert "password" in weak.json()["fields"]
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.django_db
def test_a_retried_registration_with_the_same_idempotency_key_creates_one_account(api):  # type: ignore[no-untyped-def]
    body = {"email": "retry@example.com", "password": PASSWORD}
    first = api().post("/api/v1/auth/register/", body, HTTP_IDEMPOTENCY_KEY="k-123")
    second = api().post("/api/v1/auth/register/", body, HTTP_IDEMPOTENCY_KEY="k-123")
    other = api().post(
        "/api/v1/auth/register/", {**body, "full_name": "X"}, HTTP_IDEMPOTENCY_KEY="k-123"
    )

    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert User.objects.filter(email="retry@example.com").count() == 1


@pytest.mark.django_db
def test_becoming_a_driver_and_updating_my_account(api, customer):  # type: ignore[no-untyped-def]
    client = api(customer)
    assert client.get("/api/v1/me/driver-profile/").status_code == 404
    profile = client.put(
        "/api/v1/me/driver-profile/",
        {
            "vehicle_type": "van",
            "capacity_kg": "400.0",
            "capacity_l": "3000.0",
            "max_length_cm": 250,
            "verified": True,
        },
    )
    assert profile.status_code == 200, profile.json()
    assert profile.json()["verified"] is False  # only ops verify drivers
    updated = client.patch("/api/v1/me/", {"full_name": "Lou Bernard", "language": "fr"})
    assert updated.json()["full_name"] == "Lou Bernard"
    assert updated.json()["driver_profile"]["vehicle_type"] == "van"


@pytest.mark.django_db
def test_my_data_export_holds_my_requests_and_trips(api, store):  # type: ignore[no-untyped-def]
    person = factories.DriverFactory()
    factories.DeliveryRequestFactory(customer=person, store=store)
    factories.TripFactory(driver=person, store=store)

    export = api(person).get("/api/v1/me/export/")

    assert export.status_code == 200
    body = export.json()
    assert body["account"]["email"] == person.email
    assert len(body["delivery_requests"]) == 1
    assert body["trips"][0]["destination"] == {"lat": 45.78, "lng": 4.88}


@pytest.mark.django_db(transaction=True)
def test_deleting_my_account_erases_personal_data_and_keeps_history(api, store):  # type: ignore[no-untyped-def]
    person = factories.DriverFactory(full_name="Alex Durand", phone="+33 6 00 00 00 01")
    open_request = factories.DeliveryRequestFactory(customer=person, store=store)
    trip = factories.TripFactory(driver=person, store=store)
    tokens = api().post(
        "/api/v1/auth/token/", {"email": person.email, "password": "correct horse battery staple"}
    )

    deleted = api(person).delete("/api/v1/me/")

    assert deleted.status_code == 204
    person.refresh_from_db()
    assert person.email.startswith("erased-")
    assert (person.full_name, person.phone, person.is_active) == ("", "", False)
    open_request.refresh_from_db()
    assert open_request.state == RequestState.CANCELLED
    assert open_request.dropoff_address == open_request.contact_phone == ""
    trip.refresh_from_db()
    assert trip.state == Trip.State.CANCELLED
    assert trip.destination == store.location  # the home is forgotten
    assert DeliveryRequest.objects.filter(customer=person).count() == 1  # history kept
    refresh = api().post("/api/v1/auth/token/refresh/", {"refresh": tokens.json()["refresh"]})
    assert refresh.status_code == 401


@pytest.mark.django_db
def test_deleting_is_refused_while_my_parcel_is_on_its_way(api, store):  # type: ignore[no-untyped-def]
    request = factories.DeliveryRequestFactory(store=store)
    driver = factories.DriverFactory()
    DeliveryRequest.objects.filter(pk=request.pk).update(
        state=RequestState.ASSIGNED, assigned_driver=driver
    )
    DeliveryRequest.objects.filter(pk=request.pk).update(state=RequestState.PICKED_UP)

    answer = api(request.customer).delete("/api/v1/me/")

    assert answer.status_code == 409
    assert answer.json()["code"] == "active_deliveries"
    request.customer.refresh_from_db()
    assert request.customer.is_active


@pytest.mark.django_db
def test_nearby_stores_come_nearest_first_with_their_distance(api, customer):  # type: ignore[no-untyped-def]
    far = factories.StoreFactory(name="Far", location=Point(4.95, 45.80, srid=4326))
    near = factories.StoreFactory(name="Near", location=Point(4.85, 45.76, srid=4326))

    listed = api(customer).get("/api/v1/stores/", {"lat": 45.76, "lng": 4.851}).json()

    assert [s["id"] for s in listed["results"]] == [near.pk, far.pk]
    assert listed["results"][0]["distance_m"] < 100
    bad = api(customer).get("/api/v1/stores/", {"lat": 95, "lng": 4.8})
    assert bad.status_code == 400
    assert "lat" in bad.json()["fields"]
