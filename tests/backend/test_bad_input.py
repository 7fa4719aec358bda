"""Bad input gets a 400 naming the field, never a 500: coordinates out of range or outside the
service area, windows in the past or reversed, negative or absurd sizes, unknown store, text over
its limit, malformed JSON, wrong types. A hypothesis test posts generated garbage."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.accounts.models import DriverProfile
from backend.deliveries.models import DeliveryRequest, Parcel
from backend.matching.models import CommuteProfile, Trip
from backend.stores.models import POLICY_FIELDS, Store
from tests import factories

ERROR_KEYS = {"code", "detail", "fields"}


def _iso(delta: timedelta) -> str:
    return (timezone.now() + delta).isoformat()


_request_body = factories.request_body
_trip_body = factories.trip_body


def _profile_body(**overrides: Any) -> dict[str, Any]:
    return {
        "vehicle_type": "estate",
        "capacity_kg": "150",
        "capacity_l": "1000",
        "max_length_cm": 180,
        **overrides,
    }


def _named(body: dict[str, Any], field: str) -> bool:
    """The field is named in ``fields``: as a key, or as the head of a nested key such as
    ``parcels[0].weight_kg``."""
    fields = body["fields"]
    return any(key == field or key.startswith((f"{field}[", f"{field}.")) for key in fields)


def _assert_rejected(response: Any, field: str) -> None:
    assert response.status_code == 400, (response.status_code, response.content[:400])
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert _named(body, field), body["fields"]


# --- POST /api/v1/delivery-requests/ ------------------------------------------------------------

PAST = timedelta(hours=-2)
SOON = timedelta(minutes=20)
LATER = timedelta(hours=3)
REQUEST_CASES = [
    # coordinates out of range or outside the service area
    ("lat above 90", {"dropoff": {"lat": 91, "lng": 4.88}}, "dropoff"),
    ("lat below -90", {"dropoff": {"lat": -90.5, "lng": 4.88}}, "dropoff"),
    ("lng above 180", {"dropoff": {"lat": 45.76, "lng": 180.01}}, "dropoff"),
    ("lat not a number", {"dropoff": {"lat": "north", "lng": 4.88}}, "dropoff"),
    ("lat NaN", {"dropoff": {"lat": "NaN", "lng": 4.88}}, "dropoff"),
    ("both NaN", {"dropoff": {"lat": "nan", "lng": "nan"}}, "dropoff"),
    ("lng Infinity", {"dropoff": {"lat": 45.76, "lng": "Infinity"}}, "dropoff"),
    ("missing lng", {"dropoff": {"lat": 45.76}}, "dropoff"),
    ("dropoff a string", {"dropoff": "12 Rue des Tilleuls"}, "dropoff"),
    ("dropoff a list", {"dropoff": [45.76, 4.88]}, "dropoff"),
    ("outside the service area", {"dropoff": {"lat": 46.5, "lng": 4.88}}, "dropoff"),
    ("other side of the world", {"dropoff": {"lat": -45.73, "lng": -175.12}}, "dropoff"),
    # windows in the past, reversed, too short, too far ahead, wrong types
    (
        "window in the past",
        {"window_start": _iso(PAST), "window_end": _iso(timedelta(hours=-1))},
        "window_start",
    ),
    ("reversed window", {"window_start": _iso(LATER), "window_end": _iso(SOON)}, "window_end"),
    ("empty window", {"window_start": _iso(LATER), "window_end": _iso(LATER)}, "window_end"),
    (
        "window of ten minutes",
        {"window_start": _iso(SOON), "window_end": _iso(SOON + timedelta(minutes=10))},
        "window_end",
    ),
    ("window a month ahead", {"window_end": _iso(timedelta(days=30))}, "window_end"),
    ("window_start not a date", {"window_start": "tomorrow"}, "window_start"),
    ("window_start a number", {"window_start": 1735689600}, "window_start"),
    ("window_start year 1", {"window_start": "0001-01-01T00:00:00+05:00"}, "window_start"),
    ("window_end impossible date", {"window_end": "2030-02-31T10:00:00Z"}, "window_end"),
    # negative or absurd sizes
    (
        "negative weight",
        {"parcels": [{"weight_kg": "-1", "volume_l": "1", "longest_side_cm": 1}]},
        "parcels",
    ),
    (
        "zero weight",
        {"parcels": [{"weight_kg": "0", "volume_l": "1", "longest_side_cm": 1}]},
        "parcels",
    ),
    (
        "absurd weight",
        {"parcels": [{"weight_kg": "1e9", "volume_l": "1", "longest_side_cm": 1}]},
        "parcels",
    ),
    (
        "weight NaN",
        {"parcels": [{"weight_kg": "NaN", "volume_l": "1", "longest_side_cm": 1}]},
        "parcels",
    ),
    (
        "above the store's max weight",
        {"parcels": [{"weight_kg": "61", "volume_l": "1", "longest_side_cm": 1}]},
        "parcels",
    ),
    (
        "negative volume",
        {"parcels": [{"weight_kg": "1", "volume_l": "-5", "longest_side_cm": 1}]},
        "parcels",
    ),
    (
        "absurd length",
        {"parcels": [{"weight_kg": "1", "volume_l": "1", "longest_side_cm": 10**12}]},
        "parcels",
    ),
    (
        "length not a number",
        {"parcels": [{"weight_kg": "1", "volume_l": "1", "longest_side_cm": "long"}]},
        "parcels",
    ),
    ("missing weight", {"parcels": [{"volume_l": "1", "longest_side_cm": 1}]}, "parcels"),
    ("no parcels", {"parcels": []}, "parcels"),
    (
        "eleven parcels",
        {"parcels": [{"weight_kg": "1", "volume_l": "1", "longest_side_cm": 1}] * 11},
        "parcels",
    ),
    ("parcels an object", {"parcels": {"weight_kg": "1"}}, "parcels"),
    ("parcel a string", {"parcels": ["wardrobe"]}, "parcels"),
    # unknown store and wrong types
    ("unknown store", {"store_id": 999_999}, "store_id"),
    ("store id zero", {"store_id": 0}, "store_id"),
    ("store id beyond bigint", {"store_id": 2**70}, "store_id"),
    ("store id a string", {"store_id": "store-one"}, "store_id"),
    ("store id null", {"store_id": None}, "store_id"),
    ("store id a list", {"store_id": [1]}, "store_id"),
    # text over its limit
    ("order reference too long", {"order_reference": "R" * 65}, "order_reference"),
    ("address too long", {"dropoff_address": "A" * 256}, "dropoff_address"),
    ("notes too long", {"access_notes": "N" * 501}, "access_notes"),
    ("phone too long", {"contact_phone": "+33" + "6" * 40}, "contact_phone"),
    ("phone not a phone", {"contact_phone": "call me maybe"}, "contact_phone"),
    ("address with a NUL", {"dropoff_address": "12 Rue\x00des Tilleuls"}, "dropoff_address"),
    ("address an object", {"dropoff_address": {"street": "Rue"}}, "dropoff_address"),
    ("empty address", {"dropoff_address": ""}, "dropoff_address"),
]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [pytest.param(overrides, field, id=name) for name, overrides, field in REQUEST_CASES],
)
def test_a_bad_delivery_request_gets_a_400_naming_the_field(api, store, customer, overrides, field):  # type: ignore[no-untyped-def]
    response = api(customer).post(
        "/api/v1/delivery-requests/", _request_body(store.pk, **overrides), format="json"
    )

    _assert_rejected(response, field)
    assert not DeliveryRequest.objects.exists()
    assert not Parcel.objects.exists()


@pytest.mark.parametrize("missing", ["store_id", "dropoff", "window_start", "parcels"])
def test_a_delivery_request_missing_a_field_names_it(api, store, customer, missing):  # type: ignore[no-untyped-def]
    body = _request_body(store.pk)
    del body[missing]
    _assert_rejected(api(customer).post("/api/v1/delivery-requests/", body, format="json"), missing)


def test_the_good_delivery_request_body_is_accepted(api, store, customer):  # type: ignore[no-untyped-def]
    """The bodies above differ from this one only where they are bad."""
    response = api(customer).post(
        "/api/v1/delivery-requests/", _request_body(store.pk), format="json"
    )
    assert response.status_code == 201, response.json()


# --- POST /api/v1/trips/ ------------------------------------------------------------------------

TRIP_CASES = [
    ("destination lat above 90", {"destination": {"lat": 90.0001, "lng": 4.88}}, "destination"),
    ("destination lng below -180", {"destination": {"lat": 45.78, "lng": -181}}, "destination"),
    ("destination NaN", {"destination": {"lat": "nan", "lng": "nan"}}, "destination"),
    ("destination a string", {"destination": "home"}, "destination"),
    ("destination over 100 km", {"destination": {"lat": 47.0, "lng": 4.88}}, "destination"),
    (
        "departure in the past",
        {"departure_earliest": _iso(timedelta(hours=-3)), "departure_latest": _iso(PAST)},
        "departure_latest",
    ),
    (
        "reversed departure",
        {"departure_earliest": _iso(LATER), "departure_latest": _iso(SOON)},
        "departure_latest",
    ),
    (
        "departure a week ahead",
        {
            "departure_earliest": _iso(timedelta(days=7)),
            "departure_latest": _iso(timedelta(days=7, hours=1)),
        },
        "departure_earliest",
    ),
    ("departure not a date", {"departure_earliest": "after work"}, "departure_earliest"),
    ("negative detour", {"max_detour_min": -1}, "max_detour_min"),
    ("absurd detour", {"max_detour_min": 100_000}, "max_detour_min"),
    ("detour a string", {"max_detour_min": "a bit"}, "max_detour_min"),
    ("detour a float", {"max_detour_min": 10.5}, "max_detour_min"),
    ("negative capacity", {"capacity_kg": "-10"}, "capacity_kg"),
    ("zero capacity", {"capacity_l": "0"}, "capacity_l"),
    ("capacity above the vehicle's", {"capacity_kg": "500"}, "capacity_kg"),
    ("absurd capacity", {"capacity_kg": "1e20"}, "capacity_kg"),
    ("absurd length", {"max_length_cm": 5000}, "max_length_cm"),
    ("unknown store", {"store_id": 424_242}, "store_id"),
    ("store id beyond bigint", {"store_id": 2**70}, "store_id"),
    ("store id a bool", {"store_id": True}, "store_id"),
]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [pytest.param(overrides, field, id=name) for name, overrides, field in TRIP_CASES],
)
def test_a_bad_trip_gets_a_400_naming_the_field(api, store, driver, overrides, field):  # type: ignore[no-untyped-def]
    response = api(driver).post("/api/v1/trips/", _trip_body(store.pk, **overrides), format="json")

    _assert_rejected(response, field)
    assert not Trip.objects.exists()


def test_the_good_trip_body_is_accepted(api, store, driver):  # type: ignore[no-untyped-def]
    response = api(driver).post("/api/v1/trips/", _trip_body(store.pk), format="json")
    assert response.status_code == 201, response.json()


# --- PUT /api/v1/me/driver-profile/ -------------------------------------------------------------

PROFILE_CASES = [
    ("unknown vehicle", {"vehicle_type": "rocket"}, "vehicle_type"),
    ("vehicle a number", {"vehicle_type": 3}, "vehicle_type"),
    ("zero capacity", {"capacity_kg": "0"}, "capacity_kg"),
    ("negative capacity", {"capacity_kg": "-1"}, "capacity_kg"),
    ("absurd capacity", {"capacity_kg": "99999"}, "capacity_kg"),
    ("capacity NaN", {"capacity_kg": "NaN"}, "capacity_kg"),
    ("capacity a word", {"capacity_l": "plenty"}, "capacity_l"),
    ("absurd volume", {"capacity_l": "1e30"}, "capacity_l"),
    ("negative length", {"max_length_cm": -20}, "max_length_cm"),
    ("absurd length", {"max_length_cm": 10**9}, "max_length_cm"),
    ("length a list", {"max_length_cm": [150]}, "max_length_cm"),
    ("missing capacity", {"capacity_kg": None}, "capacity_kg"),
]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [pytest.param(overrides, field, id=name) for name, overrides, field in PROFILE_CASES],
)
def test_a_bad_driver_profile_gets_a_400_naming_the_field(api, customer, overrides, field):  # type: ignore[no-untyped-def]
    body = {k: v for k, v in _profile_body(**overrides).items() if v is not None}
    response = api(customer).put("/api/v1/me/driver-profile/", body, format="json")

    _assert_rejected(response, field)
    assert not DriverProfile.objects.filter(user=customer).exists()


def test_a_bad_update_leaves_an_existing_driver_profile_as_it_was(api, driver):  # type: ignore[no-untyped-def]
    response = api(driver).put(
        "/api/v1/me/driver-profile/", _profile_body(capacity_kg="-3"), format="json"
    )
    _assert_rejected(response, "capacity_kg")
    driver.driver_profile.refresh_from_db()
    assert driver.driver_profile.capacity_kg == Decimal("200")


# --- PATCH /api/v1/manager/stores/{id}/policy/ --------------------------------------------------

POLICY_CASES = [
    ("unknown mode", {"assignment_mode": "lottery"}, "assignment_mode"),
    ("fan-out zero", {"offer_fanout_k": 0}, "offer_fanout_k"),
    ("fan-out absurd", {"offer_fanout_k": 10_000}, "offer_fanout_k"),
    ("fan-out a word", {"offer_fanout_k": "five"}, "offer_fanout_k"),
    ("offer lifetime negative", {"offer_lifetime_s": -60}, "offer_lifetime_s"),
    ("offer lifetime absurd", {"offer_lifetime_s": 10**10}, "offer_lifetime_s"),
    ("collection window negative", {"collection_window_s": -1}, "collection_window_s"),
    ("negative base fee", {"fee_base_eur": "-1.00"}, "fee_base_eur"),
    ("base fee NaN", {"fee_base_eur": "NaN"}, "fee_base_eur"),
    ("fee with too many decimals", {"fee_per_detour_km_eur": "0.555"}, "fee_per_detour_km_eur"),
    ("min fee above max fee", {"fee_min_eur": "20.00"}, "fee_min_eur"),
    ("min fee above a new max fee", {"fee_min_eur": "10.00", "fee_max_eur": "5.00"}, "fee_min_eur"),
    ("absurd max fee", {"fee_max_eur": "100000"}, "fee_max_eur"),
    ("zero max weight", {"max_parcel_weight_kg": "0"}, "max_parcel_weight_kg"),
    ("absurd max volume", {"max_parcel_volume_l": "1e9"}, "max_parcel_volume_l"),
    ("tiny max length", {"max_parcel_length_cm": 1}, "max_parcel_length_cm"),
    ("service radius too small", {"service_radius_m": 100}, "service_radius_m"),
    ("service radius absurd", {"service_radius_m": 10**7}, "service_radius_m"),
    ("service radius a list", {"service_radius_m": [5000]}, "service_radius_m"),
]


def _policy(store: Store) -> dict[str, Any]:
    store.refresh_from_db()
    return {name: getattr(store, name) for name in POLICY_FIELDS}


@pytest.mark.parametrize(
    ("changes", "field"),
    [pytest.param(changes, field, id=name) for name, changes, field in POLICY_CASES],
)
def test_a_bad_store_policy_gets_a_400_naming_the_field(api, store, manager, changes, field):  # type: ignore[no-untyped-def]
    before = _policy(store)
    response = api(manager).patch(
        f"/api/v1/manager/stores/{store.pk}/policy/", changes, format="json"
    )

    _assert_rejected(response, field)
    assert _policy(store) == before


# --- malformed bodies ---------------------------------------------------------------------------

MALFORMED = [
    pytest.param(b'{"store_id": 1,', id="truncated"),
    pytest.param(b"{'store_id': 1}", id="single quotes"),
    pytest.param(b'{"store_id": NaN}', id="NaN literal"),
    pytest.param(b'{"store_id": Infinity}', id="Infinity literal"),
    pytest.param(b"\xff\xfe\x00{", id="not UTF-8"),
    pytest.param(b"", id="empty"),
    pytest.param(b"[1, 2, 3]", id="a list"),
    pytest.param(b'"just a string"', id="a string"),
    pytest.param(b"null", id="null"),
    pytest.param(b"42", id="a number"),
]
MALFORMED_TARGETS = [
    ("post", "/api/v1/delivery-requests/", "customer"),
    ("post", "/api/v1/trips/", "driver"),
    ("put", "/api/v1/me/driver-profile/", "customer"),
    ("patch", "/api/v1/manager/stores/{store}/policy/", "manager"),
    ("post", "/api/v1/commute-profiles/", "driver"),
    ("post", "/api/v1/auth/register/", None),
]


@pytest.mark.parametrize(("method", "url", "role"), MALFORMED_TARGETS)
@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_json_gets_a_400_in_the_error_shape(  # type: ignore[no-untyped-def]
    api, store, customer, driver, manager, method, url, role, raw
):
    users = {"customer": customer, "driver": driver, "manager": manager, None: None}
    client = api(users[role])
    before = (DeliveryRequest.objects.count(), Trip.objects.count(), _policy(store))

    response = getattr(client, method)(
        url.format(store=store.pk), data=raw, content_type="application/json"
    )

    if raw == b"" and method == "patch":
        # An empty PATCH body is no change at all, not malformed.
        assert response.status_code == 200, response.content[:300]
    else:
        assert response.status_code == 400, (response.status_code, response.content[:300])
        assert set(response.json()) == ERROR_KEYS
    assert (DeliveryRequest.objects.count(), Trip.objects.count(), _policy(store)) == before


def test_a_body_that_is_not_json_gets_a_415(api, store, customer):  # type: ignore[no-untyped-def]
    response = api(customer).post(
        "/api/v1/delivery-requests/", data="store_id=1", content_type="text/plain"
    )
    assert response.status_code == 415
    assert set(response.json()) == ERROR_KEYS


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/delivery-requests/99999999999999999999/",
        "/api/v1/trips/99999999999999999999/",
        "/api/v1/stores/99999999999999999999/",
        "/api/v1/offers/99999999999999999999/",
        "/api/v1/commute-profiles/99999999999999999999/",
        "/api/v1/notifications/99999999999999999999/",
    ],
)
def test_an_id_beyond_bigint_in_the_path_is_not_found(api, driver, url):  # type: ignore[no-untyped-def]
    response = api(driver).get(url)
    assert response.status_code == 404, (response.status_code, response.content[:300])
    assert set(response.json()) == ERROR_KEYS


# --- generated garbage --------------------------------------------------------------------------

NASTY_STRINGS = [
    "",
    " ",
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "1e999",
    "-1",
    "0",
    "1" * 40,
    "2026-13-45T25:61:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T12:00:00+14:00",
    "\x00",
    "a\x00b",
    "'; DROP TABLE stores; --",
    "\u202e\U0001f4e6",
    "x" * 3000,
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(NASTY_STRINGS)
)
garbage = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
coordinate_garbage = st.one_of(
    garbage,
    st.fixed_dictionaries({"lat": garbage, "lng": garbage}),
    st.fixed_dictionaries({"lat": scalars, "lng": st.floats(-200, 200)}),
)


def _targets(store: Store) -> dict[str, tuple[str, str, str, dict[str, Any]]]:
    return {
        "request": ("post", "/api/v1/delivery-requests/", "customer", _request_body(store.pk)),
        "trip": ("post", "/api/v1/trips/", "driver", _trip_body(store.pk)),
        "profile": ("put", "/api/v1/me/driver-profile/", "customer", _profile_body()),
        "policy": (
            "patch",
            f"/api/v1/manager/stores/{store.pk}/policy/",
            "manager",
            {"offer_fanout_k": 3, "fee_min_eur": "2.00", "service_radius_m": 12_000},
        ),
        "commute": (
            "post",
            "/api/v1/commute-profiles/",
            "manager",
            {
                "store": store.pk,
                "weekdays": [0, 1],
                "shift_end": "18:00",
                "home": {"lat": 45.79, "lng": 4.9},
                "max_detour_s": 600,
            },
        ),
        "register": (
            "post",
            "/api/v1/auth/register/",
            "anon",
            {"email": "someone@example.com", "password": "correct horse battery staple"},
        ),
    }


@st.composite
def _bodies(draw: st.DrawFn, valid: dict[str, Any]) -> Any:
    """Pure garbage, or the valid body with some fields replaced, dropped or nested garbage."""
    if draw(st.integers(0, 3)) == 0:
        return draw(garbage)
    body = dict(valid)
    for name in draw(st.lists(st.sampled_from(sorted(valid)), min_size=1, max_size=3)):
        action = draw(st.sampled_from(["replace", "drop", "coordinate", "parcel"]))
        if action == "drop":
            body.pop(name, None)
        elif action == "coordinate":
            body[name] = draw(coordinate_garbage)
        elif action == "parcel" and name == "parcels":
            keys = ["weight_kg", "volume_l", "longest_side_cm", "fragile", "description"]
            parcel = dict(valid["parcels"][0])
            parcel[draw(st.sampled_from(keys))] = draw(garbage)
            body[name] = [parcel] * draw(st.integers(0, 12))
        else:
            body[name] = draw(garbage)
    if draw(st.booleans()):
        body[draw(st.text(max_size=8))] = draw(garbage)
    return body


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_garbage_never_gets_a_5xx_nor_writes_half_a_row(
    api, store, customer, driver, manager, data
):  # type: ignore[no-untyped-def]
    users = {"customer": customer, "driver": driver, "manager": manager, "anon": None}
    target = data.draw(st.sampled_from(sorted(_targets(store))), label="target")
    method, url, role, valid = _targets(store)[target]
    body = data.draw(_bodies(valid), label="body")
    counts = (
        DeliveryRequest.objects.count(),
        Parcel.objects.count(),
        Trip.objects.count(),
        CommuteProfile.objects.count(),
    )
    policy = _policy(store)
    profile = DriverProfile.objects.filter(user=customer).values().first()

    response = getattr(api(users[role]), method)(url, body, format="json")

    assert response.status_code < 500, (response.status_code, response.content[:500])
    if response.status_code >= 400:
        error = response.json()
        assert set(error) == ERROR_KEYS, error
        assert isinstance(error["fields"], dict)
        if response.status_code == 400:
            assert error["fields"], error  # a 400 names what was wrong
        assert (
            DeliveryRequest.objects.count(),
            Parcel.objects.count(),
            Trip.objects.count(),
            CommuteProfile.objects.count(),
        ) == counts
        assert _policy(store) == policy
        assert DriverProfile.objects.filter(user=customer).values().first() == profile
