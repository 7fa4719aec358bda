"""Shapes of a delivery request, one per audience, so private fields cannot slip through (who
is which audience: ``backend/deliveries/visibility.py``):

- the customer sees everything but the pickup code;
- the assigned driver, while the delivery is theirs, sees the exact address, phone, notes and
  the pickup code (its pickup pass, shown at the store's desk), never the delivery code;
- a driver who is only offered the request (or whose delivery it was) sees the store, the
  parcels, the window, the fee and the drop-off area (about 1 km), nothing that identifies the
  customer;
- the store's desk staff see the order reference, the parcels, the pickup state and the
  driver's first name: nothing that identifies or locates the customer, and no code;
- the store's managers see everything but the delivery code and the pickup code: the desk
  confirms a pickup with the pass the driver shows, so the store must not hold it itself.

Each shape names itself in ``audience`` (``customer``, ``driver``, ``offered``, ``desk``,
``manager``): an answer that may come in several shapes is a union discriminated by it.

The delivery photo is never part of a shape: the customer's and the store's shapes carry the
address of the authorised endpoint that serves it (``proof_photo_url``).
"""

from decimal import Decimal
from typing import Any

from django.contrib.gis.geos import Point
from django.core.validators import RegexValidator
from django.urls import reverse
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from backend.accounts.models import User
from backend.core.fields import ConstantField, LatLngField, LatLngSerializer
from backend.deliveries.models import DeliveryRequest, Parcel, Rating
from backend.deliveries.visibility import AREA_DECIMALS, Audience, dropoff_area

phone_validator = RegexValidator(r"^\+?[0-9 ()\-.]{6,32}$", "Enter a phone number.")
code_validator = RegexValidator(r"^[0-9]{6}$", "A code is six digits.")


class ParcelSerializer(serializers.ModelSerializer):
    weight_kg = serializers.DecimalField(
        max_digits=6, decimal_places=1, min_value=Decimal("0.1"), max_value=Decimal(1000)
    )
    volume_l = serializers.DecimalField(
        max_digits=7, decimal_places=1, min_value=Decimal("0.1"), max_value=Decimal(10000)
    )
    longest_side_cm = serializers.IntegerField(min_value=1, max_value=400)

    class Meta:
        model = Parcel
        fields = ["description", "weight_kg", "volume_l", "longest_side_cm", "fragile"]


class StoreRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    location = LatLngField()


def first_name(user: User | None) -> str | None:
    return None if user is None else (user.full_name or "").split(" ")[0]


class DriverPublicSerializer(serializers.Serializer):
    """What a customer learns about their driver: a first name, the vehicle and the rating."""

    id = serializers.IntegerField()
    first_name = serializers.SerializerMethodField()
    vehicle_type = serializers.SerializerMethodField()
    rating_avg = serializers.SerializerMethodField()

    def get_first_name(self, user: User) -> str:
        return first_name(user) or ""

    def get_vehicle_type(self, user: User) -> str | None:
        profile = getattr(user, "driver_profile", None)
        return profile.vehicle_type if profile else None

    def get_rating_avg(self, user: User) -> float | None:
        profile = getattr(user, "driver_profile", None)
        return float(profile.rating_avg) if profile and profile.rating_avg is not None else None


class RequestCreateSerializer(serializers.Serializer):
    store_id = serializers.IntegerField(min_value=1)
    order_reference = serializers.CharField(max_length=64)
    dropoff_address = serializers.CharField(max_length=255)
    dropoff = LatLngField()
    contact_phone = serializers.CharField(max_length=32, validators=[phone_validator])
    access_notes = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    parcels = serializers.ListField(child=ParcelSerializer(), allow_empty=False, max_length=10)


def audience_field(audience: str) -> ConstantField:
    return ConstantField(
        audience, help_text="Which shape of the request this is: who it is shaped for."
    )


class _RequestBaseSerializer(serializers.ModelSerializer):
    store = StoreRefSerializer()
    parcels = ParcelSerializer(many=True)

    def get_proof_photo_url(self, request: DeliveryRequest) -> str | None:
        """Where the delivery photo is served (to the store's managers and the customer)."""
        if not request.proof_photo:
            return None
        return reverse("request-proof-photo", kwargs={"request_id": request.pk})

    BASE_FIELDS = [
        "audience",
        "id",
        "store",
        "parcels",
        "window_start",
        "window_end",
        "fee_eur",
        "state",
        "created_at",
    ]


