from typing import Any

from django.forms.models import model_to_dict

from backend.accounts.models import DriverProfile, User


def account_export_for_user(*, user: User) -> dict[str, Any]:
    """The account and the driver profile, for the person's own data export."""
    profile = DriverProfile.objects.filter(user=user).first()
    return {
        "account": model_to_dict(
            user, fields=["id", "email", "full_name", "phone", "language", "date_joined"]
        ),
        "driver_profile": model_to_dict(profile, exclude=["id", "user"]) if profile else None,
    }
