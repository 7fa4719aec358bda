from decimal import Decimal

from django.conf import settings
from django.contrib.gis.db import models as gis_models
from django.db import models
from django.db.models import F, Q


class AssignmentMode(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First responder is assigned"
    CUSTOMER_CHOICE = "customer_choice", "Customer picks among responders"
    BEST_MATCH = "best_match", "System picks the best responder after a collection window"


def default_opening_hours() -> dict[str, list[str]]:
    weekday = ["09:00", "21:00"]
    return {str(day): weekday for day in range(6)} | {"6": ["10:00", "19:00"]}


# What a store's managers may change of its policy (the manager API's policy shape, in order).
POLICY_FIELDS = (
    "assignment_mode",
    "offer_fanout_k",
    "offer_lifetime_s",
    "collection_window_s",
    "fee_base_eur",
    "fee_per_detour_km_eur",
    "fee_min_eur",
    "fee_max_eur",
    "max_parcel_weight_kg",
    "max_parcel_volume_l",
    "max_parcel_length_cm",
    "service_radius_m",
    "max_responses_in_flight",
    "suspend_after_failures",
    "suspend_window_days",
)


class Store(models.Model):
    """A store where customers buy bulky goods and parcels are picked up.

    The policy fields say how requests posted at this store are offered, assigned and priced.
    """

    name = models.CharField(max_length=120)
    address = models.CharField(max_length=255)
    location = gis_models.PointField(geography=True, srid=4326)
    service_radius_m = models.PositiveIntegerField(
        default=15_000, help_text="Drop-off points must lie within this distance of the store."
    )
    timezone = models.CharField(max_length=64, default="Europe/Paris")
    opening_hours = models.JSONField(
        default=default_opening_hours,
        help_text='Weekday (0 = Monday) to ["HH:MM", "HH:MM"]; a missing day is closed.',
    )
    # Policy
    assignment_mode = models.CharField(
        max_length=20, choices=AssignmentMode.choices, default=AssignmentMode.FIRST_RESPONSE
    )
    offer_fanout_k = models.PositiveSmallIntegerField(
        default=5, help_text="How many drivers get an offer for a new request."
    )
    offer_lifetime_s = models.PositiveIntegerField(default=900)
    collection_window_s = models.PositiveIntegerField(
        default=300, help_text="best_match: how long responses are collected before choosing."
    )
    fee_base_eur = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("3.00"))
    fee_per_detour_km_eur = models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal("0.50")
    )
    fee_min_eur = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("3.00"))
    fee_max_eur = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("15.00"))
    # Trust: how much one driver may hold at once here, and when failures suspend them.
    max_responses_in_flight = models.PositiveSmallIntegerField(
        default=3, help_text="Responses a driver may have waiting for a decision at this store."
    )
    suspend_after_failures = models.PositiveSmallIntegerField(
        default=3,
        help_text="Deliveries a driver gives up (failed) within the window before suspension.",
    )
    suspend_window_days = models.PositiveSmallIntegerField(default=30)
    max_parcel_weight_kg = models.DecimalField(
        max_digits=6, decimal_places=1, default=Decimal("60.0")
    )
    max_parcel_volume_l = models.DecimalField(
        max_digits=7, decimal_places=1, default=Decimal("500.0")
    )
    max_parcel_length_cm = models.PositiveIntegerField(default=250)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(fee_min_eur__lte=F("fee_max_eur")), name="store_fee_min_le_max"
            ),
            models.CheckConstraint(
                condition=Q(fee_min_eur__gte=0, fee_base_eur__gte=0, fee_per_detour_km_eur__gte=0),
                name="store_fees_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(offer_fanout_k__gte=1, offer_fanout_k__lte=50),
                name="store_fanout_range",
            ),
            models.CheckConstraint(
                condition=Q(service_radius_m__gte=500, service_radius_m__lte=100_000),
                name="store_service_radius_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def fee_for_detour_eur(self, detour_m: float) -> Decimal:
        """The store's fee rule: base + per detour km, clamped to [min, max], in cents."""
        raw = self.fee_base_eur + self.fee_per_detour_km_eur * Decimal(detour_m) / 1000
        return min(max(raw, self.fee_min_eur), self.fee_max_eur).quantize(Decimal("0.01"))


class StoreMembership(models.Model):
    """Store staff and managers. Staff may drive parcels home; managers also run the store."""

    class Role(models.TextChoices):
        STAFF = "staff", "Staff"
        MANAGER = "manager", "Manager"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="store_memberships"
    )
    role = models.CharField(max_length=8, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} at {self.store}"