class RequestCustomerSerializer(_RequestBaseSerializer):
    audience = audience_field(Audience.CUSTOMER)
    dropoff = LatLngField(source="dropoff_point")
    driver = DriverPublicSerializer(source="assigned_driver", allow_null=True)
    proof_photo_url = serializers.SerializerMethodField()

    class Meta:
        model = DeliveryRequest
        fields = [
            *_RequestBaseSerializer.BASE_FIELDS,
            "order_reference",
            "dropoff_address",
            "dropoff",
            "contact_phone",
            "access_notes",
            "delivery_code",
            "driver",
            "first_response_at",
            "assigned_at",
            "picked_up_at",
            "delivered_at",
            "cancelled_by",
            "cancel_reason",
            "review_required",
            "proof",
            "proof_photo_url",
        ]


class RequestDriverSerializer(_RequestBaseSerializer):
    """For the assigned driver only."""

    audience = audience_field(Audience.DRIVER)
    dropoff = LatLngField(source="dropoff_point")
    customer_first_name = serializers.SerializerMethodField()
    pickup_code = serializers.CharField(
        read_only=True,
        help_text="The pickup pass: show it (with the request's id, as digits or a QR code) at "
        "the store's desk, where the staff confirm the pickup with it.",
    )

    class Meta:
        model = DeliveryRequest
        fields = [
            *_RequestBaseSerializer.BASE_FIELDS,
            "dropoff_address",
            "dropoff",
            "contact_phone",
            "access_notes",
            "pickup_code",
            "customer_first_name",
            "assigned_at",
            "picked_up_at",
            "delivered_at",
            "review_required",
        ]

    def get_customer_first_name(self, request: DeliveryRequest) -> str:
        return (request.customer.full_name or "").split(" ")[0]


@extend_schema_field(LatLngSerializer)
class DropoffAreaField(LatLngField):
    """The drop-off as ``visibility.dropoff_area``: the centre of a cell about 1 km across."""

    def to_representation(self, value: Point) -> dict[str, float]:
        return super().to_representation(dropoff_area(value))


class RequestOfferedSerializer(_RequestBaseSerializer):
    """For a driver who is offered the request: no address, phone, notes or codes."""

    audience = audience_field(Audience.OFFERED)
    dropoff_area = DropoffAreaField(
        source="dropoff_point",
        precision=AREA_DECIMALS,
        help_text="The drop-off rounded to about 1 km (0.01 degree).",
    )

    class Meta:
        model = DeliveryRequest
        fields = [*_RequestBaseSerializer.BASE_FIELDS, "dropoff_area"]


class RequestDeskSerializer(serializers.ModelSerializer):
    """For the store's desk staff: which parcels go to which driver, and whether they have been
    collected. Nothing that identifies or locates the customer, no fee and no code."""

    audience = audience_field(Audience.DESK)
    store = StoreRefSerializer()
    parcels = ParcelSerializer(many=True)
    driver_first_name = serializers.SerializerMethodField(
        help_text="The assigned driver's first name, to hand the parcels to."
    )

    class Meta:
        model = DeliveryRequest
        fields = [
            "audience",
            "id",
            "store",
            "order_reference",
            "parcels",
            "state",
            "created_at",
            "assigned_at",
            "picked_up_at",
            "driver_first_name",
        ]

    def get_driver_first_name(self, request: DeliveryRequest) -> str | None:
        return first_name(request.assigned_driver)


class RequestManagerSerializer(_RequestBaseSerializer):
    audience = audience_field(Audience.MANAGER)
    dropoff = LatLngField(source="dropoff_point")
    driver = DriverPublicSerializer(source="assigned_driver", allow_null=True)
    customer_name = serializers.CharField(source="customer.full_name")
    proof_photo_url = serializers.SerializerMethodField()

    class Meta:
        model = DeliveryRequest
        fields = [
            *_RequestBaseSerializer.BASE_FIELDS,
            "order_reference",
            "dropoff_address",
            "dropoff",
            "contact_phone",
            "access_notes",
            "customer_name",
            "driver",
            "first_response_at",
            "assigned_at",
            "picked_up_at",
            "delivered_at",
            "closed_at",
            "cancelled_by",
            "cancel_reason",
            "review_required",
            "review_reason",
            "proof",
            "proof_review",
            "proof_photo_url",
            "pickup_code_attempts",
            "delivery_code_attempts",
        ]


