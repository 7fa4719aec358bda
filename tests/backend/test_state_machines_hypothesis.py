"""Random sequences of API calls never take the request/offer state machines to an invalid state.

A hypothesis rule-based machine posts requests, offers them, responds, declines, chooses,
cancels (customer and store), confirms pickups at the store's desk and delivers with right and
wrong codes, cancels trips and lets offers expire, across a few drivers and requests. After every
step the database is checked: requests only move along ``REQUEST_TRANSITIONS``, one selected
offer at most and it is the assigned driver's, held requests have a driver, and each trip's load
is exactly what it carries.
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from backend.accounts.models import User
from backend.deliveries.models import (
    HELD_STATES,
    REQUEST_TRANSITIONS,
    DeliveryRequest,
    Parcel,
    RequestState,
)
from backend.matching.models import Offer, OfferState, Trip
from backend.matching.services import offers_create_for_request, request_assign_best
from backend.stores.models import AssignmentMode, StoreMembership
from tests import factories

NOT_CARRIED = (RequestState.CANCELLED, RequestState.FAILED)


class DeliveryStateMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clients: dict[int, APIClient] = {}
        self.last_state: dict[int, str] = {}  # request id -> state seen after the last step
        self.calls: list[tuple[str, str, int]] = []

    # --- helpers --------------------------------------------------------------------------

    def _client(self, user: User) -> APIClient:
        if user.pk not in self.clients:
            client = APIClient()
            token = RefreshToken.for_user(user).access_token
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            self.clients[user.pk] = client
        return self.clients[user.pk]

    def _call(self, user: User, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        client = self._client(user)
        if body is None:
            response = getattr(client, method)(url)
        else:
            response = getattr(client, method)(url, body, format="json")
        self.calls.append((method, url, response.status_code))
        assert response.status_code < 500, (method, url, body, response.content[:500])
        if response.status_code >= 400:
            assert set(response.json()) == {"code", "detail", "fields"}
        return response

    def _request(self, data: st.DataObject, prefer: tuple[str, ...] = ()) -> DeliveryRequest:
        """Any tracked request, or mostly one in a ``prefer`` state when there is one (so the
        handover steps are tried on requests that can take them, and on others now and then)."""
        candidates = sorted(self.last_state)
        preferred = [pk for pk in candidates if self.last_state[pk] in prefer]
        if preferred and data.draw(st.integers(0, 3), label="prefer") > 0:
            candidates = preferred
        request_id = data.draw(st.sampled_from(candidates), label="request")
        return DeliveryRequest.objects.get(pk=request_id)

    def _offers(self) -> list[int]:
        return list(
            Offer.objects.filter(request_id__in=list(self.last_state))
            .order_by("id")
            .values_list("id", flat=True)
        )

    def has_requests(self) -> bool:
        return bool(self.last_state)

    def has_offers(self) -> bool:
        return (
            bool(self.last_state)
            and Offer.objects.filter(request_id__in=list(self.last_state)).exists()
        )

    # --- set-up ---------------------------------------------------------------------------

    @initialize(
        mode=st.sampled_from([mode.value for mode in AssignmentMode]),
        capacities_kg=st.lists(st.sampled_from([30, 50, 200]), min_size=3, max_size=3),
    )
    def open_the_store(self, mode: str, capacities_kg: list[int]) -> None:
        self.store = factories.StoreFactory(assignment_mode=mode)
        self.manager = factories.MembershipFactory(store=self.store).user
        self.desk = factories.MembershipFactory(
            store=self.store, role=StoreMembership.Role.STAFF
        ).user
        self.customers = [factories.UserFactory() for _ in range(2)]
        self.drivers = [factories.DriverFactory() for _ in range(3)]
        self.trips = [
            factories.TripFactory(
                driver=driver,
                store=self.store,
                capacity_kg=Decimal(capacity),
                departure_latest=timezone.now() + timedelta(hours=3),
            )
            for driver, capacity in zip(self.drivers, capacities_kg, strict=True)
        ]
        # Start with two matched requests, so short runs already reach the later states.
        for customer, weight_kg in ((0, "20.0"), (1, "25.0")):
            self.post_a_request(customer=customer, weights_kg=[weight_kg])
        for request_id in list(self.last_state):
            offers_create_for_request(request_id=request_id)

    # --- customers ------------------------------------------------------------------------

    @rule(
        customer=st.integers(0, 1),
        weights_kg=st.lists(st.sampled_from(["5.0", "20.0", "45.0"]), min_size=1, max_size=2),
    )
    def post_a_request(self, customer: int, weights_kg: list[str]) -> None:
        body = {
            "store_id": self.store.pk,
            "order_reference": "ORD-SM",
            "dropoff_address": "12 Rue des Tilleuls, Villeurbanne",
            "dropoff": {"lat": 45.7600, "lng": 4.8800},
            "contact_phone": "+33 6 98 76 54 32",
            "window_start": (timezone.now() + timedelta(minutes=20)).isoformat(),
            "window_end": (timezone.now() + timedelta(hours=3)).isoformat(),
            "parcels": [
                {"weight_kg": weight, "volume_l": "50.0", "longest_side_cm": 100}
                for weight in weights_kg
            ],
        }
        response = self._call(self.customers[customer], "post", "/api/v1/delivery-requests/", body)
        assert response.status_code == 201, response.json()
        assert response.json()["state"] == RequestState.OPEN
        self.last_state[response.json()["id"]] = RequestState.OPEN

    @precondition(has_requests)
    @rule(data=st.data())
    def match_a_request(self, data: st.DataObject) -> None:
        offers_create_for_request(request_id=self._request(data).pk)  # what the task does

    @precondition(has_offers)
    @rule(data=st.data())
    def customer_chooses(self, data: st.DataObject) -> None:
        offer = Offer.objects.select_related("request").get(
            pk=data.draw(st.sampled_from(self._offers()), label="offer")
        )
        customer = User.objects.get(pk=offer.request.customer_id)
        self._call(
            customer,
            "post",
            f"/api/v1/delivery-requests/{offer.request_id}/choose/",
            {"offer_id": offer.pk},
        )

    @precondition(has_requests)
    @rule(data=st.data())
    def customer_cancels(self, data: st.DataObject) -> None:
        request = self._request(data)
        customer = User.objects.get(pk=request.customer_id)
        self._call(customer, "post", f"/api/v1/delivery-requests/{request.pk}/cancel/", {})

    @precondition(has_requests)
    @rule(data=st.data())
    def store_cancels(self, data: st.DataObject) -> None:
        request = self._request(data)
        self._call(
            self.manager,
            "post",
            f"/api/v1/manager/requests/{request.pk}/cancel/",
            {"reason": "Out of stock"},
        )

    @precondition(has_requests)
    @rule(data=st.data())
    def best_match_window_closes(self, data: st.DataObject) -> None:
        request_assign_best(request_id=self._request(data).pk)  # what the task does

    # --- drivers --------------------------------------------------------------------------

    @precondition(has_offers)
    @rule(data=st.data(), decline=st.booleans())
    def driver_answers_an_offer(self, data: st.DataObject, decline: bool) -> None:
        offer = Offer.objects.select_related("trip").get(
            pk=data.draw(st.sampled_from(self._offers()), label="offer")
        )
        driver = User.objects.get(pk=offer.trip.driver_id)
        verb = "decline" if decline else "respond"
        self._call(driver, "post", f"/api/v1/offers/{offer.pk}/{verb}/")

    @precondition(has_requests)
    @rule(data=st.data(), trip=st.integers(0, 2))
    def driver_takes_from_the_feed(self, data: st.DataObject, trip: int) -> None:
        request = self._request(data)
        chosen = self.trips[trip]
        self._call(
            self.drivers[trip],
            "post",
            f"/api/v1/trips/{chosen.pk}/opportunities/{request.pk}/respond/",
        )

    @precondition(has_requests)
    @rule(data=st.data())
    def offers_expire(self, data: st.DataObject) -> None:
        Offer.objects.filter(request=self._request(data), state=OfferState.PENDING).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )

    def _driver_for(self, request: DeliveryRequest, data: st.DataObject) -> User:
        if request.assigned_driver_id is not None and data.draw(st.integers(0, 3)) > 0:
            return User.objects.get(pk=request.assigned_driver_id)
        return data.draw(st.sampled_from(self.drivers), label="driver")

    @precondition(has_requests)
    @rule(data=st.data(), right=st.booleans())
    def the_desk_confirms_a_pickup(self, data: st.DataObject, right: bool) -> None:
        """The store's staff enter the driver's pass at the desk (now and then a driver tries
        the desk itself: it is not found)."""
        request = self._request(data, prefer=(RequestState.ASSIGNED,))
        code = request.pickup_code if right else f"{(int(request.pickup_code) + 1) % 10**6:06d}"
        at_the_desk = data.draw(st.integers(0, 3), label="desk") > 0
        self._call(
            self.desk if at_the_desk else self._driver_for(request, data),
            "post",
            f"/api/v1/desk/requests/{request.pk}/pickup/",
            {"pickup_code": code},
        )

    @precondition(has_requests)
    @rule(data=st.data(), right=st.booleans())
    def driver_delivers(self, data: st.DataObject, right: bool) -> None:
        request = self._request(data, prefer=(RequestState.PICKED_UP,))
        code = request.delivery_code if right else f"{(int(request.delivery_code) + 1) % 10**6:06d}"
        self._call(
            self._driver_for(request, data),
            "post",
            f"/api/v1/delivery-requests/{request.pk}/deliver/",
            {"delivery_code": code},
        )

    @rule(trip=st.integers(0, 2))
    def driver_cancels_the_trip(self, trip: int) -> None:
        self._call(self.drivers[trip], "post", f"/api/v1/trips/{self.trips[trip].pk}/cancel/")

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def requests_only_move_along_the_state_machine(self) -> None:
        states = dict(
            DeliveryRequest.objects.filter(pk__in=list(self.last_state)).values_list("pk", "state")
        )
        for request_id, before in self.last_state.items():
            after = states[request_id]
            assert after in RequestState.values
            assert after == before or after in REQUEST_TRANSITIONS[before], (
                request_id,
                before,
                after,
                self.calls[-3:],
            )
            self.last_state[request_id] = after

    @invariant()
    def one_driver_holds_a_request(self) -> None:
        for request in DeliveryRequest.objects.filter(pk__in=list(self.last_state)):
            selected = list(
                Offer.objects.filter(request=request, state=OfferState.SELECTED).values_list(
                    "trip__driver_id", flat=True
                )
            )
            assert len(selected) <= 1, (request.pk, selected)
            if selected:
                assert selected[0] == request.assigned_driver_id, (request.pk, selected)
            if request.state in HELD_STATES:
                assert request.assigned_driver_id is not None, request.pk
                assert len(selected) == 1, (request.pk, request.state, self.calls[-3:])
            if request.state in (RequestState.OPEN, RequestState.EXPIRED):
                assert request.assigned_driver_id is None, request.pk

    @invariant()
    def a_trip_carries_exactly_its_selected_requests(self) -> None:
        for trip in Trip.objects.filter(pk__in=[trip.pk for trip in getattr(self, "trips", [])]):
            carried = DeliveryRequest.objects.filter(
                offers__trip=trip, offers__state=OfferState.SELECTED
            ).exclude(state__in=NOT_CARRIED)
            weight_kg = Parcel.objects.filter(request__in=carried).aggregate(
                total=Sum("weight_kg")
            )["total"] or Decimal(0)
            volume_l = Parcel.objects.filter(request__in=carried).aggregate(total=Sum("volume_l"))[
                "total"
            ] or Decimal(0)
            assert trip.load_kg == weight_kg, (trip.pk, trip.load_kg, weight_kg, self.calls[-3:])
            assert trip.load_l == volume_l, (trip.pk, trip.load_l, volume_l)
            assert trip.request_count == carried.count(), (trip.pk, trip.request_count)
            assert Decimal(0) <= trip.load_kg <= trip.capacity_kg, trip.pk
            assert Decimal(0) <= trip.load_l <= trip.capacity_l, trip.pk


def test_random_api_sequences_keep_the_state_machines_valid(transactional_db) -> None:  # type: ignore[no-untyped-def]
    run_state_machine_as_test(
        DeliveryStateMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
