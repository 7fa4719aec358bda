"""Writes of the analytics app: the daily rollups and the managers' actions on requests that
need attention."""

from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from backend.accounts.models import User
from backend.analytics.errors import FeeAtMaximum, NoActiveVan, RequestNotOpen
from backend.analytics.models import VanHandover
from backend.analytics.selectors import (
    DAY_COLUMNS,
    RAW_DAYS_SQL,
    local_midnight_utc,
    local_today,
)
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.matching.models import Van, VanPlan, VanStop
from backend.matching.services import request_cancel, request_fee_step_up
from backend.stores.models import Store

_ROLLUP_LOCK = 730_001  # advisory lock class: one rebuild per store at a time
_COLS = ", ".join(DAY_COLUMNS)

REBUILD_SQL = f"""
WITH {RAW_DAYS_SQL},
days_written AS (
    INSERT INTO analytics_storedayrollup
        (store_id, local_date, {_COLS}, first_response_s, computed_at)
    SELECT %(store_id)s, local_date, {_COLS}, first_response_s, now() FROM raw_days
    RETURNING 1
)
INSERT INTO analytics_storedaydriverrollup (store_id, local_date, driver_id, responses, is_staff)
SELECT %(store_id)s, local_date, driver_id, responses, is_staff FROM raw_driver_days
"""  # noqa: S608 (module constants only)


@transaction.atomic
def rollups_rebuild(*, store_id: int, start: date, end: date) -> int:
    """Recompute the store's rollups for the local days [start, end] from the raw rows.
    Idempotent (the days are replaced as a whole, under a per-store lock). Returns the number
    of days that have postings."""
    store = Store.objects.only("id", "timezone").get(pk=store_id)
    params: dict[str, Any] = {
        "store_id": store.pk,
        "tz": store.timezone,
        "since": local_midnight_utc(store=store, day=start),
        "until": local_midnight_utc(store=store, day=end + timedelta(days=1)),
        "start": start,
        "end": end,
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_ROLLUP_LOCK, store.pk])
        for table in ("analytics_storedayrollup", "analytics_storedaydriverrollup"):
            cursor.execute(
                f"DELETE FROM {table} WHERE store_id = %(store_id)s "  # noqa: S608 (constant)
                "AND local_date >= %(start)s AND local_date <= %(end)s",
                params,
            )
        cursor.execute(REBUILD_SQL, params)
        cursor.execute(
            "SELECT count(*) FROM analytics_storedayrollup WHERE store_id = %(store_id)s "
            "AND local_date >= %(start)s AND local_date <= %(end)s",
            params,
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def rollups_refresh_recent(*, days: int | None = None) -> int:
    """Rebuild the last ``days`` store-local days (today included) of every store: requests
    posted yesterday may close today. Returns the number of stores refreshed."""
    days = days or settings.ANALYTICS_ROLLUP_DAYS
    count = 0
    for store in Store.objects.only("id", "timezone").order_by("id"):
        today = local_today(store=store)
        rollups_rebuild(store_id=store.pk, start=today - timedelta(days=days - 1), end=today)
        count += 1
    return count


# --- actions on requests that need attention ------------------------------------------------


def _locked_open(*, store_id: int, request_id: int) -> DeliveryRequest:
    request = (
        DeliveryRequest.objects.select_for_update(of=("self",))
        .select_related("store")
        .get(pk=request_id, store_id=store_id)
    )
    if request.state != RequestState.OPEN:
        raise RequestNotOpen()
    return request


@transaction.atomic
def attention_fee_raise(
    *, store_id: int, request_id: int, now: datetime | None = None
) -> DeliveryRequest:
    """Raise an open request's fee by one step (``FEE_RAISE_STEP_EUR``), never above the
    store's maximum; its pending offers pay at least the new fee (as the batch's fee raise
    does). Raises DoesNotExist, RequestNotOpen, FeeAtMaximum."""
    request = _locked_open(store_id=store_id, request_id=request_id)
    if request.fee_eur >= request.store.fee_max_eur:
        raise FeeAtMaximum()
    request_fee_step_up(request=request, now=now or timezone.now())
    return request


@transaction.atomic
def attention_hand_to_vans(*, store_id: int, request_id: int, by: User) -> VanHandover:
    """Give an open request to the store's vans: it is recorded, and added at the end of the
    first active van's round in the store's current plan (a plan is started if there is none).
    A second call changes nothing. Raises DoesNotExist, RequestNotOpen, NoActiveVan."""
    request = _locked_open(store_id=store_id, request_id=request_id)
    existing = VanHandover.objects.filter(request=request).first()
    if existing is not None:
        return existing
    van = Van.objects.filter(store_id=store_id, active=True).order_by("id").first()
    if van is None:
        raise NoActiveVan()
    now = timezone.now()
    plan = VanPlan.objects.filter(store_id=store_id).order_by("-created_at", "-id").first()
    if plan is None:
        plan = VanPlan.objects.create(store_id=store_id, cutoff_at=now)
    if not VanStop.objects.filter(plan=plan, request=request).exists():
        last = VanStop.objects.filter(plan=plan, van=van).aggregate(last=Max("sequence"))
        VanStop.objects.create(
            plan=plan,
            van=van,
            sequence=(last["last"] or 0) + 1,
            request=request,
            eta=max(now, request.window_start),
        )
        VanPlan.objects.filter(pk=plan.pk).update(requests_planned=plan.stops.count())
    return VanHandover.objects.create(request=request, by=by)


@transaction.atomic
def attention_cancel(*, store_id: int, request_id: int, message: str) -> DeliveryRequest:
    """Cancel an open request on the store's side; the customer is notified with the message.
    Raises DoesNotExist, RequestNotOpen."""
    _locked_open(store_id=store_id, request_id=request_id)
    return request_cancel(
        request_id=request_id, by=DeliveryRequest.CancelledBy.STORE, reason=message
    )
