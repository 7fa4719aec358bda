"""Writes for matching: trips, offers, responses, and every move of a delivery request that
involves them — posting (with its match queued), assigning in the three modes, cancelling,
failing, expiring, releasing. The request's own rows and handover steps are deliveries' services,
which this module calls down into and which never call up here.

Lock order, everywhere: the request row, then its offers, then the trip, then the driver's
profile. Exactly one driver ever holds a request (a partial unique index on selected offers); a
trip never holds more than its capacity (check constraints on its load). The driver's profile row
is the per-driver lock of the yearly earnings cap, taken last, in ``_assign`` once the trip is
locked (and in ``_respond`` where no trip is locked): two responses of one driver on two trips
share no other row. Nothing locks a profile and then a request, offer or trip (account erasure
locks the user, then trips and offers, and updates the profile last), so it cannot deadlock.
"""

import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone

from backend.accounts.errors import DriverNotApproved
from backend.accounts.models import DriverDecision, DriverProfile, User
from backend.accounts.selectors import driver_is_approved
from backend.accounts.services import driver_decide
from backend.core import travel
from backend.core.errors import InvalidInput, NotAllowed
from backend.deliveries import notices as request_notices
from backend.deliveries.errors import (
    AccountHasActiveDeliveries,
    RequestAlreadyAssigned,
    RequestNotOpen,
)
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.deliveries.selectors import request_totals
from backend.deliveries.services import PostedRequest, request_create
from backend.deliveries.states import request_move
from backend.matching import notices as offer_notices
from backend.matching.enqueue import (
    enqueue_assign_best_match,
    enqueue_match_request,
    enqueue_match_trip,
)
from backend.matching.errors import (
    DriverProfileRequired,
    DriverUnavailable,
    EarningsCapReached,
    NotResponded,
    OfferExpired,
    OfferNotPending,
    TooManyResponses,
    TripFull,
    TripHasParcels,
    TripNotActive,
    TripOverlaps,
    WrongAssignmentMode,
)
from backend.matching.geometry import reach_ellipse, trip_reaches
from backend.matching.models import CommuteProfile, Offer, OfferState, Trip
from backend.matching.selectors import (
    MAX_CANDIDATES,
    ShownDetour,
    candidates_for_request,
    driver_committed_this_year_eur,
    rank_insertions,
    trip_feed,
)
from backend.stores.models import AssignmentMode, Store
from backend.stores.selectors import store_with_distance_m

MAX_TRIP_AHEAD = timedelta(days=2)
# As long as a commute profile's departure flexibility may be (240 min).
MAX_DEPARTURE_WINDOW = timedelta(hours=4)
MAX_TRIP_DISTANCE_M = 100_000


def _locked_request_with_store(request_id: int) -> DeliveryRequest:
    """The request row, locked first (see the lock order above), with its store."""
    return (
        DeliveryRequest.objects.select_for_update(of=("self",))
        .select_related("store")
        .get(pk=request_id)
    )


# --- trips ------------------------------------------------------------------------------------


