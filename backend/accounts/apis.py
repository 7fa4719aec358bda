from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView

from backend.accounts import services
from backend.accounts.auth import user_of
from backend.accounts.lockout import LoginLockedOut
from backend.accounts.models import User
from backend.accounts.serializers import (
    DriverProfileSerializer,
    LogoutInputSerializer,
    MeSerializer,
    MeUpdateSerializer,
    RegisterInputSerializer,
)
from backend.core.idempotency import idempotent
from backend.core.notifying import forget_device
from backend.core.throttling import AuthThrottle


class RegisterApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthThrottle]

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


class TokenObtainApi(TokenObtainPairView):
    """simplejwt's login, rate limited per client address (failing closed without Redis) and
    answering a locked-out account or address with 429 ``locked_out`` (see accounts.lockout)."""

    throttle_classes = [AuthThrottle]

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            # django-axes marks the request it was given, which is DRF's request here.
            if getattr(request, "axes_locked_out", False):
                raise LoginLockedOut() from None
            raise


class LogoutApi(APIView):
    @extend_schema(
        tags=["auth"],
        request=LogoutInputSerializer,
        responses={204: None},
        summary="Log out: revoke a refresh token, and forget this phone's push token",
    )
    def post(self, request: Request) -> Response:
        data = LogoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.token_blacklist(refresh=data.validated_data["refresh"])
        if data.validated_data.get("device_token"):
            forget_device(user_id=user_of(request).pk, token=data.validated_data["device_token"])
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
