"""Abuse limits, as an outsider would probe them against the running server: the client address
behind proxies, login lockouts on every login, rate limits that hold when Redis is down, body
sizes, bounded dates, bounded devices, FCM tokens that do not move silently, and the earnings cap
under concurrent responses."""

import json
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from django.test.client import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from backend.accounts.models import User
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.matching.models import Offer, OfferState
from backend.stores.models import AssignmentMode
from notifications.models import Device, OutboxMessage
from tests import factories
from tests.concurrency import race

PASSWORD = "correct horse battery staple"  # the factories' password
ERROR_KEYS = {"code", "detail", "fields"}
TOKEN = "/api/v1/auth/token/"
REGISTER = "/api/v1/auth/register/"
# The rates a deployment runs with (the test settings raise them for the rest of the suite).
PRODUCTION_RATES = {"anon": "60/min", "user": "600/min", "auth": "30/min"}


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The project's error shape, as JSON, with this status and code."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["code"] == code, body
    return body


def _wrong_login(client: APIClient, email: str, n: int) -> Any:
    return client.post(
        TOKEN,
        {"email": email, "password": f"wrong password {n}"},
        format="json",
        HTTP_X_FORWARDED_FOR=f"203.0.113.{n % 250}, 198.51.100.{n % 200}",
    )


@pytest.fixture
def production_rates(settings: Any) -> Iterator[None]:
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": PRODUCTION_RATES,
    }
    cache.clear()  # no throttle history from an earlier test
    yield
    cache.clear()


# --- the client address: X-Forwarded-For only through trusted proxies ----------------------------


def test_seventy_wrong_passwords_with_varying_x_forwarded_for_are_stopped(
    production_rates: None, customer: User
) -> None:
    client = APIClient()

    statuses = [_wrong_login(client, customer.email, n).status_code for n in range(70)]

    assert 429 in statuses, statuses
    first = statuses.index(429)
    assert set(statuses[:first]) == {401}
    assert set(statuses[first:]) == {429}
    assert first <= django_settings.LOGIN_FAILURE_LIMIT
    # The account is locked out: even the right password, from another address, is refused,
    # in the error shape, not as a page.
    right = client.post(
        TOKEN,
        {"email": customer.email, "password": PASSWORD},
        format="json",
        REMOTE_ADDR="10.1.2.3",
    )
    _error(right, 429, "locked_out")
    assert int(right["Retry-After"]) == django_settings.LOGIN_LOCKOUT_MINUTES * 60
    assert "access" not in right.json()


def test_varying_x_forwarded_for_does_not_reset_the_login_rate_limit(
    production_rates: None, db: None
) -> None:
    client = APIClient()

    # A different account each time: only the per-address rate limit can stop this.
    responses = [_wrong_login(client, f"nobody{n}@example.com", n) for n in range(40)]

    statuses = [r.status_code for r in responses]
    assert statuses.index(429) == 30, statuses  # THROTTLE_AUTH: 30 a minute
    _error(responses[-1], 429, "throttled")
    assert int(responses[-1]["Retry-After"]) > 0


def test_one_address_trying_many_accounts_is_locked_out(db: None) -> None:
    client = APIClient()
    limit = django_settings.LOGIN_FAILURE_LIMIT_PER_IP
    victim = factories.UserFactory()

    # The last of these is the one that reaches the limit.
    statuses = [_wrong_login(client, f"nobody{n}@example.com", n).status_code for n in range(limit)]
    after = client.post(
        TOKEN,
        {"email": victim.email, "password": PASSWORD},
        format="json",
        HTTP_X_FORWARDED_FOR="192.0.2.77",
    )

    assert set(statuses[:-1]) == {401}
    assert statuses[-1] == 429
    _error(after, 429, "locked_out")
    # Another address is not affected.
    elsewhere = client.post(
        TOKEN, {"email": victim.email, "password": PASSWORD}, format="json", REMOTE_ADDR="10.9.8.7"
    )
    assert elsewhere.status_code == 200


