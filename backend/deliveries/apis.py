from django.shortcuts import get_object_or_404
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from backend.core.auth import user_of
from backend.core.errors import InvalidState
from backend.core.idempotency import idempotent
from backend.deliveries import selectors, services
from backend.deliveries.filters import RequestFilter
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.deliveries.selectors import Audience
from backend.deliveries.serializers import (
    CancelInputSerializer,
    ChooseInputSerializer,
    DeliverInputSerializer,
    PickupInputSerializer,
    PositionSerializer,
    RatingInputSerializer,
    RatingSerializer,
    RequestCreateSerializer,
    RequestCustomerSerializer,
    RequestDriverSerializer,
    RequestManagerSerializer,
    RequestOfferedSerializer,
    ReviewInputSerializer,
)

SERIALIZER_FOR: dict[str, type[BaseSerializer]] = {
    Audience.CUSTOMER: RequestCustomerSerializer,
    Audience.DRIVER: RequestDriverSerializer,
    Audience.OFFERED: RequestOfferedSerializer,
    Audience.STORE: RequestManagerSerializer,
}
ANY_REQUEST_VIEW = PolymorphicProxySerializer(
    component_name="DeliveryRequestForViewer",
    serializers=[
        RequestCustomerSerializer,
        RequestDriverSerializer,
        RequestOfferedSerializer,
        RequestManagerSerializer,
    ],
    resource_type_field_name=None,
)


def _viewed(request: Request, request_id: int) -> Response:
    delivery, audience = selectors.request_for_viewer(request_id=request_id, user=user_of(request))
    return Response(SERIALIZER_FOR[audience](delivery).data)


def _owned(request: Request, request_id: int) -> DeliveryRequest:
    return get_object_or_404(DeliveryRequest, pk=request_id, customer=user_of(request))


class RequestListCreateApi(generics.ListAPIView):
    serializer_class = RequestCustomerSerializer
    filterset_class = RequestFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        return selectors.requests_of_customer(customer=user_of(self.request))

    @extend_schema(tags=["delivery requests"], summary="My delivery requests, newest first")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["delivery requests"],
        request=RequestCreateSerializer,
        responses={201: RequestCustomerSerializer},
        summary="Post a delivery request for goods bought in a store",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = RequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        parcels = [services.ParcelInput(**parcel) for parcel in fields.pop("parcels")]
        delivery = services.request_create(
            customer=user_of(request),
            parcels=parcels,
            dropoff_point=fields.pop("dropoff"),
            **fields,
        )
        delivery = selectors.requests_with_relations().get(pk=delivery.pk)
        return Response(RequestCustomerSerializer(delivery).data, status=status.HTTP_201_CREATED)


class RequestDetailApi(APIView):
    @extend_schema(
        tags=["delivery requests"],
        responses=ANY_REQUEST_VIEW,
        summary="One request, shaped for who is asking",
    )
    def get(self, request: Request, request_id: int) -> Response:
        return _viewed(request, request_id)


class RequestCancelApi(APIView):
    @extend_schema(
        tags=["delivery requests"],
        request=CancelInputSerializer,
        responses=RequestCustomerSerializer,
        summary="Cancel my request",
    )
    def post(self, request: Request, request_id: int) -> Response:
        _owned(request, request_id)
        data = CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_cancel(
            request_id=request_id,
            by=DeliveryRequest.CancelledBy.CUSTOMER,
            reason=data.validated_data["reason"],
        )
        return _viewed(request, request_id)


class RequestChooseApi(APIView):
    @extend_schema(
        tags=["delivery requests"],
        request=ChooseInputSerializer,
        responses=RequestCustomerSerializer,
        summary="Choose my driver among those who responded (customer_choice)",
    )
    def post(self, request: Request, request_id: int) -> Response:
        from backend.matching.services import request_choose

        data = ChooseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        request_choose(
            request_id=request_id,
            customer=user_of(request),
            offer_id=data.validated_data["offer_id"],
        )
        return _viewed(request, request_id)


class RequestRatingApi(APIView):
    @extend_schema(
        tags=["delivery requests"],
        request=RatingInputSerializer,
        responses={201: RatingSerializer},
        summary="Rate the other side of a delivered request (once)",
    )
    @idempotent
    def post(self, request: Request, request_id: int) -> Response:
        selectors.request_for_viewer(request_id=request_id, user=user_of(request))
        data = RatingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rating = services.rating_create(
            request_id=request_id,
            rater=user_of(request),
            **data.validated_data,
        )
        return Response(RatingSerializer(rating).data, status=status.HTTP_201_CREATED)


def _assigned(request: Request, request_id: int) -> DeliveryRequest:
    return get_object_or_404(DeliveryRequest, pk=request_id, assigned_driver=user_of(request))


