"""A Python client generated from the served schema (openapi-python-client), used as a mobile
team would use theirs: every module imports, and the main flow runs through it against the test
server — a customer posts, drivers declare trips and respond, assignment in each of the three
modes, the desk's pickup, positions, a wrong code answered with a typed error, the delivery (with
the code, and with a photo), ratings, the manager's KPIs.

Every answer must parse into its model, errors included: the client raises on any status the
schema does not declare, and ``parsed`` checks that nothing was left a raw dict (the generator's
fallback for an answer that matches none of its models) and that no field arrived that the
schema does not name."""

import enum
import importlib
import io
import pkgutil
import uuid
from datetime import date, datetime, time, timedelta
from types import ModuleType
from typing import Any

import attrs
import pytest
from django.utils import timezone
from PIL import Image

from backend.deliveries.models import DeliveryRequest
from backend.matching.services import best_matches_assign_due, offers_create_for_request
from backend.stores.models import AssignmentMode, StoreMembership
from tests import factories

PASSWORD = "correct horse battery staple"  # the factories' password


def test_every_generated_module_imports(generated_client: ModuleType) -> None:
    names = [
        info.name
        for info in pkgutil.walk_packages(
            generated_client.__path__, f"{generated_client.__name__}."
        )
        if not info.ispkg
    ]
    failed = {}
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as error:  # every failure is reported
            failed[name] = f"{type(error).__name__}: {error}"
    operations = [name for name in names if ".api." in name]
    assert failed == {}
    assert len(operations) >= 70  # one module per operation


# --- the generated client, as an app would hold it ----------------------------------------------


class Api:
    """The generated client's operations by operation id, and its models by name."""

    def __init__(self, package: ModuleType, base_url: str) -> None:
        self.package = package
        self.base_url = base_url
        self.models = importlib.import_module(f"{package.__name__}.models")
        self.types = importlib.import_module(f"{package.__name__}.types")
        self.operations: dict[str, ModuleType] = {}
        api = importlib.import_module(f"{package.__name__}.api")
        for info in pkgutil.walk_packages(api.__path__, f"{api.__name__}."):
            if not info.ispkg:
                self.operations[info.name.rsplit(".", 1)[1]] = importlib.import_module(info.name)

    def anonymous(self) -> Any:
        client = importlib.import_module(f"{self.package.__name__}.client")
        return client.Client(base_url=self.base_url, raise_on_unexpected_status=True)

    def as_(self, token: str) -> Any:
        client = importlib.import_module(f"{self.package.__name__}.client")
        return client.AuthenticatedClient(
            base_url=self.base_url, token=token, raise_on_unexpected_status=True
        )

    def call(self, operation: str, client: Any, status: int, model: str, **kwargs: Any) -> Any:
        """Call an operation; the answer has this status and parses into this model (``list:X``
        for a list of X)."""
        response = self.operations[operation].sync_detailed(client=client, **kwargs)
        assert response.status_code == status, (operation, response.content[:500])
        return self.parsed(response, model)

    def parsed(self, response: Any, model: str) -> Any:
        value = response.parsed
        if model.startswith("list:"):
            assert isinstance(value, list), value
            for item in value:
                assert isinstance(item, getattr(self.models, model[5:])), item
        else:
            assert isinstance(value, getattr(self.models, model)), (model, value)
        assert_fully_parsed(value)
        return value

    def error(self, operation: str, client: Any, status: int, code: str, **kwargs: Any) -> Any:
        """Call an operation that must fail: the answer parses into the operation's error model
        for that status, whose ``code`` is one of the enum the schema lists for it."""
        response = self.operations[operation].sync_detailed(client=client, **kwargs)
        assert response.status_code == status, (operation, response.content[:500])
        name = "".join(part.title() for part in operation.split("_")) + f"Response{status}"
        error = self.parsed(response, name)
        assert isinstance(error.code, enum.Enum)
        assert error.code.value == code, error
        assert isinstance(error.detail, str)
        assert "ErrorDetail" not in error.detail  # a message, never a repr
        return error

    def login(self, email: str, password: str = PASSWORD) -> Any:
        pair = self.call(
            "auth_token_create",
            self.anonymous(),
            200,
            "TokenObtainPair",
            body=self.models.TokenObtainPairRequest(email=email, password=password),
        )
        return self.as_(pair.access)


