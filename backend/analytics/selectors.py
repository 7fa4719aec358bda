"""Store KPIs: every definition is written once, here, as SQL aggregation.

A request counts on the store-local day it was posted (``created_at`` in ``Store.timezone``).
Closed days are read from the daily rollups (``StoreDayRollup``, ``StoreDayDriverRollup``,
maintained by ``services.rollups_rebuild``); today is read from the raw rows with the very same
SQL that builds the rollups, so the two cannot disagree on a definition.

Definitions (also in ``DEFINITIONS``, shown in the API schema and on the dashboard):

- postings: requests posted in the period.
- responded: postings with at least one driver response (``Offer.responded_at``) at or before
  the request's ``closed_at`` (or the request is not closed). response_rate = responded /
  postings.
- responses per posting: distinct drivers who responded (at any time, late responders included)
  summed over postings, / postings.
- time to first response: seconds from posting to the first response before closing; median
  and 90th percentile (``percentile_cont``, linear interpolation), over responded postings.
- assigned / picked up: postings that were ever assigned / picked up. Rates are / postings.
- delivered: postings in state delivered; on time: delivered with ``window_start ≤
  delivered_at ≤ window_end``; on_time_rate = on time / delivered.
- cancellations by side (customer, store, other = driver or system), expired; rates / postings.
- detour km: the assigned driver's detour (the selected offer's ``detour_m``), delivered only.
- km saved: for each delivered request, the dedicated van round trip it spared,
  2 × d(store, drop-off) × ``ROUTING_CIRCUITY`` (d: geodesic straight line), minus the driver's
  detour. CO2 saved: van km × ``CO2_VAN_KG_PER_KM`` − detour km × ``CO2_CAR_KG_PER_KM``.
- fees: ``fee_eur`` of delivered requests. Rating: mean stars customers gave drivers.
- drivers: active = distinct drivers who responded to a posting of the period; staff = those who
  responded from a staff commute trip (``Trip.commute_profile`` set) at least once; shoppers =
  the others. responses per driver = responses / active drivers.
"""

import json
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.analytics.models import VanHandover
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.matching.models import Offer, OfferState
from backend.stores.models import Store

GRANULARITIES = ("day", "week", "month")
# Upper bounds (seconds, exclusive) of the time-to-first-response histogram's buckets.
HISTOGRAM_BOUNDS_S = (60, 120, 300, 600, 900, 1800, 3600)
TOP_RESPONDERS = 10

DEFINITIONS: dict[str, Any] = {
    "postings": _("Delivery requests posted in the period (store-local days)."),
    "responded": _("Postings with at least one driver response before the request closed."),
    "response_rate": _("Responded postings / postings."),
    "responses_per_posting": _(
        "Distinct drivers who responded to a posting (late responders included), averaged "
        "over postings."
    ),
    "first_response_median_s": _(
        "Median seconds from posting to the first response before closing."
    ),
    "first_response_p90_s": _(
        "90th percentile of seconds from posting to the first response before closing."
    ),
    "assigned": _("Postings that were assigned to a driver."),
    "assignment_rate": _("Assigned / postings."),
    "picked_up": _("Postings picked up at the store."),
    "delivered": _("Postings delivered."),
    "delivered_rate": _("Delivered / postings."),
    "on_time": _("Delivered inside the customer's time window."),
    "on_time_rate": _("On time / delivered."),
    "cancelled_by_customer": _("Cancelled by the customer."),
    "cancelled_by_store": _("Cancelled by the store."),
    "cancelled_other": _("Cancelled by a driver or the system."),
    "cancellation_rate": _("All cancellations / postings."),
    "expired": _("Postings that expired without a driver."),
    "expiry_rate": _("Expired / postings."),
    "failed": _("Deliveries that failed after assignment."),
    "detour_km": _("Kilometres of detour driven by the drivers of delivered requests."),
    "van_km": _(
        "Kilometres a dedicated van would have driven: 2 × straight line store → drop-off × "
        "circuity, per delivered request."
    ),
    "km_saved": _("Van kilometres avoided minus the drivers' detour kilometres."),
    "co2_saved_kg": _("Van km × van emission factor − detour km × car emission factor, kg CO2e."),
    "fees_eur": _("Fees of delivered requests, euros."),
    "detour_km_per_delivery": _("Detour km / delivered."),
    "km_saved_per_delivery": _("Km saved / delivered."),
    "fee_eur_per_delivery": _("Fees / delivered, euros."),
    "rating_avg": _("Mean stars given by customers to drivers."),
    "rating_count": _("Number of customer ratings."),
    "responses": _("Responses: (posting, driver) pairs."),
    "active_drivers": _("Distinct drivers who responded to a posting of the period."),
    "staff_drivers": _("Active drivers who responded from a staff commute."),
    "shopper_drivers": _("Active drivers who are not staff."),
    "responses_per_driver": _("Responses / active drivers."),
}


