from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from backend.accounts import selectors, services
from backend.accounts.auth import user_of
from backend.accounts.errors import DriverDecisionInvalid
from backend.accounts.lockout import LoginLockedOut
from backend.accounts.models import DriverProfile, User
from backend.accounts.serializers import (
    DriverDecisionInputSerializer,
    DriverProfileSerializer,
    IdentityDocumentInputSerializer,
    LogoutInputSerializer,
    MeSerializer,
    MeUpdateSerializer,
    PasswordChangeInputSerializer,
    PasswordResetAcceptedSerializer,
    PasswordResetConfirmInputSerializer,
    PasswordResetInputSerializer,
    RegisterAcceptedSerializer,
    RegisterInputSerializer,
    StoreDriverSerializer,
    TokenPairSerializer,
)
from backend.core.errors import InvalidInput
from backend.core.idempotency import idempotent
from backend.core.notifying import forget_device
from backend.core.schema import raises
from backend.core.throttling import AnonThrottle, AuthThrottle
from backend.stores.selectors import managed_store

REGISTER_ACCEPTED = (
    "Check your mailbox. If this address is new, the account is ready: log in with it and your "
    "password."
)
RESET_ACCEPTED = "If an account uses this address, a mail with a reset link is on its way."


class RegisterApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthThrottle]

    @extend_schema(
        tags=["auth"],
        request=RegisterInputSerializer,
        responses={202: RegisterAcceptedSerializer},
        summary="Create an account (e-mail and password)",
        description=(
            "Answers 202 with the same body whether the address is new (the account is created "
            "and a welcome mail sent) or already has an account (nothing changes; its owner is "
            "mailed that they already have one): registering does not tell who has an account. "
            "A password that breaks the rules is refused (400) in both cases. Then log in with "
            "POST /api/v1/auth/token/."
        ),
    )
    @raises(InvalidInput)
    @idempotent
    def post(self, request: Request) -> Response:
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_register(**data.validated_data)
        return Response({"detail": REGISTER_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class PasswordChangeApi(APIView):
    @extend_schema(
        tags=["auth"],
        request=PasswordChangeInputSerializer,
        responses={200: TokenPairSerializer},
        summary="Change my password (every session ends; this one gets a new token pair)",
        description=(
            "Needs the current password. Every refresh token of the account is revoked (other "
            "devices must log in again); the answer is a new token pair for the caller. A mail "
            "tells the account's owner."
        ),
    )
    @raises(InvalidInput)
    def post(self, request: Request) -> Response:
        data = PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = services.password_change(user=user_of(request), **data.validated_data)
        return Response(tokens)


class PasswordResetApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthThrottle]

    @extend_schema(
        tags=["auth"],
        request=PasswordResetInputSerializer,
        responses={202: PasswordResetAcceptedSerializer},
        summary="Forgot my password: mail me a reset link",
        description=(
            "Answers 202 with the same body whether or not the address has an account; if it "
            "has, a mail with a one-time link (uid and token) goes to it. Rate-limited like "
            "registration."
        ),
    )
    def post(self, request: Request) -> Response:
        data = PasswordResetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(email=data.validated_data["email"])
        return Response({"detail": RESET_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonThrottle]

    @extend_schema(
        tags=["auth"],
        request=PasswordResetConfirmInputSerializer,
        responses={204: None},
        summary="Set a new password with the uid and token of the reset mail",
        description=(
            "Every refresh token of the account is revoked; log in anew with the new password. "
            "The token works once and for PASSWORD_RESET_TIMEOUT seconds; an invalid or used "
            "one is refused (400, field token)."
        ),
    )
    @raises(InvalidInput)
    def post(self, request: Request) -> Response:
        data = PasswordResetConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenObtainApi(TokenObtainPairView):
    """simplejwt's login, rate limited per client address (failing closed without Redis) and
    answering a locked-out account or address with 429 ``locked_out`` (see accounts.lockout)."""

    throttle_classes = [AuthThrottle]

    @extend_schema(
        tags=["auth"],
        summary="Log in: a token pair for an e-mail and password",
        description=(
            "The access token goes in `Authorization: Bearer …` (valid JWT_ACCESS_MINUTES); the "
            "refresh token gets a new pair from POST /api/v1/auth/token/refresh/. Wrong "
            "credentials: 401 `authentication_failed`; after too many failures the account or "
            "address is locked out for a while: 429 `locked_out`."
        ),
    )
    @raises(AuthenticationFailed, LoginLockedOut)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            # django-axes marks the request it was given, which is DRF's request here.
            if getattr(request, "axes_locked_out", False):
                raise LoginLockedOut() from None
            raise


class TokenRefreshApi(TokenRefreshView):
    @extend_schema(
        tags=["auth"],
        summary="A new token pair for a refresh token (the old refresh token is revoked)",
        description="An expired, revoked or already used refresh token: 401 "
        "`authentication_failed`; log in again.",
    )
    @raises(InvalidToken)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class LogoutApi(APIView):
    @extend_schema(
        tags=["auth"],
        request=LogoutInputSerializer,
        responses={204: None},
        summary="Log out: revoke a refresh token, and forget this phone's push token",
    )
    @raises(InvalidInput)
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
    @raises(NotFound)
    def get(self, request: Request) -> Response:
        profile = _me(request).driver_profile
        return Response(DriverProfileSerializer(profile).data)

    @extend_schema(
        tags=["me"],
        request=DriverProfileSerializer,
        responses=DriverProfileSerializer,
        summary="Become a driver, or change my vehicle",
    )
    @raises(InvalidInput)
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
    @raises(NotFound)
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
        operation_id="manager_stores_drivers_decide",
        summary="Approve, reject, suspend or reinstate one of the store's staff drivers",
        parameters=[
            OpenApiParameter(
                "decision", str, OpenApiParameter.PATH, enum=list(services.MANAGER_DECISIONS)
            )
        ],
    )
    @raises(DriverDecisionInvalid)
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
