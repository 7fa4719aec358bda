"""Data hygiene: CSV cells that cannot run as formulas, an erasure that leaves no trace of the
home anywhere in the database, a complete data export, a registration that does not tell who has
an account, password change and reset that end every session, production settings that refuse
the published keys and the demo accounts."""

import csv
import io
import os
import re
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from PIL import Image

from backend.accounts.models import User
from backend.core.models import IdempotencyRecord
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.matching.models import Trip
from backend.matching.services import offer_respond
from backend.stores.models import StoreMembership
from notifications.models import Device, InboxItem, NotificationPreference
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different long passphrase 77"

# Alex's home: distinctive digits, so that any copy of them in a text column is found.
HOME_LAT, HOME_LNG = 45.771234, 4.893717
HOME_ADDRESS = "7 Impasse des Glycines, Bron"
HOME_PHONE = "+33 6 41 52 63 74"


# --- CSV -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reference", ['=HYPERLINK("http://evil.example")', "+1+2", "-2+3", "@SUM(A1)", "\tX", "\rX"]
)
def test_csv_cells_from_free_text_cannot_run_as_formulas(api, store, manager, reference):  # type: ignore[no-untyped-def]
    factories.DeliveryRequestFactory(store=store, order_reference=reference)
    today = timezone.now().date()
    response = api(manager).get(
        f"/api/v1/manager/stores/{store.pk}/export/requests.csv",
        {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))},
    )

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["order_reference"] == "'" + reference
    # The product's own numbers stay numbers.
    assert rows[0]["fee_eur"] == "5.00"


def test_every_csv_the_product_writes_goes_through_the_neutralising_writer() -> None:
    from backend.analytics import exports

    response = exports.csv_response(iter([["=1+1", 3, "ok", "-x"]]), "x.csv")
    written = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    assert written.strip() == "'=1+1,3,ok,'-x"
    # Nothing else in the product writes CSV.
    writers = [
        path.relative_to(ROOT).as_posix()
        for folder in ("backend", "notifications", "routing")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"csv\.(writer|DictWriter)\(", path.read_text())
    ]
    assert writers == ["backend/analytics/exports.py"]


# --- erasure ---------------------------------------------------------------------------------


def _photo() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format="JPEG")
    return SimpleUploadedFile("door.jpg", buffer.getvalue(), content_type="image/jpeg")


def _deliver_with_photo(
    api, request: DeliveryRequest, driver: User, near: tuple[float, float], **trip: Any
):  # type: ignore[no-untyped-def]
    """The driver takes the request, picks it up, reports a position at the door and delivers it
    with a photo."""
    trip = factories.TripFactory(driver=driver, store=request.store, **trip)
    offer = factories.OfferFactory(request=request, trip=trip)
    offer_respond(offer_id=offer.pk, driver=driver)
    request.refresh_from_db()
    client = api(driver)
    base = f"/api/v1/delivery-requests/{request.pk}"
    desk = api(factories.MembershipFactory(store=request.store).user)  # the store hands it over
    handed = desk.post(
        f"/api/v1/desk/requests/{request.pk}/pickup/", {"pickup_code": request.pickup_code}
    )
    assert handed.status_code == 200, handed.json()
    position = {"position": {"lat": near[0], "lng": near[1]}}
    assert client.post(f"{base}/position/", position).status_code == 200
    delivered = client.post(f"{base}/deliver/photo/", {"photo": _photo()}, format="multipart")
    assert delivered.status_code == 200, delivered.json()
    request.refresh_from_db()
    assert request.proof_photo
    assert request.proof_photo.storage.exists(request.proof_photo.name)
    return request


def _columns(kinds: str) -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        if kinds == "spatial":
            cursor.execute(
                "SELECT f_table_name, f_geometry_column, 'geometry' FROM geometry_columns"
                " WHERE f_table_schema = 'public'"
                " UNION ALL SELECT f_table_name, f_geography_column, 'geography'"
                " FROM geography_columns WHERE f_table_schema = 'public'"
            )
        else:
            cursor.execute(
                "SELECT c.table_name, c.column_name, c.data_type"
                " FROM information_schema.columns c JOIN information_schema.tables t"
                " ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
                " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
                " AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')"
                "      OR (c.data_type = 'ARRAY' AND c.udt_name IN ('_text', '_varchar')))"
            )
        return [tuple(row) for row in cursor.fetchall()]  # type: ignore[misc]


