from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import OuterRef, Subquery
from django.forms.models import model_to_dict

from backend.accounts.models import DriverDecision, DriverProfile, DriverStatus, User
from backend.stores.models import StoreMembership


def account_export_for_user(*, user: User) -> dict[str, Any]:
    """The account and the driver profile, for the person's own data export."""
    profile = DriverProfile.objects.filter(user=user).first()
    return {
        "account": model_to_dict(
            user, fields=["id", "email", "full_name", "phone", "language", "date_joined"]
        ),
        "driver_profile": (
            model_to_dict(profile, exclude=["id", "user", "identity_document"]) if profile else None
        ),
    }


@dataclass(frozen=True)
class StoreDriver:
    """A person who works at a store and has a driver profile, with the latest decision."""

    user: User
    role: str
    profile: DriverProfile
    last_decision: str | None
    last_decision_at: datetime | None


def store_drivers(*, store_id: int) -> list[StoreDriver]:
    """The store's staff and managers who drive, pending first, then by name."""
    latest = DriverDecision.objects.filter(driver=OuterRef("user")).order_by("-created_at", "-id")
    memberships = (
        StoreMembership.objects.filter(store_id=store_id, user__driver_profile__isnull=False)
        .select_related("user__driver_profile")
        .annotate(
            last_decision=Subquery(latest.values("kind")[:1]),
            last_decision_at=Subquery(latest.values("created_at")[:1]),
        )
    )
    drivers = [
        StoreDriver(
            user=membership.user,
            role=membership.role,
            profile=membership.user.driver_profile,
            last_decision=membership.last_decision,
            last_decision_at=membership.last_decision_at,
        )
        for membership in memberships
    ]
    pending_first = {DriverStatus.PENDING: 0}
    drivers.sort(
        key=lambda d: (pending_first.get(DriverStatus(d.profile.status), 1), d.user.full_name)
    )
    return drivers


def driver_is_approved(*, user_id: int) -> bool:
    return DriverProfile.objects.filter(user_id=user_id, status=DriverStatus.APPROVED).exists()
