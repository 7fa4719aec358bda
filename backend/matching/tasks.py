"""Celery entry points for matching. Each carries the store id (matching is partitioned by
store), is idempotent, acknowledged late and retried with backoff."""

from typing import Any

from django.db import transaction

from backend.config.celery import app

TASK_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": (Exception,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}


@app.task(name="matching.match_request", queue="matching", **TASK_OPTIONS)
def match_request(*, request_id: int, store_id: int) -> int:
    """Offer a newly posted request to the trips that fit it best."""
    from backend.matching.services import offers_create_for_request

    return len(offers_create_for_request(request_id=request_id))


@app.task(name="matching.match_trip", queue="matching", **TASK_OPTIONS)
def match_trip(*, trip_id: int, store_id: int) -> int:
    """Offer a newly declared trip the open requests it could take."""
    from backend.matching.services import offers_create_for_trip

    return len(offers_create_for_trip(trip_id=trip_id))


@app.task(name="matching.assign_best_match", queue="matching", **TASK_OPTIONS)
def assign_best_match(*, request_id: int, store_id: int) -> int | None:
    from backend.matching.services import request_assign_best

    offer = request_assign_best(request_id=request_id)
    return offer.pk if offer else None


def enqueue_match_request(*, request_id: int, store_id: int) -> None:
    transaction.on_commit(
        lambda: match_request.apply_async(kwargs={"request_id": request_id, "store_id": store_id})
    )


def enqueue_match_trip(*, trip_id: int, store_id: int) -> None:
    transaction.on_commit(
        lambda: match_trip.apply_async(kwargs={"trip_id": trip_id, "store_id": store_id})
    )


def enqueue_assign_best_match(*, request_id: int, store_id: int, countdown_s: int) -> None:
    transaction.on_commit(
        lambda: assign_best_match.apply_async(
            kwargs={"request_id": request_id, "store_id": store_id}, countdown=countdown_s
        )
    )