def _traces_of_home(email: str) -> list[str]:
    """Every place in the whole database that still holds the home: a geometry or geography
    within 50 m of it, or a text (or JSON) column holding its address, its coordinates as
    printed, the contact phone or the e-mail."""
    found = []
    spatial = _columns("spatial")
    assert len(spatial) >= 5  # stores, requests (drop-off, driver position), trips, commute
    home = f"SRID=4326;POINT({HOME_LNG} {HOME_LAT})"
    with connection.cursor() as cursor:
        for table, column, _ in spatial:
            cursor.execute(
                f'SELECT count(*) FROM "{table}"'  # noqa: S608 (names from the catalogue)
                f' WHERE ST_DWithin("{column}"::geography, %s::geography, 50)',
                [home],
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column} (within 50 m)")
        needles = [
            HOME_ADDRESS,
            "Glycines",
            f"{HOME_LAT:.4f}",
            f"{HOME_LNG:.4f}",
            HOME_PHONE,
            HOME_PHONE.replace(" ", ""),
            email,
        ]
        texts = _columns("text")
        assert len(texts) >= 40
        for table, column, _ in texts:
            for needle in needles:
                cursor.execute(
                    f'SELECT count(*) FROM "{table}"'  # noqa: S608 (names from the catalogue)
                    f""" WHERE strpos(lower("{column}"::text), lower(%s)) > 0""",
                    [needle],
                )
                if cursor.fetchone()[0]:
                    found.append(f"{table}.{column} ({needle!r})")
    return found


@pytest.fixture
def alex_everywhere(api, store):  # type: ignore[no-untyped-def]
    """Alex, a store's staff member who drives home and also has parcels delivered home, who
    used every part of the product that keeps something."""
    alex = factories.DriverFactory(full_name="Alex Durand", phone=HOME_PHONE)
    StoreMembership.objects.create(store=store, user=alex, role=StoreMembership.Role.STAFF)
    client = api(alex)
    home = {"lat": HOME_LAT, "lng": HOME_LNG}
    now = timezone.now()
    # The drive home, declared and as a commute (both idempotent: their answers are kept).
    trip = client.post(
        "/api/v1/trips/",
        {
            "store_id": store.pk,
            "departure_earliest": (now + timedelta(minutes=10)).isoformat(),
            "departure_latest": (now + timedelta(minutes=40)).isoformat(),
            "destination": home,
            "max_detour_min": 15,
        },
        HTTP_IDEMPOTENCY_KEY="alex-trip",
    )
    assert trip.status_code == 201, trip.json()
    commute = client.post(
        "/api/v1/commute-profiles/",
        {
            "store": store.pk,
            "weekdays": [0, 1, 2, 3, 4],
            "shift_end": "18:00",
            "home": home,
            "max_detour_s": 600,
        },
        HTTP_IDEMPOTENCY_KEY="alex-commute",
    )
    assert commute.status_code == 201, commute.json()
    # A parcel of Alex's own, posted with an idempotency key, delivered home with a photo by
    # Bob, whose last position is at Alex's door.
    posted = client.post(
        "/api/v1/delivery-requests/",
        {
            "store_id": store.pk,
            "order_reference": "A-77",
            "dropoff_address": HOME_ADDRESS,
            "dropoff": home,
            "contact_phone": HOME_PHONE,
            "access_notes": "Gate code 4521, behind the Glycines",
            "window_start": (now + timedelta(minutes=30)).isoformat(),
            "window_end": (now + timedelta(hours=3)).isoformat(),
            "parcels": [{"weight_kg": "12.0", "volume_l": "80", "longest_side_cm": 90}],
        },
        HTTP_IDEMPOTENCY_KEY="alex-request",
    )
    assert posted.status_code == 201, posted.json()
    own = DeliveryRequest.objects.get(pk=posted.json()["id"])
    bob = factories.DriverFactory()
    # Bob drives home southwards: the reach of his own trip does not cover Alex's home (a
    # geometry of someone else that merely covers it would be no trace of it).
    own = _deliver_with_photo(
        api,
        own,
        bob,
        near=(HOME_LAT + 0.0001, HOME_LNG),
        destination=factories.point(45.70, 4.88),
        max_detour_s=60,
    )
    rated = client.post(f"/api/v1/delivery-requests/{own.pk}/rating/", {"stars": 5})
    assert rated.status_code == 201
    bob_rates = api(bob).post(
        f"/api/v1/delivery-requests/{own.pk}/rating/",
        {"stars": 4, "comment": f"Left at {HOME_ADDRESS} as asked"},
    )
    assert bob_rates.status_code == 201
    # A parcel Alex delivered to someone else, with a photo and a last position.
    driven = _deliver_with_photo(
        api, factories.DeliveryRequestFactory(store=store), alex, near=(45.7601, 4.8800)
    )
    # Phones, preferences, and notifications that mention the home (as any payload could).
    registered = client.post(
        "/api/v1/devices/", {"token": "fcm-token-of-alex-phone-0123456789", "platform": "android"}
    )
    assert registered.status_code == 201, registered.json()
    prefs = client.patch(
        "/api/v1/notifications/preferences/",
        {"muted_events": ["request.rate"], "time_zone": "Europe/Paris"},
    )
    assert prefs.status_code == 200, prefs.json()
    assert InboxItem.objects.filter(user=alex).exists()
    InboxItem.objects.create(
        user=alex,
        event="request.delivered",
        title="Delivered",
        body=f"Your parcel is at {HOME_ADDRESS}",
        language="en",
        payload={"request_id": own.pk, "where": f"{HOME_LAT},{HOME_LNG}"},
    )
    assert IdempotencyRecord.objects.filter(user=alex).count() == 3
    return {"alex": alex, "own": own, "driven": driven, "bob": bob}


