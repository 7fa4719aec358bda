"""Fixtures shared by the whole suite: API clients per role, the Celery worker."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from backend.accounts.models import User
from routing.roads import prepare_osrm
from tests import factories

MONACO_EXTRACT = Path(django_settings.ROOT_DIR) / "fixtures" / "osm" / "monaco-region.osm.pbf"


@pytest.fixture(scope="session")
def monaco_osrm() -> Path:
    """The bundled Monaco-region extract prepared for OSRM (once; set-up has usually done it)."""
    return prepare_osrm(
        MONACO_EXTRACT, Path(django_settings.ROOT_DIR) / ".local" / "osrm"
    ).osrm_path


@pytest.fixture
def on_roads(settings, monaco_osrm: Path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Travel times from OSRM on the Monaco region, in process."""
    settings.TRAVEL_ENGINE = "osrm"
    settings.OSRM_DATA = str(monaco_osrm)
    return


@pytest.fixture
def api() -> Callable[[User | None], APIClient]:
    """A client authenticated as the given user (a real JWT), or anonymous."""

    def make(user: User | None = None) -> APIClient:
        from rest_framework_simplejwt.tokens import RefreshToken

        client = APIClient()
        if user is not None:
            token = RefreshToken.for_user(user).access_token
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


@pytest.fixture
def store(db):  # type: ignore[no-untyped-def]
    return factories.StoreFactory()


@pytest.fixture
def customer(db):  # type: ignore[no-untyped-def]
    return factories.UserFactory()


@pytest.fixture
def driver(db):  # type: ignore[no-untyped-def]
    return factories.DriverFactory()


@pytest.fixture
def manager(store):  # type: ignore[no-untyped-def]
    return factories.MembershipFactory(store=store).user


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """A real Celery worker on the test database and a broker of its own, for the tests of a
    module (use with ``transactional_db``: the worker sees only committed rows)."""
    from tests.workers import purge_broker, start_worker, stop_worker

    with django_db_blocker.unblock():
        purge_broker()
        process = start_worker("test-worker")
    yield process
    stop_worker(process)