@transaction.atomic
def trip_create(
    *,
    driver: User,
    store_id: int,
    departure_earliest: datetime,
    departure_latest: datetime,
    destination: Point,
    max_detour_s: int,
    capacity_kg: Decimal | None = None,
    capacity_l: Decimal | None = None,
    max_length_cm: int | None = None,
    commute_profile_id: int | None = None,
) -> Trip:
    """Declare a drive home from a store; capacities default to the driver profile's.

    Raises DriverProfileRequired, InvalidInput (unknown store, departure window in the past,
    reversed, not over within two days or longer than four hours, destination over 100 km away,
    capacity above the vehicle's), TripOverlaps (the driver already has an active trip leaving in
    that window).
    """
    # The profile's row lock makes a driver's trips one at a time: two overlapping trips cannot
    # both pass the check below.
    profile = DriverProfile.objects.select_for_update().filter(user=driver).first()
    if profile is None:
        raise DriverProfileRequired()
    store, direct_m = store_with_distance_m(store_id=store_id, point=destination)
    now = timezone.now()
    if departure_latest < now:
        raise InvalidInput("departure_latest", "The departure window is in the past.")
    if departure_latest < departure_earliest:
        raise InvalidInput("departure_latest", "The departure window ends before it starts.")
    if departure_earliest > now + MAX_TRIP_AHEAD:
        raise InvalidInput("departure_earliest", "Trips can be declared up to two days ahead.")
    if departure_latest > now + MAX_TRIP_AHEAD:
        raise InvalidInput("departure_latest", "The departure window must end within two days.")
    if departure_latest - departure_earliest > MAX_DEPARTURE_WINDOW:
        raise InvalidInput("departure_latest", "The departure window can be at most 4 hours long.")
    if direct_m > MAX_TRIP_DISTANCE_M:
        raise InvalidInput("destination", "The destination is more than 100 km from the store.")
    travel.require_routable(store=store.location, point=destination, field="destination")
    for name, value, limit in (
        ("capacity_kg", capacity_kg, profile.capacity_kg),
        ("capacity_l", capacity_l, profile.capacity_l),
        ("max_length_cm", max_length_cm, profile.max_length_cm),
    ):
        if value is not None and value > limit:
            raise InvalidInput(name, f"Your vehicle takes at most {limit}.")
    if Trip.objects.filter(
        driver=driver,
        state=Trip.State.ACTIVE,
        departure_earliest__lte=departure_latest,
        departure_latest__gte=departure_earliest,
    ).exists():
        raise TripOverlaps()
    (reach,) = trip_reaches(store=store.location, homes=[destination], budgets_s=[max_detour_s])
    trip = Trip.objects.create(
        driver=driver,
        store=store,
        departure_earliest=departure_earliest,
        departure_latest=departure_latest,
        destination=destination,
        direct_m=math.ceil(direct_m),
        direct_s=reach.direct_s,
        reach_m=reach.reach_m,
        reach_area=reach.area,
        service_date=departure_earliest.astimezone(ZoneInfo(store.timezone)).date(),
        capacity_kg=capacity_kg or profile.capacity_kg,
        capacity_l=capacity_l or profile.capacity_l,
        max_length_cm=max_length_cm or profile.max_length_cm,
        max_detour_s=max_detour_s,
        commute_profile_id=commute_profile_id,
    )
    enqueue_match_trip(trip_id=trip.pk, store_id=store.pk)
    return trip


@transaction.atomic
def trip_cancel(*, trip_id: int, driver: User) -> Trip:
    """Cancel a trip that carries nothing; its open offers are withdrawn.
    Raises TripHasParcels, TripNotActive."""
    trip = Trip.objects.select_for_update().get(pk=trip_id, driver=driver)
    if trip.state != Trip.State.ACTIVE:
        raise TripNotActive()
    if trip.offers.filter(
        state=OfferState.SELECTED,
        request__state__in=[RequestState.ASSIGNED, RequestState.PICKED_UP],
    ).exists():
        raise TripHasParcels()
    trip.state = Trip.State.CANCELLED
    trip.save(update_fields=["state"])
    _offers_close(Offer.objects.filter(trip=trip, state=OfferState.PENDING), OfferState.WITHDRAWN)
    _offers_close(Offer.objects.filter(trip=trip, state=OfferState.RESPONDED), OfferState.WITHDRAWN)
    return trip


def _offers_close(offers: QuerySet[Offer], state: OfferState) -> int:
    return offers.update(state=state, closed_at=timezone.now())


# --- offers -----------------------------------------------------------------------------------


def offer_fee_eur(*, request: DeliveryRequest, store: Store, shown: ShownDetour) -> Decimal:
    """What the driver earns: the store's fee rule for the detour they are shown, never below the
    request's (possibly raised) fee. On the shown detour (the drop-off area's, in 500 m bands),
    not the exact one: a fee to the cent on the exact detour is the detour to 20 m."""
    return min(max(request.fee_eur, store.fee_for_detour_eur(shown.detour_m)), store.fee_max_eur)


def _locked_offer(*, offer_id: int, driver: User) -> tuple[DeliveryRequest, Offer]:
    request_id = (
        Offer.objects.filter(pk=offer_id, trip__driver=driver)
        .values_list("request_id", flat=True)
        .first()
    )
    if request_id is None:
        raise Offer.DoesNotExist()
    request = _locked_request_with_store(request_id)
    offer = Offer.objects.select_for_update().get(pk=offer_id)
    return request, offer