@pytest.mark.django_db(transaction=True)
def test_erasure_leaves_no_trace_of_the_home_anywhere_in_the_database(api, alex_everywhere):  # type: ignore[no-untyped-def]
    alex = alex_everywhere["alex"]
    email = alex.email
    # Before: the search finds the home (so that an empty result afterwards means something).
    before = _traces_of_home(email)
    assert any("trip" in place for place in before), before
    assert any("idempotencyrecord" in place for place in before), before
    photos = [alex_everywhere["own"].proof_photo.name, alex_everywhere["driven"].proof_photo.name]
    proofs = alex_everywhere["own"].proof_photo.storage
    assert all(proofs.exists(name) for name in photos)

    assert api(alex).delete("/api/v1/me/").status_code == 204

    left = _traces_of_home(email)
    assert left == [], "\n".join(left)
    for name in photos:
        assert not proofs.exists(name), name
    for request in (alex_everywhere["own"], alex_everywhere["driven"]):
        request.refresh_from_db()
        assert request.proof_photo.name == ""
        assert request.driver_position is None
        assert request.state == RequestState.DELIVERED  # the history stays
    for trip in Trip.objects.filter(driver=alex):
        assert trip.direct_m == 0
        assert trip.destination == trip.store.location
    assert not IdempotencyRecord.objects.filter(user=alex).exists()
    assert not InboxItem.objects.filter(user=alex).exists()
    assert not Device.objects.filter(user=alex).exists()
    assert not NotificationPreference.objects.filter(user=alex).exists()


# --- export ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_my_data_export_holds_my_inbox_devices_and_preferences(api, customer):  # type: ignore[no-untyped-def]
    client = api(customer)
    token = "fcm-" + "x" * 60 + "-tail"
    client.post("/api/v1/devices/", {"token": token, "platform": "ios", "app_version": "2.1"})
    client.patch(
        "/api/v1/notifications/preferences/",
        {
            "muted_events": ["request.rate"],
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "07:00",
        },
    )
    InboxItem.objects.create(
        user=customer,
        event="request.delivered",
        title="Delivered",
        body="Your parcel is here",
        language="en",
        payload={"request_id": 3},
    )

    export = client.get("/api/v1/me/export/")

    assert export.status_code == 200
    body = export.json()
    assert [(i["event"], i["body"], i["payload"]) for i in body["inbox"]] == [
        ("request.delivered", "Your parcel is here", {"request_id": 3})
    ]
    assert len(body["devices"]) == 1
    device = body["devices"][0]
    assert (device["platform"], device["app_version"], device["is_active"]) == ("ios", "2.1", True)
    # The token is a credential for pushing to the phone: only its end is shown.
    assert token not in export.content.decode()
    assert device["token_end"] == token[-6:]
    assert body["notification_preferences"]["muted_events"] == ["request.rate"]
    assert body["notification_preferences"]["quiet_hours_start"] == "22:00:00"
    assert "commute_profiles" in body


