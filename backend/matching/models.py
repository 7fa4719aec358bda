from django.conf import settings
from django.contrib.gis.db import models as gis_models
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

from backend.deliveries.models import DeliveryRequest
from backend.stores.models import Store


class CommuteProfile(models.Model):
    """A staff member's regular drive home: yields a trip on each working day."""

    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="commute_profiles"
    )
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="commute_profiles")
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(), size=7, help_text="0 = Monday … 6 = Sunday"
    )
    shift_end = models.TimeField(help_text="Local time at the store.")
    departure_flex_min = models.PositiveSmallIntegerField(
        default=30, help_text="How long after the shift end the driver may leave."
    )
    home = gis_models.PointField(geography=True, srid=4326)
    max_detour_s = models.PositiveIntegerField(default=900)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["driver", "store"], name="commute_unique_per_store"),
        ]

    def __str__(self) -> str:
        return f"Commute of {self.driver_id} from {self.store_id}"


class Trip(models.Model):
    """A driver heading home from a store. The destination is private to the driver."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trips"
    )
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="trips")
    commute_profile = models.ForeignKey(
        CommuteProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="trips"
    )
    service_date = models.DateField(help_text="The store-local day of the departure.")
    departure_earliest = models.DateTimeField()
    departure_latest = models.DateTimeField()
    destination = gis_models.PointField(geography=True, srid=4326)
    direct_m = models.PositiveIntegerField(
        help_text="Straight-line distance from the store to the destination, metres."
    )
    direct_s = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Travel time from the store to the destination, seconds (null: not known).",
    )
    reach_m = models.PositiveIntegerField(
        default=0,
        help_text=(
            "Bound of d(store, drop-off) + d(drop-off, destination) in straight-line metres for "
            "every drop-off the trip could take: the candidate prefilter's ellipse."
        ),
    )
    reach_area = gis_models.PolygonField(
        srid=4326,
        spatial_index=True,
        help_text="Contains every drop-off this trip could take within its detour budget.",
    )
    capacity_kg = models.DecimalField(max_digits=6, decimal_places=1)
    capacity_l = models.DecimalField(max_digits=7, decimal_places=1)
    max_length_cm = models.PositiveIntegerField()
    max_detour_s = models.PositiveIntegerField()
    # What the trip carries: maintained under the trip's row lock, bounded by constraints.
    load_kg = models.DecimalField(max_digits=7, decimal_places=1, default=0)
    load_l = models.DecimalField(max_digits=8, decimal_places=1, default=0)
    request_count = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["store", "state", "departure_latest"], name="trip_store_active"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(departure_latest__gte=F("departure_earliest")),
                name="trip_departure_ordered",
            ),
            models.CheckConstraint(
                condition=Q(load_kg__lte=F("capacity_kg")), name="trip_load_within_kg"
            ),
            models.CheckConstraint(
                condition=Q(load_l__lte=F("capacity_l")), name="trip_load_within_l"
            ),
            models.CheckConstraint(
                condition=Q(load_kg__gte=0, load_l__gte=0), name="trip_load_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(capacity_kg__gt=0, capacity_l__gt=0, max_length_cm__gt=0),
                name="trip_capacity_positive",
            ),
            models.UniqueConstraint(
                fields=["commute_profile", "service_date"],
                condition=Q(commute_profile__isnull=False),
                name="trip_one_per_commute_day",
            ),
        ]

    def __str__(self) -> str:
        return f"Trip {self.pk} by {self.driver_id} from {self.store_id}"


class OfferState(models.TextChoices):
    PENDING = "pending", "Pending"
    RESPONDED = "responded", "Responded"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"
    SELECTED = "selected", "Selected"
    NOT_SELECTED = "not_selected", "Not selected"


OFFER_TRANSITIONS: dict[str, frozenset[str]] = {
    OfferState.PENDING: frozenset(
        {
            OfferState.RESPONDED,
            OfferState.DECLINED,
            OfferState.EXPIRED,
            OfferState.WITHDRAWN,
            OfferState.SELECTED,
        }
    ),
    OfferState.RESPONDED: frozenset(
        {OfferState.SELECTED, OfferState.NOT_SELECTED, OfferState.WITHDRAWN}
    ),
    OfferState.DECLINED: frozenset(),
    OfferState.EXPIRED: frozenset(),
    OfferState.WITHDRAWN: frozenset(),
    OfferState.SELECTED: frozenset({OfferState.WITHDRAWN}),
    OfferState.NOT_SELECTED: frozenset(),
}


class Offer(models.Model):
    """A request offered to a trip, with what it costs the driver and what it pays.

    ``detour_s``/``detour_m`` are the exact detour (ranking, best match, analytics); the driver
    is shown ``shown_detour_s``/``shown_detour_m``, computed to the drop-off area and rounded
    (``matching.selectors.ShownDetour``), and the fee is the store's rule on the shown distance.
    """

    class Source(models.TextChoices):
        MATCHING = "matching", "Matching"
        FEED = "feed", "Driver's on-my-way feed"
        BATCH = "batch", "Batch re-optimisation"

    request = models.ForeignKey(DeliveryRequest, on_delete=models.CASCADE, related_name="offers")
    trip = models.ForeignKey(Trip, on_delete=models.CASCADE, related_name="offers")
    detour_s = models.PositiveIntegerField()
    detour_m = models.PositiveIntegerField()
    # Which travel model measured the detour: a road engine, or the straight-line estimate.
    travel_engine = models.CharField(max_length=12, db_default="haversine")
    shown_detour_s = models.PositiveIntegerField(db_default=0)
    shown_detour_m = models.PositiveIntegerField(db_default=0)
    fee_eur = models.DecimalField(max_digits=6, decimal_places=2)
    expires_at = models.DateTimeField()
    state = models.CharField(max_length=12, choices=OfferState.choices, default=OfferState.PENDING)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MATCHING)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["request", "state"], name="offer_request_state")]
        constraints = [
            models.UniqueConstraint(fields=["request", "trip"], name="offer_once_per_trip"),
            # Exactly one driver ever holds a request.
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(state=OfferState.SELECTED),
                name="offer_one_selected_per_request",
            ),
        ]

    def __str__(self) -> str:
        return f"Offer {self.pk} ({self.state})"


class Van(models.Model):
    """One of the store's own vans, for what the crowd does not take."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="vans")
    name = models.CharField(max_length=60)
    capacity_kg = models.DecimalField(max_digits=7, decimal_places=1)
    capacity_l = models.DecimalField(max_digits=8, decimal_places=1)
    max_length_cm = models.PositiveIntegerField()
    shift_start = models.TimeField(help_text="Local time at the store.")
    shift_end = models.TimeField(help_text="Local time at the store.")
    cost_per_km_eur = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(shift_end__gt=F("shift_start")), name="van_shift_ordered"
            ),
            models.CheckConstraint(
                condition=Q(capacity_kg__gt=0, capacity_l__gt=0), name="van_capacity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.store_id})"


class VanPlan(models.Model):
    """The latest plan for a store's vans: which open requests they should take, in order."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="van_plans")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    cutoff_at = models.DateTimeField(
        help_text="Requests posted before this and still open are given to the vans."
    )
    requests_planned = models.PositiveIntegerField(default=0)
    distance_m = models.PositiveIntegerField(default=0)
    # Which travel model planned the routes and their times: a road engine, or the estimate.
    travel_engine = models.CharField(max_length=12, db_default="haversine")

    def __str__(self) -> str:
        return f"Van plan {self.pk} for {self.store_id}"


class VanStop(models.Model):
    plan = models.ForeignKey(VanPlan, on_delete=models.CASCADE, related_name="stops")
    van = models.ForeignKey(Van, on_delete=models.CASCADE, related_name="stops")
    sequence = models.PositiveSmallIntegerField()
    request = models.ForeignKey(DeliveryRequest, on_delete=models.CASCADE, related_name="van_stops")
    eta = models.DateTimeField()

    class Meta:
        ordering = ["plan", "van", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "request"], name="van_stop_once_per_plan"),
        ]

    def __str__(self) -> str:
        return f"{self.van_id} #{self.sequence}: request {self.request_id}"
