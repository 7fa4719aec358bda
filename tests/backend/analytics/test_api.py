"""The manager analytics API: KPIs, needs attention and its actions, CSV exports, and who may
see them."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.analytics import services
from backend.analytics.models import VanHandover
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.matching.models import Van, VanStop
from tests import factories
from tests.backend.analytics import data

pytestmark = pytest.mark.django_db

D1 = date.fromisoformat(data.D1)
D2 = date.fromisoformat(data.D2)
KPIS = "/api/v1/manager/stores/{}/kpis/"
ATTENTION = "/api/v1/manager/stores/{}/attention/"


def _posted_ago(store, minutes: int, **kwargs) -> DeliveryRequest:  # type: ignore[no-untyped-def]
    request = factories.DeliveryRequestFactory(store=store, **kwargs)
    DeliveryRequest.objects.filter(pk=request.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )
    request.refresh_from_db()
    return request


@pytest.fixture
def van(store):  # type: ignore[no-untyped-def]
    from datetime import time

    return Van.objects.create(
        store=store,
        name="Van 1",
        capacity_kg=Decimal("800"),
        capacity_l=Decimal("8000"),
        max_length_cm=300,
        shift_start=time(8),
        shift_end=time(20),
    )


def test_kpis_return_totals_and_series_in_few_queries(
    api, store, manager, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    data.known_dataset(store)
    services.rollups_rebuild(store_id=store.pk, start=D1, end=D2)
    client = api(manager)

    with django_assert_num_queries(3):  # the token's user, the managed store, the report
        response = client.get(KPIS.format(store.pk), {"from": D1, "to": D2})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["timezone"] == "Europe/Paris"
    assert body["reference_response_rate"] == 0.7
    assert body["reference_responses_per_posting"] == 2.8
    assert body["totals"]["postings"] == 6
    assert body["totals"]["response_rate"] == pytest.approx(4 / 6)
    assert body["totals"]["first_response_median_s"] == pytest.approx(180)
    assert [row["period_start"] for row in body["series"]] == [data.D1, data.D2]
    assert [row["postings"] for row in body["series"]] == [4, 2]
    assert len(body["first_response_histogram"]) == 8


def test_kpis_default_to_the_last_30_days(api, store, manager) -> None:  # type: ignore[no-untyped-def]
    body = api(manager).get(KPIS.format(store.pk)).json()
    assert len(body["series"]) == 30
    assert body["totals"]["postings"] == 0
    assert body["totals"]["response_rate"] is None


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-03-11", "to": "2026-03-10"},
        {"from": "2020-01-01", "to": "2026-03-10"},
        {"granularity": "year"},
        {"from": "yesterday"},
    ],
)
def test_bad_periods_are_refused_with_the_field(api, store, manager, query) -> None:  # type: ignore[no-untyped-def]
    response = api(manager).get(KPIS.format(store.pk), query)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) & {"from", "to", "granularity"}


def test_attention_lists_unanswered_requests_past_the_delay(
    api, store, manager, driver, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    waiting = _posted_ago(store, 30, fee_eur=Decimal("6.00"))
    _posted_ago(store, 2)  # too recent
    answered = _posted_ago(store, 30)
    trip = factories.TripFactory(driver=driver, store=store)
    factories.OfferFactory(request=answered, trip=trip, responded_at=timezone.now())
    client = api(manager)

    with django_assert_num_queries(3):
        response = client.get(ATTENTION.format(store.pk))

    body = response.json()
    assert body["after_s"] == 600
    assert [item["id"] for item in body["results"]] == [waiting.pk]
    item = body["results"][0]
    assert 29 * 60 <= item["age_s"] <= 31 * 60
    assert item["fee_eur"] == "6.00"
    assert item["fee_max_eur"] == "15.00"
    assert item["handed_to_vans"] is False


def test_raise_fee_goes_up_one_step_and_stops_at_the_maximum(api, store, manager) -> None:  # type: ignore[no-untyped-def]
    request = _posted_ago(store, 30, fee_eur=Decimal("13.50"))
    url = f"{ATTENTION.format(store.pk)}{request.pk}/raise-fee/"
    client = api(manager)

    first = client.post(url)
    assert first.status_code == 200
    assert first.json()["fee_eur"] == "14.50"
    second = client.post(url)
    assert second.json()["fee_eur"] == "15.00"  # capped at the store's maximum
    third = client.post(url)
    assert third.status_code == 409
    assert third.json()["code"] == "fee_at_maximum"
    request.refresh_from_db()
    assert request.fee_eur == Decimal("15.00")
    assert request.fee_raised_at is not None


def test_hand_to_vans_adds_a_stop_to_the_van_plan_once(api, store, manager, van) -> None:  # type: ignore[no-untyped-def]
    request = _posted_ago(store, 30)
    url = f"{ATTENTION.format(store.pk)}{request.pk}/hand-to-vans/"
    client = api(manager)

    assert client.post(url).json()["handed_to_vans"] is True
    assert client.post(url).status_code == 200

    stop = VanStop.objects.get(request=request)
    assert stop.van == van
    assert stop.plan.store == store
    assert VanHandover.objects.get(request=request).by == manager
    listed = client.get(ATTENTION.format(store.pk)).json()["results"]
    assert listed[0]["handed_to_vans"] is True


def test_hand_to_vans_without_a_van_is_refused(api, store, manager) -> None:  # type: ignore[no-untyped-def]
    request = _posted_ago(store, 30)
    response = api(manager).post(f"{ATTENTION.format(store.pk)}{request.pk}/hand-to-vans/")
    assert response.status_code == 409
    assert response.json()["code"] == "no_active_van"


def test_cancel_with_a_message_to_the_customer(api, store, manager) -> None:  # type: ignore[no-untyped-def]
    request = _posted_ago(store, 30)
    client = api(manager)
    url = f"{ATTENTION.format(store.pk)}{request.pk}/cancel/"

    assert client.post(url, {}).status_code == 400
    response = client.post(url, {"message": "Sorry, we will deliver it with our van tomorrow."})

    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    request.refresh_from_db()
    assert request.state == RequestState.CANCELLED
    assert request.cancelled_by == DeliveryRequest.CancelledBy.STORE
    assert request.cancel_reason.startswith("Sorry")
    assert client.get(ATTENTION.format(store.pk)).json()["results"] == []
    again = client.post(url, {"message": "again"})
    assert again.status_code == 409
    assert again.json()["code"] == "request_not_open"


def test_requests_csv_has_a_row_per_request(api, store, manager) -> None:  # type: ignore[no-untyped-def]
    _, requests = data.known_dataset(store)
    response = api(manager).get(
        f"/api/v1/manager/stores/{store.pk}/export/requests.csv", {"from": D1, "to": D2}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["id"]) for r in rows] == [r.pk for r in requests]
    assert [r["responders"] for r in rows] == ["2", "1", "0", "1", "1", "1"]
    assert [r["on_time"] for r in rows] == ["1", "0", "", "", "", ""]
    assert rows[0]["detour_m"] == "2000"
    assert rows[4]["created_at"].startswith(f"{data.D2}T00:30:00+01:00")


def test_kpis_csv_has_series_then_totals(api, store, manager) -> None:  # type: ignore[no-untyped-def]
    data.known_dataset(store)
    services.rollups_rebuild(store_id=store.pk, start=D1, end=D2)
    response = api(manager).get(
        f"/api/v1/manager/stores/{store.pk}/export/kpis.csv", {"from": D1, "to": D2}
    )

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["period_start"], r["postings"]) for r in rows] == [
        (data.D1, "4"),
        (data.D2, "2"),
        (data.D1, "6"),
    ]


# --- who may see what ----------------------------------------------------------------------

GET_URLS = [
    "/api/v1/manager/stores/{store}/kpis/",
    "/api/v1/manager/stores/{store}/attention/",
    "/api/v1/manager/stores/{store}/export/requests.csv",
    "/api/v1/manager/stores/{store}/export/kpis.csv",
]
POST_URLS = [
    "/api/v1/manager/stores/{store}/attention/{request}/raise-fee/",
    "/api/v1/manager/stores/{store}/attention/{request}/hand-to-vans/",
    "/api/v1/manager/stores/{store}/attention/{request}/cancel/",
]


@pytest.mark.parametrize("who", ["other_manager", "staff", "customer"])
def test_only_the_stores_managers_get_anything(api, store, van, who) -> None:  # type: ignore[no-untyped-def]
    from backend.stores.models import StoreMembership

    request = _posted_ago(store, 30)
    if who == "other_manager":
        user = factories.MembershipFactory().user
    elif who == "staff":
        user = factories.MembershipFactory(store=store, role=StoreMembership.Role.STAFF).user
    else:
        user = request.customer
    client = api(user)

    for url in GET_URLS:
        response = client.get(url.format(store=store.pk))
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"
    for url in POST_URLS:
        response = client.post(url.format(store=store.pk, request=request.pk), {"message": "x"})
        assert response.status_code == 404, url
    request.refresh_from_db()
    assert request.state == RequestState.OPEN
    assert request.fee_eur == Decimal("5.00")
    assert not VanHandover.objects.exists()


def test_a_manager_cannot_act_on_another_stores_request_through_their_own_store(
    api, store, manager, van
) -> None:  # type: ignore[no-untyped-def]
    elsewhere = _posted_ago(factories.StoreFactory(), 30)
    client = api(manager)
    for url in POST_URLS:
        response = client.post(url.format(store=store.pk, request=elsewhere.pk), {"message": "x"})
        assert response.status_code == 404, url
    elsewhere.refresh_from_db()
    assert elsewhere.state == RequestState.OPEN


def test_anonymous_callers_are_refused(api, store) -> None:  # type: ignore[no-untyped-def]
    for url in GET_URLS:
        assert api(None).get(url.format(store=store.pk)).status_code == 401


def test_the_fast_kpi_body_is_what_the_documented_serializer_gives(store) -> None:  # type: ignore[no-untyped-def]
    from rest_framework.renderers import JSONRenderer

    from backend.analytics.apis import report_body
    from backend.analytics.selectors import store_kpis
    from backend.analytics.serializers import KpiReportSerializer

    data.known_dataset(store)
    body = report_body(store_kpis(store_id=store.pk, start=D1, end=D2), store)

    assert JSONRenderer().render(body) == JSONRenderer().render(KpiReportSerializer(body).data)
