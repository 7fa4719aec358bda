"""CSV exports of a store's requests and KPIs, streamed (a year of requests does not sit in
memory). Every CSV the product writes goes through ``csv_response``, which neutralises text
cells that a spreadsheet would read as a formula."""

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.http import StreamingHttpResponse

from backend.analytics.selectors import KpiReport, kpi_fields, requests_for_export
from backend.stores.models import Store

REQUEST_COLUMNS = [
    "id",
    "order_reference",
    "created_at",
    "state",
    "fee_eur",
    "responders",
    "first_response_at",
    "assigned_at",
    "picked_up_at",
    "delivered_at",
    "closed_at",
    "window_start",
    "window_end",
    "on_time",
    "cancelled_by",
    "detour_m",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


# A spreadsheet reads a cell starting with one of these as a formula (or, for tab and carriage
# return, strips them and reads what follows): ``=HYPERLINK(...)`` in an order reference would
# run on the manager's machine. OWASP's advice: prefix such a cell with a single quote.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """The cell as written: text that a spreadsheet would take for a formula gets a leading
    ``'``. Numbers, dates and None are the product's own values and stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _local(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).isoformat() if moment else ""


def request_rows(*, store: Store, start: date, end: date) -> Iterator[list[Any]]:
    tz = ZoneInfo(store.timezone)
    yield REQUEST_COLUMNS
    for r in requests_for_export(store=store, start=start, end=end).iterator(chunk_size=2000):
        delivered = r.delivered_at if r.state == "delivered" else None
        on_time = "" if delivered is None else int(r.window_start <= delivered <= r.window_end)
        yield [
            r.pk,
            r.order_reference,
            _local(r.created_at, tz),
            r.state,
            r.fee_eur,
            r.responders,  # type: ignore[attr-defined]
            _local(r.first_response_at, tz),
            _local(r.assigned_at, tz),
            _local(r.picked_up_at, tz),
            _local(r.delivered_at, tz),
            _local(r.closed_at, tz),
            _local(r.window_start, tz),
            _local(r.window_end, tz),
            on_time,
            r.cancelled_by,
            "" if r.detour_m is None else r.detour_m,  # type: ignore[attr-defined]
        ]


def kpi_rows(report: KpiReport) -> Iterator[list[Any]]:
    names = kpi_fields()
    yield ["period_start", "period_end", *names]
    for row in report.series:
        yield [row.period_start, row.period_end, *(getattr(row, n) for n in names)]
    yield [report.start, report.end, *(getattr(report.totals, n) for n in names)]


def csv_response(rows: Iterable[list[Any]], filename: str) -> StreamingHttpResponse:
    """Stream ``rows`` as CSV, every cell through ``csv_safe``."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow([csv_safe(cell) for cell in row]) for row in rows),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