@dataclass(frozen=True)
class KpiTotals:
    """The KPIs of a period. Rates are fractions (0..1), None where the base is zero."""

    postings: int
    responded: int
    response_rate: float | None
    responses: int
    responses_per_posting: float | None
    first_response_median_s: float | None
    first_response_p90_s: float | None
    assigned: int
    assignment_rate: float | None
    picked_up: int
    delivered: int
    delivered_rate: float | None
    on_time: int
    on_time_rate: float | None
    cancelled_by_customer: int
    cancelled_by_store: int
    cancelled_other: int
    cancellation_rate: float | None
    expired: int
    expiry_rate: float | None
    failed: int
    detour_km: float
    van_km: float
    km_saved: float
    co2_saved_kg: float
    fees_eur: float
    detour_km_per_delivery: float | None
    km_saved_per_delivery: float | None
    fee_eur_per_delivery: float | None
    rating_avg: float | None
    rating_count: int
    active_drivers: int
    staff_drivers: int
    shopper_drivers: int
    responses_per_driver: float | None


@dataclass(frozen=True)
class KpiPeriod(KpiTotals):
    """One row of a series: the KPIs of [period_start, period_end] (local dates, inclusive)."""

    period_start: date
    period_end: date


@dataclass(frozen=True)
class HistogramBucket:
    from_s: int
    to_s: int | None  # None: open-ended
    count: int


@dataclass(frozen=True)
class TopResponder:
    driver_id: int
    name: str
    responses: int
    is_staff: bool


@dataclass(frozen=True)
class KpiReport:
    store_id: int
    start: date
    end: date
    granularity: str
    totals: KpiTotals
    series: list[KpiPeriod]
    first_response_histogram: list[HistogramBucket]
    top_responders: list[TopResponder]


# --- the SQL, written once -----------------------------------------------------------------