def test_the_client_address_is_the_one_the_trusted_proxies_saw(settings: Any) -> None:
    from backend.core.client_ip import client_ip

    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9, 10.0.0.1"
    )
    settings.NUM_PROXIES = 0
    assert client_ip(request) == "10.0.0.2"
    settings.NUM_PROXIES = 1
    assert client_ip(request) == "10.0.0.1"
    settings.NUM_PROXIES = 2
    assert client_ip(request) == "203.0.113.9"
    garbage = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="<script>")
    assert client_ip(garbage) == "10.0.0.2"


def test_behind_one_proxy_each_client_has_its_own_rate_limit(
    production_rates: None, settings: Any, db: None
) -> None:
    settings.NUM_PROXIES = 1
    client = APIClient()

    def attempt(n: int, forwarded_for: str) -> int:
        response = client.post(
            TOKEN,
            {"email": f"nobody{n}@example.com", "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )
        return response.status_code

    # What the client itself puts in front of the header changes nothing...
    spoofed = [attempt(n, f"198.51.100.{n}, 203.0.113.5") for n in range(31)]
    # ...while another client behind the same proxy is not throttled.
    other = attempt(99, "203.0.113.6")

    assert spoofed[-1] == 429
    assert other == 401


# --- login lockout on the admin and the managers' dashboard ---------------------------------


@pytest.mark.parametrize(
    ("login", "then"), [("/admin/login/", "/admin/"), ("/manager/login/", "/manager/")]
)
def test_session_logins_lock_out_after_repeated_failures(db: None, login: str, then: str) -> None:
    person = User.objects.create_superuser(email="ops@example.com", password=PASSWORD)
    factories.MembershipFactory(user=person)
    client = Client()

    failures = [
        client.post(login, {"username": person.email, "password": f"guess {n}", "next": then})
        for n in range(django_settings.LOGIN_FAILURE_LIMIT)
    ]
    right = client.post(login, {"username": person.email, "password": PASSWORD, "next": then})

    assert all(f.status_code in (200, 429) for f in failures)
    assert failures[-1].status_code == 429
    assert right.status_code == 429
    assert right["Content-Type"].startswith("text/html")
    assert b"Too many failed logins" in right.content
    assert "_auth_user_id" not in client.session
    assert client.get(then).status_code == 302  # still sent to the login page


# --- rate limits of login and registration fail closed ----------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def redis_down(settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
        }
    }


def test_with_redis_down_registration_and_login_refuse_rather_than_go_unlimited(
    redis_down: None, customer: User, api: Callable[..., APIClient]
) -> None:
    register = APIClient().post(
        REGISTER, {"email": "new@example.com", "password": "a long passphrase 42"}, format="json"
    )
    login = APIClient().post(TOKEN, {"email": customer.email, "password": PASSWORD}, format="json")

    _error(register, 503, "rate_limit_unavailable")
    _error(login, 503, "rate_limit_unavailable")
    assert int(login["Retry-After"]) > 0
    assert not User.objects.filter(email="new@example.com").exists()
    # Everything else keeps working on its fail-open limits.
    assert api(customer).get("/api/v1/me/").status_code == 200


# --- request body sizes -------------------------------------------------------------------------


def test_an_oversized_json_body_is_a_413_for_anonymous_and_signed_in_callers(
    customer: User, api: Callable[..., APIClient]
) -> None:
    padding = "x" * django_settings.REQUEST_BODY_MAX_BYTES
    body = json.dumps({"email": "big@example.com", "password": "a long passphrase", "pad": padding})

    anonymous = APIClient().post(REGISTER, body, content_type="application/json")
    signed_in = api(customer).patch("/api/v1/me/", body, content_type="application/json")

    _error(anonymous, 413, "request_too_large")
    _error(signed_in, 413, "request_too_large")
    assert not User.objects.filter(email="big@example.com").exists()


def test_deeply_nested_json_is_a_400_not_a_500(
    customer: User, api: Callable[..., APIClient]
) -> None:
    body = "[" * 100_000 + "]" * 100_000

    response = api(customer).patch("/api/v1/me/", body, content_type="application/json")

    _error(response, 400, "malformed_request")


