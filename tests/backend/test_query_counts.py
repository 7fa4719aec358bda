"""List endpoints run a fixed number of queries whatever the page size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.deliveries.models import DeliveryRequest, RequestState
from tests import factories


def _queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, {"page_size": 100})
    assert response.status_code == 200, response.content
    return len(captured)


def _grow(make, n: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(n):
        make()


# (url, expected queries: auth user, the page, prefetches)
CASES = {
    "customer requests": "/api/v1/delivery-requests/",
    "driver offers": "/api/v1/offers/",
    "driver trips": "/api/v1/trips/",
    "driver deliveries": "/api/v1/driver/deliveries/",
    "manager requests": "/api/v1/manager/stores/{store}/requests/",
    "stores": "/api/v1/stores/",
}
PINNED = {
    "customer requests": 3,
    "driver offers": 3,
    "driver trips": 2,
    "driver deliveries": 3,
    "manager requests": 4,
    "stores": 2,
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(CASES))
def test_list_queries_do_not_grow_with_the_page(api, store, case):  # type: ignore[no-untyped-def]
    customer = factories.UserFactory()
    driver = factories.DriverFactory()
    manager = factories.MembershipFactory(store=store).user

    def one_of_each() -> None:
        request = factories.DeliveryRequestFactory(store=store, customer=customer)
        factories.ParcelFactory(request=request)
        offer = factories.OfferFactory(request=request, trip__driver=driver, trip__store=store)
        DeliveryRequest.objects.filter(pk=request.pk).update(
            state=RequestState.ASSIGNED, assigned_driver=driver
        )
        assert offer.pk
        factories.StoreFactory()

    viewer = {"customer requests": customer, "manager requests": manager}.get(case, driver)
    url = CASES[case].format(store=store.pk)
    _grow(one_of_each, 2)
    few = _queries(api(viewer), url)
    _grow(one_of_each, 10)
    many = _queries(api(viewer), url)

    assert few == many == PINNED[case]