# Per store-local day, from the raw rows posted in [since, until). Used to build the rollups and
# to read today. Parameters: store_id, tz, since, until, circuity (not used here: distances are
# stored as straight lines, circuity and emission factors are applied when reading).
RAW_DAYS_SQL = """
raw_req AS (
    SELECT r.id, r.created_at, r.state, r.cancelled_by, r.closed_at, r.assigned_at,
           r.picked_up_at, r.delivered_at, r.window_start, r.window_end, r.fee_eur,
           r.dropoff_point,
           (r.created_at AT TIME ZONE %(tz)s)::date AS local_date
    FROM deliveries_deliveryrequest r
    WHERE r.store_id = %(store_id)s AND r.created_at >= %(since)s AND r.created_at < %(until)s
),
raw_resp AS (
    SELECT o.request_id, t.driver_id, t.commute_profile_id, o.responded_at, q.local_date,
           q.closed_at
    FROM matching_offer o
    JOIN raw_req q ON q.id = o.request_id
    JOIN matching_trip t ON t.id = o.trip_id
    WHERE o.responded_at IS NOT NULL
),
raw_req_resp AS (
    SELECT request_id,
           count(DISTINCT driver_id) AS responders,
           min(responded_at) FILTER (
               WHERE closed_at IS NULL OR responded_at <= closed_at
           ) AS first_at
    FROM raw_resp
    GROUP BY request_id
),
raw_days AS (
    SELECT q.local_date,
        count(*) AS postings,
        count(rr.first_at) AS responded,
        coalesce(sum(rr.responders), 0) AS responders_sum,
        coalesce(
            array_agg(greatest(0, round(extract(epoch FROM rr.first_at - q.created_at)))::int
                      ORDER BY q.id) FILTER (WHERE rr.first_at IS NOT NULL),
            '{}'::int[]
        ) AS first_response_s,
        count(q.assigned_at) AS assigned,
        count(q.picked_up_at) AS picked_up,
        count(*) FILTER (WHERE q.state = 'delivered') AS delivered,
        count(*) FILTER (
            WHERE q.state = 'delivered'
              AND q.delivered_at BETWEEN q.window_start AND q.window_end
        ) AS on_time,
        count(*) FILTER (
            WHERE q.state = 'cancelled' AND q.cancelled_by = 'customer'
        ) AS cancelled_by_customer,
        count(*) FILTER (
            WHERE q.state = 'cancelled' AND q.cancelled_by = 'store'
        ) AS cancelled_by_store,
        count(*) FILTER (
            WHERE q.state = 'cancelled' AND q.cancelled_by = 'driver'
        ) AS cancelled_by_driver,
        count(*) FILTER (
            WHERE q.state = 'cancelled' AND q.cancelled_by NOT IN ('customer', 'store', 'driver')
        ) AS cancelled_by_system,
        count(*) FILTER (WHERE q.state = 'expired') AS expired,
        count(*) FILTER (WHERE q.state = 'failed') AS failed,
        coalesce(sum(sel.detour_m) FILTER (WHERE q.state = 'delivered'), 0)::bigint
            AS detour_m_sum,
        coalesce(
            sum(ST_Distance(q.dropoff_point, s.location)) FILTER (WHERE q.state = 'delivered'),
            0
        )::float8 AS store_distance_m_sum,
        coalesce(sum(q.fee_eur) FILTER (WHERE q.state = 'delivered'), 0)::numeric(12, 2)
            AS fees_eur_sum,
        coalesce(sum(g.stars), 0) AS rating_sum,
        count(g.stars) AS rating_count
    FROM raw_req q
    JOIN stores_store s ON s.id = %(store_id)s
    LEFT JOIN raw_req_resp rr ON rr.request_id = q.id
    LEFT JOIN matching_offer sel ON sel.request_id = q.id AND sel.state = 'selected'
    LEFT JOIN deliveries_rating g
        ON g.request_id = q.id AND g.direction = 'customer_to_driver'
    GROUP BY q.local_date
),
raw_driver_days AS (
    SELECT local_date, driver_id, count(DISTINCT request_id) AS responses,
           bool_or(commute_profile_id IS NOT NULL) AS is_staff
    FROM raw_resp
    GROUP BY local_date, driver_id
)
"""

DAY_COLUMNS = (
    "postings",
    "responded",
    "responders_sum",
    "assigned",
    "picked_up",
    "delivered",
    "on_time",
    "cancelled_by_customer",
    "cancelled_by_store",
    "cancelled_by_driver",
    "cancelled_by_system",
    "expired",
    "failed",
    "detour_m_sum",
    "store_distance_m_sum",
    "fees_eur_sum",
    "rating_sum",
    "rating_count",
)
_COLS = ", ".join(DAY_COLUMNS)
_LOWS = (0, *HISTOGRAM_BOUNDS_S)
_HISTOGRAM = (
    ", ".join(
        f"count(*) FILTER (WHERE s >= {low} AND s < {high})"
        for low, high in zip(_LOWS, HISTOGRAM_BOUNDS_S, strict=False)
    )
    + f", count(*) FILTER (WHERE s >= {HISTOGRAM_BOUNDS_S[-1]})"
)
_SUMS = ",\n    ".join(f"coalesce(sum({c}), 0) AS {c}" for c in DAY_COLUMNS)

