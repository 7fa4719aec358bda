"""The HTTP API: devices, the inbox, preferences."""

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from notifications import services
from notifications.events import Event
from notifications.models import Device, InboxItem, NotificationPreference

pytestmark = pytest.mark.django_db


def results(body: Any) -> list[dict[str, Any]]:
    """List bodies, paginated (``results``) or not."""
    return body["results"] if isinstance(body, dict) else body


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def deliver(user: Any, request_id: int = 1) -> InboxItem:
    item = services.notify(
        user_id=user.pk, event=Event.REQUEST_DELIVERED, payload={"request_id": request_id}
    )
    assert item is not None
    return item


def error_fields(response: Any) -> set[str]:
    """Field names in a 400, whether in DRF's shape or the project's {code, detail, fields}; a
    nested path names its head (``muted_events[0]``: ``muted_events``)."""
    body = response.json()
    return {re.split(r"[.\[]", key)[0] for key in body.get("fields") or body}


# --- Devices ---------------------------------------------------------------------------------


def test_registering_a_device_creates_then_refreshes_it(user_factory: Any) -> None:
    user = user_factory()
    client = client_for(user)
    body = {"token": "fcm:abc", "platform": "android", "app_version": "1.2.0", "language": "fr"}

    created = client.post("/api/v1/devices/", body, format="json")
    refreshed = client.post("/api/v1/devices/", {**body, "app_version": "1.3.0"}, format="json")

    assert created.status_code == 201
    assert refreshed.status_code == 200
    assert refreshed.json()["app_version"] == "1.3.0"
    device = Device.objects.get()
    assert (device.user_id, device.app_version, device.language) == (user.pk, "1.3.0", "fr")
    listed = client.get("/api/v1/devices/")
    assert [d["token"] for d in results(listed.json())] == ["fcm:abc"]


def test_the_same_phone_logging_in_to_another_account_after_a_logout_takes_the_token(
    user_factory: Any,
) -> None:
    first, second = user_factory(), user_factory()
    body = {"token": "fcm:shared", "platform": "ios"}
    client_for(first).post("/api/v1/devices/", body, format="json")

    refused = client_for(second).post("/api/v1/devices/", body, format="json")
    client_for(first).delete("/api/v1/devices/fcm:shared/")
    response = client_for(second).post("/api/v1/devices/", body, format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "device_token_in_use"
    assert response.status_code == 201
    assert Device.objects.get(token="fcm:shared").user_id == second.pk
    assert results(client_for(first).get("/api/v1/devices/").json()) == []
    # The first account's news no longer reaches this phone.
    item = deliver(first)
    assert not item.outbox_messages.exists()


def test_a_token_deactivated_by_fcm_is_active_again_when_the_app_registers_it(
    user_factory: Any,
) -> None:
    user = user_factory()
    services.device_register(user_id=user.pk, token="fcm:x", platform="android")
    Device.objects.update(is_active=False, deactivation_reason="UnregisteredError")

    response = client_for(user).post(
        "/api/v1/devices/", {"token": "fcm:x", "platform": "android"}, format="json"
    )

    assert response.status_code == 200
    device = Device.objects.get()
    assert device.is_active is True
    assert device.deactivation_reason == ""


def test_logout_deletes_the_device_and_only_the_owner_can(user_factory: Any) -> None:
    owner, other = user_factory(), user_factory()
    services.device_register(user_id=owner.pk, token="fcm:a:b-c_d", platform="android")

    stranger = client_for(other).delete("/api/v1/devices/fcm:a:b-c_d/")
    mine = client_for(owner).delete("/api/v1/devices/fcm:a:b-c_d/")
    again = client_for(owner).delete("/api/v1/devices/fcm:a:b-c_d/")

    assert stranger.status_code == 404
    assert mine.status_code == 204
    assert again.status_code == 404
    assert not Device.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "android"}, "token"),
        ({"token": "fcm:x", "platform": "symbian"}, "platform"),
        ({"token": "fcm:x"}, "platform"),
        ({"token": "has space", "platform": "ios"}, "token"),
        ({"token": "x" * 1025, "platform": "ios"}, "token"),
    ],
)
def test_bad_device_input_is_a_400_naming_the_field(
    user_factory: Any, body: dict[str, str], field: str
) -> None:
    response = client_for(user_factory()).post("/api/v1/devices/", body, format="json")

    assert response.status_code == 400
    assert field in error_fields(response)
    assert not Device.objects.exists()


# --- Inbox -----------------------------------------------------------------------------------


def test_inbox_lists_my_notifications_newest_first_never_anyone_elses(user_factory: Any) -> None:
    me, other = user_factory(), user_factory()
    older, newer = deliver(me, 1), deliver(me, 2)
    deliver(other, 3)

    response = client_for(me).get("/api/v1/notifications/")

    assert response.status_code == 200
    listed = results(response.json())
    assert [n["id"] for n in listed] == [newer.pk, older.pk]
    assert listed[0] == {
        "id": newer.pk,
        "event": "request.delivered",
        "title": "Delivered",
        "body": "Your order has been delivered.",
        "payload": {"request_id": 2},
        "is_read": False,
        "read_at": None,
        "expires_at": None,
        "created_at": listed[0]["created_at"],
    }