def offer_respond(*, offer_id: int, driver: User) -> Offer:
    """The driver says yes. Under ``first_response`` the first responder is assigned at once;
    under ``customer_choice`` the customer is asked to choose; under ``best_match`` the choice
    is made after the store's collection window.

    Raises Offer.DoesNotExist (not this driver's), OfferExpired, OfferNotPending,
    RequestAlreadyAssigned (another driver was faster; the response is still counted),
    RequestNotOpen, TripFull, EarningsCapReached.
    """
    late = False
    with transaction.atomic():
        request, offer = _locked_offer(offer_id=offer_id, driver=driver)
        now = timezone.now()
        if offer.state == OfferState.PENDING and offer.expires_at <= now:
            offer.state = OfferState.EXPIRED
            offer.closed_at = now
            offer.save(update_fields=["state", "closed_at"])
            late = True
            error: Exception = OfferExpired()
        elif offer.state != OfferState.PENDING:
            if request.state != RequestState.OPEN and offer.responded_at is None:
                # Too late, but a response all the same: the store's KPIs count it.
                offer.responded_at = now
                offer.save(update_fields=["responded_at"])
                late = True
                error = RequestAlreadyAssigned()
            else:
                raise OfferNotPending()
        elif request.state != RequestState.OPEN:
            raise RequestNotOpen()
        else:
            _respond(request=request, offer=offer, now=now)
    if late:
        raise error
    return offer


def _respond(*, request: DeliveryRequest, offer: Offer, now: datetime) -> None:
    _check_may_respond(driver_id=offer.trip.driver_id, store=request.store)
    mode = request.store.assignment_mode
    if mode != AssignmentMode.FIRST_RESPONSE:
        # No fee is agreed yet: the binding check is _assign's, when a choice is made.
        _lock_driver_within_earnings_cap(driver_id=offer.trip.driver_id, fee_eur=offer.fee_eur)
    offer.state = OfferState.RESPONDED
    offer.responded_at = now
    offer.save(update_fields=["state", "responded_at"])
    first = request.first_response_at is None
    if first:
        request.first_response_at = now
        request.save(update_fields=["first_response_at"])
    if mode == AssignmentMode.FIRST_RESPONSE:
        _assign(request=request, offer=offer)
    elif mode == AssignmentMode.CUSTOMER_CHOICE:
        if first:
            request_notices.first_response(request=request, driver_name=offer.trip.driver.full_name)
        else:
            responders = Offer.objects.filter(request=request, state=OfferState.RESPONDED)
            request_notices.choose_driver(request=request, responder_count=responders.count())
    elif first:  # best_match: choose once the collection window closes
        enqueue_assign_best_match(
            request_id=request.pk,
            store_id=request.store_id,
            countdown_s=request.store.collection_window_s,
        )


def _check_may_respond(*, driver_id: int, store: Store) -> None:
    """Only an approved driver responds, and with no more responses waiting for a decision at
    this store than its policy allows. Raises DriverNotApproved, TooManyResponses."""
    if not driver_is_approved(user_id=driver_id):
        raise DriverNotApproved()
    waiting = Offer.objects.filter(
        trip__driver_id=driver_id, trip__store=store, state=OfferState.RESPONDED
    ).count()
    if waiting >= store.max_responses_in_flight:
        raise TooManyResponses(
            f"You already have {waiting} responses waiting at this store; wait for an answer."
        )


def _lock_driver_within_earnings_cap(*, driver_id: int, fee_eur: Decimal) -> None:
    """Lock the driver's profile (the per-driver lock, last in the lock order) and refuse what
    would take them over the yearly cap: what they earned this year, plus the fees agreed for
    the deliveries they hold, plus this fee. Under the lock a second response of the same
    driver waits for the first to commit and then counts its agreed fee.
    Raises EarningsCapReached."""
    DriverProfile.objects.select_for_update().filter(user_id=driver_id).values_list("pk").first()
    committed = driver_committed_this_year_eur(driver_id=driver_id)
    cap = settings.EARNINGS_YEARLY_CAP_EUR
    if committed >= cap or committed + fee_eur > cap:
        raise EarningsCapReached()