# Series and totals in one statement: rollups for days before ``live_from``, raw rows from it.
# Only module constants are interpolated; every value is a query parameter.
REPORT_SQL = f"""
WITH {RAW_DAYS_SQL},
days AS (
    SELECT local_date, {_COLS}, first_response_s
    FROM analytics_storedayrollup
    WHERE store_id = %(store_id)s AND local_date >= %(start)s AND local_date <= %(end)s
      AND local_date < %(live_from)s
    UNION ALL
    SELECT local_date, {_COLS}, first_response_s FROM raw_days
),
driver_days AS (
    SELECT local_date, driver_id, responses, is_staff
    FROM analytics_storedaydriverrollup
    WHERE store_id = %(store_id)s AND local_date >= %(start)s AND local_date <= %(end)s
      AND local_date < %(live_from)s
    UNION ALL
    SELECT local_date, driver_id, responses, is_staff FROM raw_driver_days
),
pdays AS (
    SELECT date_trunc(%(granularity)s, local_date::timestamp)::date AS period, *
    FROM days
),
sums AS (
    SELECT period, GROUPING(period) AS is_total,
    {_SUMS}
    FROM pdays GROUP BY GROUPING SETS ((period), ())
),
pct AS (
    SELECT period, GROUPING(period) AS is_total,
           percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY s) AS pcts,
           ARRAY[{_HISTOGRAM}] AS histogram
    FROM pdays, unnest(pdays.first_response_s) AS s
    GROUP BY GROUPING SETS ((period), ())
),
pdrivers AS (
    SELECT date_trunc(%(granularity)s, local_date::timestamp)::date AS period, *
    FROM driver_days
),
drivers AS (
    SELECT period, GROUPING(period) AS is_total,
           count(DISTINCT driver_id) AS active_drivers,
           count(DISTINCT driver_id) FILTER (WHERE is_staff) AS staff_drivers
    FROM pdrivers
    GROUP BY GROUPING SETS ((period), ())
),
top AS (
    SELECT d.driver_id, u.full_name, sum(d.responses) AS responses, bool_or(d.is_staff) AS staff
    FROM driver_days d JOIN accounts_user u ON u.id = d.driver_id
    GROUP BY d.driver_id, u.full_name
    ORDER BY responses DESC, d.driver_id
    LIMIT %(top)s
)
SELECT sums.*, pct.pcts[1] AS median_s, pct.pcts[2] AS p90_s, pct.histogram,
       coalesce(drivers.active_drivers, 0) AS active_drivers,
       coalesce(drivers.staff_drivers, 0) AS staff_drivers,
       (SELECT coalesce(json_agg(json_build_array(driver_id, full_name, responses, staff)),
                        '[]') FROM top)::text AS top
FROM sums
LEFT JOIN pct ON pct.is_total = sums.is_total AND pct.period IS NOT DISTINCT FROM sums.period
LEFT JOIN drivers ON drivers.is_total = sums.is_total
    AND drivers.period IS NOT DISTINCT FROM sums.period
ORDER BY sums.is_total, sums.period
"""  # noqa: S608


# --- periods and time zones ------------------------------------------------------------------


def local_today(*, store: Store) -> date:
    return timezone.now().astimezone(ZoneInfo(store.timezone)).date()


