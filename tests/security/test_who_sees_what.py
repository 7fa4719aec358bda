"""Who sees what of a delivery request, and what the detours shown to drivers give away.

The table below is the product's rule (``backend/deliveries/visibility.py``, the README's "Who
sees what"), written out again here on its own so that the code is held to it: each role, in
each state of a request, gets one shape (or nothing), and each field is in that shape or not.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from backend.accounts.models import User
from backend.core.travel import straight_line
from backend.deliveries import services as delivery_services
from backend.deliveries.models import DeliveryRequest
from backend.deliveries.visibility import area_radius_m, dropoff_area
from backend.matching import services as matching_services
from backend.matching.models import Trip
from backend.stores.models import AssignmentMode, StoreMembership
from tests import factories

# --- the table ----------------------------------------------------------------------------------

# Every shape names itself in ``audience`` (the discriminator of the API schema's union).
BASE = {"audience", "id", "store", "parcels", "window_start", "window_end", "fee_eur", "state"}
BASE |= {"created_at"}
SHAPES: dict[str, frozenset[str]] = {
    "customer": frozenset(
        BASE
        | {"order_reference", "dropoff_address", "dropoff", "contact_phone", "access_notes"}
        | {"delivery_code", "driver", "first_response_at", "assigned_at", "picked_up_at"}
        | {"delivered_at", "cancelled_by", "cancel_reason", "review_required"}
        | {"proof", "proof_photo_url"}
    ),
    "driver": frozenset(
        BASE
        | {"dropoff_address", "dropoff", "contact_phone", "access_notes", "pickup_code"}
        | {"customer_first_name", "assigned_at", "picked_up_at", "delivered_at"}
        | {"review_required"}
    ),
    "offered": frozenset(BASE | {"dropoff_area"}),
    "desk": frozenset(
        {"audience", "id", "store", "order_reference", "parcels", "state", "created_at"}
        | {"assigned_at"}
        | {"picked_up_at", "driver_first_name"}
    ),
    "manager": frozenset(
        BASE
        | {"order_reference", "dropoff_address", "dropoff", "contact_phone", "access_notes"}
        # No pickup code: the desk checks the pass the driver shows, the store never holds it.
        | {"customer_name", "driver", "first_response_at", "assigned_at"}
        | {"picked_up_at", "delivered_at", "closed_at", "cancelled_by", "cancel_reason"}
        | {"review_required", "review_reason", "proof", "proof_review", "proof_photo_url"}
        | {"pickup_code_attempts", "delivery_code_attempts"}
    ),
}
ALL_FIELDS = sorted(set().union(*SHAPES.values()))

STATES = ("open", "assigned", "picked_up", "delivered", "failed", "cancelled", "expired")
CUS, DRV, OFR, DSK, MGR = "customer", "driver", "offered", "desk", "manager"
NOT = None  # not found
# Who reads which shape of a request of store A in each state (None: not found). The assigned
# driver is ``driver``; ``staff_driver`` works at store A's desk and drives requests of their
# own (read on those), and was offered the open and the expired one; ``offered_driver`` holds a
# live offer for the open request (withdrawn once it is assigned or expires).
WHO_SEES_WHAT: dict[str, tuple[str | None, ...]] = {
    #                  open  assigned picked_up delivered failed cancelled expired
    "customer":        (CUS, CUS,     CUS,      CUS,      CUS,   CUS,      CUS),
    "assigned_driver": (NOT, DRV,     DRV,      OFR,      OFR,   OFR,      NOT),
    "offered_driver":  (OFR, NOT,     NOT,      NOT,      NOT,   NOT,      NOT),
    "staff":           (DSK, DSK,     DSK,      DSK,      DSK,   DSK,      DSK),
    "staff_driver":    (OFR, DRV,     DRV,      OFR,      OFR,   OFR,      DSK),
    "manager":         (MGR, MGR,     MGR,      MGR,      MGR,   MGR,      MGR),
    "other_manager":   (NOT, NOT,     NOT,      NOT,      NOT,   NOT,      NOT),
    "stranger":        (NOT, NOT,     NOT,      NOT,      NOT,   NOT,      NOT),
}  # fmt: skip
ROLES = tuple(WHO_SEES_WHAT)


@dataclass(frozen=True)
class Seen:
    """The answer to ``GET /api/v1/delivery-requests/{id}/``."""

    status: int
    body: dict[str, Any]
    text: str


@dataclass
class World:
    users: dict[str, User]
    store_a: int
    # state -> request driven by ``assigned_driver``, and the same driven by ``staff_driver``
    requests: dict[str, DeliveryRequest]
    staff_driven: dict[str, DeliveryRequest]
    # (role, state) -> what that role got for the request in that state
    seen: dict[tuple[str, str], Seen] = field(default_factory=dict)

    def request_for(self, role: str, state: str) -> DeliveryRequest:
        return (self.staff_driven if role == "staff_driver" else self.requests)[state]


def _in_state(state: str, *, store: Any, customer: User, driver: User, offered: User, n: int):  # type: ignore[no-untyped-def]
    """A request of ``customer`` at ``store`` brought to ``state`` through the services:
    ``offered`` holds an offer made while it was open, ``driver`` took it (unless it never got
    that far)."""
    request = factories.DeliveryRequestFactory(
        store=store,
        customer=customer,
        order_reference=f"ORD-SEE-{n:03d}",
        dropoff_address=f"{n} Rue Cachée, Villeurbanne",
        dropoff_point=factories.point(45.7612 + n * 0.0001, 4.8837 + n * 0.0001),
        contact_phone=f"+33 7 44 55 66 {n:02d}",
        access_notes=f"Digicode {n}B, ring twice",
        pickup_code=f"{310000 + n * 11:06d}",
        delivery_code=f"{720000 + n * 11:06d}",
    )
    trips = {user.pk: Trip.objects.get(driver=user) for user in (driver, offered)}
    factories.OfferFactory(request=request, trip=trips[offered.pk])
    if state == "expired":
        now = timezone.now()
        DeliveryRequest.objects.filter(pk=request.pk).update(
            window_start=now - timedelta(hours=3), window_end=now - timedelta(minutes=1)
        )
        assert matching_services.requests_expire(now=now) == [request.pk]
    elif state != "open":
        taken = factories.OfferFactory(request=request, trip=trips[driver.pk])
        matching_services.offer_respond(offer_id=taken.pk, driver=driver)
        if state in ("picked_up", "delivered", "failed"):
            desk = factories.MembershipFactory(store=store).user  # the store hands it over
            delivery_services.request_pickup_confirm(
                request_id=request.pk, staff=desk, pickup_code=request.pickup_code
            )
        if state == "delivered":
            delivery_services.request_deliver(
                request_id=request.pk, driver=driver, delivery_code=request.delivery_code
            )
        elif state == "failed":
            matching_services.request_fail(request_id=request.pk, driver=driver, reason="Gone")
        elif state == "cancelled":
            matching_services.request_cancel(request_id=request.pk, by="customer")
    request.refresh_from_db()
    assert request.state == state
    return request


def _build_world() -> World:
    store_a = factories.StoreFactory(name="Store A", assignment_mode=AssignmentMode.FIRST_RESPONSE)
    store_b = factories.StoreFactory(name="Store B")
    drivers = {"assigned_driver", "offered_driver", "staff_driver", "stranger"}
    users = {
        role: (factories.DriverFactory if role in drivers else factories.UserFactory)(
            email=f"{role}@see.example.com", full_name=f"{role.title()} Person{i}"
        )
        for i, role in enumerate(ROLES)
    }
    for role, store, kind in (
        ("staff", store_a, StoreMembership.Role.STAFF),
        ("staff_driver", store_a, StoreMembership.Role.STAFF),
        ("manager", store_a, StoreMembership.Role.MANAGER),
        ("other_manager", store_b, StoreMembership.Role.MANAGER),
    ):
        factories.MembershipFactory(store=store, user=users[role], role=kind)
    for role in drivers:
        factories.TripFactory(driver=users[role], store=store_a)
    # The expired ones first: expiring sweeps every open request whose window is over.
    order = ("expired", *(state for state in STATES if state != "expired"))
    requests, staff_driven = {}, {}
    for n, state in enumerate(order):
        requests[state] = _in_state(
            state,
            store=store_a,
            customer=users["customer"],
            driver=users["assigned_driver"],
            offered=users["offered_driver"],
            n=2 * n,
        )
        staff_driven[state] = _in_state(
            state,
            store=store_a,
            customer=users["customer"],
            driver=users["staff_driver"],
            offered=users["staff_driver"] if state in ("open", "expired") else users["stranger"],
            n=2 * n + 1,
        )
    world = World(users, store_a.pk, requests, staff_driven)
    # Every role reads every request once (reads change nothing), for the tests below to judge.
    for role in ROLES:
        token = RefreshToken.for_user(users[role]).access_token
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        for state in STATES:
            request = world.request_for(role, state)
            response = client.get(f"/api/v1/delivery-requests/{request.pk}/")
            world.seen[role, state] = Seen(
                response.status_code, response.json(), response.content.decode()
            )
    return world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


@pytest.mark.parametrize("name", ALL_FIELDS)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_each_field_of_a_request_in_each_state_as_the_table_says(  # type: ignore[no-untyped-def]
    world, role, state, name
):
    audience = WHO_SEES_WHAT[role][STATES.index(state)]
    seen = world.seen[role, state]

    if audience is None:
        assert seen.status == 404, seen.text[:300]
        return
    assert seen.status == 200, seen.text[:300]
    assert (name in seen.body) == (name in SHAPES[audience])


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_each_shape_has_exactly_the_fields_of_the_table(world, role, state):  # type: ignore[no-untyped-def]
    audience = WHO_SEES_WHAT[role][STATES.index(state)]
    body = world.seen[role, state].body

    assert set(body) == ({"code", "detail", "fields"} if audience is None else SHAPES[audience])
    if audience is not None:
        assert body["audience"] == audience


@pytest.mark.parametrize("state", STATES)
def test_the_desk_learns_nothing_that_identifies_or_locates_the_customer(world, state):  # type: ignore[no-untyped-def]
    request = world.requests[state]
    text = world.seen["staff", state].text
    area = dropoff_area(request.dropoff_point)
    customer = world.users["customer"]

    for secret in (
        request.dropoff_address,
        request.contact_phone,
        request.access_notes,
        request.pickup_code,
        request.delivery_code,
        customer.full_name.split(" ")[0],
        customer.email,
        f"{request.dropoff_point.y:.4f}",
        f"{area.y:.2f}",
    ):
        assert secret not in text, secret
    body = world.seen["staff", state].body
    assert body["order_reference"] == request.order_reference
    driver = request.assigned_driver
    assert body["driver_first_name"] == (driver.full_name.split(" ")[0] if driver else None)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/manager/stores/{store}/requests/",
        "/api/v1/manager/stores/{store}/export/requests.csv",
        "/api/v1/manager/stores/{store}/attention/",
        "/api/v1/manager/stores/{store}/kpis/",
        "/api/v1/manager/stores/{store}/van-plan/",
        "/api/v1/manager/stores/{store}/policy/",
    ],
)
@pytest.mark.parametrize("role", ["staff", "staff_driver", "other_manager"])
def test_the_store_lists_are_for_its_managers_only(db, api, world, url, role):  # type: ignore[no-untyped-def]
    response = api(world.users[role]).get(url.format(store=world.store_a))
    assert response.status_code == 404
    if url.endswith("/requests/"):
        assert api(world.users["manager"]).get(url.format(store=world.store_a)).status_code == 200


# --- the three-trip attack ----------------------------------------------------------------------

# The area shown to offered drivers is the drop-off rounded to 0.01 degree: a cell about 1.1 km
# (north-south) by 0.78 km (east-west) here, whose centre is what the offered shape shows.
AREA_CENTRE = (45.7600, 4.8800)
# Drop-offs near two opposite corners of that cell, so that an attacker who only learns the cell
# misses them by most of the cell's half-diagonal.
DROPOFFS = [(45.7645, 4.8845), (45.7556, 4.8757)]
# Destinations the attacker chooses for their trips, all around the drop-off.
DESTINATIONS = [
    (45.7900, 4.8800),
    (45.7750, 4.9200),
    (45.7500, 4.9150),
    (45.7800, 4.8450),
    (45.7650, 4.8300),
    (45.7950, 4.9050),
    (45.7550, 4.8500),
    (45.8000, 4.8600),
]


def _haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lng1, lat2, lng2 = map(np.radians, (a[0], a[1], b[0], b[1]))
    h = np.sin((lat2 - lat1) / 2) ** 2
    h += np.cos(lat1) * np.cos(lat2) * np.sin((lng2 - lng1) / 2) ** 2
    return float(2 * 6_371_008.8 * np.arcsin(np.sqrt(h)))


@dataclass(frozen=True)
class Shown:
    """What one driver was shown about the request for one of their trips."""

    destination: tuple[float, float]
    detour_m: float | None = None
    detour_s: float | None = None
    fee_eur: float | None = None


def _attack(seen: list[Shown], store: Any, request_fee_eur: float, centre: tuple[float, float]):  # type: ignore[no-untyped-def]
    """Least squares over a 10 m grid of candidate drop-offs around the shown area, with the
    product's own travel model: the point whose predicted detours (metres, seconds, and the fee
    through the store's rule) best match what the drivers were shown."""
    travel = straight_line()
    store_point = np.array([[store.location.y, store.location.x]])
    step = 10 / 111_195  # degrees of latitude per 10 m
    lats = centre[0] + np.arange(-150, 151) * step
    lngs = centre[1] + np.arange(-150, 151) * step / np.cos(np.radians(centre[0]))
    grid = np.stack(np.meshgrid(lats, lngs, indexing="ij"), axis=-1).reshape(-1, 2)
    speed = float(settings.ROUTING_SPEED_KMH) / 3.6
    per_km = float(store.fee_per_detour_km_eur)
    to_grid = travel.between(store_point, grid).distance_m[0]
    cost = np.zeros(len(grid))
    for one in seen:
        home = np.array([one.destination])
        direct = travel.between(store_point, home).distance_m[0, 0]
        added_m = to_grid + travel.between(grid, home).distance_m[:, 0] - direct
        if one.detour_m is not None:
            cost += (added_m - one.detour_m) ** 2
        if one.detour_s is not None:
            added_s = added_m / speed + float(settings.DELIVERY_SERVICE_S)
            cost += ((added_s - one.detour_s) * speed) ** 2
        if one.fee_eur is not None and per_km > 0:
            raw = float(store.fee_base_eur) + per_km * added_m / 1000
            fee = np.clip(
                np.maximum(raw, request_fee_eur), float(store.fee_min_eur), float(store.fee_max_eur)
            )
            cost += ((fee - one.fee_eur) * 1000 / per_km) ** 2
    best = grid[int(np.argmin(cost))]
    return (float(best[0]), float(best[1]))


