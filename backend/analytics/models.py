"""Daily rollups of a store's delivery KPIs, and the manager's hand-overs to the vans.

A rollup row holds, for one store and one store-local day (the day a request was posted, in the
store's time zone), the counters and sums from which every KPI of ``selectors.py`` is recomputed
by addition. Medians are kept exact: the day's first-response times are stored as an array.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from backend.deliveries.models import DeliveryRequest
from backend.stores.models import Store


class StoreDayRollup(models.Model):
    """Counters of the requests posted at a store on one local day (see selectors.py)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="day_rollups")
    local_date = models.DateField(help_text="The day the requests were posted, store-local.")
    postings = models.PositiveIntegerField(default=0)
    responded = models.PositiveIntegerField(
        default=0, help_text="Postings with at least one response before closing."
    )
    responders_sum = models.PositiveIntegerField(
        default=0, help_text="Sum over postings of the distinct drivers who responded."
    )
    first_response_s = ArrayField(
        models.PositiveIntegerField(),
        default=list,
        help_text="Seconds from posting to the first response before closing, one per posting.",
    )
    assigned = models.PositiveIntegerField(default=0)
    picked_up = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    cancelled_by_customer = models.PositiveIntegerField(default=0)
    cancelled_by_store = models.PositiveIntegerField(default=0)
    cancelled_by_driver = models.PositiveIntegerField(default=0)
    cancelled_by_system = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    detour_m_sum = models.BigIntegerField(
        default=0, help_text="Delivered requests: the assigned driver's detour, metres."
    )
    store_distance_m_sum = models.FloatField(
        default=0, help_text="Delivered requests: straight line store → drop-off, metres."
    )
    fees_eur_sum = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    rating_count = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "local_date"], name="rollup_store_day"),
            models.CheckConstraint(
                condition=Q(responded__lte=models.F("postings")), name="rollup_responded_le"
            ),
        ]

    def __str__(self) -> str:
        return f"Rollup {self.store_id} {self.local_date}"


class StoreDayDriverRollup(models.Model):
    """How many of a local day's postings one driver responded to (distinct counts of drivers
    over a period are not additive, so they are counted from these rows)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="driver_rollups")
    local_date = models.DateField()
    driver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    responses = models.PositiveIntegerField()
    is_staff = models.BooleanField(help_text="Responded from a staff commute trip.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "local_date", "driver"], name="driver_rollup_store_day_driver"
            ),
        ]
        indexes = [models.Index(fields=["store", "local_date"], name="driver_rollup_store_day")]

    def __str__(self) -> str:
        return f"{self.driver_id}: {self.responses} on {self.local_date}"


class VanHandover(models.Model):
    """A manager gave an unanswered request to the store's vans."""

    request = models.OneToOneField(
        DeliveryRequest, on_delete=models.CASCADE, related_name="van_handover"
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Request {self.request_id} handed to the vans"