def local_midnight_utc(*, store: Store, day: date) -> datetime:
    """The instant a store-local day starts."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(store.timezone))


def period_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def period_end(start: date, granularity: str) -> date:
    if granularity == "week":
        return start + timedelta(days=6)
    if granularity == "month":
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(days=1)
    return start


def periods(*, start: date, end: date, granularity: str) -> list[date]:
    """The starts of every period touching [start, end]."""
    out = []
    current = period_start(start, granularity)
    while current <= end:
        out.append(current)
        current = period_end(current, granularity) + timedelta(days=1)
    return out


# --- from sums to KPIs -------------------------------------------------------------------------


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _kpis(row: dict[str, Any]) -> dict[str, Any]:
    """KPIs from the additive sums of a period (a row of REPORT_SQL or zeros)."""
    postings = int(row["postings"])
    delivered = int(row["delivered"])
    detour_km = float(row["detour_m_sum"]) / 1000
    van_km = 2 * float(row["store_distance_m_sum"]) * settings.ROUTING_CIRCUITY / 1000
    cancelled_other = int(row["cancelled_by_driver"]) + int(row["cancelled_by_system"])
    cancelled = (
        int(row["cancelled_by_customer"]) + int(row["cancelled_by_store"]) + (cancelled_other)
    )
    responses = int(row["responders_sum"])
    active = int(row.get("active_drivers") or 0)
    staff = int(row.get("staff_drivers") or 0)
    rating_count = int(row["rating_count"])
    median = row.get("median_s")
    p90 = row.get("p90_s")
    return {
        "postings": postings,
        "responded": int(row["responded"]),
        "response_rate": _ratio(int(row["responded"]), postings),
        "responses": responses,
        "responses_per_posting": _ratio(responses, postings),
        "first_response_median_s": None if median is None else float(median),
        "first_response_p90_s": None if p90 is None else float(p90),
        "assigned": int(row["assigned"]),
        "assignment_rate": _ratio(int(row["assigned"]), postings),
        "picked_up": int(row["picked_up"]),
        "delivered": delivered,
        "delivered_rate": _ratio(delivered, postings),
        "on_time": int(row["on_time"]),
        "on_time_rate": _ratio(int(row["on_time"]), delivered),
        "cancelled_by_customer": int(row["cancelled_by_customer"]),
        "cancelled_by_store": int(row["cancelled_by_store"]),
        "cancelled_other": cancelled_other,
        "cancellation_rate": _ratio(cancelled, postings),
        "expired": int(row["expired"]),
        "expiry_rate": _ratio(int(row["expired"]), postings),
        "failed": int(row["failed"]),
        "detour_km": round(detour_km, 3),
        "van_km": round(van_km, 3),
        "km_saved": round(van_km - detour_km, 3),
        "co2_saved_kg": round(
            van_km * settings.CO2_VAN_KG_PER_KM - detour_km * settings.CO2_CAR_KG_PER_KM, 3
        ),
        "fees_eur": round(float(row["fees_eur_sum"]), 2),
        "detour_km_per_delivery": _ratio(detour_km, delivered),
        "km_saved_per_delivery": _ratio(van_km - detour_km, delivered),
        "fee_eur_per_delivery": _ratio(float(row["fees_eur_sum"]), delivered),
        "rating_avg": _ratio(int(row["rating_sum"]), rating_count),
        "rating_count": rating_count,
        "active_drivers": active,
        "staff_drivers": staff,
        "shopper_drivers": active - staff,
        "responses_per_driver": _ratio(responses, active),
    }


_ZERO = dict.fromkeys(DAY_COLUMNS, 0)


def kpi_report(
    *, store: Store, start: date, end: date, granularity: str, live_from: date
) -> KpiReport:
    """The report for [start, end] (store-local, inclusive): rollups for the days before
    ``live_from``, raw rows from it on. One query. Raises ValueError on a bad granularity."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}")
    raw_from = max(start, live_from)
    since = local_midnight_utc(store=store, day=raw_from)
    until = local_midnight_utc(store=store, day=end + timedelta(days=1))
    params: dict[str, Any] = {
        "store_id": store.pk,
        "tz": store.timezone,
        "since": since,
        "until": max(since, until),
        "start": start,
        "end": end,
        "live_from": live_from,
        "granularity": granularity,
        "top": TOP_RESPONDERS,
    }
    with connection.cursor() as cursor:
        cursor.execute(REPORT_SQL, params)
        columns = [c.name for c in cursor.description]
        rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
    by_period = {row["period"]: row for row in rows if not row["is_total"]}
    total: dict[str, Any] = next((row for row in rows if row["is_total"]), _ZERO)
    series = [
        KpiPeriod(
            **_kpis(by_period.get(first, _ZERO)),
            period_start=first,
            period_end=period_end(first, granularity),
        )
        for first in periods(start=start, end=end, granularity=granularity)
    ]
    counts: list[int] = list(total.get("histogram") or [0] * (len(HISTOGRAM_BOUNDS_S) + 1))
    highs: tuple[int | None, ...] = (*HISTOGRAM_BOUNDS_S, None)
    histogram = [
        HistogramBucket(from_s=low, to_s=high, count=int(count))
        for low, high, count in zip(_LOWS, highs, counts, strict=True)
    ]
    top_rows = json.loads(rows[0]["top"]) if rows else []
    top = [
        TopResponder(driver_id=d, name=name, responses=int(n), is_staff=bool(staff))
        for d, name, n, staff in top_rows
    ]
    return KpiReport(
        store_id=store.pk,
        start=start,
        end=end,
        granularity=granularity,
        totals=KpiTotals(**_kpis(total)),
        series=series,
        first_response_histogram=histogram,
        top_responders=top,
    )