def test_inbox_list_costs_the_same_queries_for_one_or_many_items(
    user_factory: Any, django_assert_num_queries: Any
) -> None:
    user = user_factory()
    client = client_for(user)
    deliver(user)
    with django_assert_num_queries(1):
        assert len(results(client.get("/api/v1/notifications/").json())) == 1

    for request_id in range(10):  # fewer than a page
        deliver(user, request_id)
    with django_assert_num_queries(1):
        assert len(results(client.get("/api/v1/notifications/").json())) == 11


def test_unread_filter_mark_read_and_counts(user_factory: Any) -> None:
    user = user_factory()
    client = client_for(user)
    first, second = deliver(user, 1), deliver(user, 2)

    read = client.post(f"/api/v1/notifications/{first.pk}/read/")
    read_again = client.post(f"/api/v1/notifications/{first.pk}/read/")
    unread = results(client.get("/api/v1/notifications/", {"unread": "true"}).json())
    count = client.get("/api/v1/notifications/unread-count/")

    assert read.status_code == 200
    assert read.json()["is_read"] is True
    assert read_again.json()["read_at"] == read.json()["read_at"]
    assert [n["id"] for n in unread] == [second.pk]
    assert count.json() == {"unread": 1}

    all_read = client.post("/api/v1/notifications/read-all/")
    assert all_read.json() == {"marked": 1}
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}


def test_someone_elses_notification_is_not_found(user_factory: Any) -> None:
    owner, other = user_factory(), user_factory()
    item = deliver(owner)
    client = client_for(other)

    assert client.get(f"/api/v1/notifications/{item.pk}/").status_code == 404
    assert client.post(f"/api/v1/notifications/{item.pk}/read/").status_code == 404
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 0}
    item.refresh_from_db()
    assert item.read_at is None
    assert client_for(owner).get(f"/api/v1/notifications/{item.pk}/").status_code == 200


def test_bad_unread_filter_is_a_400_naming_it(user_factory: Any) -> None:
    response = client_for(user_factory()).get("/api/v1/notifications/", {"unread": "perhaps"})

    assert response.status_code == 400
    assert "unread" in error_fields(response)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/notifications/"),
        ("get", "/api/v1/notifications/1/"),
        ("post", "/api/v1/notifications/1/read/"),
        ("post", "/api/v1/notifications/read-all/"),
        ("get", "/api/v1/notifications/unread-count/"),
        ("get", "/api/v1/notifications/preferences/"),
        ("patch", "/api/v1/notifications/preferences/"),
        ("get", "/api/v1/devices/"),
        ("post", "/api/v1/devices/"),
        ("delete", "/api/v1/devices/fcm:x/"),
    ],
)
def test_anonymous_callers_are_refused(method: str, path: str) -> None:
    response = getattr(APIClient(), method)(path)

    assert response.status_code in (401, 403)


# --- Preferences -----------------------------------------------------------------------------


def test_preferences_default_to_everything_on(user_factory: Any) -> None:
    response = client_for(user_factory()).get("/api/v1/notifications/preferences/")

    assert response.status_code == 200
    assert response.json() == {
        "muted_events": [],
        "quiet_hours_start": None,
        "quiet_hours_end": None,
        "time_zone": "UTC",
    }
    assert not NotificationPreference.objects.exists()


def test_preferences_can_be_changed_piece_by_piece(user_factory: Any) -> None:
    user = user_factory()
    client = client_for(user)

    client.patch(
        "/api/v1/notifications/preferences/",
        {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00", "time_zone": "Europe/Paris"},
        format="json",
    )
    response = client.patch(
        "/api/v1/notifications/preferences/", {"muted_events": ["request.rate"]}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {
        "muted_events": ["request.rate"],
        "quiet_hours_start": "22:00:00",
        "quiet_hours_end": "07:00:00",
        "time_zone": "Europe/Paris",
    }
    cleared = client.patch(
        "/api/v1/notifications/preferences/",
        {"quiet_hours_start": None, "quiet_hours_end": None},
        format="json",
    )
    assert cleared.json()["quiet_hours_start"] is None
    assert cleared.json()["muted_events"] == ["request.rate"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"muted_events": ["offer.nope"]}, "muted_events"),
        ({"quiet_hours_start": "22:00"}, "quiet_hours_end"),
        ({"quiet_hours_start": "22:00", "quiet_hours_end": None}, "quiet_hours_end"),
        ({"quiet_hours_start": "25:00", "quiet_hours_end": "07:00"}, "quiet_hours_start"),
    ],
)
def test_bad_preferences_are_a_400_naming_the_field(
    user_factory: Any, body: dict[str, Any], field: str
) -> None:
    response = client_for(user_factory()).patch(
        "/api/v1/notifications/preferences/", body, format="json"
    )

    assert response.status_code == 400
    assert field in error_fields(response)
