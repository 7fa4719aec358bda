"""The manager analytics API: KPIs, requests that need attention and actions on them, CSV
exports. Managers of the store only; anyone else gets a 404."""

from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.auth import user_of
from backend.analytics import exports, selectors, services
from backend.analytics.errors import FeeAtMaximum, NoActiveVan, RequestNotOpen
from backend.analytics.models import VanHandover
from backend.analytics.serializers import (
    AttentionActionResultSerializer,
    AttentionCancelInputSerializer,
    AttentionListSerializer,
    KpiQuerySerializer,
    KpiReportSerializer,
)
from backend.core.schema import raises
from backend.deliveries.models import DeliveryRequest
from backend.stores.models import Store
from backend.stores.selectors import managed_store


def _store(request: Request, store_id: int) -> Store:
    return managed_store(user=user_of(request), store_id=store_id)


def _period(request: Request, store: Store) -> dict[str, Any]:
    query = KpiQuerySerializer(
        data=request.query_params, context={"today": selectors.local_today(store=store)}
    )
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


def report_body(report: selectors.KpiReport, store: Store) -> dict[str, Any]:
    """The KPI report in the shape of KpiReportSerializer, built from the dataclasses directly:
    a year per day is 365 rows of 34 fields, which DRF's field-by-field serialisation would
    take longer to write than the query takes to run (a test checks both agree)."""
    names = selectors.kpi_fields()

    def row(values: Any) -> dict[str, Any]:
        return {name: getattr(values, name) for name in names}

    return {
        "store_id": store.pk,
        "timezone": store.timezone,
        "start": report.start,
        "end": report.end,
        "granularity": report.granularity,
        "reference_response_rate": settings.ANALYTICS_REFERENCE_RESPONSE_RATE,
        "reference_responses_per_posting": settings.ANALYTICS_REFERENCE_RESPONSES_PER_POSTING,
        "totals": row(report.totals),
        "series": [
            {**row(period), "period_start": period.period_start, "period_end": period.period_end}
            for period in report.series
        ],
        "first_response_histogram": [asdict(bucket) for bucket in report.first_response_histogram],
        "top_responders": [asdict(responder) for responder in report.top_responders],
    }


def attention_body(store: Store) -> dict[str, Any]:
    now = timezone.now()
    items = list(selectors.attention_requests(store_id=store.pk, now=now)[:200])
    for item in items:
        item.age_s = int((now - item.created_at).total_seconds())  # type: ignore[attr-defined]
    return {
        "after_s": settings.ANALYTICS_ATTENTION_AFTER_S,
        "count": len(items),
        "results": items,
    }


def _action_result(store_id: int, request_id: int) -> Response:
    handed = VanHandover.objects.filter(request=OuterRef("pk"))
    row = (
        DeliveryRequest.objects.filter(pk=request_id, store_id=store_id)
        .annotate(handed_to_vans=Exists(handed))
        .values("id", "state", "fee_eur", "handed_to_vans")
        .get()
    )
    return Response(AttentionActionResultSerializer(row).data)


class ManagerStoreKpisApi(APIView):
    @extend_schema(
        tags=["manager"],
        parameters=[KpiQuerySerializer],
        responses=KpiReportSerializer,
        summary="A store's KPIs per day, week or month, with totals (store-local dates)",
        description=selectors.__doc__,
    )
    def get(self, request: Request, store_id: int) -> Response:
        store = _store(request, store_id)
        report = selectors.report_for(store=store, **_period(request, store))
        return Response(report_body(report, store))


class ManagerStoreAttentionApi(APIView):
    @extend_schema(
        tags=["manager"],
        responses=AttentionListSerializer,
        summary="Open requests with no response after ANALYTICS_ATTENTION_AFTER_S, oldest first",
    )
    def get(self, request: Request, store_id: int) -> Response:
        store = _store(request, store_id)
        return Response(AttentionListSerializer(attention_body(store)).data)


class ManagerAttentionRaiseFeeApi(APIView):
    @extend_schema(
        tags=["manager"],
        request=None,
        responses=AttentionActionResultSerializer,
        summary="Raise an unanswered request's fee by one step, within the store's maximum",
    )
    @raises(RequestNotOpen, FeeAtMaximum)
    def post(self, request: Request, store_id: int, request_id: int) -> Response:
        _store(request, store_id)
        services.attention_fee_raise(store_id=store_id, request_id=request_id)
        return _action_result(store_id, request_id)


class ManagerAttentionHandToVansApi(APIView):
    @extend_schema(
        tags=["manager"],
        request=None,
        responses=AttentionActionResultSerializer,
        summary="Hand an unanswered request to the store's vans",
    )
    @raises(RequestNotOpen, NoActiveVan)
    def post(self, request: Request, store_id: int, request_id: int) -> Response:
        _store(request, store_id)
        services.attention_hand_to_vans(
            store_id=store_id, request_id=request_id, by=user_of(request)
        )
        return _action_result(store_id, request_id)


class ManagerAttentionCancelApi(APIView):
    @extend_schema(
        tags=["manager"],
        request=AttentionCancelInputSerializer,
        responses=AttentionActionResultSerializer,
        summary="Cancel an unanswered request with a message to the customer",
    )
    @raises(RequestNotOpen)
    def post(self, request: Request, store_id: int, request_id: int) -> Response:
        _store(request, store_id)
        data = AttentionCancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.attention_cancel(
            store_id=store_id, request_id=request_id, message=data.validated_data["message"]
        )
        return _action_result(store_id, request_id)


_CSV = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, UTF-8")}


class ManagerStoreRequestsCsvApi(APIView):
    @extend_schema(
        tags=["manager"],
        parameters=[KpiQuerySerializer],
        responses=_CSV,
        operation_id="manager_store_requests_csv",
        summary="CSV of the store's requests posted in the period (store-local times)",
    )
    def get(self, request: Request, store_id: int) -> StreamingHttpResponse:
        store = _store(request, store_id)
        period = _period(request, store)
        rows = exports.request_rows(store=store, start=period["start"], end=period["end"])
        return exports.csv_response(rows, f"requests-{store.pk}-{period['start']}.csv")


class ManagerStoreKpisCsvApi(APIView):
    @extend_schema(
        tags=["manager"],
        parameters=[KpiQuerySerializer],
        responses=_CSV,
        operation_id="manager_store_kpis_csv",
        summary="CSV of the store's KPIs per period, the last line being the totals",
    )
    def get(self, request: Request, store_id: int) -> StreamingHttpResponse:
        store = _store(request, store_id)
        report = selectors.report_for(store=store, **_period(request, store))
        return exports.csv_response(exports.kpi_rows(report), f"kpis-{store.pk}-{report.start}.csv")
