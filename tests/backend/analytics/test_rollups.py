"""Rollups equal a recomputation from the raw rows, on a varied dataset over several weeks."""

import random
from dataclasses import asdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db.models import Count, Q

from backend.analytics import selectors, services, tasks
from backend.analytics.models import StoreDayRollup
from backend.deliveries.models import DeliveryRequest, RequestState
from tests import factories
from tests.backend.analytics import data

pytestmark = pytest.mark.django_db

START = date(2026, 3, 23)  # spans the change to summer time in Paris (29 March)
DAYS = 12


def random_dataset(store, seed: int = 7) -> list[DeliveryRequest]:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    drivers = [factories.DriverFactory() for _ in range(5)]
    trips = {d.pk: data.trip_for(driver=d, store=store, staff=i < 2) for i, d in enumerate(drivers)}
    outcomes = [
        RequestState.DELIVERED,
        RequestState.DELIVERED,
        RequestState.CANCELLED,
        RequestState.EXPIRED,
        RequestState.OPEN,
        RequestState.ASSIGNED,
        RequestState.FAILED,
    ]
    built = []
    for n in range(45):
        day = START + timedelta(days=rng.randrange(DAYS))
        # Hours 0 and 23 put requests near the edges of the local day.
        posted = data.local(day.isoformat(), rng.choice([0, 8, 12, 18, 23]), rng.randrange(60))
        outcome = rng.choice(outcomes)
        responders = rng.sample(drivers, rng.randrange(4))
        needs_driver = outcome in (
            RequestState.DELIVERED,
            RequestState.ASSIGNED,
            RequestState.FAILED,
        )
        if needs_driver and not responders:
            responders = [drivers[n % len(drivers)]]
        responses = [
            data.Response(d, rng.randrange(10, 3000), detour_m=rng.randrange(0, 5000))
            for d in responders
        ]
        story = data.Story(
            posted=posted,
            outcome=outcome,
            responses=responses,
            selected=0 if needs_driver else None,
            closed_after_s=rng.randrange(300, 4000)
            if outcome in (RequestState.CANCELLED, RequestState.EXPIRED, RequestState.FAILED)
            else None,
            delivered_late=rng.random() < 0.3,
            cancelled_by=rng.choice(["customer", "store", "driver", "system"])
            if outcome == RequestState.CANCELLED
            else "",
            fee_eur=Decimal(rng.randrange(300, 1500)) / 100,
            rating=rng.choice([None, 1, 3, 5]),
            dropoff=(45.73 + rng.uniform(-0.08, 0.08), 4.88 + rng.uniform(-0.1, 0.1)),
        )
        built.append(data.build(store=store, story=story, trips=trips))
    return built


def test_rollups_equal_a_recomputation_from_the_raw_rows(store) -> None:  # type: ignore[no-untyped-def]
    random_dataset(store)
    end = START + timedelta(days=DAYS - 1)
    services.rollups_rebuild(store_id=store.pk, start=START, end=end)

    for granularity in ("day", "week", "month"):
        from_rollups = selectors.store_kpis(
            store_id=store.pk, start=START, end=end, granularity=granularity
        )
        from_raw = selectors.store_kpis_from_raw(
            store_id=store.pk, start=START, end=end, granularity=granularity
        )
        assert asdict(from_rollups) == asdict(from_raw), granularity
    assert from_rollups.totals.postings == 45


def test_rollup_rows_match_an_independent_count_per_local_day(store) -> None:  # type: ignore[no-untyped-def]
    random_dataset(store, seed=11)
    services.rollups_rebuild(store_id=store.pk, start=START, end=START + timedelta(days=DAYS))

    # Counted here with the ORM and Python's time zones, not with the selectors' SQL.
    expected: dict[date, dict[str, int]] = {}
    rows = DeliveryRequest.objects.filter(store=store).annotate(
        responders=Count("offers__trip__driver", filter=Q(offers__responded_at__isnull=False))
    )
    for r in rows:
        day = r.created_at.astimezone(data.PARIS).date()
        counts = expected.setdefault(day, {"postings": 0, "delivered": 0, "responders_sum": 0})
        counts["postings"] += 1
        counts["delivered"] += r.state == RequestState.DELIVERED
        counts["responders_sum"] += r.responders  # type: ignore[attr-defined]
    stored = {
        row["local_date"]: {k: row[k] for k in ("postings", "delivered", "responders_sum")}
        for row in StoreDayRollup.objects.filter(store=store).values()
    }
    assert stored == expected


def test_the_beat_task_refreshes_recent_days_of_every_store(store) -> None:  # type: ignore[no-untyped-def]
    factories.DeliveryRequestFactory(store=store)
    other = factories.StoreFactory(timezone="America/New_York")

    assert tasks.rollup_recent() == 2
    assert tasks.rollup_recent() == 2  # idempotent

    today = selectors.local_today(store=store)
    assert StoreDayRollup.objects.get(store=store, local_date=today).postings == 1
    assert not StoreDayRollup.objects.filter(store=other).exists()


def test_the_rebuild_command_covers_a_range_in_chunks(store) -> None:  # type: ignore[no-untyped-def]
    from django.core.management import call_command

    random_dataset(store, seed=3)
    call_command(
        "rollups_rebuild",
        "--store",
        str(store.pk),
        "--from",
        START.isoformat(),
        "--to",
        (START + timedelta(days=DAYS)).isoformat(),
        "--chunk-days",
        "5",
    )

    assert sum(StoreDayRollup.objects.filter(store=store).values_list("postings", flat=True)) == 45
