"""Build requests with a known history (posting time, responses, outcome) for the KPI tests.

Requests start open (a database trigger insists) and move through their states with the same
steps the services take, with the timestamps set by hand."""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from backend.accounts.models import User
from backend.deliveries.models import DeliveryRequest, Rating, RequestState
from backend.matching.models import CommuteProfile, Offer, OfferState, Trip
from backend.stores.models import Store
from tests import factories

PARIS = ZoneInfo("Europe/Paris")
NORTH_3KM = (45.7600, 4.8800)  # about 3.34 km north of the factories' store


@dataclass
class Response:
    driver: User
    after_s: int
    detour_m: int = 1000


@dataclass
class Story:
    posted: datetime  # aware
    outcome: str = RequestState.OPEN  # final state
    responses: list[Response] = field(default_factory=list)
    selected: int | None = None  # index into responses of the assigned driver
    closed_after_s: int | None = None
    delivered_late: bool = False
    cancelled_by: str = ""
    fee_eur: Decimal = Decimal("5.00")
    rating: int | None = None
    dropoff: tuple[float, float] = NORTH_3KM


def local(day: str, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(datetime.fromisoformat(day).date(), time(hh, mm), tzinfo=PARIS)


def trip_for(*, driver: User, store: Store, staff: bool) -> Trip:
    profile = None
    if staff:
        profile = CommuteProfile.objects.create(
            driver=driver,
            store=store,
            weekdays=[0, 1, 2, 3, 4],
            shift_end=time(18, 0),
            home=factories.point(45.78, 4.88),
        )
    return factories.TripFactory(driver=driver, store=store, commute_profile=profile)


def build(*, store: Store, story: Story, trips: dict[int, Trip]) -> DeliveryRequest:
    """Create the request of ``story``; ``trips`` maps driver id to that driver's trip."""
    window_start = story.posted + timedelta(hours=1)
    window_end = story.posted + timedelta(hours=4)
    request = factories.DeliveryRequestFactory(
        store=store,
        fee_eur=story.fee_eur,
        window_start=window_start,
        window_end=window_end,
        dropoff_point=factories.point(*story.dropoff),
    )
    rows = DeliveryRequest.objects.filter(pk=request.pk)
    rows.update(created_at=story.posted)
    closed_at = (
        story.posted + timedelta(seconds=story.closed_after_s)
        if story.closed_after_s is not None
        else None
    )
    for i, response in enumerate(story.responses):
        Offer.objects.create(
            request=request,
            trip=trips[response.driver.pk],
            detour_s=response.detour_m // 10,
            detour_m=response.detour_m,
            fee_eur=story.fee_eur,
            expires_at=story.posted + timedelta(hours=1),
            state=OfferState.SELECTED if i == story.selected else OfferState.RESPONDED,
            responded_at=story.posted + timedelta(seconds=response.after_s),
        )
    first = min((r.after_s for r in story.responses), default=None)
    if first is not None:
        rows.update(first_response_at=story.posted + timedelta(seconds=first))
    if story.selected is not None:
        chosen = story.responses[story.selected]
        assigned_at = story.posted + timedelta(seconds=chosen.after_s)
        rows.update(
            state=RequestState.ASSIGNED, assigned_driver=chosen.driver, assigned_at=assigned_at
        )
        if story.outcome in (RequestState.PICKED_UP, RequestState.DELIVERED):
            rows.update(state=RequestState.PICKED_UP, picked_up_at=window_start)
        if story.outcome == RequestState.DELIVERED:
            delivered_at = window_end + timedelta(minutes=20 if story.delivered_late else -60)
            rows.update(state=RequestState.DELIVERED, delivered_at=delivered_at)
            closed_at = delivered_at
            if story.rating is not None:
                Rating.objects.create(
                    request=request,
                    direction=Rating.Direction.CUSTOMER_TO_DRIVER,
                    rater=request.customer,
                    ratee=chosen.driver,
                    stars=story.rating,
                )
    if story.outcome in (RequestState.CANCELLED, RequestState.EXPIRED, RequestState.FAILED):
        rows.update(state=story.outcome, cancelled_by=story.cancelled_by)
    if closed_at is not None:
        rows.update(closed_at=closed_at)
    request.refresh_from_db()
    return request


@dataclass
class Drivers:
    a: User
    b: User
    c: User  # staff
    trips: dict[int, Trip]


def drivers_for(store: Store) -> Drivers:
    a = factories.DriverFactory(full_name="Alice Shopper")
    b = factories.DriverFactory(full_name="Bruno Shopper")
    c = factories.DriverFactory(full_name="Chloé Staff")
    trips = {
        a.pk: trip_for(driver=a, store=store, staff=False),
        b.pk: trip_for(driver=b, store=store, staff=False),
        c.pk: trip_for(driver=c, store=store, staff=True),
    }
    return Drivers(a, b, c, trips)


D1, D2 = "2026-03-10", "2026-03-11"


def known_dataset(store: Store) -> tuple[Drivers, list[DeliveryRequest]]:
    """Six requests over two Paris days, with the answers worked out in test_kpis.py."""
    d = drivers_for(store)
    stories = [
        # R1: two responders, A assigned, delivered on time, 5 €, rated 4.
        Story(
            posted=local(D1, 10),
            outcome=RequestState.DELIVERED,
            responses=[Response(d.a, 60, detour_m=2000), Response(d.b, 120)],
            selected=0,
            rating=4,
        ),
        # R2: staff C responds after 5 min, assigned, delivered late, 7 €, rated 2.
        Story(
            posted=local(D1, 11),
            outcome=RequestState.DELIVERED,
            responses=[Response(d.c, 300, detour_m=1000)],
            selected=0,
            delivered_late=True,
            fee_eur=Decimal("7.00"),
            rating=2,
        ),
        # R3: nobody; expired after an hour.
        Story(posted=local(D1, 12), outcome=RequestState.EXPIRED, closed_after_s=3600),
        # R4: cancelled by the customer after 10 min; A responds late (15 min).
        Story(
            posted=local(D1, 13),
            outcome=RequestState.CANCELLED,
            cancelled_by=DeliveryRequest.CancelledBy.CUSTOMER,
            closed_after_s=600,
            responses=[Response(d.a, 900)],
        ),
        # R5: 00:30 in Paris on D2 (23:30 UTC on D1): B responds after 30 s, assigned, then
        # cancelled by the store.
        Story(
            posted=local(D2, 0, 30),
            outcome=RequestState.CANCELLED,
            cancelled_by=DeliveryRequest.CancelledBy.STORE,
            responses=[Response(d.b, 30)],
            selected=0,
            closed_after_s=1000,
        ),
        # R6: still open, C responded after 10 min.
        Story(posted=local(D2, 9), responses=[Response(d.c, 600)]),
    ]
    return d, [build(store=store, story=s, trips=d.trips) for s in stories]
