"""The manager dashboard in a real headless Chromium (Debian's package, driven by Playwright):
log in, compare the figures shown with the API's, act on a request that needs attention, switch
to French, and check that a manager of another store sees nothing. A screenshot of each page
goes to artifacts/screenshots/."""

from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from backend.analytics import services
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.matching.models import Van, VanStop
from tests import factories
from tests.backend.analytics import data
from tests.backend.analytics.browser import log_in, shot

# `make test` installs Debian's chromium; without it these tests fail rather than skip.
pytestmark = pytest.mark.browser


@pytest.fixture
def scene(transactional_db, store):  # type: ignore[no-untyped-def]
    manager = factories.MembershipFactory(store=store).user
    data.known_dataset(store)
    services.rollups_rebuild(
        store_id=store.pk, start=date.fromisoformat(data.D1), end=date.fromisoformat(data.D2)
    )
    waiting = factories.DeliveryRequestFactory(store=store, order_reference="WAIT-1")
    DeliveryRequest.objects.filter(pk=waiting.pk).update(
        created_at=timezone.now() - timedelta(minutes=25)
    )
    Van.objects.create(
        store=store,
        name="Van 1",
        capacity_kg=Decimal("800"),
        capacity_l=Decimal("8000"),
        max_length_cm=300,
        shift_start=time(0, 0),
        shift_end=time(23, 59),
    )
    return manager, waiting


def api_totals(manager, store_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(manager).access_token}")
    response = client.get(
        f"/api/v1/manager/stores/{store_id}/kpis/", {"from": data.D1, "to": data.D2}
    )
    assert response.status_code == 200
    return response.json()["totals"]


def pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def test_manager_dashboard_in_chromium(page, live_server, store, scene) -> None:  # type: ignore[no-untyped-def]
    manager, waiting = scene
    log_in(page, live_server.url, "nobody@example.com")
    assert page.locator(".error").is_visible()
    shot(page, "01-login")
    log_in(page, live_server.url, manager.email)
    assert page.url.endswith(f"/manager/stores/{store.pk}/")

    page.goto(f"{live_server.url}/manager/stores/{store.pk}/?from={data.D1}&to={data.D2}")
    shot(page, "02-dashboard")

    # The figures shown are the API's for the same period.
    totals = api_totals(manager, store.pk)
    shown = {
        key: page.locator(f'[data-kpi="{key}"] .value').inner_text()
        for key in (
            "postings",
            "response_rate",
            "responses_per_posting",
            "first_response_median_s",
            "delivered_rate",
            "on_time_rate",
            "expiry_rate",
            "km_saved",
            "fees_eur",
            "active_drivers",
            "staff_drivers",
        )
    }
    assert shown == {
        "postings": str(totals["postings"]),
        "response_rate": pct(totals["response_rate"]),
        "responses_per_posting": f"{totals['responses_per_posting']:.2f}",
        "first_response_median_s": f"{totals['first_response_median_s'] / 60:.1f} min",
        "delivered_rate": pct(totals["delivered_rate"]),
        "on_time_rate": pct(totals["on_time_rate"]),
        "expiry_rate": pct(totals["expiry_rate"]),
        "km_saved": f"{totals['km_saved']:.1f} km",
        "fees_eur": f"{totals['fees_eur']:.2f} €",
        "active_drivers": str(totals["active_drivers"]),
        "staff_drivers": str(totals["staff_drivers"]),
    }
    # Charts and the map are drawn without any library or tile from outside.
    assert page.locator("#chart-response-rate .reference").count() == 1
    assert page.locator("#chart-responses-per-posting .point").count() == 2
    assert page.locator("#chart-first-response .bar").count() == 8
    funnel = page.locator("#chart-funnel .step")
    assert [funnel.nth(i).get_attribute("data-count") for i in range(5)] == [
        str(totals[k]) for k in ("postings", "responded", "assigned", "picked_up", "delivered")
    ]
    assert page.locator("#map-dropoffs circle.dropoff").count() == totals["postings"]
    assert page.locator('#map-dropoffs circle.dropoff[data-outcome="delivered"]').count() == 2
    assert page.locator("#map-dropoffs rect.store").count() == 1
    assert page.locator("#map-dropoffs .legend-item").count() >= 6

    # Needs attention: raise the fee, hand to the vans, then cancel with a message.
    row = page.locator(f"#attention-{waiting.pk}")
    assert "5.00 €" in row.locator(".fee").inner_text()
    row.locator("button.raise-fee").click()
    page.wait_for_load_state()
    assert "fee raised to 6.00 €" in page.locator(".messages").inner_text()
    assert "6.00 €" in page.locator(f"#attention-{waiting.pk} .fee").inner_text()
    page.locator(f"#attention-{waiting.pk} button.hand-to-vans").click()
    page.wait_for_load_state()
    assert page.locator(f"#attention-{waiting.pk} .badge.van").is_visible()
    assert VanStop.objects.filter(request=waiting).exists()
    shot(page, "03-attention-after-actions")
    page.fill(f"#attention-{waiting.pk} input[name=message]", "Our van brings it tomorrow.")
    page.locator(f"#attention-{waiting.pk} button.cancel").click()
    page.wait_for_load_state()
    assert page.locator(f"#attention-{waiting.pk}").count() == 0
    waiting.refresh_from_db()
    assert waiting.state == RequestState.CANCELLED
    assert waiting.fee_eur == Decimal("6.00")
    assert waiting.cancel_reason == "Our van brings it tomorrow."
    # The period is kept across actions.
    assert f"from={data.D1}" in page.url

    # Switch to French: labels and the decimal comma change, the figures do not.
    page.click("#lang-fr")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "fr"
    assert "Taux de réponse" in page.locator('[data-kpi="response_rate"]').inner_text()
    rate_fr = pct(totals["response_rate"]).replace(".", ",")
    assert page.locator('[data-kpi="response_rate"] .value').inner_text() == rate_fr
    assert page.locator("#attention h2").inner_text() == "À traiter"
    shot(page, "04-dashboard-fr")
    page.click("#lang-en")
    page.wait_for_load_state()
    assert page.locator("#attention h2").inner_text() == "Needs attention"


def test_another_stores_manager_sees_nothing_in_chromium(page, live_server, store, scene) -> None:  # type: ignore[no-untyped-def]
    _, waiting = scene
    other = factories.MembershipFactory().user
    log_in(page, live_server.url, other.email)
    shot(page, "05-other-manager-home")

    for path in (
        f"/manager/stores/{store.pk}/",
        f"/manager/stores/{store.pk}/export/requests.csv",
        f"/manager/stores/{store.pk}/export/kpis.csv",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 404, path
    shot(page, "06-other-manager-404")
    # A forged POST with the page's own CSRF cookie is refused as well.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{live_server.url}/manager/stores/{store.pk}/attention/{waiting.pk}/raise-fee/",
        headers={"X-CSRFToken": token, "Referer": live_server.url},
    )
    assert response.status == 404
    waiting.refresh_from_db()
    assert waiting.fee_eur == Decimal("5.00")
