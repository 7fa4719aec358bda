"""KPIs on a hand-built dataset whose answers are worked out by hand (see data.py)."""

import math
from datetime import date, timedelta

import pytest
from django.conf import settings

from backend.analytics import selectors, services
from backend.analytics.models import StoreDayDriverRollup, StoreDayRollup
from tests import factories
from tests.backend.analytics import data

pytestmark = pytest.mark.django_db

D1 = date.fromisoformat(data.D1)
D2 = date.fromisoformat(data.D2)


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * 6_371_008 * math.asin(math.sqrt(h))


@pytest.fixture
def dataset(store):  # type: ignore[no-untyped-def]
    drivers, requests = data.known_dataset(store)
    services.rollups_rebuild(store_id=store.pk, start=D1, end=D2)
    return drivers, requests


def test_totals_match_the_hand_computed_answers(store, dataset) -> None:  # type: ignore[no-untyped-def]
    t = selectors.store_kpis(store_id=store.pk, start=D1, end=D2).totals

    assert t.postings == 6
    # R4's only response came after it was cancelled: not a response before closing.
    assert t.responded == 4
    assert t.response_rate == pytest.approx(4 / 6)
    # Distinct responders 2 + 1 + 0 + 1 (late, still counted) + 1 + 1.
    assert t.responses == 6
    assert t.responses_per_posting == pytest.approx(1.0)
    # First responses before closing: 60, 300, 30, 600 s.
    assert t.first_response_median_s == pytest.approx(180)
    assert t.first_response_p90_s == pytest.approx(300 + 0.7 * 300)
    assert (t.assigned, t.picked_up, t.delivered, t.on_time) == (3, 2, 2, 1)
    assert t.assignment_rate == pytest.approx(3 / 6)
    assert t.delivered_rate == pytest.approx(2 / 6)
    assert t.on_time_rate == pytest.approx(0.5)
    assert (t.cancelled_by_customer, t.cancelled_by_store, t.cancelled_other) == (1, 1, 0)
    assert t.cancellation_rate == pytest.approx(2 / 6)
    assert t.expired == 1
    assert t.expiry_rate == pytest.approx(1 / 6)
    assert t.detour_km == pytest.approx(3.0)
    van_km = 2 * 2 * haversine_m((45.73, 4.88), data.NORTH_3KM) * settings.ROUTING_CIRCUITY / 1000
    assert t.van_km == pytest.approx(van_km, rel=5e-3)
    assert t.km_saved == pytest.approx(van_km - 3.0, rel=5e-3)
    assert t.co2_saved_kg == pytest.approx(
        van_km * settings.CO2_VAN_KG_PER_KM - 3.0 * settings.CO2_CAR_KG_PER_KM, rel=5e-3
    )
    assert t.fees_eur == pytest.approx(12.0)
    assert t.rating_avg == pytest.approx(3.0)
    assert t.rating_count == 2
    assert (t.active_drivers, t.staff_drivers, t.shopper_drivers) == (3, 1, 2)
    assert t.responses_per_driver == pytest.approx(2.0)


def test_series_counts_each_request_on_its_store_local_day(store, dataset) -> None:  # type: ignore[no-untyped-def]
    report = selectors.store_kpis(store_id=store.pk, start=D1, end=D2)

    assert [row.period_start for row in report.series] == [D1, D2]
    first, second = report.series
    # R5 was posted at 23:30 UTC on D1, which is 00:30 on D2 in Paris.
    assert (first.postings, first.responded, first.delivered) == (4, 2, 2)
    assert (second.postings, second.responded, second.assigned) == (2, 2, 1)
    assert first.first_response_median_s == pytest.approx(180)  # 60 and 300
    assert second.first_response_median_s == pytest.approx(315)  # 30 and 600
    assert (first.active_drivers, second.active_drivers) == (3, 2)


