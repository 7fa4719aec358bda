from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts import selectors, services
from backend.accounts.auth import user_of
from backend.accounts.models import DriverProfile, User
from backend.accounts.serializers import (
    DriverDecisionInputSerializer,
    DriverProfileSerializer,
    IdentityDocumentInputSerializer,
    LogoutInputSerializer,
    MeSerializer,
    MeUpdateSerializer,
    RegisterInputSerializer,
    StoreDriverSerializer,
)
from backend.core.idempotency import idempotent
from backend.core.throttling import AnonThrottle
from backend.stores.selectors import managed_store


class RegisterApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonThrottle]

    @extend_schema(
        tags=["auth"],
        request=RegisterInputSerializer,
        responses={201: MeSerializer},
        summary="Create an account (e-mail and password)",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(MeSerializer(user).data, status=status.HTTP_201_CREATED)


class LogoutApi(APIView):
    @extend_schema(
        tags=["auth"],
        request=LogoutInputSerializer,
        responses={204: None},
        summary="Log out: revoke a refresh token",
    )
    def post(self, request: Request) -> Response:
        data = LogoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.token_blacklist(refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


def _me(request: Request) -> User:
    return (
        User.objects.select_related("driver_profile")
        .prefetch_related("store_memberships")
        .get(pk=user_of(request).pk)
    )


class MeApi(APIView):
    @extend_schema(tags=["me"], responses=MeSerializer, summary="My account")
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(_me(request)).data)

    @extend_schema(
        tags=["me"],
        request=MeUpdateSerializer,
        responses=MeSerializer,
        summary="Update my name, phone or language",
    )
    def patch(self, request: Request) -> Response:
        data = MeUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.user_update(user=_me(request), **data.validated_data)
        return Response(MeSerializer(_me(request)).data)


class DriverProfileApi(APIView):
    @extend_schema(tags=["me"], responses=DriverProfileSerializer, summary="My driver profile")
    def get(self, request: Request) -> Response:
        profile = _me(request).driver_profile
        return Response(DriverProfileSerializer(profile).data)

    @extend_schema(
        tags=["me"],
        request=DriverProfileSerializer,
        responses=DriverProfileSerializer,
        summary="Become a driver, or change my vehicle",
    )
    def put(self, request: Request) -> Response:
        data = DriverProfileSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = services.driver_profile_upsert(user=user_of(request), **data.validated_data)
        return Response(DriverProfileSerializer(profile).data)


class DriverIdentityApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=["me"],
        request={"multipart/form-data": IdentityDocumentInputSerializer},
        responses=DriverProfileSerializer,
        summary="Send my identity document for the driver check (reviewed before I may drive)",
    )
    def put(self, request: Request) -> Response:
        data = IdentityDocumentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = services.driver_identity_submit(
            user=user_of(request), document=data.validated_data["document"]
        )
        return Response(DriverProfileSerializer(profile).data)


class ManagerStoreDriversApi(APIView):
    @extend_schema(
        tags=["manager"],
        responses=StoreDriverSerializer(many=True),
        summary="The store's staff who drive, pending approval first",
    )
    def get(self, request: Request, store_id: int) -> Response:
        store = managed_store(user=user_of(request), store_id=store_id)
        return Response(
            StoreDriverSerializer(selectors.store_drivers(store_id=store.pk), many=True).data
        )


class ManagerStoreDriverDecisionApi(APIView):
    @extend_schema(
        tags=["manager"],
        request=DriverDecisionInputSerializer,
        responses=StoreDriverSerializer,
        summary="Approve, reject, suspend or reinstate one of the store's staff drivers",
        parameters=[
            OpenApiParameter(
                "decision", str, OpenApiParameter.PATH, enum=list(services.MANAGER_DECISIONS)
            )
        ],
    )
    def post(self, request: Request, store_id: int, user_id: int, decision: str) -> Response:
        store = managed_store(user=user_of(request), store_id=store_id)
        if decision not in services.MANAGER_DECISIONS:
            raise Http404()
        data = DriverDecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        drivers = {d.user.pk: d for d in selectors.store_drivers(store_id=store.pk)}
        if user_id not in drivers:
            raise DriverProfile.DoesNotExist()
        services.driver_decide(
            driver_id=user_id,
            kind=services.MANAGER_DECISIONS[decision],
            by=user_of(request),
            reason=data.validated_data["reason"],
            store_id=store.pk,
        )
        driver = next(d for d in selectors.store_drivers(store_id=store.pk) if d.user.pk == user_id)
        return Response(StoreDriverSerializer(driver).data)