@pytest.mark.django_db
def test_the_export_schema_names_the_new_parts(api, customer):  # type: ignore[no-untyped-def]
    schema = api(customer).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    export = schema["components"]["schemas"]["DataExport"]["properties"]
    assert {"inbox", "devices", "notification_preferences", "commute_profiles"} <= set(export)


# --- registration ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_registering_a_taken_email_answers_exactly_like_a_new_one_and_sends_a_mail(  # type: ignore[no-untyped-def]
    api, customer, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        new = api().post(
            "/api/v1/auth/register/", {"email": "New.Person@Example.com", "password": PASSWORD}
        )
    with django_capture_on_commit_callbacks(execute=True):
        taken = api().post(
            "/api/v1/auth/register/",
            {"email": customer.email.upper(), "password": NEW_PASSWORD, "full_name": "Mallory"},
        )

    assert new.status_code == taken.status_code
    assert new.status_code in (201, 202)
    assert new.json() == taken.json()
    assert {k: v for k, v in new.items() if k.lower() != "date"} == {
        k: v for k, v in taken.items() if k.lower() != "date"
    }
    assert User.objects.filter(email="new.person@example.com").exists()
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)
    assert customer.full_name != "Mallory"
    assert [m.to for m in mailoutbox] == [["new.person@example.com"], [customer.email]]
    assert "already have an account" in mailoutbox[1].body
    assert "/auth/password/reset/" in mailoutbox[1].body or "reset" in mailoutbox[1].body.lower()


@pytest.mark.django_db
def test_the_email_backend_comes_from_the_environment() -> None:
    from django.conf import settings

    assert settings.EMAIL_BACKEND == "django.core.mail.backends.locmem.EmailBackend"
    assert (
        _settings_value("dev", "EMAIL_BACKEND") == "django.core.mail.backends.console.EmailBackend"
    )
    assert (
        _settings_value(
            "dev", "EMAIL_BACKEND", EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"
        )
        == "django.core.mail.backends.dummy.EmailBackend"
    )


# --- password change and reset ----------------------------------------------------------------


