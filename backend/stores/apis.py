from django.contrib.gis.geos import Point
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.errors import InvalidInput
from backend.core.schema import raises
from backend.stores import selectors, services
from backend.stores.models import Store
from backend.stores.serializers import (
    StoreNearbyQuerySerializer,
    StorePolicySerializer,
    StoreSerializer,
)


@extend_schema(
    tags=["stores"],
    summary="Stores; with lat and lng, nearest first",
    parameters=[
        OpenApiParameter("lat", float, description="Latitude, degrees (with lng)."),
        OpenApiParameter("lng", float, description="Longitude, degrees (with lat)."),
    ],
)
class StoreListApi(generics.ListAPIView):
    serializer_class = StoreSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        query = StoreNearbyQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        near = None
        if "lat" in query.validated_data:
            near = Point(query.validated_data["lng"], query.validated_data["lat"], srid=4326)
        return selectors.stores_list(near=near)

    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        if "lat" not in request.query_params:
            return super().list(request, *args, **kwargs)
        # Nearest first is an order by distance, which a creation-time cursor cannot follow:
        # the nearest page is returned, in the same envelope as every list.
        raw = request.query_params.get("page_size", "")
        size = min(int(raw), 100) if raw.isdigit() and int(raw) > 0 else 20
        stores = self.get_queryset()[:size]
        return Response(
            {"next": None, "previous": None, "results": self.get_serializer(stores, many=True).data}
        )


@extend_schema(tags=["stores"], summary="One store")
class StoreDetailApi(generics.RetrieveAPIView):
    serializer_class = StoreSerializer
    queryset = Store.objects.all()


class ManagerStorePolicyApi(APIView):
    def _store(self, request: Request, store_id: int) -> Store:
        return selectors.managed_store(user=request.user, store_id=store_id)

    @extend_schema(
        tags=["manager"],
        responses=StorePolicySerializer,
        summary="A store's policy (managers of the store)",
    )
    def get(self, request: Request, store_id: int) -> Response:
        return Response(StorePolicySerializer(self._store(request, store_id)).data)

    @extend_schema(
        tags=["manager"],
        request=StorePolicySerializer,
        responses=StorePolicySerializer,
        summary="Change a store's policy",
    )
    @raises(InvalidInput)
    def patch(self, request: Request, store_id: int) -> Response:
        store = self._store(request, store_id)
        data = StorePolicySerializer(store, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        store = services.store_policy_update(store_id=store.pk, **data.validated_data)
        return Response(StorePolicySerializer(store).data)
