"""Writes on delivery requests: their rows, the handover steps, positions, ratings, earnings.

The moves that involve offers or trips (posting with its matching, assigning, cancelling,
failing, expiring) belong to matching, which calls down into this module.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Avg, Count, Q
from django.utils import timezone

from backend.accounts.models import DriverProfile, User
from backend.core import travel
from backend.core.errors import InvalidInput, NotAllowed
from backend.deliveries import notices
from backend.deliveries.errors import (
    AccountHasActiveDeliveries,
    AlreadyRated,
    InvalidTransition,
    StepLocked,
    WrongCode,
)
from backend.deliveries.models import DeliveryRequest, Earning, Parcel, Rating, RequestState
from backend.deliveries.photos import proof_photo_clean
from backend.deliveries.states import request_move
from backend.stores.models import Store, StoreMembership
from backend.stores.selectors import store_with_distance_m

logger = logging.getLogger(__name__)

MIN_WINDOW = timedelta(minutes=30)
MAX_AHEAD = timedelta(days=7)
# Clock skew between a phone and the server: a window starting a minute ago is still "now".
CLOCK_TOLERANCE = timedelta(minutes=2)
MAX_PARCELS = 10


@dataclass(frozen=True)
class ParcelInput:
    weight_kg: Decimal
    volume_l: Decimal
    longest_side_cm: int
    fragile: bool = False
    description: str = ""


def _check_window(*, start: datetime, end: datetime) -> None:
    now = timezone.now()
    if start < now - CLOCK_TOLERANCE:
        raise InvalidInput("window_start", "The delivery window must start in the future.")
    if end <= start:
        raise InvalidInput("window_end", "The window must end after it starts.")
    if end - start < MIN_WINDOW:
        raise InvalidInput("window_end", "The delivery window must be at least 30 minutes long.")
    if end > now + MAX_AHEAD:
        raise InvalidInput("window_end", "The delivery window must end within 7 days.")


def _check_parcels(*, store: Store, parcels: tuple[ParcelInput, ...]) -> None:
    if not parcels:
        raise InvalidInput("parcels", "At least one parcel is required.")
    if len(parcels) > MAX_PARCELS:
        raise InvalidInput("parcels", f"At most {MAX_PARCELS} parcels per request.")
    for index, parcel in enumerate(parcels):
        if parcel.weight_kg > store.max_parcel_weight_kg:
            raise InvalidInput(
                f"parcels[{index}].weight_kg",
                f"This store takes parcels up to {store.max_parcel_weight_kg} kg.",
            )
        if parcel.volume_l > store.max_parcel_volume_l:
            raise InvalidInput(
                f"parcels[{index}].volume_l",
                f"This store takes parcels up to {store.max_parcel_volume_l} l.",
            )
        if parcel.longest_side_cm > store.max_parcel_length_cm:
            raise InvalidInput(
                f"parcels[{index}].longest_side_cm",
                f"This store takes parcels up to {store.max_parcel_length_cm} cm long.",
            )


@dataclass(frozen=True)
class PostedRequest:
    """What a customer posts: where and when to deliver which parcels from which store."""

    store_id: int
    order_reference: str
    dropoff_address: str
    dropoff_point: Point
    contact_phone: str
    window_start: datetime
    window_end: datetime
    parcels: tuple[ParcelInput, ...]
    access_notes: str = ""


@transaction.atomic
def request_create(*, customer: User, posted: PostedRequest) -> DeliveryRequest:
    """Write a posted delivery request and its parcels; it starts open. Posting from the API goes
    through ``matching.services.request_post``, which also queues its matching.

    Raises InvalidInput naming the field: unknown store, drop-off outside the store's service
    area, a window in the past, reversed, too short or too far ahead, parcels too big.
    """
    store, distance_m = store_with_distance_m(store_id=posted.store_id, point=posted.dropoff_point)
    if distance_m > store.service_radius_m:
        raise InvalidInput(
            "dropoff",
            f"The drop-off is {distance_m / 1000:.1f} km from the store; this store delivers "
            f"within {store.service_radius_m / 1000:.1f} km.",
        )
    travel.require_routable(store=store.location, point=posted.dropoff_point, field="dropoff")
    _check_window(start=posted.window_start, end=posted.window_end)
    _check_parcels(store=store, parcels=posted.parcels)
    request = DeliveryRequest.objects.create(
        store=store,
        customer=customer,
        order_reference=posted.order_reference,
        dropoff_address=posted.dropoff_address,
        dropoff_point=posted.dropoff_point,
        contact_phone=posted.contact_phone,
        access_notes=posted.access_notes,
        window_start=posted.window_start,
        window_end=posted.window_end,
        # The quoted fee assumes a detour of the one-way distance; offers may pay more.
        fee_eur=store.fee_for_detour_eur(distance_m),
    )
    Parcel.objects.bulk_create(
        Parcel(
            request=request,
            weight_kg=parcel.weight_kg,
            volume_l=parcel.volume_l,
            longest_side_cm=parcel.longest_side_cm,
            fragile=parcel.fragile,
            description=parcel.description,
        )
        for parcel in posted.parcels
    )
    return request


def _locked_request(request_id: int) -> DeliveryRequest:
    return DeliveryRequest.objects.select_for_update(of=("self",)).get(pk=request_id)


def _check_code(
    *, request: DeliveryRequest, given: str, expected: str, attempts_field: str, field: str
) -> bool:
    """Compare in constant time; count a wrong attempt and lock the step at the limit.
    Returns whether the code was right (the caller raises after saving the count)."""
    if secrets.compare_digest(given.strip(), expected):
        return True
    attempts = getattr(request, attempts_field) + 1
    setattr(request, attempts_field, attempts)
    fields = [attempts_field]
    if attempts >= settings.CODE_MAX_ATTEMPTS:
        request.review_required = True
        request.review_reason = f"{settings.CODE_MAX_ATTEMPTS} wrong {field.replace('_', ' ')}s"
        fields += ["review_required", "review_reason"]
    request.save(update_fields=fields)
    return False


def _driver_step(*, request_id: int, driver: User, attempts_field: str) -> DeliveryRequest:
    request = _locked_request(request_id)
    if request.assigned_driver_id != driver.pk:
        raise NotAllowed("Only the assigned driver can do this.")
    if getattr(request, attempts_field) >= settings.CODE_MAX_ATTEMPTS:
        raise StepLocked()
    return request


def request_pickup_confirm(*, request_id: int, staff: User, pickup_code: str) -> DeliveryRequest:
    """The store hands the parcel over at its desk: a member of the store's staff (or a manager)
    checks the pickup pass the assigned driver shows, the request and its pickup code.

    The pass is only ever shown to the assigned driver, and only the store can submit it: the
    driver's own account cannot move its request to picked up, nor can a driver who works at
    the store confirm its own pickup. Wrong codes count towards the step's lock.
    Raises NotAllowed, InvalidTransition, WrongCode (attempt counted), StepLocked."""
    with transaction.atomic():
        request = _locked_request(request_id)
        if not StoreMembership.objects.filter(store_id=request.store_id, user_id=staff.pk).exists():
            raise NotAllowed("Only the store's staff can confirm a pickup at its desk.")
        if request.assigned_driver_id == staff.pk:
            raise NotAllowed("Another member of the store's staff must confirm your own pickup.")
        if request.pickup_code_attempts >= settings.CODE_MAX_ATTEMPTS:
            raise StepLocked()
        if request.state != RequestState.ASSIGNED:
            raise InvalidTransition(f"A request that is {request.state} cannot be picked up.")
        ok = _check_code(
            request=request,
            given=pickup_code,
            expected=request.pickup_code,
            attempts_field="pickup_code_attempts",
            field="pickup_code",
        )
        if ok:
            fields = request_move(request, RequestState.PICKED_UP)
            request.pickup_confirmed_by = staff
            request.save(update_fields=[*fields, "pickup_confirmed_by"])
            driver = User.objects.get(pk=_driver_id(request))
            notices.picked_up(request=request, driver_name=driver.full_name)
    if not ok:
        raise _wrong_code(request, "pickup_code", request.pickup_code_attempts)
    return request


def _wrong_code(request: DeliveryRequest, field: str, attempts: int) -> Exception:
    left = settings.CODE_MAX_ATTEMPTS - attempts
    return StepLocked() if left <= 0 else WrongCode(field, left)


def request_deliver(
    *,
    request_id: int,
    driver: User,
    delivery_code: str | None = None,
    photo: UploadedFile | None = None,
) -> DeliveryRequest:
    """Hand the parcel over: with the customer's code, or with a photo when the customer cannot
    give it. With the code, the driver's earning is booked payable at once; with a photo, the
    request is delivered and flagged for the store's review, and the earning is booked held
    until a manager approves the photo (``request_review_close``).

    The photo is re-encoded (``photos.proof_photo_clean``: JPEG, PNG or WebP in, a JPEG without
    any metadata out) and kept in private storage.
    Raises NotAllowed, InvalidTransition, InvalidInput, WrongCode, StepLocked, PhotoTooLarge."""
    if (delivery_code is None) == (photo is None):
        raise InvalidInput("delivery_code", "Give either the customer's code or a photo.")
    # Decoding and re-encoding is the slow part: done before the request's row is locked.
    cleaned = proof_photo_clean(photo) if photo is not None else None
    with transaction.atomic():
        request = _driver_step(
            request_id=request_id, driver=driver, attempts_field="delivery_code_attempts"
        )
        if request.state != RequestState.PICKED_UP:
            raise InvalidTransition(f"A request that is {request.state} cannot be delivered.")
        if delivery_code is not None:
            ok = _check_code(
                request=request,
                given=delivery_code,
                expected=request.delivery_code,
                attempts_field="delivery_code_attempts",
                field="delivery_code",
            )
            proof = DeliveryRequest.Proof.CODE
        else:
            ok, proof = True, DeliveryRequest.Proof.PHOTO
        if ok:
            fields = request_move(request, RequestState.DELIVERED)
            request.proof = proof
            fields.append("proof")
            if cleaned is not None:
                # An unguessable name as well: the files are private, and stay so if the
                # folder is ever exposed by mistake.
                name = f"request-{request.pk}-{secrets.token_urlsafe(12)}.jpg"
                request.proof_photo.save(name, cleaned, save=False)
                request.proof_review = DeliveryRequest.ProofReview.PENDING
                request.review_required = True
                request.review_reason = "Delivered with a photo, without the customer's code"
                fields += ["proof_photo", "proof_review", "review_required", "review_reason"]
            request.save(update_fields=fields)
            _book_earning(request, held=proof == DeliveryRequest.Proof.PHOTO)
            _notify_delivered(request)
    if not ok:
        raise _wrong_code(request, "delivery_code", request.delivery_code_attempts)
    return request


def _driver_id(request: DeliveryRequest) -> int:
    if request.assigned_driver_id is None:
        raise InvalidTransition("This request has no driver.")
    return request.assigned_driver_id


def _book_earning(request: DeliveryRequest, *, held: bool) -> None:
    """The driver earns the fee agreed when the request was assigned to them: payable at once,
    or held until the store has reviewed the photo proof."""
    Earning.objects.create(
        driver_id=_driver_id(request),
        request=request,
        amount_eur=request.fee_eur if request.agreed_fee_eur is None else request.agreed_fee_eur,
        state=Earning.State.HELD if held else Earning.State.PENDING,
    )


def _notify_delivered(request: DeliveryRequest) -> None:
    staff = StoreMembership.objects.filter(store_id=request.store_id).values_list(
        "user_id", flat=True
    )
    notices.delivered(request=request, staff_ids=list(staff))
    notices.driver_rate(request=request, driver_id=_driver_id(request))


ARRIVING_SOON_M = 1000


@transaction.atomic
def position_update(*, request_id: int, driver: User, point: Point) -> DeliveryRequest:
    """The assigned driver's live position while the delivery is under way; the customer is
    told once when the driver comes within 1 km. Raises NotAllowed, InvalidTransition."""
    request = _locked_request(request_id)
    if request.assigned_driver_id != driver.pk:
        raise NotAllowed("Only the assigned driver can share a position for this delivery.")
    if request.state != RequestState.PICKED_UP:
        raise InvalidTransition("Positions are shared only while the parcel is on its way.")
    request.driver_position = point
    request.driver_position_at = timezone.now()
    fields = ["driver_position", "driver_position_at"]
    if (
        request.arriving_notified_at is None
        and DeliveryRequest.objects.filter(
            pk=request.pk, dropoff_point__dwithin=(point, D(m=ARRIVING_SOON_M))
        ).exists()
    ):
        request.arriving_notified_at = request.driver_position_at
        fields.append("arriving_notified_at")
        speed_m_per_min = float(settings.ROUTING_SPEED_KMH) * 1000 / 60
        notices.arriving_soon(
            request=request,
            eta_min=max(1, round(ARRIVING_SOON_M * settings.ROUTING_CIRCUITY / speed_m_per_min)),
        )
    request.save(update_fields=fields)
    return request


@transaction.atomic
def rating_create(*, request_id: int, rater: User, stars: int, comment: str = "") -> Rating:
    """Rate the other side of a delivered request, once. Raises NotAllowed, InvalidTransition,
    AlreadyRated."""
    request = _locked_request(request_id)
    if request.state != RequestState.DELIVERED:
        raise InvalidTransition("Only a delivered request can be rated.")
    if rater.pk == request.customer_id:
        direction, ratee_id = Rating.Direction.CUSTOMER_TO_DRIVER, _driver_id(request)
    elif rater.pk == request.assigned_driver_id:
        direction, ratee_id = Rating.Direction.DRIVER_TO_CUSTOMER, request.customer_id
    else:
        raise NotAllowed("Only the customer and the driver of this delivery can rate it.")
    if Rating.objects.filter(request=request, direction=direction).exists():
        raise AlreadyRated()
    rating = Rating.objects.create(
        request=request,
        direction=direction,
        rater=rater,
        ratee_id=ratee_id,
        stars=stars,
        comment=comment,
    )
    if direction == Rating.Direction.CUSTOMER_TO_DRIVER:
        summary = Rating.objects.filter(
            ratee_id=ratee_id, direction=Rating.Direction.CUSTOMER_TO_DRIVER
        ).aggregate(avg=Avg("stars"), count=Count("id"))
        DriverProfile.objects.filter(user_id=ratee_id).update(
            rating_avg=Decimal(summary["avg"]).quantize(Decimal("0.01")),
            rating_count=summary["count"],
        )
    return rating


def _photos_delete_on_commit(names: list[str]) -> None:
    """Delete proof photos from storage once the erasure has committed (a rollback keeps them,
    with the rows that name them)."""

    storage = DeliveryRequest._meta.get_field("proof_photo").storage

    def delete() -> None:
        for name in names:
            try:
                storage.delete(name)
            except OSError:
                logger.exception("proof photo not deleted", extra={"photo": name})

    if names:
        transaction.on_commit(delete)


def requests_erase_for_user(*, user_id: int) -> None:
    """For an account being deleted, once matching has cancelled what was not under way.

    Of the person's own requests: the address, phone, notes, order reference, cancel reason and
    parcel descriptions go, the drop-off becomes a coarse point (about 1 km) kept for the store's
    statistics, and the driver's last position (at the door) and the proof photo (of the door)
    go. Of the requests the person drove: their last position and the proof photos they took
    go. Rating comments written by or about the person go; the stars stay.
    Raises AccountHasActiveDeliveries when a parcel is on its way to this customer."""
    requests = DeliveryRequest.objects.select_for_update().filter(customer_id=user_id)
    if requests.filter(state=RequestState.PICKED_UP).exists():
        raise AccountHasActiveDeliveries()
    photos: list[str] = []
    for request in requests:
        request.dropoff_point = Point(
            round(request.dropoff_point.x, 2), round(request.dropoff_point.y, 2), srid=4326
        )
        request.dropoff_address = ""
        request.contact_phone = ""
        request.access_notes = ""
        request.order_reference = ""
        request.cancel_reason = ""
        photos += _position_and_photo_forget(request)
        request.save(
            update_fields=[
                "dropoff_point",
                "dropoff_address",
                "contact_phone",
                "access_notes",
                "order_reference",
                "cancel_reason",
                "driver_position",
                "proof_photo",
            ]
        )
    Parcel.objects.filter(request__customer_id=user_id).update(description="")
    for request in DeliveryRequest.objects.select_for_update().filter(assigned_driver_id=user_id):
        photos += _position_and_photo_forget(request)
        request.save(update_fields=["driver_position", "proof_photo"])
    Rating.objects.filter(Q(rater_id=user_id) | Q(ratee_id=user_id)).update(comment="")
    _photos_delete_on_commit(photos)


def _position_and_photo_forget(request: DeliveryRequest) -> list[str]:
    """Clear the driver's last position and the proof photo; return the photo's storage name."""
    name = request.proof_photo.name or ""
    request.driver_position = None
    request.proof_photo = ""
    return [name] if name else []


class PhotoVerdict:
    APPROVE = "approve"
    REJECT = "reject"
    ALL = (APPROVE, REJECT)


@transaction.atomic
def request_review_close(
    *, request_id: int, unlock_codes: bool = True, photo_verdict: str | None = None
) -> DeliveryRequest:
    """The store has looked at a flagged request (locked codes, a photo proof, a failure).

    A photo proof needs a verdict, once: ``approve`` releases the held earning (it becomes
    payable); ``reject`` cancels it (no longer payable, no longer counted by the yearly cap).
    Either way the request stays delivered — the state machine has no way back from there —
    with the verdict recorded in ``proof_review``; after a rejection the store takes the
    delivery up with the customer and the driver itself.
    Raises InvalidInput("photo_verdict") for a missing verdict on a photo that awaits one, or a
    verdict where no photo awaits one."""
    request = _locked_request(request_id)
    fields = ["review_required", "review_reason"]
    photo_pending = request.proof_review == DeliveryRequest.ProofReview.PENDING
    if photo_pending and photo_verdict is None:
        raise InvalidInput("photo_verdict", "Approve or reject the delivery photo.")
    if photo_verdict is not None:
        if photo_verdict not in PhotoVerdict.ALL:
            raise InvalidInput("photo_verdict", "Approve or reject the delivery photo.")
        if not photo_pending:
            raise InvalidInput("photo_verdict", "No delivery photo awaits a verdict here.")
        approved = photo_verdict == PhotoVerdict.APPROVE
        Earning.objects.filter(request=request, state=Earning.State.HELD).update(
            state=Earning.State.PENDING if approved else Earning.State.CANCELLED
        )
        verdicts = DeliveryRequest.ProofReview
        request.proof_review = verdicts.APPROVED if approved else verdicts.REJECTED
        fields.append("proof_review")
    request.review_required = False
    request.review_reason = ""
    if unlock_codes:
        request.pickup_code_attempts = 0
        request.delivery_code_attempts = 0
        fields += ["pickup_code_attempts", "delivery_code_attempts"]
    request.save(update_fields=fields)
    return request