def test_week_and_month_periods_start_on_monday_and_the_first(store, dataset) -> None:  # type: ignore[no-untyped-def]
    weekly = selectors.store_kpis(
        store_id=store.pk, start=D1 - timedelta(days=14), end=D2, granularity="week"
    )
    assert all(row.period_start.weekday() == 0 for row in weekly.series)
    assert sum(row.postings for row in weekly.series) == 6
    assert weekly.totals.postings == 6

    monthly = selectors.store_kpis(
        store_id=store.pk, start=date(2026, 2, 1), end=date(2026, 4, 30), granularity="month"
    )
    assert [(r.period_start, r.period_end, r.postings) for r in monthly.series] == [
        (date(2026, 2, 1), date(2026, 2, 28), 0),
        (date(2026, 3, 1), date(2026, 3, 31), 6),
        (date(2026, 4, 1), date(2026, 4, 30), 0),
    ]
    assert monthly.series[0].response_rate is None


def test_histogram_and_top_responders(store, dataset) -> None:  # type: ignore[no-untyped-def]
    drivers, _ = dataset
    report = selectors.store_kpis(store_id=store.pk, start=D1, end=D2)

    counts = {(b.from_s, b.to_s): b.count for b in report.first_response_histogram}
    assert counts[(0, 60)] == 1  # 30 s
    assert counts[(60, 120)] == 1  # 60 s
    assert counts[(300, 600)] == 1  # 300 s
    assert counts[(600, 900)] == 1  # 600 s
    assert sum(counts.values()) == 4
    top = {(r.driver_id, r.responses, r.is_staff) for r in report.top_responders}
    assert top == {(drivers.a.pk, 2, False), (drivers.b.pk, 2, False), (drivers.c.pk, 2, True)}


def test_today_is_read_from_the_raw_rows(store) -> None:  # type: ignore[no-untyped-def]
    factories.DeliveryRequestFactory(store=store)
    today = selectors.local_today(store=store)

    report = selectors.store_kpis(store_id=store.pk, start=today - timedelta(days=1), end=today)

    assert not StoreDayRollup.objects.exists()
    assert report.totals.postings == 1
    assert report.series[-1].postings == 1


def test_closed_days_are_read_from_the_rollups(store, dataset) -> None:  # type: ignore[no-untyped-def]
    # A rollup is what the report reads for a closed day: changing it changes the report.
    StoreDayRollup.objects.filter(store=store, local_date=D1).update(postings=40)

    assert selectors.store_kpis(store_id=store.pk, start=D1, end=D1).totals.postings == 40
    assert selectors.store_kpis_from_raw(store_id=store.pk, start=D1, end=D1).totals.postings == 4


def test_rollup_rebuild_is_idempotent(store, dataset) -> None:  # type: ignore[no-untyped-def]
    before = list(StoreDayRollup.objects.order_by("local_date").values())
    drivers_before = StoreDayDriverRollup.objects.count()

    services.rollups_rebuild(store_id=store.pk, start=D1, end=D2)

    after = list(StoreDayRollup.objects.order_by("local_date").values())
    strip = [{k: v for k, v in row.items() if k not in ("id", "computed_at")} for row in before]
    assert strip == [
        {k: v for k, v in row.items() if k not in ("id", "computed_at")} for row in after
    ]
    assert StoreDayDriverRollup.objects.count() == drivers_before == 5  # 3 on D1, 2 on D2


def test_report_is_one_query_after_the_store(store, dataset, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_num_queries(2):
        selectors.store_kpis(store_id=store.pk, start=D1, end=D2, granularity="week")


def test_unknown_granularity_is_refused(store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="granularity"):
        selectors.store_kpis(store_id=store.pk, start=D1, end=D2, granularity="year")


def test_per_delivery_figures(store, dataset) -> None:  # type: ignore[no-untyped-def]
    t = selectors.store_kpis(store_id=store.pk, start=D1, end=D2).totals
    assert t.detour_km_per_delivery == pytest.approx(1.5)
    assert t.fee_eur_per_delivery == pytest.approx(6.0)
    assert t.km_saved_per_delivery == pytest.approx(t.km_saved / 2, rel=1e-3)


def test_several_stores_at_once(store, dataset) -> None:  # type: ignore[no-untyped-def]
    other = factories.StoreFactory(timezone="America/New_York")
    reports = selectors.stores_kpis(store_ids=[store.pk, other.pk], start=D1, end=D2)
    assert reports[store.pk].totals.postings == 6
    assert reports[other.pk].totals.postings == 0
