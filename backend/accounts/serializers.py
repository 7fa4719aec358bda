from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.accounts.models import DriverProfile, Language, User


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        max_length=128, write_only=True, style={"input_type": "password"}
    )
    full_name = serializers.CharField(max_length=150, required=False, default="")
    phone = serializers.CharField(max_length=32, required=False, default="")
    language = serializers.ChoiceField(choices=Language.choices, required=False, default="en")


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
    class Meta:
        model = DriverProfile
        fields = [
            "vehicle_type",
            "capacity_kg",
            "capacity_l",
            "max_length_cm",
            "verified",
            "rating_avg",
            "rating_count",
        ]
        read_only_fields = ["verified", "rating_avg", "rating_count"]
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