@transaction.atomic
def offer_decline(*, offer_id: int, driver: User) -> Offer:
    """The driver says no; they are not offered this request again.
    Raises Offer.DoesNotExist, OfferNotPending."""
    _, offer = _locked_offer(offer_id=offer_id, driver=driver)
    if offer.state != OfferState.PENDING:
        raise OfferNotPending()
    offer.state = OfferState.DECLINED
    offer.closed_at = timezone.now()
    offer.save(update_fields=["state", "closed_at"])
    return offer


def opportunity_respond(*, trip_id: int, request_id: int, driver: User) -> Offer:
    """A driver takes a request from their "on my way" feed: the offer is made for this trip
    (detour and fee as in the feed) and answered at once.

    Raises Trip.DoesNotExist, TripNotActive, RequestNotOpen (no longer fits the trip), and what
    ``offer_respond`` raises."""
    with transaction.atomic():
        trip = Trip.objects.select_related("store").get(pk=trip_id, driver=driver)
        if trip.state != Trip.State.ACTIVE:
            raise TripNotActive()
        if not driver_is_approved(user_id=driver.pk):
            raise DriverNotApproved()
        existing = Offer.objects.filter(trip=trip, request_id=request_id).first()
        if existing is None:
            fit = next(
                (
                    opportunity
                    for opportunity in trip_feed(trip=trip, limit=MAX_CANDIDATES)
                    if opportunity.request.pk == request_id
                ),
                None,
            )
            if fit is None:
                raise RequestNotOpen("This request is no longer open or no longer fits the trip.")
            existing, _ = Offer.objects.get_or_create(
                trip=trip,
                request_id=request_id,
                defaults={
                    "detour_m": round(fit.detour_m),
                    "detour_s": round(fit.detour_s),
                    "shown_detour_m": fit.shown.detour_m,
                    "shown_detour_s": fit.shown.detour_s,
                    "fee_eur": offer_fee_eur(
                        request=fit.request, store=trip.store, shown=fit.shown
                    ),
                    "expires_at": timezone.now() + timedelta(seconds=trip.store.offer_lifetime_s),
                    "source": Offer.Source.FEED,
                },
            )
    return offer_respond(offer_id=existing.pk, driver=driver)


# --- assignment -------------------------------------------------------------------------------


def _assign(*, request: DeliveryRequest, offer: Offer) -> None:
    """Give a locked open request to the driver of a locked, responded offer."""
    trip = Trip.objects.select_for_update().get(pk=offer.trip_id)
    if not driver_is_approved(user_id=trip.driver_id):
        raise DriverUnavailable()
    if trip.state != Trip.State.ACTIVE:
        raise TripNotActive()
    totals = request_totals(request_id=request.pk)
    if (
        trip.load_kg + totals.weight_kg > trip.capacity_kg
        or trip.load_l + totals.volume_l > trip.capacity_l
        or totals.longest_side_cm > trip.max_length_cm
    ):
        raise TripFull()
    _lock_driver_within_earnings_cap(driver_id=trip.driver_id, fee_eur=offer.fee_eur)
    fields = request_move(request, RequestState.ASSIGNED)
    request.assigned_driver_id = trip.driver_id
    # The fee agreed with this driver goes onto the request: the handover books it as earned.
    request.agreed_fee_eur = offer.fee_eur
    request.save(update_fields=[*fields, "assigned_driver", "agreed_fee_eur"])
    now = timezone.now()
    offer.state = OfferState.SELECTED
    offer.closed_at = now
    offer.save(update_fields=["state", "closed_at"])
    trip.load_kg += totals.weight_kg
    trip.load_l += totals.volume_l
    trip.request_count += 1
    trip.save(update_fields=["load_kg", "load_l", "request_count"])
    others = Offer.objects.filter(request=request).exclude(pk=offer.pk)
    losers = list(
        others.filter(state__in=[OfferState.PENDING, OfferState.RESPONDED]).values_list(
            "trip__driver_id", "pk"
        )
    )
    _offers_close(others.filter(state=OfferState.PENDING), OfferState.WITHDRAWN)
    _offers_close(others.filter(state=OfferState.RESPONDED), OfferState.NOT_SELECTED)
    driver_name = User.objects.values_list("full_name", flat=True).get(pk=trip.driver_id)
    request_notices.assigned(request=request, driver_name=driver_name)
    offer_notices.offer_selected(driver_id=trip.driver_id, request=request, offer_id=offer.pk)
    offer_notices.offers_withdrawn(request=request, offers=losers)


