from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from backend.deliveries import services
from backend.deliveries.models import DeliveryRequest, Earning, Parcel, Rating


class ParcelInline(admin.TabularInline):
    model = Parcel
    extra = 0


# Registered by matching's admin, which adds the actions that involve offers and trips.
class DeliveryRequestAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "store",
        "state",
        "fee_eur",
        "window_start",
        "window_end",
        "assigned_driver",
        "review_required",
        "created_at",
    )
    list_filter = ("state", "review_required", "store")
    search_fields = ("id", "order_reference", "customer__email")
    date_hierarchy = "created_at"
    list_select_related = ("store", "assigned_driver")
    inlines = [ParcelInline]
    raw_id_fields = ("customer", "assigned_driver")
    # States change through the services only (and the database refuses any other move).
    readonly_fields = (
        "state",
        "assigned_driver",
        "pickup_code_attempts",
        "delivery_code_attempts",
        "first_response_at",
        "assigned_at",
        "picked_up_at",
        "delivered_at",
        "closed_at",
        "created_at",
    )
    actions = ["close_review"]

    @admin.action(description="Close the review and unlock the codes")
    def close_review(self, request: HttpRequest, queryset: QuerySet[DeliveryRequest]) -> None:
        for delivery in queryset.filter(review_required=True):
            services.request_review_close(request_id=delivery.pk)
        self.message_user(request, "Reviews closed.")


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ("request", "direction", "stars", "created_at")
    list_filter = ("direction", "stars")
    raw_id_fields = ("request", "rater", "ratee")


@admin.register(Earning)
class EarningAdmin(admin.ModelAdmin):
    list_display = ("driver", "request", "amount_eur", "state", "created_at")
    list_filter = ("state",)
    raw_id_fields = ("driver", "request")