def test_a_proof_photo_may_be_larger_than_a_json_body(
    store: Any, api: Callable[..., APIClient], settings: Any
) -> None:
    settings.REQUEST_BODY_MAX_BYTES = 64 * 1024
    settings.PROOF_PHOTO_MAX_BYTES = 512 * 1024
    request = factories.DeliveryRequestFactory(store=store)
    driver = factories.DriverFactory()
    deliver = f"/api/v1/delivery-requests/{request.pk}/deliver/"
    photo = ("door.jpg", b"\xff\xd8" + b"0" * 200 * 1024, "image/jpeg")

    within = api(driver).post(f"{deliver}photo/", {"photo": _upload(*photo)}, format="multipart")
    too_big = api(driver).post(
        f"{deliver}photo/",
        {"photo": _upload("door.jpg", b"0" * 600 * 1024, "image/jpeg")},
        format="multipart",
    )
    json_as_big = api(driver).post(deliver, {"delivery_code": "1" * 200 * 1024}, format="json")

    assert within.status_code != 413  # the view decides (here: not this driver's, 404)
    _error(too_big, 413, "request_too_large")
    _error(json_as_big, 413, "request_too_large")


def _upload(name: str, content: bytes, content_type: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


# --- bounded dates -----------------------------------------------------------------------------


def _trip_body(store_pk: int, **overrides: Any) -> dict[str, Any]:
    now = timezone.now()
    return {
        "store_id": store_pk,
        "departure_earliest": now.isoformat(),
        "departure_latest": (now + timedelta(hours=1)).isoformat(),
        "destination": {"lat": 45.7800, "lng": 4.8800},
        "max_detour_min": 15,
        **overrides,
    }


@pytest.mark.parametrize(
    "departure_latest",
    [
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-05:00",
        timedelta(days=2, hours=2),  # after the two days trips can be declared ahead
        timedelta(hours=5),  # a five-hour window
    ],
    ids=["year 9999", "year 9999 west of UTC", "past two days", "five hours"],
)
def test_a_departure_window_ends_within_two_days_and_lasts_a_few_hours(
    store: Any, driver: User, api: Callable[..., APIClient], departure_latest: str | timedelta
) -> None:
    if isinstance(departure_latest, timedelta):
        departure_latest = (timezone.now() + departure_latest).isoformat()
    response = api(driver).post(
        "/api/v1/trips/", _trip_body(store.pk, departure_latest=departure_latest), format="json"
    )

    body = _error(response, 400, "invalid")
    assert "departure_latest" in body["fields"]
    assert not driver.trips.exists()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "9999-12-01", "to": "9999-12-31"}, "to"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01", "to": "0001-01-31", "granularity": "week"}, "from"),
    ],
)
def test_a_kpi_range_in_year_9999_is_a_400_naming_the_field(
    store: Any, manager: User, api: Callable[..., APIClient], query: dict[str, str], field: str
) -> None:
    client = api(manager)
    for path in ("kpis/", "export/requests.csv", "export/kpis.csv"):
        response = client.get(f"/api/v1/manager/stores/{store.pk}/{path}", query)

        body = _error(response, 400, "invalid")
        assert field in body["fields"], (path, body)


def test_the_dashboard_never_fails_on_a_far_away_period(store: Any, manager: User) -> None:
    client = Client()
    client.force_login(manager)
    far = {"from": "9999-12-01", "to": "9999-12-31"}

    page = client.get(f"/manager/stores/{store.pk}/", far)
    exports = [
        client.get(f"/manager/stores/{store.pk}/export/{name}", far)
        for name in ("requests.csv", "kpis.csv")
    ]

    assert page.status_code == 200
    assert "The period was not valid" in page.content.decode()
    assert [e.status_code for e in exports] == [400, 400]
    assert all(b"to" in e.content for e in exports)


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59Z"]
)
def test_far_away_date_filters_are_a_400_or_an_answer_never_a_500(
    store: Any, manager: User, api: Callable[..., APIClient], moment: str
) -> None:
    response = api(manager).get(
        f"/api/v1/manager/stores/{store.pk}/requests/",
        {"created_after": moment, "created_before": moment},
    )

    assert response.status_code in (200, 400), response.content[:300]