def _three_trip_world(dropoff: tuple[float, float]):  # type: ignore[no-untyped-def]
    store = factories.StoreFactory(offer_fanout_k=len(DESTINATIONS))
    request = factories.DeliveryRequestFactory(
        store=store,
        dropoff_point=factories.point(*dropoff),
        fee_eur=store.fee_min_eur,  # the store's rule, not a floor, sets every offer's fee
        window_start=timezone.now(),
        window_end=timezone.now() + timedelta(hours=3),
    )
    trips = [
        factories.TripFactory(
            store=store,
            destination=factories.point(*where),
            direct_m=round(_haversine_m((factories.STORE_LAT, factories.STORE_LNG), where)),
            max_detour_s=3600,
        )
        for where in DESTINATIONS
    ]
    return store, request, trips


def _what_drivers_see(api, request, trips) -> list[Shown]:  # type: ignore[no-untyped-def]
    """Every detour the attacker's drivers are shown: the offers, the feed and the push."""
    offers = matching_services.offers_create_for_request(request_id=request.pk)
    assert len(offers) == len(trips)
    seen = []
    for trip in trips:
        client = api(trip.driver)
        where = (trip.destination.y, trip.destination.x)
        listed = client.get("/api/v1/offers/").json()["results"]
        (offer,) = [o for o in listed if o["request"]["id"] == request.pk]
        seen.append(Shown(where, offer["detour_m"], offer["detour_s"], float(offer["fee_eur"])))
        feed = client.get(f"/api/v1/trips/{trip.pk}/opportunities/").json()
        (item,) = [o for o in feed if o["id"] == request.pk]
        seen.append(Shown(where, item["detour_m"], item["detour_s"]))
        inbox = client.get("/api/v1/notifications/").json()["results"]
        (push,) = [n["payload"] for n in inbox if n["event"] == "offer.new"]
        seen.append(Shown(where, None, push["detour_min"] * 60, push["fee_cents"] / 100))
    return seen