def request_choose(*, request_id: int, customer: User, offer_id: int) -> Offer:
    """The customer picks one of the drivers who responded (``customer_choice`` stores).
    Raises DeliveryRequest.DoesNotExist, WrongAssignmentMode, RequestNotOpen, NotResponded,
    TripFull, EarningsCapReached (the driver took other deliveries meanwhile)."""
    with transaction.atomic():
        request = (
            DeliveryRequest.objects.select_for_update(of=("self",))
            .select_related("store")
            .get(pk=request_id, customer=customer)
        )
        if request.store.assignment_mode != AssignmentMode.CUSTOMER_CHOICE:
            raise WrongAssignmentMode()
        if request.state != RequestState.OPEN:
            raise RequestNotOpen()
        offer = Offer.objects.select_for_update().filter(pk=offer_id, request=request).first()
        if offer is None or offer.state != OfferState.RESPONDED:
            raise NotResponded()
        try:
            _assign(request=request, offer=offer)
        except EarningsCapReached:
            raise EarningsCapReached(
                "This driver cannot take more deliveries this year: choose another one."
            ) from None
    return offer


def request_assign_best(*, request_id: int) -> Offer | None:
    """``best_match``: once the collection window is over, give the request to the responder
    with the smallest detour (then the best rating, then the earliest response). A responder
    whose trip has filled up meanwhile, or who reached the earnings cap, is skipped. Safe to
    run twice."""
    with transaction.atomic():
        request = _locked_request_with_store(request_id)
        if request.state != RequestState.OPEN or request.first_response_at is None:
            return None
        window_over = request.first_response_at + timedelta(
            seconds=request.store.collection_window_s
        )
        if timezone.now() < window_over:
            return None  # still collecting: the sweep or the timed task comes back
        candidates = list(
            Offer.objects.select_for_update(of=("self",))
            .filter(request=request, state=OfferState.RESPONDED)
            .select_related("trip__driver__driver_profile")
            .order_by("detour_s", "-trip__driver__driver_profile__rating_avg", "responded_at")
        )
        for offer in candidates:
            try:
                with transaction.atomic():
                    _assign(request=request, offer=offer)
                return offer
            except (TripFull, TripNotActive, DriverUnavailable, EarningsCapReached):
                continue
    return None


@transaction.atomic
def request_release(*, request_id: int) -> list[tuple[int, int]]:
    """A cancelled or failed request lets go of its offers and frees its trip's room.
    Returns the (driver id, offer id) of the offers it closed, for telling the drivers."""
    live = [OfferState.PENDING, OfferState.RESPONDED, OfferState.SELECTED]
    closed = list(
        Offer.objects.filter(request_id=request_id, state__in=live).values_list(
            "trip__driver_id", "pk"
        )
    )
    selected = (
        Offer.objects.select_for_update()
        .filter(request_id=request_id, state=OfferState.SELECTED)
        .first()
    )
    if selected is not None:
        totals = request_totals(request_id=request_id)
        trip = Trip.objects.select_for_update().get(pk=selected.trip_id)
        trip.load_kg -= totals.weight_kg
        trip.load_l -= totals.volume_l
        trip.request_count -= 1
        trip.save(update_fields=["load_kg", "load_l", "request_count"])
        _offers_close(Offer.objects.filter(pk=selected.pk), OfferState.WITHDRAWN)
    open_offers = Offer.objects.filter(request_id=request_id)
    _offers_close(open_offers.filter(state=OfferState.PENDING), OfferState.WITHDRAWN)
    _offers_close(open_offers.filter(state=OfferState.RESPONDED), OfferState.WITHDRAWN)
    return closed


# --- posting, cancelling, failing --------------------------------------------------------------


@transaction.atomic
def request_post(*, customer: User, posted: PostedRequest) -> DeliveryRequest:
    """Post a delivery request: it starts open and is matched after commit.

    Raises InvalidInput naming the field (see ``deliveries.services.request_create``)."""
    request = request_create(customer=customer, posted=posted)
    enqueue_match_request(request_id=request.pk, store_id=request.store_id)
    return request


