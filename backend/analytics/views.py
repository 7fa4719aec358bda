"""The managers' dashboard: server-rendered pages under /manager/, session login, fr and en.
The numbers come from the same selectors as the API."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, LogoutView
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    QueryDict,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.formats import get_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from backend.accounts.models import DriverStatus
from backend.accounts.selectors import store_drivers
from backend.accounts.services import MANAGER_DECISIONS, driver_decide
from backend.analytics import basemap, charts, exports, selectors, services
from backend.analytics.serializers import KpiQuerySerializer
from backend.core.errors import DomainError
from backend.stores.models import Store
from backend.stores.selectors import managed_store, managed_stores

LOGIN_URL = reverse_lazy("analytics:login")

OUTCOME_LABELS = {
    "open": gettext_lazy("Open"),
    "assigned": gettext_lazy("Assigned"),
    "picked_up": gettext_lazy("Picked up"),
    "delivered": gettext_lazy("Delivered"),
    "cancelled": gettext_lazy("Cancelled"),
    "expired": gettext_lazy("Expired"),
    "failed": gettext_lazy("Failed"),
}


class ManagerLoginView(LoginView):
    template_name = "analytics/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return reverse("analytics:stores")


class ManagerLogoutView(LogoutView):
    def get_default_redirect_url(self) -> str:
        return reverse("analytics:login")


def _store(request: HttpRequest, store_id: int) -> Store:
    try:
        return managed_store(user=request.user, store_id=store_id)
    except Store.DoesNotExist:
        raise Http404() from None


def _period(request: HttpRequest, store: Store) -> dict[str, Any]:
    query = KpiQuerySerializer(
        data=request.GET, context={"today": selectors.local_today(store=store)}
    )
    if query.is_valid():
        return dict(query.validated_data)
    messages.error(request, _("The period was not valid: the last 30 days are shown."))
    fallback = KpiQuerySerializer(data={}, context={"today": selectors.local_today(store=store)})
    fallback.is_valid(raise_exception=True)
    return dict(fallback.validated_data)


def _export_period(request: HttpRequest, store: Store) -> dict[str, Any] | HttpResponse:
    """The period of a download. A bad one is a 400 naming the field rather than the page's
    fallback: a file of another period than the one asked for would mislead."""
    query = KpiQuerySerializer(
        data=request.GET, context={"today": selectors.local_today(store=store)}
    )
    if query.is_valid():
        return dict(query.validated_data)
    problems = "\n".join(
        f"{name}: {' '.join(str(message) for message in messages_)}"
        for name, messages_ in query.errors.items()
    )
    return HttpResponseBadRequest(problems, content_type="text/plain; charset=utf-8")


# --- formatting, shared with the tests' expectations -----------------------------------------


def number_format(value: float, decimals: int) -> str:
    """Rounded like Python's format (Django's number_format truncates floats), with the
    active language's decimal separator."""
    return f"{value:.{decimals}f}".replace(".", str(get_format("DECIMAL_SEPARATOR")))


def fmt_rate(value: float | None) -> str:
    return "–" if value is None else f"{number_format(value * 100, 1)} %"


def fmt_number(value: float | None, decimals: int = 0) -> str:
    return "–" if value is None else number_format(value, decimals)


def fmt_minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{number_format(seconds / 60, 1)} min"


