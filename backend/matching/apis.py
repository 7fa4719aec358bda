from django.db import IntegrityError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.auth import user_of
from backend.accounts.errors import DriverNotApproved
from backend.core import travel
from backend.core.errors import DomainError, InvalidInput
from backend.core.idempotency import idempotent
from backend.core.schema import raises
from backend.deliveries import selectors as request_selectors
from backend.deliveries.errors import InvalidTransition, RequestAlreadyAssigned, RequestNotOpen
from backend.deliveries.filters import RequestFilter
from backend.deliveries.models import DeliveryRequest
from backend.deliveries.serializers import (
    REQUEST_AFTER_DRIVE,
    REQUEST_FOR_STORE,
    REQUEST_FOR_VIEWER,
    CancelInputSerializer,
    ChooseInputSerializer,
    RequestCreateSerializer,
    RequestCustomerSerializer,
    request_shaped,
)
from backend.deliveries.services import ParcelInput, PostedRequest
from backend.matching import selectors, services
from backend.matching.errors import (
    DriverProfileRequired,
    DriverUnavailable,
    EarningsCapReached,
    NotResponded,
    OfferExpired,
    OfferNotPending,
    TooManyResponses,
    TripFull,
    TripHasParcels,
    TripNotActive,
    TripOverlaps,
    WrongAssignmentMode,
)
from backend.matching.filters import OfferFilter, TripFilter
from backend.matching.models import CommuteProfile, Trip, VanPlan
from backend.matching.serializers import (
    CommuteProfileSerializer,
    OfferSerializer,
    OpportunitySerializer,
    ResponderSerializer,
    TripCreateSerializer,
    TripSerializer,
    VanPlanSerializer,
)
from backend.stores.models import Store
from backend.stores.selectors import managed_store, staff_store_ids

# What can refuse a driver's response to an offer (``services.offer_respond``).
RESPONSE_REFUSALS = (
    OfferExpired,
    OfferNotPending,
    RequestAlreadyAssigned,
    RequestNotOpen,
    DriverNotApproved,
    TooManyResponses,
    EarningsCapReached,
    TripFull,
    TripNotActive,
    DriverUnavailable,
)
# What can refuse an assignment (``services._assign``).
ASSIGNMENT_REFUSALS = (TripFull, TripNotActive, DriverUnavailable, EarningsCapReached)


def _viewed(request: Request, request_id: int) -> Response:
    delivery, audience = selectors.request_for_viewer(request_id=request_id, user=user_of(request))
    return Response(request_shaped(delivery, audience))


# --- delivery requests: posting and the moves that involve offers and trips ----------------------


class RequestListCreateApi(generics.ListAPIView):
    serializer_class = RequestCustomerSerializer
    filterset_class = RequestFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        return request_selectors.requests_of_customer(customer=user_of(self.request))

    @extend_schema(tags=["delivery requests"], summary="My delivery requests, newest first")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["delivery requests"],
        request=RequestCreateSerializer,
        responses={201: RequestCustomerSerializer},
        summary="Post a delivery request for goods bought in a store",
    )
    @raises(InvalidInput)
    @idempotent
    def post(self, request: Request) -> Response:
        data = RequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        posted = PostedRequest(
            parcels=tuple(ParcelInput(**parcel) for parcel in fields.pop("parcels")),
            dropoff_point=fields.pop("dropoff"),
            **fields,
        )
        delivery = services.request_post(customer=user_of(request), posted=posted)
        delivery = request_selectors.requests_with_relations().get(pk=delivery.pk)
        return Response(RequestCustomerSerializer(delivery).data, status=status.HTTP_201_CREATED)


