"""A short simulated evening through the real system: reproducible for a seed, and its
figures hang together."""

from datetime import date, time

import pytest
from django.conf import settings
from django.core.management import call_command

from backend.simulation.demo import demo_load
from backend.simulation.engine import Simulation, SimulationConfig, simulated_world
from backend.simulation.report import kpi_table, run_kpis
from backend.stores.models import Store
from tests.workers import worker_database_url

pytestmark = pytest.mark.worker

STORE = "Brico-Maison Carré de Soie"  # customer_choice: the busiest decision path


@pytest.fixture
def world(transactional_db, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", worker_database_url())
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "backend.config.settings.test")
    monkeypatch.setenv("SIMULATION_BROKER_URL", settings.REDIS_URL.rsplit("/", 1)[0] + "/11")
    demo_load()
    with simulated_world() as drained:
        yield drained


def _evening(drained, seed: int = 7):  # type: ignore[no-untyped-def]
    config = SimulationConfig(day=date(2026, 12, 2), start=time(17, 0), end=time(17, 50),
                              speed=0, seed=seed, store_names=(STORE,))
    result = Simulation(config).run(wait_for_worker=drained)
    return result, run_kpis(result)


def test_a_seeded_evening_replays_exactly_and_its_figures_agree(world):  # type: ignore[no-untyped-def]
    first, kpis = _evening(world)
    table = kpi_table([("run", kpis)])
    second, again = _evening(world)

    assert kpi_table([("run", again)]) == table
    assert first.events == second.events
    [(name, totals)] = kpis.rows
    assert name == STORE
    assert totals.postings > 0
    assert totals.responded <= totals.postings
    assert totals.responses_per_posting * totals.postings >= totals.responded
    assert totals.delivered <= totals.picked_up <= totals.assigned <= totals.responded
    assert 0 <= totals.response_rate <= 1
    assert totals.km_saved >= 0
    print("\n" + table)


def test_seed_demo_is_idempotent(transactional_db):  # type: ignore[no-untyped-def]
    call_command("seed_demo")
    call_command("seed_demo")
    assert Store.objects.filter(name__startswith="Brico-Maison").count() == 3
