from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.accounts.models import DriverProfile, DriverStatus, Language, User


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        max_length=128, write_only=True, style={"input_type": "password"}
    )
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=Language.choices, required=False, default="en")


class RegisterAcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField(
        help_text="The same for a new address and for one that already has an account."
    )


def _password_field(help_text: str) -> serializers.CharField:
    return serializers.CharField(
        max_length=128, write_only=True, style={"input_type": "password"}, help_text=help_text
    )


class PasswordChangeInputSerializer(serializers.Serializer):
    old_password = _password_field("The current password.")
    new_password = _password_field("The new password (Django's password rules apply).")


class TokenPairSerializer(serializers.Serializer):
    refresh = serializers.CharField()
    access = serializers.CharField()


class PasswordResetInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetAcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="The same whether or not the address is known.")


class PasswordResetConfirmInputSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64, help_text="From the reset mail.")
    token = serializers.CharField(max_length=128, help_text="From the reset mail.")
    new_password = _password_field("The new password (Django's password rules apply).")


class LogoutInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=2000, help_text="The refresh token to revoke.")
    device_token = serializers.CharField(
        max_length=1024,
        required=False,
        help_text=(
            "This phone's FCM token: its device is forgotten, so that no push of this account "
            "reaches the phone and another account may register the token."
        ),
    )


class DriverProfileSerializer(serializers.ModelSerializer):
    verified = serializers.BooleanField(
        source="approved", read_only=True, help_text="Approved: may respond and carry parcels."
    )

    class Meta:
        model = DriverProfile
        fields = [
            "vehicle_type",
            "capacity_kg",
            "capacity_l",
            "max_length_cm",
            "status",
            "verified",
            "identity_submitted_at",
            "rating_avg",
            "rating_count",
        ]
        read_only_fields = ["status", "identity_submitted_at", "rating_avg", "rating_count"]
        extra_kwargs = {
            "capacity_kg": {"min_value": Decimal(1), "max_value": Decimal(2000)},
            "capacity_l": {"min_value": Decimal(1), "max_value": Decimal(20000)},
            "max_length_cm": {"min_value": 10, "max_value": 400},
        }


class MembershipSerializer(serializers.Serializer):
    store_id = serializers.IntegerField()
    role = serializers.CharField()


class MeSerializer(serializers.ModelSerializer):
    driver_profile = DriverProfileSerializer(read_only=True, allow_null=True)
    memberships = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "full_name",
            "phone",
            "language",
            "date_joined",
            "driver_profile",
            "memberships",
        ]
        read_only_fields = ["id", "email", "date_joined"]

    @extend_schema_field(MembershipSerializer(many=True))
    def get_memberships(self, user: User) -> list[dict[str, object]]:
        memberships = user.store_memberships.all()
        rows = [{"store_id": m.store_id, "role": m.role} for m in memberships]
        return MembershipSerializer(rows, many=True).data  # type: ignore[return-value]

    def to_representation(self, user: User) -> dict[str, object]:
        data = super().to_representation(user)
        if not hasattr(user, "driver_profile"):
            data["driver_profile"] = None
        return data


class MeUpdateSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=Language.choices, required=False)


class IdentityDocumentInputSerializer(serializers.Serializer):
    document = serializers.FileField(
        help_text="A photo or scan of an identity document (JPEG, PNG or PDF)."
    )

    def validate_document(self, document: Any) -> Any:
        if document.size > settings.IDENTITY_DOCUMENT_MAX_BYTES:
            raise serializers.ValidationError(
                f"The document is larger than {settings.IDENTITY_DOCUMENT_MAX_BYTES // 2**20} MB."
            )
        head = document.read(5)
        document.seek(0)
        if not (
            head.startswith(b"\xff\xd8\xff")
            or head.startswith(b"\x89PNG")
            or head.startswith(b"%PDF-")
        ):
            raise serializers.ValidationError("Send a JPEG, PNG or PDF file.")
        return document


class DriverDecisionInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class StoreDriverSerializer(serializers.Serializer):
    """A person who works at the store and drives, as the store's managers see them."""

    user_id = serializers.IntegerField(source="user.pk")
    full_name = serializers.CharField(source="user.full_name")
    role = serializers.CharField()
    status = serializers.ChoiceField(choices=DriverStatus.choices, source="profile.status")
    vehicle_type = serializers.CharField(source="profile.vehicle_type")
    last_decision = serializers.CharField(allow_null=True)
    last_decision_at = serializers.DateTimeField(allow_null=True)