class RequestDetailApi(APIView):
    @extend_schema(
        tags=["delivery requests"],
        responses=REQUEST_FOR_VIEWER,
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
    @raises(InvalidTransition)
    def post(self, request: Request, request_id: int) -> Response:
        request_selectors.request_of_customer(request_id=request_id, customer=user_of(request))
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
    @raises(WrongAssignmentMode, RequestNotOpen, NotResponded, *ASSIGNMENT_REFUSALS)
    def post(self, request: Request, request_id: int) -> Response:
        data = ChooseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_choose(
            request_id=request_id,
            customer=user_of(request),
            offer_id=data.validated_data["offer_id"],
        )
        return _viewed(request, request_id)


class RequestFailApi(APIView):
    @extend_schema(
        tags=["delivery steps"],
        request=CancelInputSerializer,
        responses=REQUEST_AFTER_DRIVE,
        summary="Report that the delivery cannot be made (the parcel returns to the store)",
    )
    @raises(InvalidTransition)
    def post(self, request: Request, request_id: int) -> Response:
        request_selectors.request_of_driver(request_id=request_id, driver=user_of(request))
        data = CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_fail(
            request_id=request_id, driver=user_of(request), reason=data.validated_data["reason"]
        )
        return _viewed(request, request_id)


class ManagerRequestCancelApi(APIView):
    @extend_schema(
        tags=["manager"],
        request=CancelInputSerializer,
        responses=REQUEST_FOR_STORE,
        summary="Cancel a request, with a message to the customer",
    )
    @raises(InvalidTransition)
    def post(self, request: Request, request_id: int) -> Response:
        request_selectors.request_of_managed_store(request_id=request_id, user=user_of(request))
        data = CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_cancel(
            request_id=request_id,
            by=DeliveryRequest.CancelledBy.STORE,
            reason=data.validated_data["reason"],
        )
        return _viewed(request, request_id)


# --- trips and offers ---------------------------------------------------------------------------


class TripListCreateApi(generics.ListAPIView):
    serializer_class = TripSerializer
    filterset_class = TripFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        return selectors.trips_for_driver(driver_id=user_of(self.request).pk)

    @extend_schema(tags=["trips"], summary="My trips")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["trips"],
        request=TripCreateSerializer,
        responses={201: TripSerializer},
        summary="Declare a drive home from a store",
    )
    @raises(InvalidInput, DriverProfileRequired, TripOverlaps)
    @idempotent
    def post(self, request: Request) -> Response:
        data = TripCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        trip = services.trip_create(
            driver=user_of(request),
            max_detour_s=fields.pop("max_detour_min") * 60,
            **fields,
        )
        return Response(TripSerializer(trip).data, status=status.HTTP_201_CREATED)


def _my_trip(request: Request, trip_id: int) -> Trip:
    return get_object_or_404(
        Trip.objects.select_related("store"), pk=trip_id, driver=user_of(request)
    )


class TripDetailApi(APIView):
    @extend_schema(tags=["trips"], responses=TripSerializer, summary="One of my trips")
    def get(self, request: Request, trip_id: int) -> Response:
        return Response(TripSerializer(_my_trip(request, trip_id)).data)


class TripCancelApi(APIView):
    @extend_schema(
        tags=["trips"],
        request=None,
        responses=TripSerializer,
        summary="Cancel a trip that carries nothing",
    )
    @raises(TripNotActive, TripHasParcels)
    def post(self, request: Request, trip_id: int) -> Response:
        _my_trip(request, trip_id)
        trip = services.trip_cancel(trip_id=trip_id, driver=user_of(request))
        return Response(TripSerializer(trip).data)


class TripOpportunitiesApi(generics.ListAPIView):
    """Open requests that fit this trip, smallest detour first (the "on my way" feed)."""

    serializer_class = OpportunitySerializer
    pagination_class = None

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        trip = _my_trip(self.request, self.kwargs["trip_id"])
        return selectors.trip_feed_for_driver(trip=trip, limit=50)

    @extend_schema(tags=["trips"], summary="Requests on my way, smallest detour first (max 50)")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class TripOpportunityRespondApi(APIView):
    @extend_schema(
        tags=["trips"],
        request=None,
        responses={201: OfferSerializer},
        summary="Take a request from my feed",
    )
    @raises(*RESPONSE_REFUSALS)
    @idempotent
    def post(self, request: Request, trip_id: int, request_id: int) -> Response:
        _my_trip(request, trip_id)
        offer = services.opportunity_respond(
            trip_id=trip_id, request_id=request_id, driver=user_of(request)
        )
        offer = selectors.offers_for_driver(driver_id=user_of(request).pk).get(pk=offer.pk)
        return Response(OfferSerializer(offer).data, status=status.HTTP_201_CREATED)