def tiles(totals: selectors.KpiTotals) -> list[dict[str, Any]]:
    d = selectors.DEFINITIONS
    rows: list[tuple[str, str, str]] = [
        ("postings", _("Postings"), fmt_number(totals.postings)),
        ("response_rate", _("Response rate"), fmt_rate(totals.response_rate)),
        (
            "responses_per_posting",
            _("Responses per posting"),
            fmt_number(totals.responses_per_posting, 2),
        ),
        (
            "first_response_median_s",
            _("First response, median"),
            fmt_minutes(totals.first_response_median_s),
        ),
        (
            "first_response_p90_s",
            _("First response, p90"),
            fmt_minutes(totals.first_response_p90_s),
        ),
        ("assignment_rate", _("Assignment rate"), fmt_rate(totals.assignment_rate)),
        ("delivered_rate", _("Delivered rate"), fmt_rate(totals.delivered_rate)),
        ("on_time_rate", _("On-time rate"), fmt_rate(totals.on_time_rate)),
        ("cancellation_rate", _("Cancellation rate"), fmt_rate(totals.cancellation_rate)),
        (
            "cancelled_by_customer",
            _("Cancelled by customers"),
            fmt_number(totals.cancelled_by_customer),
        ),
        ("cancelled_by_store", _("Cancelled by the store"), fmt_number(totals.cancelled_by_store)),
        ("cancelled_other", _("Cancelled, other"), fmt_number(totals.cancelled_other)),
        ("expiry_rate", _("Expiry rate"), fmt_rate(totals.expiry_rate)),
        ("detour_km", _("Detour"), f"{fmt_number(totals.detour_km, 1)} km"),
        ("km_saved", _("Kilometres saved"), f"{fmt_number(totals.km_saved, 1)} km"),
        ("co2_saved_kg", _("CO2 saved"), f"{fmt_number(totals.co2_saved_kg, 1)} kg"),
        ("fees_eur", _("Fees paid"), f"{fmt_number(totals.fees_eur, 2)} €"),
        (
            "km_saved_per_delivery",
            _("Km saved per delivery"),
            f"{fmt_number(totals.km_saved_per_delivery, 2)} km",
        ),
        (
            "fee_eur_per_delivery",
            _("Fee per delivery"),
            f"{fmt_number(totals.fee_eur_per_delivery, 2)} €",
        ),
        ("rating_avg", _("Rating"), fmt_number(totals.rating_avg, 2)),
        ("active_drivers", _("Active drivers"), fmt_number(totals.active_drivers)),
        ("staff_drivers", _("Staff drivers"), fmt_number(totals.staff_drivers)),
        ("shopper_drivers", _("Shopper drivers"), fmt_number(totals.shopper_drivers)),
        (
            "responses_per_driver",
            _("Responses per driver"),
            fmt_number(totals.responses_per_driver, 2),
        ),
    ]
    return [
        {"key": key, "label": label, "value": value, "definition": d.get(key, "")}
        for key, label, value in rows
    ]


# --- Content-Security-Policy -------------------------------------------------------------------


def content_security_policy() -> str:
    """Everything from this site only, no inline script or style. The base map adds what MapLibre
    GL JS needs and no more: its worker is the vendored module next to it (worker-src 'self', so
    no blob: worker, which MapLibre's one-file build would need), WebGL reads its tile images from
    data: and blob: URLs (img-src), and the tiles come from this site or MAP_TILES_URL's origin
    (connect-src). child-src is left to default-src ('self'): nothing makes frames."""
    connect = " ".join(filter(None, ["'self'", basemap.tiles_origin()]))
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            f"connect-src {connect}",
            "worker-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def with_csp(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.setdefault("Content-Security-Policy", content_security_policy())
        return response

    return wrapped


# --- pages -------------------------------------------------------------------------------------


@login_required(login_url=LOGIN_URL)
def store_list(request: HttpRequest) -> HttpResponse:
    stores = list(managed_stores(user=request.user))
    if len(stores) == 1:
        return redirect("analytics:dashboard", store_id=stores[0].pk)
    return render(request, "analytics/stores.html", {"stores": stores})


