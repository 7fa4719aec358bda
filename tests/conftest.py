"""Fixtures shared by the whole suite: API clients per role, the Celery worker."""

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from backend.accounts.models import User
from tests import factories


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
