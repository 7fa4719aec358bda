from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts import services
from backend.accounts.auth import user_of
from backend.accounts.models import User
from backend.accounts.serializers import (
    DriverProfileSerializer,
    LogoutInputSerializer,
    MeSerializer,
    MeUpdateSerializer,
    RegisterInputSerializer,
)
from backend.core.idempotency import idempotent
from backend.core.throttling import AnonThrottle


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
