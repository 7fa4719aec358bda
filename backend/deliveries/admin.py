from django.contrib import admin, messages
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
    # The photo is private (it has no URL): the API serves it to the store's managers.
    exclude = ("proof_photo",)
    # States change through the services only (and the database refuses any other move).
    readonly_fields = (
        "state",
        "assigned_driver",
        "pickup_confirmed_by",
        "proof",
        "proof_review",
        "pickup_code_attempts",
        "delivery_code_attempts",
        "first_response_at",
        "assigned_at",
        "picked_up_at",
        "delivered_at",
        "closed_at",
        "created_at",
    )
    actions = ["close_review", "approve_photo", "reject_photo"]

    @admin.action(description="Close the review and unlock the codes (not for a photo proof)")
    def close_review(self, request: HttpRequest, queryset: QuerySet[DeliveryRequest]) -> None:
        flagged = queryset.filter(review_required=True)
        photos = flagged.filter(proof_review=DeliveryRequest.ProofReview.PENDING)
        for delivery in flagged.exclude(pk__in=photos):
            services.request_review_close(request_id=delivery.pk)
        if photos.exists():
            self.message_user(
                request, "Photo proofs need a verdict: approve or reject them.", messages.WARNING
            )
        self.message_user(request, "Reviews closed.")

    def _photo_verdict(self, queryset: QuerySet[DeliveryRequest], verdict: str) -> int:
        pending = queryset.filter(proof_review=DeliveryRequest.ProofReview.PENDING)
        for delivery in pending:
            services.request_review_close(request_id=delivery.pk, photo_verdict=verdict)
        return len(pending)

    @admin.action(description="Approve the photo proof (release the driver's earning)")
    def approve_photo(self, request: HttpRequest, queryset: QuerySet[DeliveryRequest]) -> None:
        done = self._photo_verdict(queryset, services.PhotoVerdict.APPROVE)
        self.message_user(request, f"{done} photo proof(s) approved.")

    @admin.action(description="Reject the photo proof (cancel the driver's earning)")
    def reject_photo(self, request: HttpRequest, queryset: QuerySet[DeliveryRequest]) -> None:
        done = self._photo_verdict(queryset, services.PhotoVerdict.REJECT)
        self.message_user(request, f"{done} photo proof(s) rejected.")


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