class OfferListApi(generics.ListAPIView):
    serializer_class = OfferSerializer
    filterset_class = OfferFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        return selectors.offers_for_driver(driver_id=user_of(self.request).pk)

    @extend_schema(tags=["offers"], summary="My offers, newest first")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class OfferDetailApi(APIView):
    @extend_schema(tags=["offers"], responses=OfferSerializer, summary="One of my offers")
    def get(self, request: Request, offer_id: int) -> Response:
        offer = get_object_or_404(
            selectors.offers_for_driver(driver_id=user_of(request).pk), pk=offer_id
        )
        return Response(OfferSerializer(offer).data)


class OfferRespondApi(APIView):
    @extend_schema(
        tags=["offers"], request=None, responses=OfferSerializer, summary="Say yes to an offer"
    )
    @raises(*RESPONSE_REFUSALS)
    def post(self, request: Request, offer_id: int) -> Response:
        services.offer_respond(offer_id=offer_id, driver=user_of(request))
        offer = selectors.offers_for_driver(driver_id=user_of(request).pk).get(pk=offer_id)
        return Response(OfferSerializer(offer).data)


class OfferDeclineApi(APIView):
    @extend_schema(
        tags=["offers"], request=None, responses=OfferSerializer, summary="Say no to an offer"
    )
    @raises(OfferNotPending)
    def post(self, request: Request, offer_id: int) -> Response:
        services.offer_decline(offer_id=offer_id, driver=user_of(request))
        offer = selectors.offers_for_driver(driver_id=user_of(request).pk).get(pk=offer_id)
        return Response(OfferSerializer(offer).data)


class RequestRespondersApi(generics.ListAPIView):
    serializer_class = ResponderSerializer
    pagination_class = None

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        request_selectors.request_of_customer(
            request_id=self.kwargs["request_id"], customer=user_of(self.request)
        )
        return selectors.responders_for_request(request_id=self.kwargs["request_id"])

    @extend_schema(
        tags=["delivery requests"], summary="Drivers who responded to my request, to choose from"
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class CommuteProfileTaken(DomainError):
    code = "commute_profile_exists"
    default_detail = "You already have a commute profile for this store."


class CommuteProfileListCreateApi(generics.ListCreateAPIView):
    serializer_class = CommuteProfileSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        return CommuteProfile.objects.filter(driver=user_of(self.request))

    def perform_create(self, serializer: CommuteProfileSerializer) -> None:  # type: ignore[override]
        store = serializer.validated_data["store"]
        _check_works_at(self.request, store)
        travel.require_routable(
            store=store.location, point=serializer.validated_data["home"], field="home"
        )
        try:
            serializer.save(driver=user_of(self.request))
        except IntegrityError as exc:
            raise CommuteProfileTaken() from exc

    @extend_schema(tags=["trips"], summary="Store staff: create my commute profile")
    @raises(InvalidInput, CommuteProfileTaken)
    @idempotent
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().post(request, *args, **kwargs)

    @extend_schema(tags=["trips"], summary="My commute profiles")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


def _check_works_at(request: Request, store: Store) -> None:
    """Commute profiles are for a store's own staff."""
    if store.pk not in staff_store_ids(user=user_of(request)):
        raise InvalidInput("store", "Commute profiles are for the store's own staff.")


@extend_schema(tags=["trips"])
class CommuteProfileDetailApi(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = CommuteProfileSerializer
    http_method_names = ["get", "patch", "delete"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        return CommuteProfile.objects.filter(driver=user_of(self.request))

    @raises(InvalidInput, CommuteProfileTaken)
    def patch(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().patch(request, *args, **kwargs)

    def perform_update(self, serializer: CommuteProfileSerializer) -> None:  # type: ignore[override]
        if "store" in serializer.validated_data:
            _check_works_at(self.request, serializer.validated_data["store"])
        try:
            serializer.save()
        except IntegrityError as exc:
            raise CommuteProfileTaken() from exc


class ManagerVanPlanApi(APIView):
    @extend_schema(
        tags=["manager"],
        responses=VanPlanSerializer,
        summary="The store's latest van plan (what the crowd has not taken)",
    )
    def get(self, request: Request, store_id: int) -> Response:
        store = managed_store(user=user_of(request), store_id=store_id)
        plan = get_object_or_404(
            VanPlan.objects.prefetch_related("stops__van", "stops__request"), store_id=store.pk
        )
        return Response(VanPlanSerializer(plan).data)
