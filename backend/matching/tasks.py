"""Celery entry points for matching. Each carries the store id (matching is partitioned by
store), is idempotent, acknowledged late and retried with backoff on transient failures."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from backend.core.tasks import TASK_OPTIONS
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.matching import batch, enqueue, services


@shared_task(name=enqueue.MATCH_REQUEST, **TASK_OPTIONS)
def match_request(*, request_id: int, store_id: int) -> int:
    """Offer a newly posted request to the trips that fit it best."""
    return len(services.offers_create_for_request(request_id=request_id))


@shared_task(name=enqueue.MATCH_TRIP, **TASK_OPTIONS)
def match_trip(*, trip_id: int, store_id: int) -> int:
    """Offer a newly declared trip the open requests it could take."""
    return len(services.offers_create_for_trip(trip_id=trip_id))


@shared_task(name=enqueue.ASSIGN_BEST_MATCH, **TASK_OPTIONS)
def assign_best_match(*, request_id: int, store_id: int) -> int | None:
    offer = services.request_assign_best(request_id=request_id)
    return offer.pk if offer else None


@shared_task(name="matching.expire", **TASK_OPTIONS)
def expire() -> dict[str, int]:
    """Every minute: offers and requests past their time."""
    return {"offers": services.offers_expire(), "requests": len(services.requests_expire())}


@shared_task(name="matching.assign_due_best_matches", **TASK_OPTIONS)
def assign_due_best_matches() -> int:
    """Every minute: best_match requests whose collection window is over."""
    return len(services.best_matches_assign_due())


@shared_task(name="matching.commute_trips", **TASK_OPTIONS)
def commute_trips() -> int:
    """Create today's (and tomorrow's) trips from the staff's commute profiles."""
    today = timezone.localdate()
    created = services.commute_trips_create(service_date=today)
    created += services.commute_trips_create(service_date=today + timedelta(days=1))
    return len(created)


@shared_task(name="matching.reoptimise_store", **TASK_OPTIONS)
def reoptimise_store(*, store_id: int) -> dict[str, float]:
    """Batch re-optimisation of one store."""
    result = batch.store_reoptimise(store_id=store_id)
    return {
        "offers_created": result.offers_created,
        "fees_raised": result.fees_raised,
        "van_stops": result.van_stops,
        "seconds": round(result.seconds, 3),
    }


@shared_task(name="matching.reoptimise_all", **TASK_OPTIONS)
def reoptimise_all() -> int:
    """Fan out one re-optimisation per store that has open requests (matching is partitioned
    by store, so each can run on any worker)."""
    store_ids = set(
        DeliveryRequest.objects.filter(state=RequestState.OPEN).values_list("store_id", flat=True)
    )
    for store_id in sorted(store_ids):
        reoptimise_store.apply_async(kwargs={"store_id": store_id})
    return len(store_ids)
