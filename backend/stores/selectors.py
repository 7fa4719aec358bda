from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db.models import QuerySet

from backend.core.errors import InvalidInput
from backend.core.geo import SphereDistance
from backend.stores.models import Store, StoreMembership

# Whoever an API request is made by; a store knows its people only through AUTH_USER_MODEL.
AnyUser = AbstractBaseUser | AnonymousUser


def stores_list(*, near: Point | None = None) -> QuerySet[Store]:
    """All stores; with ``near``, nearest first and annotated with ``distance`` (metres)."""
    stores = Store.objects.all()
    if near is not None:
        stores = stores.annotate(distance=Distance("location", near)).order_by("distance", "id")
    return stores


def store_with_distance_m(*, store_id: int, point: Point) -> tuple[Store, float]:
    """The store and its great-circle distance to ``point`` in metres (on the routing core's
    sphere). Raises InvalidInput("store_id") for an unknown store."""
    row = (
        Store.objects.annotate(distance_m=SphereDistance("location", point))
        .filter(pk=store_id)
        .first()
    )
    if row is None:
        raise InvalidInput("store_id", "Unknown store.")
    return row, row.distance_m


def managed_stores(*, user: AnyUser) -> QuerySet[Store]:
    """The stores the user manages, by name: the one definition of "manages this store"."""
    if not user.is_authenticated:
        return Store.objects.none()
    return Store.objects.filter(
        memberships__user_id=user.pk, memberships__role=StoreMembership.Role.MANAGER
    ).order_by("name", "id")


def managed_store_ids(*, user: AnyUser) -> set[int]:
    return set(managed_stores(user=user).values_list("id", flat=True))


def managed_store(*, user: AnyUser, store_id: int) -> Store:
    """The store if the user manages it. Raises Store.DoesNotExist otherwise (a 404: the
    existence of other stores' data is not revealed)."""
    return managed_stores(user=user).get(pk=store_id)


def staff_store_ids(*, user: AnyUser) -> set[int]:
    """Stores where the user works, as staff or manager."""
    if not user.is_authenticated:
        return set()
    return set(StoreMembership.objects.filter(user_id=user.pk).values_list("store_id", flat=True))


def store_role(*, user: AnyUser, store_id: int) -> str | None:
    """The user's role at the store (``StoreMembership.Role``), or None if they do not work
    there."""
    if not user.is_authenticated:
        return None
    return (
        StoreMembership.objects.filter(user_id=user.pk, store_id=store_id)
        .values_list("role", flat=True)
        .first()
    )
