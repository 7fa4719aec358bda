import secrets

from django.conf import settings
from django.contrib.gis.db import models as gis_models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from backend.deliveries.storage import proof_photo_storage
from backend.stores.models import Store


def new_code() -> str:
    """Six random digits, from a cryptographic source."""
    return f"{secrets.randbelow(1_000_000):06d}"


class RequestState(models.TextChoices):
    OPEN = "open", "Open"
    ASSIGNED = "assigned", "Assigned"
    PICKED_UP = "picked_up", "Picked up"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Failed"


# The only moves a request can make. A database trigger (migration 0002) enforces the same set.
REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    RequestState.OPEN: frozenset(
        {RequestState.ASSIGNED, RequestState.CANCELLED, RequestState.EXPIRED}
    ),
    RequestState.ASSIGNED: frozenset(
        {RequestState.PICKED_UP, RequestState.CANCELLED, RequestState.FAILED}
    ),
    RequestState.PICKED_UP: frozenset({RequestState.DELIVERED, RequestState.FAILED}),
    RequestState.DELIVERED: frozenset(),
    RequestState.CANCELLED: frozenset(),
    RequestState.EXPIRED: frozenset(),
    RequestState.FAILED: frozenset(),
}
HELD_STATES = (RequestState.ASSIGNED, RequestState.PICKED_UP, RequestState.DELIVERED)


class DeliveryRequest(models.Model):
    """A customer's request to have what they bought at a store delivered to them."""

    class Proof(models.TextChoices):
        CODE = "code", "Customer's delivery code"
        PHOTO = "photo", "Photo, no code (store review)"

    class ProofReview(models.TextChoices):
        """The store's verdict on a photo proof; blank when the delivery had no photo."""

        PENDING = "pending", "Awaits the store's review"
        APPROVED = "approved", "Approved: the earning is released"
        REJECTED = "rejected", "Rejected: the earning is cancelled"

    class CancelledBy(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        STORE = "store", "Store"
        DRIVER = "driver", "Driver"
        SYSTEM = "system", "System"

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="requests")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delivery_requests"
    )
    order_reference = models.CharField(max_length=64)
    dropoff_address = models.CharField(max_length=255)
    dropoff_point = gis_models.PointField(geography=True, srid=4326, spatial_index=True)
    contact_phone = models.CharField(max_length=32)
    access_notes = models.CharField(max_length=500, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    fee_eur = models.DecimalField(max_digits=6, decimal_places=2)
    fee_raised_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time the fee was raised for want of a response."
    )
    agreed_fee_eur = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="What the assigned driver earns: the chosen offer's fee, set on assignment.",
    )
    state = models.CharField(max_length=10, choices=RequestState.choices, default=RequestState.OPEN)
    pickup_code = models.CharField(max_length=6, default=new_code)
    delivery_code = models.CharField(max_length=6, default=new_code)
    pickup_code_attempts = models.PositiveSmallIntegerField(default=0)
    delivery_code_attempts = models.PositiveSmallIntegerField(default=0)
    review_required = models.BooleanField(
        default=False, help_text="A step is locked or a photo proof awaits the store's review."
    )
    review_reason = models.CharField(max_length=200, blank=True)
    assigned_driver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_requests",
    )
    pickup_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The member of the store's staff who checked the driver's pickup pass.",
    )
    proof = models.CharField(max_length=8, choices=Proof.choices, blank=True)
    # Re-encoded (JPEG, no EXIF) and kept in private storage: served only by the API.
    proof_photo = models.ImageField(
        upload_to="proofs/%Y/%m/", storage=proof_photo_storage, blank=True
    )
    proof_review = models.CharField(
        max_length=8, choices=ProofReview.choices, blank=True, default="", db_default=""
    )
    driver_position = gis_models.PointField(
        geography=True, srid=4326, null=True, blank=True, spatial_index=False
    )
    driver_position_at = models.DateTimeField(null=True, blank=True)
    arriving_notified_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=8, choices=CancelledBy.choices, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["store", "state", "created_at"], name="request_store_state"),
            models.Index(fields=["customer", "created_at"], name="request_customer"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_end__gt=F("window_start")), name="request_window_ordered"
            ),
            models.CheckConstraint(condition=Q(fee_eur__gte=0), name="request_fee_non_negative"),
            # A held request has its driver; an open or expired one has none. Cancelled and
            # failed requests keep the driver they had, for the history.
            models.CheckConstraint(
                condition=~Q(state__in=HELD_STATES) | Q(assigned_driver__isnull=False),
                name="request_held_has_driver",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=[RequestState.OPEN, RequestState.EXPIRED])
                | Q(assigned_driver__isnull=True),
                name="request_open_has_no_driver",
            ),
            models.CheckConstraint(
                condition=~Q(customer=F("assigned_driver")), name="request_not_own_driver"
            ),
        ]

    def __str__(self) -> str:
        return f"Request {self.pk} ({self.state})"


class Parcel(models.Model):
    request = models.ForeignKey(DeliveryRequest, on_delete=models.CASCADE, related_name="parcels")
    description = models.CharField(max_length=120, blank=True)
    weight_kg = models.DecimalField(max_digits=6, decimal_places=1)
    volume_l = models.DecimalField(max_digits=7, decimal_places=1)
    longest_side_cm = models.PositiveIntegerField()
    fragile = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(weight_kg__gt=0, volume_l__gt=0, longest_side_cm__gt=0),
                name="parcel_size_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"Parcel {self.pk} of request {self.request_id}"


class Rating(models.Model):
    """One rating each way per delivery, 1 to 5 stars."""

    class Direction(models.TextChoices):
        CUSTOMER_TO_DRIVER = "customer_to_driver", "Customer rates driver"
        DRIVER_TO_CUSTOMER = "driver_to_customer", "Driver rates customer"

    request = models.ForeignKey(DeliveryRequest, on_delete=models.CASCADE, related_name="ratings")
    direction = models.CharField(max_length=20, choices=Direction.choices)
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ratings_given"
    )
    ratee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ratings_received"
    )
    stars = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "direction"], name="rating_once_per_way"),
            models.CheckConstraint(condition=Q(stars__gte=1, stars__lte=5), name="rating_stars"),
        ]

    def __str__(self) -> str:
        return f"{self.stars}★ {self.direction} on request {self.request_id}"


class Earning(models.Model):
    """What a driver earned for one delivery."""

    class State(models.TextChoices):
        """``pending`` and ``paid`` are payable. A delivery proven by a photo books its earning
        ``held`` until the store reviews the photo: approved, it becomes ``pending``; rejected,
        ``cancelled``. The yearly earnings cap counts every earning but cancelled ones (a held
        one too, so that releasing it never takes a driver past the cap)."""

        HELD = "held", "Held for the store's review"
        PENDING = "pending", "Pending payout"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"

    PAYABLE_STATES = (State.PENDING, State.PAID)

    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="earnings"
    )
    request = models.OneToOneField(
        DeliveryRequest, on_delete=models.PROTECT, related_name="earning"
    )
    amount_eur = models.DecimalField(max_digits=7, decimal_places=2)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_eur__gte=0), name="earning_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.amount_eur} EUR to {self.driver_id} for request {self.request_id}"
