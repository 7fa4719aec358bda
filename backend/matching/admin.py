from django.contrib import admin, messages
from django.contrib.gis.admin import GISModelAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from backend.core.errors import DomainError
from backend.deliveries.admin import DeliveryRequestAdmin
from backend.deliveries.models import DeliveryRequest
from backend.matching import services
from backend.matching.models import CommuteProfile, Offer, Trip, Van, VanPlan, VanStop


@admin.register(Trip)
class TripAdmin(GISModelAdmin):
    list_display = (
        "id",
        "driver",
        "store",
        "state",
        "departure_earliest",
        "departure_latest",
        "request_count",
        "load_kg",
    )
    list_filter = ("state", "store")
    search_fields = ("id", "driver__email")
    raw_id_fields = ("driver", "commute_profile")
    list_select_related = ("driver", "store")
    readonly_fields = ("load_kg", "load_l", "request_count", "direct_m", "reach_area")
    actions = ["rematch"]

    @admin.action(description="Offer these trips the open requests they fit")
    def rematch(self, request: HttpRequest, queryset: QuerySet[Trip]) -> None:
        created = sum(len(services.offers_create_for_trip(trip_id=t.pk)) for t in queryset)
        self.message_user(request, f"{created} offer(s) made.", messages.INFO)


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "request",
        "trip",
        "state",
        "source",
        "detour_s",
        "fee_eur",
        "expires_at",
        "responded_at",
    )
    list_filter = ("state", "source")
    raw_id_fields = ("request", "trip")
    list_select_related = ("request", "trip")
    readonly_fields = ("state", "responded_at", "closed_at")


@admin.register(CommuteProfile)
class CommuteProfileAdmin(GISModelAdmin):
    list_display = ("driver", "store", "weekdays", "shift_end", "active")
    raw_id_fields = ("driver",)


class VanStopInline(admin.TabularInline):
    model = VanStop
    extra = 0
    raw_id_fields = ("request",)


@admin.register(Van)
class VanAdmin(admin.ModelAdmin):
    list_display = ("name", "store", "capacity_kg", "shift_start", "shift_end", "active")
    list_filter = ("store", "active")


@admin.register(VanPlan)
class VanPlanAdmin(admin.ModelAdmin):
    list_display = ("store", "created_at", "requests_planned", "distance_m")
    inlines = [VanStopInline]


@admin.register(DeliveryRequest)
class DeliveryRequestWithMatchingAdmin(DeliveryRequestAdmin):
    """The requests' admin with cancelling, which withdraws the offers and frees the trip."""

    actions = ["cancel_requests", *DeliveryRequestAdmin.actions]

    @admin.action(description="Cancel the selected requests (customer told)")
    def cancel_requests(self, request: HttpRequest, queryset: QuerySet[DeliveryRequest]) -> None:
        done = 0
        for delivery in queryset:
            try:
                services.request_cancel(
                    request_id=delivery.pk,
                    by=DeliveryRequest.CancelledBy.STORE,
                    reason="Cancelled by the store",
                )
                done += 1
            except DomainError as exc:
                self.message_user(request, f"Request {delivery.pk}: {exc.detail}", messages.WARNING)
        self.message_user(request, f"{done} request(s) cancelled.")
