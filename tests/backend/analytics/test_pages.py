"""The dashboard pages through Django's test client (the browser tests drive the same pages
in Chromium)."""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from backend.analytics import services
from backend.deliveries.models import DeliveryRequest
from tests import factories
from tests.backend.analytics import data

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def logged_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    # force_login: django-axes refuses client.login(), which authenticates without a request.
    client.force_login(user)
    return client


def test_login_page_then_the_single_store_dashboard(store, manager) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    assert client.get("/manager/login/").status_code == 200
    response = client.post(
        "/manager/login/", {"username": manager.email, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/manager/stores/{store.pk}/"
    assert b'data-kpi="response_rate"' in response.content


def test_anonymous_visitors_are_sent_to_the_login_page(store) -> None:  # type: ignore[no-untyped-def]
    response = Client().get(f"/manager/stores/{store.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/manager/login/")


def test_dashboard_shows_the_kpis_charts_map_and_definitions(store, manager) -> None:  # type: ignore[no-untyped-def]
    data.known_dataset(store)
    services.rollups_rebuild(
        store_id=store.pk, start=date.fromisoformat(data.D1), end=date.fromisoformat(data.D2)
    )
    response = logged_in(manager).get(
        f"/manager/stores/{store.pk}/", {"from": data.D1, "to": data.D2}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "66.7 %" in html  # 4 of 6 postings got a response
    for chart in ("chart-response-rate", "chart-responses-per-posting", "chart-first-response"):
        assert f'id="{chart}"' in html
    assert html.count('class="dropoff"') == 6
    assert 'class="store"' in html
    assert "cdn" not in html.lower()
    assert "Van kilometres avoided" in html


def test_attention_actions_from_the_page(store, manager) -> None:  # type: ignore[no-untyped-def]
    request = factories.DeliveryRequestFactory(store=store)
    DeliveryRequest.objects.filter(pk=request.pk).update(
        created_at=timezone.now() - timedelta(minutes=30)
    )
    client = logged_in(manager)
    base = f"/manager/stores/{store.pk}/attention/{request.pk}"

    response = client.post(f"{base}/raise-fee/", follow=True)
    assert "fee raised to 6.00 €" in response.content.decode()
    response = client.post(f"{base}/cancel/", {"message": ""}, follow=True)
    assert "Write a message" in response.content.decode()
    response = client.post(f"{base}/cancel/", {"message": "Out of stock, sorry"}, follow=True)
    assert f"Request {request.pk} cancelled." in response.content.decode()
    request.refresh_from_db()
    assert (request.state, request.cancel_reason) == ("cancelled", "Out of stock, sorry")
    assert client.get(f"{base}/raise-fee/").status_code == 405
    assert client.post(f"{base}/explode/").status_code == 404


def test_french_on_request(store, manager) -> None:  # type: ignore[no-untyped-def]
    client = logged_in(manager)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/manager/"})
    html = client.get(f"/manager/stores/{store.pk}/").content.decode()
    assert "Taux de réponse" in html
    assert "À traiter" in html


@pytest.mark.parametrize(
    "path",
    [
        "/manager/stores/{store}/",
        "/manager/stores/{store}/export/requests.csv",
        "/manager/stores/{store}/export/kpis.csv",
    ],
)
def test_another_stores_manager_gets_404_on_every_page(store, path) -> None:  # type: ignore[no-untyped-def]
    other = factories.MembershipFactory().user
    assert logged_in(other).get(path.format(store=store.pk)).status_code == 404


def test_another_stores_manager_cannot_act(store) -> None:  # type: ignore[no-untyped-def]
    request = factories.DeliveryRequestFactory(store=store)
    client = logged_in(factories.MembershipFactory().user)
    for action in ("raise-fee", "hand-to-vans", "cancel"):
        url = f"/manager/stores/{store.pk}/attention/{request.pk}/{action}/"
        assert client.post(url, {"message": "x"}).status_code == 404
    request.refresh_from_db()
    assert request.state == "open"


def test_csv_from_the_page(store, manager) -> None:  # type: ignore[no-untyped-def]
    data.known_dataset(store)
    response = logged_in(manager).get(
        f"/manager/stores/{store.pk}/export/requests.csv", {"from": data.D1, "to": data.D2}
    )
    assert response.status_code == 200
    assert len(b"".join(response.streaming_content).decode().strip().splitlines()) == 7


def test_after_an_action_only_the_period_is_carried_back(store, manager) -> None:  # type: ignore[no-untyped-def]
    request = factories.DeliveryRequestFactory(store=store)
    response = logged_in(manager).post(
        f"/manager/stores/{store.pk}/attention/{request.pk}/raise-fee/",
        {"query": "from=2026-03-10&to=2026-03-11&next=https://evil.example/&granularity=week"},
    )
    assert response.status_code == 302
    assert response["Location"] == (
        f"/manager/stores/{store.pk}/?from=2026-03-10&to=2026-03-11&granularity=week#attention"
    )