@transaction.atomic
def request_cancel(*, request_id: int, by: str, reason: str = "") -> DeliveryRequest:
    """Cancel an open or assigned request (customer, store or system). Offers are withdrawn
    and the driver told. Raises InvalidTransition once the parcel is picked up."""
    request = _locked_request_with_store(request_id)
    fields = request_move(request, RequestState.CANCELLED)
    request.cancelled_by = by
    request.cancel_reason = reason[:300]
    request.save(update_fields=[*fields, "cancelled_by", "cancel_reason"])
    released = request_release(request_id=request.pk)
    offer_notices.offers_withdrawn(request=request, offers=released)
    if by != DeliveryRequest.CancelledBy.CUSTOMER:
        request_notices.cancelled(request=request)
    return request


@transaction.atomic
def request_fail(*, request_id: int, driver: User, reason: str) -> DeliveryRequest:
    """The assigned driver cannot complete the delivery (the parcel goes back to the store):
    the request fails, the trip's room is freed and the customer and the store are told.
    Raises NotAllowed, InvalidTransition."""
    request = _locked_request_with_store(request_id)
    if request.assigned_driver_id != driver.pk:
        raise NotAllowed("Only the assigned driver can report a failed delivery.")
    fields = request_move(request, RequestState.FAILED)
    request.cancelled_by = DeliveryRequest.CancelledBy.DRIVER
    request.cancel_reason = reason[:300]
    request.review_required = True
    request.review_reason = "Delivery failed: the parcel returns to the store"
    request.save(
        update_fields=[*fields, "cancelled_by", "cancel_reason", "review_required", "review_reason"]
    )
    request_release(request_id=request.pk)
    request_notices.cancelled(request=request)
    _suspend_if_unreliable(driver_id=driver.pk, store=request.store)
    return request


def _suspend_if_unreliable(*, driver_id: int, store: Store) -> None:
    """A driver who gave up the store's threshold of deliveries within its window is suspended
    (the product decides; a manager or ops may reinstate them)."""
    since = timezone.now() - timedelta(days=store.suspend_window_days)
    failed = DeliveryRequest.objects.filter(
        assigned_driver_id=driver_id,
        state=RequestState.FAILED,
        cancelled_by=DeliveryRequest.CancelledBy.DRIVER,
        closed_at__gte=since,
    ).count()
    if failed >= store.suspend_after_failures and driver_is_approved(user_id=driver_id):
        driver_decide(
            driver_id=driver_id,
            kind=DriverDecision.Kind.SUSPENDED,
            by=None,
            reason=f"{failed} deliveries given up in {store.suspend_window_days} days",
            store_id=store.pk,
        )


def trips_erase_for_user(*, user_id: int) -> None:
    """For an account being deleted: the person's open and assigned requests are cancelled (their
    drivers told), their trips end, their offers are withdrawn, their commute profiles go and
    their home is forgotten (each trip's destination, distance and reach become the store's).
    Raises AccountHasActiveDeliveries while a parcel is on its way to or with them."""
    if DeliveryRequest.objects.filter(
        Q(customer_id=user_id, state=RequestState.PICKED_UP)
        | Q(assigned_driver_id=user_id, state__in=[RequestState.ASSIGNED, RequestState.PICKED_UP])
    ).exists():
        raise AccountHasActiveDeliveries()
    for request_id in DeliveryRequest.objects.filter(
        customer_id=user_id, state__in=[RequestState.OPEN, RequestState.ASSIGNED]
    ).values_list("pk", flat=True):
        request_cancel(
            request_id=request_id, by=DeliveryRequest.CancelledBy.CUSTOMER, reason="Account deleted"
        )
    offers = Offer.objects.filter(trip__driver_id=user_id)
    _offers_close(offers.filter(state=OfferState.PENDING), OfferState.WITHDRAWN)
    _offers_close(offers.filter(state=OfferState.RESPONDED), OfferState.WITHDRAWN)
    Trip.objects.filter(driver_id=user_id, state=Trip.State.ACTIVE).update(
        state=Trip.State.CANCELLED
    )
    for trip in Trip.objects.filter(driver_id=user_id).select_related("store"):
        # The home is private: after deletion only the store end of the trip remains. The
        # distance to it and the reach around it (an ellipse with the home as a focus) would
        # give it back, so they become those of a trip that ends at the store.
        store = trip.store.location
        trip.destination = store
        trip.direct_m = 0
        trip.direct_s = 0
        trip.reach_m = 0
        trip.reach_area = reach_ellipse(store=store, home=store, budget_m=0)
        trip.save(update_fields=["destination", "direct_m", "direct_s", "reach_m", "reach_area"])
    CommuteProfile.objects.filter(driver_id=user_id).delete()


