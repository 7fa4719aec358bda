"""Celery entry points for matching. Each carries the store id (matching is partitioned by
store), is idempotent, acknowledged late and retried with backoff."""

from datetime import timedelta
from typing import Any

from django.conf import settings
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
    if settings.SIMULATION_CLOCK:
        return  # in simulated time the per-minute sweep assigns when the window is over
    transaction.on_commit(
        lambda: assign_best_match.apply_async(
            kwargs={"request_id": request_id, "store_id": store_id}, countdown=countdown_s
        )
    )


@app.task(name="matching.expire", queue="matching", **TASK_OPTIONS)
def expire() -> dict[str, int]:
    """Every minute: offers and requests past their time."""
    from backend.matching.services import offers_expire, requests_expire

    return {"offers": offers_expire(), "requests": len(requests_expire())}


@app.task(name="matching.assign_due_best_matches", queue="matching", **TASK_OPTIONS)
def assign_due_best_matches() -> int:
    """Every minute: best_match requests whose collection window is over."""
    from backend.matching.services import best_matches_assign_due

    return len(best_matches_assign_due())


@app.task(name="matching.commute_trips", queue="matching", **TASK_OPTIONS)
def commute_trips() -> int:
    """Create today's (and tomorrow's) trips from the staff's commute profiles."""
    from django.utils import timezone

    from backend.matching.services import commute_trips_create

    today = timezone.localdate()
    created = commute_trips_create(service_date=today)
    created += commute_trips_create(service_date=today + timedelta(days=1))
    return len(created)


@app.task(name="matching.reoptimise_store", queue="matching", **TASK_OPTIONS)
def reoptimise_store(*, store_id: int) -> dict[str, float]:
    """Batch re-optimisation of one store."""
    from backend.matching.batch import store_reoptimise

    result = store_reoptimise(store_id=store_id)
    return {
        "offers_created": result.offers_created,
        "fees_raised": result.fees_raised,
        "van_stops": result.van_stops,
        "seconds": round(result.seconds, 3),
    }


@app.task(name="matching.reoptimise_all", queue="matching", **TASK_OPTIONS)
def reoptimise_all() -> int:
    """Fan out one re-optimisation per store that has open requests (matching is partitioned
    by store, so each can run on any worker)."""
    from backend.deliveries.models import DeliveryRequest, RequestState

    store_ids = set(
        DeliveryRequest.objects.filter(state=RequestState.OPEN).values_list("store_id", flat=True)
    )
    for store_id in sorted(store_ids):
        reoptimise_store.apply_async(kwargs={"store_id": store_id})
    return len(store_ids)