@pytest.mark.django_db
@pytest.mark.parametrize("dropoff", DROPOFFS)
def test_trips_with_chosen_destinations_do_not_locate_the_dropoff_within_its_area(api, dropoff):  # type: ignore[no-untyped-def]
    store, request, trips = _three_trip_world(dropoff)
    seen = _what_drivers_see(api, request, trips)

    guess = _attack(seen, store, float(request.fee_eur), AREA_CENTRE)

    # Every drop-off in the area is shown to drivers exactly alike (the test below), so no
    # estimate can depend on where in the area it lies: the best an attacker can do is the area
    # itself, about its centre. These drop-offs lie 0.9 of the area's radius from the centre; an
    # estimate that knows nothing finer than the area misses them by about that much, give or
    # take the rounding of the shown figures (the least squares wobble around the centre by a
    # few tens of metres here). Half the radius is the bar: the exact detours put the guess
    # within metres of the drop-off.
    radius_m = area_radius_m(request.dropoff_point)
    assert radius_m == pytest.approx(_haversine_m(AREA_CENTRE, (45.765, 4.885)), rel=1e-3)
    assert _haversine_m(dropoff, AREA_CENTRE) > 0.85 * radius_m
    assert _haversine_m(guess, dropoff) > 0.5 * radius_m, (guess, seen)