# --- commute profiles -------------------------------------------------------------------------


def commute_trips_create(*, service_date: date) -> list[Trip]:
    """Create the day's trip for each active commute profile working that weekday. Idempotent:
    one trip per profile and day."""
    created = []
    profiles = CommuteProfile.objects.filter(
        active=True, weekdays__contains=[service_date.weekday()]
    ).select_related("store", "driver")
    for profile in profiles:
        if Trip.objects.filter(commute_profile=profile, service_date=service_date).exists():
            continue
        tz = ZoneInfo(profile.store.timezone)
        earliest = datetime.combine(service_date, profile.shift_end, tzinfo=tz)
        if earliest + timedelta(minutes=profile.departure_flex_min) < timezone.now():
            continue
        try:
            created.append(
                trip_create(
                    driver=profile.driver,
                    store_id=profile.store_id,
                    departure_earliest=earliest,
                    departure_latest=earliest + timedelta(minutes=profile.departure_flex_min),
                    destination=profile.home,
                    max_detour_s=profile.max_detour_s,
                    commute_profile_id=profile.pk,
                )
            )
        except (DriverProfileRequired, InvalidInput, NotAllowed, TripOverlaps):
            continue
    return created


# --- offering ---------------------------------------------------------------------------------


def offer_notify(offer: Offer, request: DeliveryRequest, driver_id: int) -> None:
    offer_notices.offer_new(
        driver_id=driver_id,
        request=request,
        offer_id=offer.pk,
        fee_cents=int(offer.fee_eur * 100),
        shown_detour_s=offer.shown_detour_s,
        ttl_s=int((offer.expires_at - timezone.now()).total_seconds()),
    )


@transaction.atomic
def offers_create_for_request(*, request_id: int) -> list[Offer]:
    """Offer an open request to the trips it fits best: candidates from the spatial prefilter,
    then the exact cheapest insertion into each candidate's current route (with the parcels it
    already carries) by the routing core; the store's fan-out k smallest added detours become
    offers. Idempotent: trips already offered this request are skipped, so a re-run adds
    nothing."""
    request = (
        DeliveryRequest.objects.select_for_update(of=("self",))
        .select_related("store")
        .get(pk=request_id)
    )
    if request.state != RequestState.OPEN:
        return []
    store = request.store
    live = Offer.objects.filter(
        request=request, state__in=[OfferState.PENDING, OfferState.RESPONDED]
    ).count()
    wanted = store.offer_fanout_k - live
    if wanted <= 0:
        return []
    ranked = rank_insertions(
        request=request, trips=candidates_for_request(request=request), k=wanted
    )
    expires_at = timezone.now() + timedelta(seconds=store.offer_lifetime_s)
    created = []
    for ranked_insertion in ranked:
        trip, insertion = ranked_insertion.trip, ranked_insertion.insertion
        shown = ranked_insertion.shown
        offer, new = Offer.objects.get_or_create(
            request=request,
            trip_id=trip.id,
            defaults={
                "detour_m": max(0, round(insertion.added_detour_m)),
                "detour_s": max(0, round(insertion.added_detour_s)),
                "travel_engine": ranked_insertion.engine,
                "shown_detour_m": shown.detour_m,
                "shown_detour_s": shown.detour_s,
                "fee_eur": offer_fee_eur(request=request, store=store, shown=shown),
                "expires_at": expires_at,
            },
        )
        if new:
            offer_notify(offer, request, trip.driver_id)
            created.append(offer)
    return created


