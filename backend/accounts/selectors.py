from typing import Any

from django.forms.models import model_to_dict

from backend.accounts.models import DriverProfile, User


def _point(value: Any) -> Any:
    return {"lat": value.y, "lng": value.x} if hasattr(value, "x") else value


def _rows(queryset: Any, fields: list[str]) -> list[dict[str, Any]]:
    return [{name: _point(row[name]) for name in fields} for row in queryset.values(*fields)]


def user_data_export(*, user: User) -> dict[str, Any]:
    """Everything the product holds about one person, for their own download."""
    from backend.deliveries.models import DeliveryRequest, Earning, Rating
    from backend.matching.models import Offer, Trip

    profile = DriverProfile.objects.filter(user=user).first()
    return {
        "account": model_to_dict(
            user, fields=["id", "email", "full_name", "phone", "language", "date_joined"]
        ),
        "driver_profile": model_to_dict(profile, exclude=["id", "user"]) if profile else None,
        "delivery_requests": _rows(
            DeliveryRequest.objects.filter(customer=user),
            [
                "id",
                "store_id",
                "order_reference",
                "dropoff_address",
                "dropoff_point",
                "contact_phone",
                "access_notes",
                "window_start",
                "window_end",
                "fee_eur",
                "state",
                "created_at",
                "delivered_at",
            ],
        ),
        "trips": _rows(
            Trip.objects.filter(driver=user),
            [
                "id",
                "store_id",
                "departure_earliest",
                "departure_latest",
                "destination",
                "state",
                "created_at",
            ],
        ),
        "offers": _rows(
            Offer.objects.filter(trip__driver=user),
            [
                "id",
                "request_id",
                "trip_id",
                "detour_s",
                "detour_m",
                "fee_eur",
                "state",
                "created_at",
                "responded_at",
            ],
        ),
        "ratings_given": _rows(
            Rating.objects.filter(rater=user),
            ["request_id", "direction", "stars", "comment", "created_at"],
        ),
        "ratings_received": _rows(
            Rating.objects.filter(ratee=user), ["request_id", "direction", "stars", "created_at"]
        ),
        "earnings": _rows(
            Earning.objects.filter(driver=user), ["request_id", "amount_eur", "state", "created_at"]
        ),
    }