def _login(api, email: str, password: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    tokens = api().post("/api/v1/auth/token/", {"email": email, "password": password})
    assert tokens.status_code == 200, tokens.json()
    return tokens.json()


def _refresh_works(api, refresh: str) -> bool:  # type: ignore[no-untyped-def]
    return api().post("/api/v1/auth/token/refresh/", {"refresh": refresh}).status_code == 200


@pytest.mark.django_db
def test_changing_my_password_ends_every_session(api, customer):  # type: ignore[no-untyped-def]
    phone, laptop = _login(api, customer.email, PASSWORD), _login(api, customer.email, PASSWORD)
    client = api(customer)

    wrong = client.post(
        "/api/v1/auth/password/change/",
        {"old_password": "not it at all", "new_password": NEW_PASSWORD},
    )
    weak = client.post(
        "/api/v1/auth/password/change/", {"old_password": PASSWORD, "new_password": "123"}
    )
    assert wrong.status_code == weak.status_code == 400
    assert "old_password" in wrong.json()["fields"]
    assert "new_password" in weak.json()["fields"]
    assert _refresh_works(api, phone["refresh"])

    changed = client.post(
        "/api/v1/auth/password/change/", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert changed.status_code == 200, changed.json()
    assert not _refresh_works(api, phone["refresh"])
    assert not _refresh_works(api, laptop["refresh"])
    # The device that changed it gets a fresh pair; the new password logs in, the old one not.
    assert _refresh_works(api, changed.json()["refresh"])
    assert (
        api()
        .post("/api/v1/auth/token/", {"email": customer.email, "password": PASSWORD})
        .status_code
        == 401
    )
    _login(api, customer.email, NEW_PASSWORD)
    assert api().post("/api/v1/auth/password/change/", {}).status_code == 401


def _reset_link(body: str) -> tuple[str, str]:
    found = re.search(r"uid=([\w-]+)&token=([\w-]+)", body)
    assert found, body
    return found.group(1), found.group(2)


@pytest.mark.django_db
def test_resetting_a_forgotten_password_by_mail_ends_every_session(  # type: ignore[no-untyped-def]
    api, customer, mailoutbox, django_capture_on_commit_callbacks
):
    session = _login(api, customer.email, PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        known = api().post("/api/v1/auth/password/reset/", {"email": customer.email.upper()})
    with django_capture_on_commit_callbacks(execute=True):
        unknown = api().post("/api/v1/auth/password/reset/", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [m.to for m in mailoutbox] == [[customer.email]]
    uid, token = _reset_link(mailoutbox[0].body)

    bad = api().post(
        "/api/v1/auth/password/reset/confirm/",
        {"uid": uid, "token": token[:-2] + "zz", "new_password": NEW_PASSWORD},
    )
    assert bad.status_code == 400
    assert "token" in bad.json()["fields"]
    assert _refresh_works(api, session["refresh"])

    confirmed = api().post(
        "/api/v1/auth/password/reset/confirm/",
        {"uid": uid, "token": token, "new_password": NEW_PASSWORD},
    )

    assert confirmed.status_code == 204
    assert not _refresh_works(api, session["refresh"])
    _login(api, customer.email, NEW_PASSWORD)
    # The link works once: the password it was made for has changed.
    again = api().post(
        "/api/v1/auth/password/reset/confirm/",
        {"uid": uid, "token": token, "new_password": "yet another long passphrase 9"},
    )
    assert again.status_code == 400


@pytest.mark.django_db
def test_password_reset_requests_are_throttled_like_registration(api, monkeypatch):  # type: ignore[no-untyped-def]
    from backend.core.throttling import AuthThrottle

    # The login and registration throttle's count for the test client's address (only that key:
    # the Redis database may be shared).
    key = AuthThrottle.cache_format % {"scope": "auth", "ident": "127.0.0.1"}
    cache.delete(key)
    monkeypatch.setattr(AuthThrottle, "rate", "3/min", raising=False)
    try:
        registered = api().post(
            "/api/v1/auth/register/", {"email": "someone@example.com", "password": PASSWORD}
        )
        answers = [
            api().post("/api/v1/auth/password/reset/", {"email": f"p{i}@example.com"}).status_code
            for i in range(3)
        ]
    finally:
        cache.delete(key)
    # Registration and reset requests share one budget per address, which fails closed.
    assert registered.status_code == 202
    assert answers == [202, 202, 429]


@pytest.mark.django_db
def test_the_new_auth_endpoints_are_documented(api, customer):  # type: ignore[no-untyped-def]
    paths = api(customer).get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in ("change/", "reset/", "reset/confirm/"):
        operation = paths[f"/api/v1/auth/password/{path}"]["post"]
        assert operation["tags"] == ["auth"]
        assert operation.get("summary")


# --- production settings ---------------------------------------------------------------------


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "DEMO_DATA_ALLOWED", "EMAIL_BACKEND"}
    }
    # Nothing here may reach a real database.
    environment["DATABASE_URL"] = "postgis://nobody@127.0.0.1:1/nothing"
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True
    )


def _settings_value(module: str, name: str, **env: str) -> Any:
    code = (
        f"import importlib; m = importlib.import_module('backend.config.settings.{module}');"
        f" print(getattr(m, {name!r}))"
    )
    done = _python(code, **env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _prod(secret_key: str) -> subprocess.CompletedProcess[str]:
    return _python(
        "import backend.config.settings.prod", SECRET_KEY=secret_key, ALLOWED_HOSTS="example.com"
    )


def test_prod_refuses_the_published_keys_and_short_ones() -> None:
    published = [
        _settings_value("dev", "SECRET_KEY"),
        _settings_value("test", "SECRET_KEY"),
        "change-me-compose-only-secret-key-0123456789",  # the compose file's former fallback
    ]
    for key in [*published, "x" * 49, secrets.token_urlsafe(30)]:
        refused = _prod(key)
        assert refused.returncode != 0, key
        assert "ImproperlyConfigured" in refused.stderr, key
        assert "SECRET_KEY" in refused.stderr, key
    assert _prod(secrets.token_urlsafe(50)).returncode == 0


def test_the_compose_file_has_no_fallback_key() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "change-me" not in compose
    assert re.search(r"SECRET_KEY: \$\{SECRET_KEY:\?", compose)


# --- demo accounts ---------------------------------------------------------------------------


def test_demo_accounts_are_refused_under_prod_settings() -> None:
    for allowed in ("", "true"):
        env = {"DJANGO_SETTINGS_MODULE": "backend.config.settings.prod"}
        if allowed:
            env["DEMO_DATA_ALLOWED"] = allowed
        done = _python(
            "import sys; from django.core.management import execute_from_command_line;"
            " execute_from_command_line(['manage.py', 'seed_demo'])",
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="example.com",
            **env,
        )
        assert done.returncode != 0
        assert "demo" in done.stderr.lower(), done.stderr
        assert "production" in done.stderr.lower(), done.stderr
        assert "OperationalError" not in done.stderr  # refused before touching any database


@pytest.mark.django_db
def test_the_demo_loader_refuses_unless_debug_or_allowed() -> None:
    from backend.simulation.demo import DemoDataRefused, demo_load

    with override_settings(DEBUG=False, DEMO_DATA_ALLOWED=False), pytest.raises(DemoDataRefused):
        demo_load()
    assert not User.objects.filter(email__endswith="@demo.example").exists()


# --- dependency audit ------------------------------------------------------------------------


def _audit_module():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("audit_deps", ROOT / "scripts" / "audit_deps.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["audit_deps"] = module  # dataclasses look their module up while it loads
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["audit_deps"]
    return module


def test_pinned_pillow_has_the_fix() -> None:
    pins = dict(
        line.split("==")
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    version = tuple(int(part) for part in pins["Pillow"].split(".")[:3])
    assert version >= (12, 1, 1)  # CVE-2026-25990
    assert "pip-audit==" in (ROOT / "requirements-dev.txt").read_text()
    assert "audit_deps.py" in (ROOT / "scripts" / "lint.sh").read_text()


VULNERABLE = (
    '{"dependencies": [{"name": "pillow", "version": "11.3.0", "vulns": [{"id": "CVE-2026-25990",'
    ' "fix_versions": ["12.1.1"]}]}], "fixes": []}'
)
CLEAN = '{"dependencies": [{"name": "pillow", "version": "12.3.0", "vulns": []}], "fixes": []}'
NOT_FOUND = (
    '{"dependencies": [{"name": "pillow", "skip_reason": "Dependency not found on PyPI and could'
    ' not be audited: pillow (12.3.0)"}], "fixes": []}'
)
UNRESOLVED = "requests.exceptions.ConnectionError: NameResolutionError: api.osv.dev"


@pytest.mark.parametrize(
    ("answers", "strict", "status", "said"),
    [
        # A finding fails the lint.
        ({"pypi": VULNERABLE}, False, 1, "VULNERABLE pillow 11.3.0: CVE-2026-25990"),
        ({"pypi": CLEAN}, False, 0, "1 packages audited"),
        ({"pypi": NOT_FOUND, "osv": VULNERABLE}, False, 1, "VULNERABLE pillow"),
        # No service reachable (what this workplace gives): reported, failing only when strict.
        ({"pypi": NOT_FOUND, "osv": UNRESOLVED}, False, 0, "NOT AUDITED"),
        ({"pypi": NOT_FOUND, "osv": UNRESOLVED}, True, 1, "NOT AUDITED"),
        # pip-audit failing for another reason fails the lint.
        ({"pypi": "ValueError: bad requirements file"}, False, 1, "FAILED"),
    ],
)
def test_the_dependency_audit_tells_a_finding_from_a_network_failure(  # type: ignore[no-untyped-def]
    monkeypatch, capsys, answers, strict, status, said
):
    audit = _audit_module()

    def fake_run(command, **kwargs):  # type: ignore[no-untyped-def]
        answer = answers[command[command.index("--vulnerability-service") + 1]]
        if answer.startswith("{"):
            return subprocess.CompletedProcess(command, 0, stdout=answer, stderr="")
        return subprocess.CompletedProcess(command, 1, stdout="", stderr=f"Traceback\n{answer}")

    monkeypatch.setattr(audit.subprocess, "run", fake_run)
    if strict:
        monkeypatch.setenv("AUDIT_STRICT", "1")
    else:
        monkeypatch.delenv("AUDIT_STRICT", raising=False)

    assert audit.main() == status
    assert said in capsys.readouterr().out