def store_kpis(*, store_id: int, start: date, end: date, granularity: str = "day") -> KpiReport:
    """A store's KPIs over the store-local days [start, end], per day, week or month, with
    totals. Closed days come from the rollups, today from the raw rows. Two queries.
    Raises Store.DoesNotExist, ValueError (granularity)."""
    store = Store.objects.only("id", "timezone").get(pk=store_id)
    return kpi_report(
        store=store,
        start=start,
        end=end,
        granularity=granularity,
        live_from=local_today(store=store),
    )


def stores_kpis(
    *, store_ids: list[int], start: date, end: date, granularity: str = "day"
) -> dict[int, KpiReport]:
    """``store_kpis`` for several stores (each in its own time zone): one query per store."""
    stores = Store.objects.only("id", "timezone").filter(pk__in=store_ids).order_by("id")
    return {
        store.pk: kpi_report(
            store=store,
            start=start,
            end=end,
            granularity=granularity,
            live_from=local_today(store=store),
        )
        for store in stores
    }


def store_kpis_from_raw(
    *, store_id: int, start: date, end: date, granularity: str = "day"
) -> KpiReport:
    """The same report recomputed from the raw rows only (slow on long ranges: for checks)."""
    store = Store.objects.only("id", "timezone").get(pk=store_id)
    return kpi_report(store=store, start=start, end=end, granularity=granularity, live_from=start)


def kpi_fields() -> list[str]:
    return [f.name for f in fields(KpiTotals)]


# --- needs attention ----------------------------------------------------------------------------


def attention_requests(*, store_id: int, now: datetime | None = None) -> QuerySet[DeliveryRequest]:
    """Open requests of the store with no driver response ``ANALYTICS_ATTENTION_AFTER_S``
    after posting, oldest first, annotated with ``handed_to_vans``."""
    now = now or timezone.now()
    responded = Offer.objects.filter(request=OuterRef("pk"), responded_at__isnull=False)
    return (
        DeliveryRequest.objects.filter(
            store_id=store_id,
            state=RequestState.OPEN,
            created_at__lte=now - timedelta(seconds=settings.ANALYTICS_ATTENTION_AFTER_S),
        )
        .annotate(
            handed_to_vans=Exists(VanHandover.objects.filter(request=OuterRef("pk"))),
        )
        .filter(~Exists(responded))
        .select_related("store")
        .order_by("created_at", "id")
    )


# --- map and exports ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DropoffPoint:
    request_id: int
    lat: float
    lng: float
    outcome: str  # a RequestState value


def dropoff_points(*, store: Store, start: date, end: date, limit: int) -> list[DropoffPoint]:
    """The drop-off points of the period's requests (the latest ``limit``)."""
    since = local_midnight_utc(store=store, day=start)
    until = local_midnight_utc(store=store, day=end + timedelta(days=1))
    rows = (
        DeliveryRequest.objects.filter(store=store, created_at__gte=since, created_at__lt=until)
        .order_by("-created_at", "-id")
        .values_list("id", "dropoff_point", "state")[:limit]
    )
    return [DropoffPoint(pk, point.y, point.x, state) for pk, point, state in rows]


def requests_for_export(*, store: Store, start: date, end: date) -> QuerySet[DeliveryRequest]:
    """The period's requests with what the CSV shows, oldest first; ``responders`` and
    ``detour_m`` are annotated (no query per row)."""
    since = local_midnight_utc(store=store, day=start)
    until = local_midnight_utc(store=store, day=end + timedelta(days=1))
    selected = Offer.objects.filter(request=OuterRef("pk"), state=OfferState.SELECTED)
    return (
        DeliveryRequest.objects.filter(store=store, created_at__gte=since, created_at__lt=until)
        .annotate(
            responders=Count(
                "offers__trip__driver",
                filter=Q(offers__responded_at__isnull=False),
                distinct=True,
            ),
            detour_m=Subquery(selected.values("detour_m")[:1]),
        )
        .order_by("created_at", "id")
    )


def report_for(*, store: Store, start: date, end: date, granularity: str) -> KpiReport:
    """``store_kpis`` for a store already loaded (one query)."""
    return kpi_report(
        store=store,
        start=start,
        end=end,
        granularity=granularity,
        live_from=local_today(store=store),
    )