def _shown(api, trips, request) -> list[Any]:  # type: ignore[no-untyped-def]
    """Everything about ``request`` its drivers are shown, minus the ids."""
    views = []
    for trip in trips:
        client = api(trip.driver)
        offers = client.get("/api/v1/offers/").json()["results"]
        feed = client.get(f"/api/v1/trips/{trip.pk}/opportunities/").json()
        inbox = client.get("/api/v1/notifications/").json()["results"]
        for offer in offers:
            if offer["request"]["id"] == request.pk:
                views.append(("offer", offer["detour_m"], offer["detour_s"], offer["fee_eur"]))
                views.append(("area", offer["request"]["dropoff_area"]))
        for item in feed:
            if item["id"] == request.pk:
                views.append(("feed", item["detour_m"], item["detour_s"], item["dropoff_area"]))
        for push in inbox:
            if push["event"] == "offer.new" and push["payload"]["request_id"] == request.pk:
                payload = push["payload"]
                views.append(("push", payload["detour_min"], payload["fee_cents"], push["body"]))
        views.append(("feed rank", [item["id"] for item in feed].index(request.pk)))
    return views


@pytest.mark.django_db
def test_every_dropoff_in_an_area_is_shown_to_drivers_alike(api):  # type: ignore[no-untyped-def]
    store, near, trips = _three_trip_world(DROPOFFS[0])
    far = factories.DeliveryRequestFactory(
        store=store,
        dropoff_point=factories.point(*DROPOFFS[1]),
        fee_eur=near.fee_eur,
        window_start=near.window_start,
        window_end=near.window_end,
    )
    assert _haversine_m(DROPOFFS[0], DROPOFFS[1]) > 1000
    for request in (near, far):
        assert len(matching_services.offers_create_for_request(request_id=request.pk)) == len(trips)

    shown_near, shown_far = _shown(api, trips, near), _shown(api, trips, far)

    # Same offers, feed, pushes and fees, whichever of the two drop-offs 1.2 km apart it is; and
    # the feed lists them by shown detour, then id, so even its order cannot tell them apart.
    assert [view for view in shown_near if view[0] != "feed rank"] == [
        view for view in shown_far if view[0] != "feed rank"
    ]
    pairs = zip(shown_near, shown_far, strict=True)
    ranks = [(a[1], b[1]) for a, b in pairs if a[0] == "feed rank"]
    assert ranks == [(0, 1)] * len(trips)
    # Rounded to the minute and to 500 m, and the fee is the store's rule on the shown distance.
    for view in shown_near:
        if view[0] in ("offer", "feed"):
            assert view[1] % 500 == 0
            assert view[2] % 60 == 0
        if view[0] == "offer":
            assert Decimal(view[3]) == max(near.fee_eur, store.fee_for_detour_eur(view[1]))