@with_csp
@login_required(login_url=LOGIN_URL)
def dashboard(request: HttpRequest, store_id: int) -> HttpResponse:
    store = _store(request, store_id)
    period = _period(request, store)
    report = selectors.report_for(store=store, **period)
    totals = report.totals
    labels = [row.period_start.isoformat() for row in report.series]
    reference_rate = settings.ANALYTICS_REFERENCE_RESPONSE_RATE
    reference_rpp = settings.ANALYTICS_REFERENCE_RESPONSES_PER_POSTING
    now = timezone.now()
    attention = list(selectors.attention_requests(store_id=store.pk, now=now)[:200])
    for item in attention:
        item.age_min = int((now - item.created_at).total_seconds() // 60)  # type: ignore[attr-defined]
    points = selectors.dropoff_points(
        store=store,
        start=period["start"],
        end=period["end"],
        limit=settings.ANALYTICS_MAP_MAX_POINTS,
    )
    query = urlencode(
        {
            "from": period["start"].isoformat(),
            "to": period["end"].isoformat(),
            "granularity": period["granularity"],
        }
    )
    context = {
        "store": store,
        "period": period,
        "granularities": [
            ("day", _("Day")),
            ("week", _("Week")),
            ("month", _("Month")),
        ],
        "query": query,
        "tiles": tiles(totals),
        "definitions": [(key, str(text)) for key, text in selectors.DEFINITIONS.items()],
        "response_rate_chart": charts.line_chart(
            chart_id="chart-response-rate",
            points=[
                charts.SeriesPoint(label, row.response_rate)
                for label, row in zip(labels, report.series, strict=True)
            ],
            reference=reference_rate,
            reference_label=_("Reference %(value)s") % {"value": fmt_rate(reference_rate)},
            fmt=fmt_rate,
            minimum_top=1.0,
        ),
        "responses_chart": charts.line_chart(
            chart_id="chart-responses-per-posting",
            points=[
                charts.SeriesPoint(label, row.responses_per_posting)
                for label, row in zip(labels, report.series, strict=True)
            ],
            reference=reference_rpp,
            reference_label=_("Reference %(value)s") % {"value": fmt_number(reference_rpp, 1)},
            fmt=lambda v: fmt_number(v, 1),
            minimum_top=1.0,
        ),
        "histogram_chart": charts.bar_chart(
            chart_id="chart-first-response",
            labels=charts.histogram_labels(report.first_response_histogram),
            counts=[b.count for b in report.first_response_histogram],
        ),
        "funnel_chart": charts.funnel_chart(
            chart_id="chart-funnel",
            steps=[
                (_("Posted"), totals.postings),
                (_("Responded"), totals.responded),
                (_("Assigned"), totals.assigned),
                (_("Picked up"), totals.picked_up),
                (_("Delivered"), totals.delivered),
            ],
        ),
        "map": charts.dropoff_map(
            chart_id="map-dropoffs",
            store_lat=store.location.y,
            store_lng=store.location.x,
            points=points,
            outcome_labels={k: str(v) for k, v in OUTCOME_LABELS.items()},
        ),
        "map_count": len(points),
        "basemap": _basemap(store, points),
        "map_legend": map_legend(),
        "attention": attention,
        "attention_after_min": settings.ANALYTICS_ATTENTION_AFTER_S // 60,
        "top_responders": report.top_responders,
        "staff_drivers": [
            StaffDriverRow(d.user, d.profile, _driver_actions(d.profile.status))
            for d in store_drivers(store_id=store.pk)
        ],
    }
    return render(request, "analytics/dashboard.html", context)


def _basemap(store: Store, points: list[selectors.DropoffPoint]) -> dict[str, Any] | None:
    """What the base map script draws, or None where there are no tiles for the store."""
    source = basemap.tile_source(lat=store.location.y, lng=store.location.x)
    if source is None:
        return None
    return basemap.map_data(
        store_lat=store.location.y,
        store_lng=store.location.x,
        points=points,
        source=source,
        style_url=static("analytics/map/style.json"),
        outcome_labels={k: str(v) for k, v in OUTCOME_LABELS.items()},
        store_label=_("Store"),
    )


def map_legend() -> list[tuple[str, str, str]]:
    """(outcome, label, colour) as in the SVG map's legend."""
    return [
        ("store", _("Store"), "#000000"),
        *(
            (state, str(OUTCOME_LABELS[state]), colour)
            for state, colour in charts.OUTCOME_COLOURS.items()
            if state != "picked_up"
        ),
    ]


@require_safe
@login_required(login_url=LOGIN_URL)
def map_tiles(request: HttpRequest) -> HttpResponseBase:
    """The base map's PMTiles file, by byte ranges, for managers (the page that draws it)."""
    path = basemap.tiles_file()
    if not managed_stores(user=request.user).exists() or not path.is_file():
        raise Http404()
    # Private: behind a login. An hour: the ETag (the file's time and size) tells a browser
    # that kept it whether the set-up has made it again.
    return basemap.ranged_file_response(
        request,
        path,
        content_type="application/octet-stream",
        cache_control="private, max-age=3600",
    )


@dataclass(frozen=True)
class StaffDriverRow:
    user: Any
    profile: Any
    actions: list[tuple[str, str]]


# What a manager may decide from each standing, as (action, button label).
def _driver_actions(status: str) -> list[tuple[str, str]]:
    return {
        DriverStatus.PENDING: [("approve", _("Approve")), ("reject", _("Reject"))],
        DriverStatus.APPROVED: [("suspend", _("Suspend"))],
        DriverStatus.SUSPENDED: [("reinstate", _("Reinstate"))],
        DriverStatus.REJECTED: [("approve", _("Approve"))],
    }[DriverStatus(status)]


@require_POST
@login_required(login_url=LOGIN_URL)
def driver_action(request: HttpRequest, store_id: int, user_id: int, action: str) -> HttpResponse:
    """A manager's decision on one of the store's staff drivers (the API's rule and audit)."""
    store = _store(request, store_id)
    if action not in MANAGER_DECISIONS or user_id not in {
        d.user.pk for d in store_drivers(store_id=store.pk)
    }:
        raise Http404()
    try:
        driver_decide(
            driver_id=user_id,
            kind=MANAGER_DECISIONS[action],
            by=request.user,  # type: ignore[arg-type]
            reason="Decided on the dashboard",
            store_id=store.pk,
        )
        messages.success(request, _("Decision recorded."))
    except DomainError as error:
        messages.error(request, str(error.detail))
    return _back_to_dashboard(request, store, "staff-drivers")


ACTIONS = {"raise-fee", "hand-to-vans", "cancel"}


def _back_to_dashboard(request: HttpRequest, store: Store, section: str) -> HttpResponse:
    """Back to the same period and section: only the period's own parameters are carried."""
    kept = QueryDict(request.POST.get("query", ""))
    next_query = urlencode({k: kept[k] for k in ("from", "to", "granularity") if kept.get(k)})
    target = reverse("analytics:dashboard", kwargs={"store_id": store.pk})
    return redirect(f"{target}?{next_query}#{section}" if next_query else f"{target}#{section}")


@require_POST
@login_required(login_url=LOGIN_URL)
def attention_action(
    request: HttpRequest, store_id: int, request_id: int, action: str
) -> HttpResponse:
    store = _store(request, store_id)
    if action not in ACTIONS:
        raise Http404()
    try:
        if action == "raise-fee":
            delivery = services.attention_fee_raise(store_id=store.pk, request_id=request_id)
            messages.success(
                request,
                _("Request %(id)s: fee raised to %(fee)s €.")
                % {"id": request_id, "fee": fmt_number(float(delivery.fee_eur), 2)},
            )
        elif action == "hand-to-vans":
            services.attention_hand_to_vans(
                store_id=store.pk,
                request_id=request_id,
                by=request.user,  # type: ignore[arg-type]
            )
            messages.success(request, _("Request %(id)s handed to the vans.") % {"id": request_id})
        else:
            message = request.POST.get("message", "").strip()[:300]
            if not message:
                messages.error(request, _("Write a message to the customer."))
            else:
                services.attention_cancel(store_id=store.pk, request_id=request_id, message=message)
                messages.success(request, _("Request %(id)s cancelled.") % {"id": request_id})
    except selectors.DeliveryRequest.DoesNotExist:
        raise Http404() from None
    except DomainError as error:
        messages.error(request, str(error.detail))
    return _back_to_dashboard(request, store, "attention")


@login_required(login_url=LOGIN_URL)
def requests_csv(request: HttpRequest, store_id: int) -> HttpResponse | StreamingHttpResponse:
    store = _store(request, store_id)
    period = _export_period(request, store)
    if isinstance(period, HttpResponse):
        return period
    rows = exports.request_rows(store=store, start=period["start"], end=period["end"])
    return exports.csv_response(rows, f"requests-{store.pk}-{period['start']}.csv")


@login_required(login_url=LOGIN_URL)
def kpis_csv(request: HttpRequest, store_id: int) -> HttpResponse | StreamingHttpResponse:
    store = _store(request, store_id)
    period = _export_period(request, store)
    if isinstance(period, HttpResponse):
        return period
    report = selectors.report_for(store=store, **period)
    return exports.csv_response(exports.kpi_rows(report), f"kpis-{store.pk}-{report.start}.csv")