class RequestPickupApi(APIView):
    @extend_schema(
        tags=["delivery steps"],
        request=PickupInputSerializer,
        responses=RequestDriverSerializer,
        summary="Collect the parcel at the store with its pickup code",
    )
    def post(self, request: Request, request_id: int) -> Response:
        _assigned(request, request_id)
        data = PickupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_pickup(
            request_id=request_id,
            driver=user_of(request),
            pickup_code=data.validated_data["pickup_code"],
        )
        return _viewed(request, request_id)


class RequestDeliverApi(APIView):
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        tags=["delivery steps"],
        request={
            "application/json": DeliverInputSerializer,
            "multipart/form-data": DeliverInputSerializer,
        },
        responses=RequestOfferedSerializer,
        summary="Hand the parcel over with the customer's code, or with a photo",
    )
    def post(self, request: Request, request_id: int) -> Response:
        _assigned(request, request_id)
        data = DeliverInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_deliver(
            request_id=request_id,
            driver=user_of(request),
            **data.validated_data,
        )
        return _viewed(request, request_id)


class RequestFailApi(APIView):
    @extend_schema(
        tags=["delivery steps"],
        request=CancelInputSerializer,
        responses=RequestOfferedSerializer,
        summary="Report that the delivery cannot be made (the parcel returns to the store)",
    )
    def post(self, request: Request, request_id: int) -> Response:
        _assigned(request, request_id)
        data = CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_fail(
            request_id=request_id, driver=user_of(request), reason=data.validated_data["reason"]
        )
        return _viewed(request, request_id)


class RequestPositionApi(APIView):
    @extend_schema(
        tags=["delivery steps"],
        responses=PositionSerializer,
        summary="Where my driver is (customer, while the parcel is on its way)",
    )
    def get(self, request: Request, request_id: int) -> Response:
        delivery = _owned(request, request_id)
        if delivery.state != RequestState.PICKED_UP or delivery.driver_position is None:
            raise InvalidState("The driver's position is shown while the parcel is on its way.")
        return Response(
            PositionSerializer(
                {"position": delivery.driver_position, "recorded_at": delivery.driver_position_at}
            ).data
        )

    @extend_schema(
        tags=["delivery steps"],
        request=PositionSerializer,
        responses=PositionSerializer,
        summary="Share my position while delivering (assigned driver)",
    )
    def post(self, request: Request, request_id: int) -> Response:
        _assigned(request, request_id)
        data = PositionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        delivery = services.position_update(
            request_id=request_id,
            driver=user_of(request),
            point=data.validated_data["position"],
        )
        return Response(
            PositionSerializer(
                {"position": delivery.driver_position, "recorded_at": delivery.driver_position_at}
            ).data
        )


class DriverDeliveriesApi(generics.ListAPIView):
    serializer_class = RequestDriverSerializer
    filterset_class = RequestFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        return selectors.requests_of_driver(driver=user_of(self.request)).filter(
            state__in=[RequestState.ASSIGNED, RequestState.PICKED_UP]
        )

    @extend_schema(tags=["delivery steps"], summary="The deliveries I am to make")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


def _managed(request: Request, store_id: int) -> int:
    from backend.stores.selectors import managed_store_ids

    if store_id not in managed_store_ids(user=user_of(request)):
        raise DeliveryRequest.DoesNotExist()
    return store_id


def _managed_request(request: Request, request_id: int) -> DeliveryRequest:
    from backend.stores.selectors import managed_store_ids

    return get_object_or_404(
        DeliveryRequest, pk=request_id, store_id__in=managed_store_ids(user=user_of(request))
    )


class ManagerStoreRequestsApi(generics.ListAPIView):
    serializer_class = RequestManagerSerializer
    filterset_class = RequestFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        store_id = _managed(self.request, self.kwargs["store_id"])
        return selectors.requests_of_store(store_id=store_id)

    @extend_schema(tags=["manager"], summary="A store's requests (managers of the store)")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class ManagerRequestCancelApi(APIView):
    @extend_schema(
        tags=["manager"],
        request=CancelInputSerializer,
        responses=RequestManagerSerializer,
        summary="Cancel a request, with a message to the customer",
    )
    def post(self, request: Request, request_id: int) -> Response:
        _managed_request(request, request_id)
        data = CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_cancel(
            request_id=request_id,
            by=DeliveryRequest.CancelledBy.STORE,
            reason=data.validated_data["reason"],
        )
        return _viewed(request, request_id)


class ManagerRequestReviewApi(APIView):
    @extend_schema(
        tags=["manager"],
        request=ReviewInputSerializer,
        responses=RequestManagerSerializer,
        summary="Close the store's review of a request (locked codes, photo proof)",
    )
    def post(self, request: Request, request_id: int) -> Response:
        _managed_request(request, request_id)
        data = ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_review_close(request_id=request_id, **data.validated_data)
        return _viewed(request, request_id)