PLAIN = (str, int, float, bool, type(None), enum.Enum, datetime, date, time)


def assert_fully_parsed(value: Any, path: str = "$") -> None:
    """Models all the way down: no raw dict where a model was expected, and no field the schema
    does not name (it would land in a model's ``additional_properties``)."""
    if attrs.has(type(value)):
        fields = [f.name for f in attrs.fields(type(value)) if f.name != "additional_properties"]
        extra = getattr(value, "additional_properties", {})
        if fields:
            assert extra == {}, f"{path}: fields the schema does not declare: {sorted(extra)}"
        for name in fields:
            assert_fully_parsed(getattr(value, name), f"{path}.{name}")
        for key, inner in extra.items():  # a map (opening hours, error fields): typed values
            assert_fully_parsed(inner, f"{path}[{key!r}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_fully_parsed(item, f"{path}[{index}]")
    else:
        assert isinstance(value, PLAIN) or type(value).__name__ == "Unset", (path, value)
        assert not isinstance(value, dict), f"{path}: a raw dict, parsed into no model"


# --- the walk ---------------------------------------------------------------------------------


@pytest.fixture
def api(generated_client: ModuleType, live_server: Any, transactional_db: Any) -> Api:
    return Api(generated_client, live_server.url)


@pytest.fixture
def stores() -> dict[str, Any]:
    return {
        mode: factories.StoreFactory(assignment_mode=mode, name=f"Store ({mode})")
        for mode in AssignmentMode.values
    }


def _member(store: Any, role: str) -> Any:
    return factories.MembershipFactory(store=store, role=role).user


def _key() -> str:
    return uuid.uuid4().hex


def _jpeg() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(buffer, format="JPEG")
    buffer.seek(0)
    return buffer


class Walk:
    """The steps every flow shares, through the generated client."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.m = api.models

    def register_customer(self, email: str) -> Any:
        anonymous = self.api.anonymous()
        # full_name, phone and language left out: their defaults are valid.
        self.api.call(
            "auth_register_create",
            anonymous,
            202,
            "RegisterAccepted",
            body=self.m.RegisterInputRequest(email=email, password=PASSWORD),
            idempotency_key=_key(),
        )
        customer = self.api.login(email)
        me = self.api.call("me_retrieve", customer, 200, "Me")
        assert me.driver_profile is None
        return customer

    def post_request(self, customer: Any, store: Any, reference: str) -> Any:
        now = timezone.now()
        body = self.m.RequestCreateRequest(
            store_id=store.pk,
            order_reference=reference,
            dropoff_address="12 rue des Tilleuls, Villeurbanne",
            dropoff=self.m.LatLngRequest(lat=45.7600, lng=4.8800),
            contact_phone="+33 6 12 34 56 78",
            access_notes="3rd floor",
            window_start=now + timedelta(minutes=30),
            window_end=now + timedelta(hours=3),
            parcels=[self.m.ParcelRequest(weight_kg="24.5", volume_l="180", longest_side_cm=160)],
        )
        key = _key()
        posted = self.api.call(
            "delivery_requests_create",
            customer,
            201,
            "RequestCustomer",
            body=body,
            idempotency_key=key,
        )
        assert posted.audience.value == "customer"
        assert posted.state.value == "open"
        # A retry with the same key gets the first answer back and creates nothing.
        retried = self.api.operations["delivery_requests_create"].sync_detailed(
            client=customer, body=body, idempotency_key=key
        )
        assert retried.headers["Idempotent-Replayed"] == "true"
        assert self.api.parsed(retried, "RequestCustomer").id == posted.id
        return posted

    def declare_trip(self, driver: Any, store: Any, destination: tuple[float, float]) -> Any:
        now = timezone.now()
        trip = self.api.call(
            "trips_create",
            driver,
            201,
            "Trip",
            body=self.m.TripCreateRequest(
                store_id=store.pk,
                departure_earliest=now,
                departure_latest=now + timedelta(hours=1),
                destination=self.m.LatLngRequest(lat=destination[0], lng=destination[1]),
                max_detour_min=20,
            ),
            idempotency_key=_key(),
        )
        assert trip.state.value == "active"
        return trip

    def detail(self, client: Any, request_id: int, model: str) -> Any:
        shape = self.api.call(
            "delivery_requests_retrieve", client, 200, model, request_id=request_id
        )
        assert (
            shape.audience.value
            == {
                "RequestCustomer": "customer",
                "RequestDriver": "driver",
                "RequestOffered": "offered",
                "RequestDesk": "desk",
                "RequestManager": "manager",
            }[model]
        )
        return shape

    def pick_up(self, desk: Any, request_id: int, pickup_code: str, model: str) -> Any:
        wrong = "000000" if pickup_code != "000000" else "111111"
        error = self.api.error(
            "desk_requests_pickup_create",
            desk,
            400,
            "wrong_code",
            request_id=request_id,
            body=self.m.PickupInputRequest(pickup_code=wrong),
        )
        assert error.fields["pickup_code"][0].endswith("attempt(s) left.")
        picked = self.api.call(
            "desk_requests_pickup_create",
            desk,
            200,
            model,
            request_id=request_id,
            body=self.m.PickupInputRequest(pickup_code=pickup_code),
        )
        assert picked.state.value == "picked_up"
        return picked

    def share_position(self, driver: Any, customer: Any, request_id: int) -> None:
        shared = self.api.call(
            "delivery_requests_position_create",
            driver,
            200,
            "Position",
            request_id=request_id,
            body=self.m.PositionRequest(position=self.m.LatLngRequest(lat=45.745, lng=4.881)),
        )
        seen = self.api.call(
            "delivery_requests_position_retrieve",
            customer,
            200,
            "Position",
            request_id=request_id,
        )
        assert seen.position.lat == shared.position.lat == 45.745

    def deliver(self, driver: Any, request_id: int, delivery_code: str) -> Any:
        wrong = "000000" if delivery_code != "000000" else "111111"
        self.api.error(
            "delivery_requests_deliver_create",
            driver,
            400,
            "wrong_code",
            request_id=request_id,
            body=self.m.DeliverInputRequest(delivery_code=wrong),
        )
        delivered = self.api.call(
            "delivery_requests_deliver_create",
            driver,
            200,
            "RequestOffered",
            request_id=request_id,
            body=self.m.DeliverInputRequest(delivery_code=delivery_code),
        )
        assert delivered.state.value == "delivered"
        return delivered

    def rate(self, client: Any, request_id: int, stars: int) -> None:
        body = self.m.RatingInputRequest(stars=stars, comment="Thanks")
        rating = self.api.call(
            "delivery_requests_rating_create",
            client,
            201,
            "Rating",
            request_id=request_id,
            body=body,
            idempotency_key=_key(),
        )
        assert rating.stars == stars
        self.api.error(
            "delivery_requests_rating_create",
            client,
            409,
            "already_rated",
            request_id=request_id,
            body=body,
            idempotency_key=_key(),
        )


def test_the_main_flow_through_the_generated_client(api: Api, stores: dict[str, Any]) -> None:
    walk, m = Walk(api), api.models
    store = stores[AssignmentMode.FIRST_RESPONSE]
    manager = api.login(_member(store, StoreMembership.Role.MANAGER).email)
    desk = api.login(_member(store, StoreMembership.Role.STAFF).email)

    # The customer signs up, finds the store and posts.
    customer = walk.register_customer("camille@example.com")
    nearby = api.call("stores_list", customer, 200, "PaginatedStoreList", lat=45.76, lng=4.85)
    assert store.pk in [s.id for s in nearby.results]
    assert nearby.results[0].opening_hours["6"] == ["10:00", "19:00"]
    posted = walk.post_request(customer, store, "A-1042")

    # A member of the store's staff becomes a driver: pending until a manager approves.
    staff_driver_user = _member(store, StoreMembership.Role.STAFF)
    driver = api.login(staff_driver_user.email)
    profile = api.call(
        "me_driver_profile_update",
        driver,
        200,
        "DriverProfile",
        body=m.DriverProfileRequest(
            vehicle_type=m.VehicleTypeEnum.ESTATE,
            capacity_kg="150",
            capacity_l="1000",
            max_length_cm=180,
        ),
    )
    assert profile.status.value == "pending"
    trip = walk.declare_trip(driver, store, (45.7800, 4.8800))
    feed = api.call("trips_opportunities_list", driver, 200, "list:Opportunity", trip_id=trip.id)
    assert [o.id for o in feed] == [posted.id]
    api.error(
        "trips_opportunities_respond_create",
        driver,
        403,
        "driver_not_approved",
        trip_id=trip.id,
        request_id=posted.id,
        idempotency_key=_key(),
    )
    pending = api.call(
        "manager_stores_drivers_list", manager, 200, "list:StoreDriver", store_id=store.pk
    )
    assert [d.status.value for d in pending] == ["pending"]
    approved = api.call(
        "manager_stores_drivers_decide",
        manager,
        200,
        "StoreDriver",
        store_id=store.pk,
        user_id=staff_driver_user.pk,
        decision=m.ManagerStoresDriversDecideDecision.APPROVE,
        body=m.DriverDecisionInputRequest(reason="Known to the store"),
    )
    assert approved.status.value == "approved"

    # first_response: matching offers it, the first driver to say yes gets it.
    offers_create_for_request(request_id=posted.id)  # what the matching task does
    offers = api.call("offers_list", driver, 200, "PaginatedOfferList")
    assert [o.request.id for o in offers.results] == [posted.id]
    assert offers.results[0].request.audience.value == "offered"
    taken = api.call("offers_respond_create", driver, 200, "Offer", offer_id=offers.results[0].id)
    assert taken.state.value == "selected"
    api.error("offers_respond_create", driver, 409, "offer_not_pending", offer_id=taken.id)

    # Each viewer reads the one request in its own shape, told apart by ``audience``.
    as_driver = walk.detail(driver, posted.id, "RequestDriver")
    walk.detail(customer, posted.id, "RequestCustomer")
    walk.detail(manager, posted.id, "RequestManager")
    walk.detail(desk, posted.id, "RequestDesk")
    stranger = api.login(factories.UserFactory().email)
    api.error("delivery_requests_retrieve", stranger, 404, "not_found", request_id=posted.id)

    # The desk confirms the pickup with the driver's pass; the driver shares positions, delivers
    # with the customer's code; both sides rate.
    walk.pick_up(desk, posted.id, as_driver.pickup_code, "RequestDesk")
    walk.share_position(driver, customer, posted.id)
    walk.deliver(driver, posted.id, posted.delivery_code)
    delivered = walk.detail(customer, posted.id, "RequestCustomer")
    assert delivered.state.value == "delivered"
    assert delivered.driver is not None
    assert delivered.driver.first_name
    walk.rate(customer, posted.id, 5)
    walk.rate(driver, posted.id, 4)
    inbox = api.call("notifications_list", customer, 200, "PaginatedInboxItemOutputList")
    assert {i.event.value for i in inbox.results} >= {"request.assigned", "request.delivered"}
    assert all(i.payload.request_id == posted.id for i in inbox.results)

    # The manager's figures.
    today = timezone.localdate()
    kpis = api.call(
        "manager_stores_kpis_retrieve",
        manager,
        200,
        "KpiReport",
        store_id=store.pk,
        from_=today - timedelta(days=1),
        to=today,
    )
    assert kpis.store_id == store.pk
    assert kpis.totals.postings >= 1
    api.call("manager_stores_attention_retrieve", manager, 200, "AttentionList", store_id=store.pk)
    api.error(
        "manager_stores_kpis_retrieve",
        manager,
        400,
        "invalid",
        store_id=store.pk,
        from_=today,
        to=today - timedelta(days=3),
    )
    api.error("manager_stores_kpis_retrieve", customer, 404, "not_found", store_id=store.pk)

    # What a person holds: the export parses whole.
    export = api.call("me_export_retrieve", customer, 200, "DataExport")
    assert [r.id for r in export.delivery_requests] == [posted.id]
    assert export.inbox
    assert export.ratings_given


def test_customer_choice_and_a_photo_delivery_through_the_generated_client(
    api: Api, stores: dict[str, Any]
) -> None:
    walk, m = Walk(api), api.models
    store = stores[AssignmentMode.CUSTOMER_CHOICE]
    manager = api.login(_member(store, StoreMembership.Role.MANAGER).email)
    customer = walk.register_customer("dominique@example.com")
    drivers = [api.login(factories.DriverFactory().email) for _ in range(2)]
    trips = [walk.declare_trip(d, store, (45.7800, 4.8800)) for d in drivers]
    posted = walk.post_request(customer, store, "B-2001")

    # Both drivers take it from their "on my way" feed; the customer picks the second.
    for driver, trip in zip(drivers, trips, strict=True):
        offer = api.call(
            "trips_opportunities_respond_create",
            driver,
            201,
            "Offer",
            trip_id=trip.id,
            request_id=posted.id,
            idempotency_key=_key(),
        )
        assert offer.state.value == "responded"
    responders = api.call(
        "delivery_requests_responders_list",
        customer,
        200,
        "list:Responder",
        request_id=posted.id,
    )
    assert len(responders) == 2
    api.error(
        "delivery_requests_choose_create",
        customer,
        409,
        "offer_not_responded",
        request_id=posted.id,
        body=m.ChooseInputRequest(offer_id=10**9),
    )
    chosen = api.call(
        "delivery_requests_choose_create",
        customer,
        200,
        "RequestCustomer",
        request_id=posted.id,
        body=m.ChooseInputRequest(offer_id=responders[1].offer_id),
    )
    assert chosen.state.value == "assigned"
    driver = next(
        d
        for d, t in zip(drivers, trips, strict=True)
        if api.call("trips_retrieve", d, 200, "Trip", trip_id=t.id).request_count == 1
    )
    as_driver = walk.detail(driver, posted.id, "RequestDriver")

    # The store's manager stands at the desk: the answer is the manager's shape.
    walk.pick_up(manager, posted.id, as_driver.pickup_code, "RequestManager")
    # No code at the door: a photo, as multipart, through its own operation.
    photo = api.types.File(payload=_jpeg(), file_name="door.jpg", mime_type="image/jpeg")
    delivered = api.call(
        "delivery_requests_deliver_photo_create",
        driver,
        200,
        "RequestOffered",
        request_id=posted.id,
        body=m.DeliverPhotoInputRequest(photo=photo),
    )
    assert delivered.state.value == "delivered"
    seen = walk.detail(customer, posted.id, "RequestCustomer")
    assert seen.proof.value == "photo"
    image = api.operations["delivery_requests_proof_photo_retrieve"].sync_detailed(
        client=customer, request_id=posted.id
    )
    assert image.status_code == 200
    assert image.content[:3] == b"\xff\xd8\xff"
    reviewed = api.call(
        "manager_requests_review_create",
        manager,
        200,
        "RequestManager",
        request_id=posted.id,
        body=m.ReviewInputRequest(photo_verdict=m.PhotoVerdictEnum.APPROVE),
    )
    assert reviewed.proof_review.value == "approved"


def test_best_match_through_the_generated_client(api: Api, stores: dict[str, Any]) -> None:
    walk = Walk(api)
    store = stores[AssignmentMode.BEST_MATCH]
    customer = walk.register_customer("eden@example.com")
    drivers = [api.login(factories.DriverFactory().email) for _ in range(2)]
    for driver in drivers:
        walk.declare_trip(driver, store, (45.7800, 4.8800))
    posted = walk.post_request(customer, store, "C-3001")
    offers_create_for_request(request_id=posted.id)
    for driver in drivers:
        offer = api.call("offers_list", driver, 200, "PaginatedOfferList").results[0]
        responded = api.call("offers_respond_create", driver, 200, "Offer", offer_id=offer.id)
        assert responded.state.value == "responded"  # still collecting
    assert walk.detail(customer, posted.id, "RequestCustomer").state.value == "open"

    # The collection window closes: the batch gives it to the best responder.
    DeliveryRequest.objects.filter(pk=posted.id).update(
        first_response_at=timezone.now() - timedelta(seconds=store.collection_window_s + 1)
    )
    assert best_matches_assign_due() == [posted.id]
    shapes = {
        api.operations["delivery_requests_retrieve"]
        .sync_detailed(client=driver, request_id=posted.id)
        .parsed.__class__.__name__
        for driver in drivers
    }
    assert shapes == {"RequestDriver", "DeliveryRequestsRetrieveResponse404"}


def test_errors_parse_into_typed_models(api: Api, stores: dict[str, Any]) -> None:
    walk, m = Walk(api), api.models
    store = stores[AssignmentMode.FIRST_RESPONSE]
    customer = walk.register_customer("frankie@example.com")

    # Invalid input names its fields, nested ones by path.
    now = timezone.now()
    error = api.error(
        "delivery_requests_create",
        customer,
        400,
        "invalid",
        body=m.RequestCreateRequest(
            store_id=store.pk,
            order_reference="X",
            dropoff_address="Here",
            dropoff=m.LatLngRequest(lat=45.76, lng=4.88),
            contact_phone="+33 6 12 34 56 78",
            window_start=now + timedelta(minutes=30),
            window_end=now + timedelta(hours=3),
            parcels=[m.ParcelRequest(weight_kg="-1", volume_l="10", longest_side_cm=50)],
        ),
    )
    assert list(error.fields.additional_properties) == ["parcels[0].weight_kg"]
    # A wrong password, an access token that is not one, a deleted account's token.
    api.error(
        "auth_token_create",
        api.anonymous(),
        401,
        "authentication_failed",
        body=m.TokenObtainPairRequest(email="frankie@example.com", password="not it"),
    )
    api.error("me_retrieve", api.as_("not-a-token"), 401, "authentication_failed")
    api.error("me_retrieve", api.anonymous(), 401, "not_authenticated")
    erased = api.login(factories.UserFactory().email)
    response = api.operations["me_destroy"].sync_detailed(client=erased)
    assert response.status_code == 204
    gone = api.error("me_retrieve", erased, 401, "authentication_failed")
    assert gone.detail == "User is inactive"
    # A state that refuses: no position before the pickup.
    posted = walk.post_request(customer, store, "D-4001")
    api.error(
        "delivery_requests_position_retrieve",
        customer,
        409,
        "invalid_state",
        request_id=posted.id,
    )
    # The same Idempotency-Key for another body.
    driver = api.login(factories.DriverFactory().email)
    key = _key()

    def trip(lng: float) -> Any:
        return m.TripCreateRequest(
            store_id=store.pk,
            departure_earliest=now,
            departure_latest=now + timedelta(hours=1),
            destination=m.LatLngRequest(lat=45.78, lng=lng),
            max_detour_min=10,
        )

    api.call("trips_create", driver, 201, "Trip", body=trip(4.88), idempotency_key=key)
    api.error(
        "trips_create", driver, 422, "idempotency_key_reused", body=trip(4.89), idempotency_key=key
    )
