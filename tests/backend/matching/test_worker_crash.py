"""A worker killed in the middle of a task: the task is redelivered and completes once."""

import threading
import time

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction

from backend.deliveries.models import DeliveryRequest
from backend.matching.models import Offer
from notifications.models import InboxItem
from tests import factories
from tests.workers import purge_broker, start_worker, stop_worker, wait_for

pytestmark = pytest.mark.worker


def _waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0] > 0


def _unacked_message_is_visible_again() -> bool:
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    timeout_s = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    entries = broker.zrange("unacked_index", 0, -1, withscores=True)
    return bool(entries) and all(time.time() - score > timeout_s + 0.5 for _, score in entries)


def test_a_killed_workers_task_is_redelivered_and_completes_once(transactional_db):  # type: ignore[no-untyped-def]
    from backend.matching.tasks import match_request

    store = factories.StoreFactory(offer_fanout_k=2)
    for _ in range(2):
        factories.TripFactory(store=store)
    request = factories.DeliveryRequestFactory(store=store)
    purge_broker()
    first = start_worker("doomed")
    held = threading.Event()
    release = threading.Event()

    def hold_the_request_row() -> None:
        # Another transaction holds the row: the worker's task blocks on it, mid-flight.
        try:
            with transaction.atomic():
                DeliveryRequest.objects.select_for_update().get(pk=request.pk)
                held.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_request_row)
    holder.start()
    held.wait(timeout=10)
    match_request.apply_async(kwargs={"request_id": request.pk, "store_id": store.pk})
    wait_for(_waiting_for_a_lock)
    stop_worker(first, kill=True)  # SIGKILL: no acknowledgement was sent
    release.set()
    holder.join(timeout=30)
    assert not Offer.objects.filter(request=request).exists()
    # The broker hands the unacknowledged message out again once it has been invisible for the
    # visibility timeout; a worker starting after that restores it at once.
    wait_for(_unacked_message_is_visible_again, timeout_s=30, interval_s=0.2)

    second = start_worker("rescuer")
    try:
        wait_for(lambda: Offer.objects.filter(request=request).count() == 2, timeout_s=60)
    finally:
        stop_worker(second)

    assert Offer.objects.filter(request=request).count() == 2
    assert InboxItem.objects.filter(event="offer.new", payload__request_id=request.pk).count() == 2