SERIALIZER_FOR_AUDIENCE: dict[str, type[serializers.Serializer]] = {
    Audience.CUSTOMER: RequestCustomerSerializer,
    Audience.DRIVER: RequestDriverSerializer,
    Audience.OFFERED: RequestOfferedSerializer,
    Audience.DESK: RequestDeskSerializer,
    Audience.MANAGER: RequestManagerSerializer,
}


def request_for(*audiences: str, name: str) -> PolymorphicProxySerializer:
    """The schema of an answer that is the request in one of these audiences' shapes: a union
    discriminated by ``audience``."""
    return PolymorphicProxySerializer(
        component_name=name,
        serializers={audience: SERIALIZER_FOR_AUDIENCE[audience] for audience in audiences},
        resource_type_field_name="audience",
    )


# One request, shaped for who is asking (the schema of ``GET /delivery-requests/{id}/``).
REQUEST_FOR_VIEWER = request_for(*SERIALIZER_FOR_AUDIENCE, name="DeliveryRequestForViewer")
# The answers of the moves, by who may make them (visibility.VISIBILITY, first rule that holds):
# the desk's pickup — its staff, its managers, or one of them who is the request's customer;
REQUEST_AT_DESK = request_for(
    Audience.CUSTOMER, Audience.DESK, Audience.MANAGER, name="DeliveryRequestAtDesk"
)
# a manager's cancellation or review — a manager, or the customer if the manager is that too;
REQUEST_FOR_STORE = request_for(Audience.CUSTOMER, Audience.MANAGER, name="DeliveryRequestForStore")
# the driver's delivery or failure — the offered shape from then on, or the manager's for one of
# the store's managers who drove it (a driver is never the request's customer).
REQUEST_AFTER_DRIVE = request_for(
    Audience.OFFERED, Audience.MANAGER, name="DeliveryRequestAfterDrive"
)


def request_shaped(request: DeliveryRequest, audience: str) -> Any:
    """The request in the shape its audience may see."""
    return SERIALIZER_FOR_AUDIENCE[audience](request).data


class CancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class PickupInputSerializer(serializers.Serializer):
    """What the desk enters or scans from the driver's pickup pass."""

    pickup_code = serializers.CharField(
        max_length=6, validators=[code_validator], help_text="The code on the driver's pass."
    )


class DeliverInputSerializer(serializers.Serializer):
    """A delivery with the customer's code (JSON). Without it, deliver with a photo instead
    (``POST /delivery-requests/{id}/deliver/photo/``)."""

    delivery_code = serializers.CharField(
        max_length=6, validators=[code_validator], help_text="The customer's six-digit code."
    )


class DeliverPhotoInputSerializer(serializers.Serializer):
    """A delivery without the customer's code: a photo of the parcel at the door (multipart)."""

    # The content is checked by the service (Pillow: JPEG, PNG or WebP), not by its name or type.
    photo = serializers.FileField(
        help_text="A JPEG, PNG or WebP photo; the whole upload at most PROOF_PHOTO_MAX_BYTES "
        "(8 MB by default, 413 above). Stored re-encoded, without EXIF."
    )


class PositionSerializer(serializers.Serializer):
    position = LatLngField()
    recorded_at = serializers.DateTimeField(read_only=True)


class RatingInputSerializer(serializers.Serializer):
    stars = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RatingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rating
        fields = ["request", "direction", "stars", "comment", "created_at"]


class ChooseInputSerializer(serializers.Serializer):
    offer_id = serializers.IntegerField(min_value=1)


class ReviewInputSerializer(serializers.Serializer):
    unlock_codes = serializers.BooleanField(
        default=True, help_text="Reset the wrong-code counters so the codes can be tried again."
    )
    photo_verdict = serializers.ChoiceField(
        choices=[("approve", "Approve"), ("reject", "Reject")],
        required=False,
        help_text="Required when a delivery photo awaits review: approve releases the driver's "
        "held earning, reject cancels it (the request stays delivered).",
    )
