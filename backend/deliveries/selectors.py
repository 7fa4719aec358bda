from django.db.models import Exists, OuterRef, QuerySet

from backend.accounts.models import User
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.stores.selectors import staff_store_ids


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


class Audience:
    CUSTOMER = "customer"
    DRIVER = "driver"
    OFFERED = "offered"
    STORE = "store"


def request_for_viewer(*, request_id: int, user: User) -> tuple[DeliveryRequest, str]:
    """The request and who is looking at it; raises DoesNotExist for anyone with no business
    seeing it (so its existence is not revealed)."""
    from backend.matching.models import Offer, OfferState

    live_offer = Offer.objects.filter(
        request=OuterRef("pk"),
        trip__driver=user,
        state__in=[OfferState.PENDING, OfferState.RESPONDED],
    )
    request = requests_with_relations().annotate(offered=Exists(live_offer)).get(pk=request_id)
    if request.customer_id == user.pk:
        return request, Audience.CUSTOMER
    if request.assigned_driver_id == user.pk:
        # The address and phone are the driver's only while the delivery is theirs to make.
        if request.state in (RequestState.ASSIGNED, RequestState.PICKED_UP):
            return request, Audience.DRIVER
        return request, Audience.OFFERED
    if request.store_id in staff_store_ids(user=user):
        return request, Audience.STORE
    if request.offered and request.state == RequestState.OPEN:
        return request, Audience.OFFERED
    raise DeliveryRequest.DoesNotExist()
