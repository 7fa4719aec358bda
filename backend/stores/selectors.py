from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db.models import QuerySet

from backend.accounts.models import User
from backend.stores.models import Store, StoreMembership


def stores_list(*, near: Point | None = None) -> QuerySet[Store]:
    """All stores; with ``near``, nearest first and annotated with ``distance`` (metres)."""
    stores = Store.objects.all()
    if near is not None:
        stores = stores.annotate(distance=Distance("location", near)).order_by("distance", "id")
    return stores


def managed_store_ids(*, user: User) -> set[int]:
    if not user.is_authenticated:
        return set()
    return set(
        StoreMembership.objects.filter(user=user, role=StoreMembership.Role.MANAGER).values_list(
            "store_id", flat=True
        )
    )


def staff_store_ids(*, user: User) -> set[int]:
    """Stores where the user works, as staff or manager."""
    if not user.is_authenticated:
        return set()
    return set(StoreMembership.objects.filter(user=user).values_list("store_id", flat=True))


def is_store_manager(*, user: User, store_id: int) -> bool:
    return StoreMembership.objects.filter(
        user=user, store_id=store_id, role=StoreMembership.Role.MANAGER
    ).exists()
