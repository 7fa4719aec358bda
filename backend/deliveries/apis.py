"""HTTP for a delivery request's handover, position and rating, and the store's review.

Posting, the request's own page, cancelling, choosing and failing involve offers and trips: their
views are matching's (``backend/matching/apis.py``).
"""

from typing import Any

from django.conf import settings
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.auth import user_of
from backend.core.errors import InvalidInput, InvalidState, NotAllowed
from backend.core.idempotency import idempotent
from backend.core.schema import raises
from backend.deliveries import selectors, services
from backend.deliveries.errors import (
    AlreadyRated,
    InvalidTransition,
    PhotoTooLarge,
    StepLocked,
    WrongCode,
)
from backend.deliveries.filters import RequestFilter
from backend.deliveries.models import RequestState
from backend.deliveries.photos import CONTENT_TYPE as PHOTO_CONTENT_TYPE
from backend.deliveries.serializers import (
    REQUEST_AFTER_DRIVE,
    REQUEST_AT_DESK,
    REQUEST_FOR_STORE,
    DeliverInputSerializer,
    DeliverPhotoInputSerializer,
    PickupInputSerializer,
    PositionSerializer,
    RatingInputSerializer,
    RatingSerializer,
    RequestDriverSerializer,
    RequestManagerSerializer,
    ReviewInputSerializer,
    request_shaped,
)
from backend.stores.selectors import managed_store


def _viewed(request: Request, request_id: int) -> Response:
    delivery, audience = selectors.request_for_participant(
        request_id=request_id, user=user_of(request)
    )
    return Response(request_shaped(delivery, audience))


class RequestRatingApi(APIView):
    @extend_schema(
        tags=["delivery requests"],
        request=RatingInputSerializer,
        responses={201: RatingSerializer},
        summary="Rate the other side of a delivered request (once)",
    )
    @raises(InvalidTransition, NotAllowed, AlreadyRated)
    @idempotent
    def post(self, request: Request, request_id: int) -> Response:
        selectors.request_for_participant(request_id=request_id, user=user_of(request))
        data = RatingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rating = services.rating_create(
            request_id=request_id,
            rater=user_of(request),
            **data.validated_data,
        )
        return Response(RatingSerializer(rating).data, status=status.HTTP_201_CREATED)


class DeskPickupApi(APIView):
    @extend_schema(
        tags=["store desk"],
        request=PickupInputSerializer,
        responses=REQUEST_AT_DESK,
        summary="Hand a parcel to its driver: confirm the pickup with the driver's pass "
        "(the store's staff and managers)",
    )
    @raises(WrongCode, NotAllowed, InvalidTransition, StepLocked)
    def post(self, request: Request, request_id: int) -> Response:
        selectors.request_at_staffed_store(request_id=request_id, user=user_of(request))
        data = PickupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_pickup_confirm(
            request_id=request_id,
            staff=user_of(request),
            pickup_code=data.validated_data["pickup_code"],
        )
        return _viewed(request, request_id)


def _refuse_oversized_body(request: Request) -> None:
    """413 from the declared Content-Length alone, before anything reads the body. (Django reads
    no more than the Content-Length of a body, so a body without one is read as empty.)"""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.PROOF_PHOTO_MAX_BYTES:
        raise PhotoTooLarge()


class RequestDeliverApi(APIView):
    @extend_schema(
        tags=["delivery steps"],
        request=DeliverInputSerializer,
        responses=REQUEST_AFTER_DRIVE,
        summary="Hand the parcel over with the customer's code",
        description="Without the code, deliver with a photo: "
        "POST /api/v1/delivery-requests/{request_id}/deliver/photo/.",
    )
    @raises(WrongCode, InvalidTransition, StepLocked)
    def post(self, request: Request, request_id: int) -> Response:
        selectors.request_of_driver(request_id=request_id, driver=user_of(request))
        data = DeliverInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_deliver(
            request_id=request_id,
            driver=user_of(request),
            delivery_code=data.validated_data["delivery_code"],
        )
        return _viewed(request, request_id)


class RequestDeliverPhotoApi(APIView):
    parser_classes = [MultiPartParser]
    # The body carries the proof photo (core.middleware bounds the body by it).
    upload_max_bytes_setting = "PROOF_PHOTO_MAX_BYTES"

    @extend_schema(
        tags=["delivery steps"],
        request={"multipart/form-data": DeliverPhotoInputSerializer},
        responses={
            200: REQUEST_AFTER_DRIVE,
            413: OpenApiResponse(
                description="The upload is larger than PROOF_PHOTO_MAX_BYTES (refused before "
                "its body is read)."
            ),
        },
        summary="Hand the parcel over without the customer's code: with a photo (the earning "
        "is held for the store's review)",
    )
    @raises(PhotoTooLarge, InvalidInput, InvalidTransition, StepLocked)
    def post(self, request: Request, request_id: int) -> Response:
        _refuse_oversized_body(request)  # before request.data is touched
        selectors.request_of_driver(request_id=request_id, driver=user_of(request))
        data = DeliverPhotoInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_deliver(
            request_id=request_id, driver=user_of(request), photo=data.validated_data["photo"]
        )
        return _viewed(request, request_id)


class RequestPositionApi(APIView):
    @extend_schema(
        tags=["delivery steps"],
        responses=PositionSerializer,
        summary="Where my driver is (customer, while the parcel is on its way)",
    )
    @raises(InvalidState)
    def get(self, request: Request, request_id: int) -> Response:
        delivery = selectors.request_of_customer(request_id=request_id, customer=user_of(request))
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
    @raises(InvalidTransition)
    def post(self, request: Request, request_id: int) -> Response:
        selectors.request_of_driver(request_id=request_id, driver=user_of(request))
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


class ManagerStoreRequestsApi(generics.ListAPIView):
    serializer_class = RequestManagerSerializer
    filterset_class = RequestFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.serializer_class.Meta.model.objects.none()
        store = managed_store(user=user_of(self.request), store_id=self.kwargs["store_id"])
        return selectors.requests_of_store(store_id=store.pk)

    @extend_schema(tags=["manager"], summary="A store's requests (managers of the store)")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class RequestProofPhotoApi(APIView):
    """The delivery photo, from private storage, for the store's managers and the customer."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # An image viewer asks for image/*: answer it (the errors are still JSON).
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        tags=["delivery steps"],
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY},
        summary="The delivery photo (the store's managers and the request's customer)",
    )
    def get(self, request: Request, request_id: int) -> FileResponse:
        delivery = selectors.request_proof_photo_for_viewer(
            request_id=request_id, user=user_of(request)
        )
        try:
            handle = delivery.proof_photo.open("rb")
        except FileNotFoundError as missing:
            raise Http404() from missing
        response = FileResponse(handle, content_type=PHOTO_CONTENT_TYPE)
        response["Content-Disposition"] = f'inline; filename="request-{delivery.pk}.jpg"'
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'"
        return response


class ManagerRequestReviewApi(APIView):
    @extend_schema(
        tags=["manager"],
        request=ReviewInputSerializer,
        responses=REQUEST_FOR_STORE,
        summary="Close the store's review of a request (locked codes; a photo proof: approve "
        "or reject, which releases or cancels the driver's earning)",
    )
    @raises(InvalidInput)
    def post(self, request: Request, request_id: int) -> Response:
        selectors.request_of_managed_store(request_id=request_id, user=user_of(request))
        data = ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_review_close(request_id=request_id, **data.validated_data)
        return _viewed(request, request_id)