@transaction.atomic
def offers_create_for_trip(*, trip_id: int) -> list[Offer]:
    """Offer a newly declared trip the open requests it fits, cheapest detour first, for
    requests that still have fewer live offers than their store's fan-out. Idempotent."""
    trip = Trip.objects.select_related("store").get(pk=trip_id)
    if trip.state != Trip.State.ACTIVE or not driver_is_approved(user_id=trip.driver_id):
        return []  # a pending driver browses the feed; offers are for approved drivers
    store = trip.store
    expires_at = timezone.now() + timedelta(seconds=store.offer_lifetime_s)
    created = []
    for opportunity in trip_feed(trip=trip, limit=store.offer_fanout_k):
        locked = DeliveryRequest.objects.select_for_update(of=("self",)).get(
            pk=opportunity.request.pk
        )
        live = Offer.objects.filter(
            request=locked, state__in=[OfferState.PENDING, OfferState.RESPONDED]
        ).count()
        if locked.state != RequestState.OPEN or live >= store.offer_fanout_k:
            continue
        offer, new = Offer.objects.get_or_create(
            request=locked,
            trip=trip,
            defaults={
                "detour_m": round(opportunity.detour_m),
                "detour_s": round(opportunity.detour_s),
                "travel_engine": opportunity.engine,
                "shown_detour_m": opportunity.shown.detour_m,
                "shown_detour_s": opportunity.shown.detour_s,
                "fee_eur": offer_fee_eur(request=locked, store=store, shown=opportunity.shown),
                "expires_at": expires_at,
            },
        )
        if new:
            offer_notify(offer, locked, trip.driver_id)
            created.append(offer)
    return created


# --- expiry -----------------------------------------------------------------------------------


def offers_expire(*, now: datetime | None = None) -> int:
    """Pending offers past their expiry become expired. Returns how many."""
    now = now or timezone.now()
    return Offer.objects.filter(state=OfferState.PENDING, expires_at__lte=now).update(
        state=OfferState.EXPIRED, closed_at=now
    )


def requests_expire(*, now: datetime | None = None) -> list[int]:
    """Open requests whose delivery window has closed expire; the customer is told and the
    drivers' offers are withdrawn. Each request is handled under its own lock, so a driver
    taking it at the same moment either wins before or finds it expired."""
    now = now or timezone.now()
    expired = []
    for request_id in DeliveryRequest.objects.filter(
        state=RequestState.OPEN, window_end__lte=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            request = (
                DeliveryRequest.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("store")
                .filter(pk=request_id, state=RequestState.OPEN)
                .first()
            )
            if request is None:
                continue
            request.save(update_fields=request_move(request, RequestState.EXPIRED))
            released = request_release(request_id=request.pk)
            offer_notices.offers_withdrawn(request=request, offers=released)
            request_notices.expired(request=request)
            expired.append(request.pk)
    return expired


def best_matches_assign_due() -> list[int]:
    """``best_match`` requests whose collection window is over get their driver (the sweep
    behind the task timed for each request). Returns the requests assigned."""
    due = (
        DeliveryRequest.objects.filter(
            state=RequestState.OPEN,
            store__assignment_mode=AssignmentMode.BEST_MATCH,
            first_response_at__isnull=False,
        )
        .annotate(
            due_at=ExpressionWrapper(
                F("first_response_at") + F("store__collection_window_s") * timedelta(seconds=1),
                output_field=DateTimeField(),
            )
        )
        .filter(due_at__lte=timezone.now())
        .order_by("first_response_at", "id")
        .values_list("pk", flat=True)
    )
    return [pk for pk in due if request_assign_best(request_id=pk) is not None]


def request_fee_step_up(*, request: DeliveryRequest, now: datetime) -> None:
    """Raise a locked open request's fee by one step (FEE_RAISE_STEP_EUR), never above its
    store's maximum; its pending offers pay at least the new fee. The one fee-raising rule,
    used by the batch for unanswered requests and by managers from the attention list."""
    maximum = request.store.fee_max_eur
    request.fee_eur = min(request.fee_eur + settings.FEE_RAISE_STEP_EUR, maximum)
    request.fee_raised_at = now
    request.save(update_fields=["fee_eur", "fee_raised_at"])
    Offer.objects.filter(
        request=request, state=OfferState.PENDING, fee_eur__lt=request.fee_eur
    ).update(fee_eur=request.fee_eur)
