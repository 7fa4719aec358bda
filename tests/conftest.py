"""Fixtures shared by the whole suite: API clients per role, the Celery worker, and the check
that every answer the suite gets from the API is one its schema declares."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session", autouse=True)
def _answers_follow_the_schema() -> Iterator[None]:
    """Every answer of the API to the suite's test clients is declared by the served schema
    (``tests/contract/conformance.py``): a test that meets an undeclared status, error code or
    shape fails there."""
    from django.test import Client

    from tests.contract.conformance import Contract, served_contract

    original = Client.request
    contract: list[Contract] = []

    def request(self: Client, **environ: Any) -> Any:
        response = original(self, **environ)
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/api/v1/"):
            return response
        if not contract:
            contract.append(served_contract())
        content_type = response.get("Content-Type", "")
        body = None
        if not response.streaming and content_type.startswith("application/json"):
            body = json.loads(response.content or b"null")
        problem = contract[0].problem(
            environ.get("REQUEST_METHOD", "GET"), path, response.status_code, content_type, body
        )
        assert problem is None, problem
        return response

    Client.request = request  # type: ignore[method-assign]
    yield
    Client.request = original  # type: ignore[method-assign]


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
