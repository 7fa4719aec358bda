"""Ops staff see and act on requests, trips and offers in the admin."""

import pytest
from django.test import Client

from backend.accounts.models import User
from backend.deliveries.models import DeliveryRequest, RequestState
from tests import factories

PAGES = [
    "deliveries/deliveryrequest",
    "matching/trip",
    "matching/offer",
    "stores/store",
    "accounts/user",
    "deliveries/earning",
    "matching/vanplan",
    "matching/commuteprofile",
]


@pytest.fixture
def ops(db) -> Client:  # type: ignore[no-untyped-def]
    admin = User.objects.create_superuser(email="ops@example.com", password="ops-pass-123456")
    client = Client()
    client.force_login(admin)
    return client


@pytest.mark.parametrize("page", PAGES)
def test_every_admin_list_and_detail_page_opens(ops, page):  # type: ignore[no-untyped-def]
    offer = factories.OfferFactory()
    objects = {
        "deliveries/deliveryrequest": offer.request,
        "matching/trip": offer.trip,
        "matching/offer": offer,
        "stores/store": offer.request.store,
        "accounts/user": offer.trip.driver,
    }
    assert ops.get(f"/admin/{page}/").status_code == 200
    if page in objects:
        assert ops.get(f"/admin/{page}/{objects[page].pk}/change/").status_code == 200


def test_ops_can_cancel_requests_from_the_list(ops):  # type: ignore[no-untyped-def]
    request = factories.DeliveryRequestFactory()
    answer = ops.post(
        "/admin/deliveries/deliveryrequest/",
        {"action": "cancel_requests", "_selected_action": [request.pk]},
    )
    assert answer.status_code == 302
    request.refresh_from_db()
    assert request.state == RequestState.CANCELLED
    assert request.cancelled_by == DeliveryRequest.CancelledBy.STORE


def test_the_admin_is_closed_to_customers(db):  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(factories.UserFactory())
    assert client.get("/admin/deliveries/deliveryrequest/").status_code == 302
