"""Queue matching work once the caller's transaction commits.

Tasks are sent by name, so that the services queuing them and the tasks calling those services
do not import each other; the name alone routes a task to the matching queue.
"""

from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction

# The names of the tasks in tasks.py that these functions queue.
MATCH_REQUEST = "matching.match_request"
MATCH_TRIP = "matching.match_trip"
ASSIGN_BEST_MATCH = "matching.assign_best_match"


def _send(name: str, kwargs: dict[str, int], **options: Any) -> None:
    current_app.signature(name, kwargs=kwargs).apply_async(**options)


def enqueue_match_request(*, request_id: int, store_id: int) -> None:
    transaction.on_commit(
        lambda: _send(MATCH_REQUEST, {"request_id": request_id, "store_id": store_id})
    )


def enqueue_match_trip(*, trip_id: int, store_id: int) -> None:
    transaction.on_commit(lambda: _send(MATCH_TRIP, {"trip_id": trip_id, "store_id": store_id}))


def enqueue_assign_best_match(*, request_id: int, store_id: int, countdown_s: int) -> None:
    if settings.SIMULATION_CLOCK:
        return  # in simulated time the per-minute sweep assigns when the window is over
    transaction.on_commit(
        lambda: _send(
            ASSIGN_BEST_MATCH,
            {"request_id": request_id, "store_id": store_id},
            countdown=countdown_s,
        )
    )
