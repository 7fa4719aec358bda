from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from backend.accounts.models import User
from backend.core.export import export_rows
from backend.deliveries.models import DeliveryRequest, Earning, Rating
from backend.deliveries.visibility import audience_of
from backend.stores.selectors import managed_store_ids, staff_store_ids

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


def requests_with_relations() -> QuerySet[DeliveryRequest]:
    return DeliveryRequest.objects.select_related(
        "store", "customer", "assigned_driver__driver_profile"
    ).prefetch_related("parcels")


def requests_of_customer(*, customer: User) -> QuerySet[DeliveryRequest]:
    return requests_with_relations().filter(customer=customer)


def requests_of_driver(*, driver: User) -> QuerySet[DeliveryRequest]:
    return requests_with_relations().filter(assigned_driver=driver)


def requests_of_store(*, store_id: int) -> QuerySet[DeliveryRequest]:
    return requests_with_relations().filter(store_id=store_id)


def request_for_participant(*, request_id: int, user: User) -> tuple[DeliveryRequest, str]:
    """The request and who among its customer, its driver and its store's people is looking at
    it (``visibility.audience_of``); matching's ``request_for_viewer`` adds the drivers it is
    offered to. Raises DoesNotExist for anyone else."""
    request = requests_with_relations().get(pk=request_id)
    return request, audience_of(request=request, user=user)


def request_of_customer(*, request_id: int, customer: User) -> DeliveryRequest:
    """Raises DoesNotExist unless the request is the customer's."""
    return DeliveryRequest.objects.get(pk=request_id, customer=customer)


def request_of_driver(*, request_id: int, driver: User) -> DeliveryRequest:
    """Raises DoesNotExist unless the request is assigned to the driver."""
    return DeliveryRequest.objects.get(pk=request_id, assigned_driver=driver)


def request_of_managed_store(*, request_id: int, user: User) -> DeliveryRequest:
    """Raises DoesNotExist unless the request is at a store the user manages."""
    return DeliveryRequest.objects.get(pk=request_id, store_id__in=managed_store_ids(user=user))


def request_at_staffed_store(*, request_id: int, user: User) -> DeliveryRequest:
    """Raises DoesNotExist unless the request is at a store where the user works (staff or
    manager): who may stand at its pickup desk."""
    return DeliveryRequest.objects.get(pk=request_id, store_id__in=staff_store_ids(user=user))


def request_proof_photo_for_viewer(*, request_id: int, user: User) -> DeliveryRequest:
    """The request, with its delivery photo, for who may see that photo: the managers of its
    store (who review it) and its customer (it shows where the parcel was left at their own
    door). Nobody else — not the store's other staff, not the driver who took it. Raises
    DoesNotExist for anyone else and for a request without a photo (so neither is revealed)."""
    return (
        DeliveryRequest.objects.exclude(proof_photo="")
        .filter(Q(customer_id=user.pk) | Q(store_id__in=managed_store_ids(user=user)))
        .get(pk=request_id)
    )


def requests_export_for_user(*, user_id: int) -> dict[str, list[dict[str, Any]]]:
    """The person's requests, the ratings they gave and received and their earnings, for their
    own data export."""
    return {
        "delivery_requests": export_rows(
            DeliveryRequest.objects.filter(customer_id=user_id),
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
        "ratings_given": export_rows(
            Rating.objects.filter(rater_id=user_id),
            ["request_id", "direction", "stars", "comment", "created_at"],
        ),
        "ratings_received": export_rows(
            Rating.objects.filter(ratee_id=user_id),
            ["request_id", "direction", "stars", "created_at"],
        ),
        "earnings": export_rows(
            Earning.objects.filter(driver_id=user_id),
            ["request_id", "amount_eur", "state", "created_at"],
        ),
    }


# --- parcel totals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestTotals:
    """What a request's parcels add up to: weight in kg, volume in litres, the longest side of
    any one parcel in cm, and how many parcels there are. Zero for a request without parcels."""

    weight_kg: Decimal
    volume_l: Decimal
    longest_side_cm: int
    parcel_count: int


class RequestTotalsAnnotations(TypedDict):
    """The annotations ``with_request_totals`` adds, named as ``RequestTotals``' fields."""

    weight_kg: Decimal
    volume_l: Decimal
    longest_side_cm: int
    parcel_count: int


# A request row read through ``with_request_totals``: to the type checker, the model with those
# annotations; at run time, the model (the annotations are plain attributes on the rows).
if TYPE_CHECKING:
    RequestWithTotals = WithAnnotations[DeliveryRequest, RequestTotalsAnnotations]
else:
    RequestWithTotals = DeliveryRequest


def with_request_totals(
    requests: QuerySet[DeliveryRequest],
) -> QuerySet[RequestWithTotals]:
    """The requests annotated with their parcel totals (read them with ``totals_of``). The one
    definition of the totals, so the queries that filter on them and the checks made in Python
    cannot disagree."""
    return requests.annotate(
        weight_kg=Coalesce(Sum("parcels__weight_kg"), Decimal(0)),
        volume_l=Coalesce(Sum("parcels__volume_l"), Decimal(0)),
        longest_side_cm=Coalesce(Max("parcels__longest_side_cm"), 0),
        parcel_count=Count("parcels"),
    )


def totals_of(request: RequestWithTotals) -> RequestTotals:
    """The totals of a request row read through ``with_request_totals``."""
    return RequestTotals(
        weight_kg=request.weight_kg,
        volume_l=request.volume_l,
        longest_side_cm=request.longest_side_cm,
        parcel_count=request.parcel_count,
    )


def request_totals(*, request_id: int) -> RequestTotals:
    """The totals of one request. Raises DoesNotExist for an unknown request."""
    return totals_of(with_request_totals(DeliveryRequest.objects.filter(pk=request_id)).get())


def requests_totals(*, request_ids: Iterable[int]) -> dict[int, RequestTotals]:
    """The totals of each of the requests, by request id (one query)."""
    rows = with_request_totals(DeliveryRequest.objects.filter(pk__in=list(request_ids)))
    return {row.pk: totals_of(row) for row in rows}