# --- devices and FCM tokens -----------------------------------------------------------------


def _register(client: APIClient, token: str) -> Any:
    return client.post("/api/v1/devices/", {"token": token, "platform": "android"}, format="json")


def test_registering_one_device_too_many_drops_the_least_recently_seen(
    customer: User, api: Callable[..., APIClient], settings: Any
) -> None:
    settings.NOTIFICATIONS_MAX_DEVICES_PER_USER = 3
    client = api(customer)
    for n in range(3):
        assert _register(client, f"fcm:phone-{n}").status_code == 201
    # phone-0 was seen again since: phone-1 is now the least recently seen.
    assert _register(client, "fcm:phone-0").status_code == 200

    newest = _register(client, "fcm:phone-3")

    assert newest.status_code == 201
    tokens = set(Device.objects.filter(user=customer).values_list("token", flat=True))
    assert tokens == {"fcm:phone-0", "fcm:phone-2", "fcm:phone-3"}


def test_another_accounts_fcm_token_does_not_move_until_that_account_logs_out(
    customer: User, api: Callable[..., APIClient]
) -> None:
    other = factories.UserFactory()
    assert _register(api(customer), "fcm:shared-phone").status_code == 201

    taken = _register(api(other), "fcm:shared-phone")

    _error(taken, 409, "device_token_in_use")
    assert Device.objects.get(token="fcm:shared-phone").user_id == customer.pk

    # The first account logs out on that phone: its device row goes with the session.
    tokens = (
        APIClient()
        .post(TOKEN, {"email": customer.email, "password": PASSWORD}, format="json")
        .json()
    )
    logout = api(customer).post(
        "/api/v1/auth/logout/",
        {"refresh": tokens["refresh"], "device_token": "fcm:shared-phone"},
        format="json",
    )
    assert logout.status_code == 204
    assert not Device.objects.filter(token="fcm:shared-phone").exists()

    assert _register(api(other), "fcm:shared-phone").status_code == 201
    assert Device.objects.get(token="fcm:shared-phone").user_id == other.pk


def test_a_token_fcm_reported_gone_may_be_registered_by_another_account(
    customer: User, api: Callable[..., APIClient]
) -> None:
    other = factories.UserFactory()
    _register(api(customer), "fcm:reissued")
    Device.objects.update(is_active=False, deactivation_reason="UnregisteredError")

    moved = _register(api(other), "fcm:reissued")

    assert moved.status_code == 200
    device = Device.objects.get(token="fcm:reissued")
    assert (device.user_id, device.is_active) == (other.pk, True)
    assert not OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING).exists()


# --- the earnings cap under concurrent responses ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_earnings_cap_holds_under_two_concurrent_responses(
    store: Any, api: Callable[..., APIClient], settings: Any
) -> None:
    settings.EARNINGS_YEARLY_CAP_EUR = Decimal("30")
    store.assignment_mode = AssignmentMode.FIRST_RESPONSE
    store.save()
    driver = factories.DriverFactory()
    # Two trips of the same driver: no trip row is shared, only the driver.
    offers = [
        factories.OfferFactory(
            request=factories.DeliveryRequestFactory(store=store),
            trip=factories.TripFactory(store=store, driver=driver),
            fee_eur=Decimal("20.00"),
        )
        for _ in range(2)
    ]
    client = api(driver)

    responses = race(
        [(lambda o=offer.pk: client.post(f"/api/v1/offers/{o}/respond/")) for offer in offers]
    )

    assert sorted(r.status_code for r in responses) == [200, 409]
    refused = next(r for r in responses if r.status_code == 409)
    assert refused.json()["code"] == "earnings_cap_reached"
    held = DeliveryRequest.objects.filter(assigned_driver=driver, state=RequestState.ASSIGNED)
    assert held.count() == 1
    assert sum(r.agreed_fee_eur for r in held) <= settings.EARNINGS_YEARLY_CAP_EUR
    assert Offer.objects.filter(state=OfferState.SELECTED).count() == 1
