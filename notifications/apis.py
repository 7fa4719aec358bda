"""Thin HTTP views: validate, call one service or selector, serialise."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException, NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import selectors, services
from notifications.models import Device, InboxItem
from notifications.serializers import (
    DeviceInputSerializer,
    DeviceOutputSerializer,
    InboxItemOutputSerializer,
    InboxListFilterSerializer,
    MarkedReadSerializer,
    PreferenceSerializer,
    UnreadCountSerializer,
)

TAGS = ["notifications"]


def _raises(*errors: type[Exception]) -> Any:
    """The errors a view method answers with beyond the generic ones: the API schema (the
    project's ``ApiAutoSchema``) reads ``raises`` and declares each with its status and code."""

    def mark(method: Any) -> Any:
        method.raises = (*getattr(method, "raises", ()), *errors)
        return method

    return mark


class DeviceTokenInUseError(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "device_token_in_use"
    default_detail = (
        "This push token is registered for another account. That account must log out on this "
        "phone first, or the app must get a new token from Firebase."
    )


def _user_id(request: Request) -> int:
    user_id = request.user.pk
    if user_id is None:  # IsAuthenticated (the default permission) lets no anonymous user here
        raise NotAuthenticated
    return int(user_id)


class DeviceListCreateApi(generics.ListCreateAPIView[Device]):
    """The caller's phones that receive pushes; registering a token again refreshes it."""

    serializer_class = DeviceOutputSerializer
    queryset = Device.objects.none()  # for the schema; get_queryset is what runs

    def get_queryset(self) -> QuerySet[Device]:
        return selectors.device_list(user_id=_user_id(self.request))

    @extend_schema(tags=TAGS, summary="List my registered devices")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAGS,
        summary="Register this device's FCM token (upsert on the token)",
        description=(
            "Creates the device (201) or refreshes it (200). A token another account holds is "
            "refused (409 `device_token_in_use`) until that account logs out on the phone "
            "(`POST /auth/logout/` with `device_token`, or `DELETE /devices/{token}/`) or the "
            "app gets a new token from Firebase; a token FCM reported gone may be registered "
            "by anyone. Registering more than NOTIFICATIONS_MAX_DEVICES_PER_USER devices "
            "forgets the least recently seen."
        ),
        request=DeviceInputSerializer,
        responses={
            200: DeviceOutputSerializer,
            201: DeviceOutputSerializer,
            409: OpenApiResponse(description="The token is registered for another account."),
        },
    )
    @_raises(DeviceTokenInUseError)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = DeviceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            device, created = services.device_register(
                user_id=_user_id(request), **data.validated_data
            )
        except services.DeviceTokenInUse as error:
            raise DeviceTokenInUseError() from error
        return Response(
            DeviceOutputSerializer(device).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class DeviceDetailApi(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Forget this device's token (logout)",
        parameters=[OpenApiParameter("token", str, OpenApiParameter.PATH)],
        request=None,
        responses={204: OpenApiResponse(description="Forgotten."), 404: None},
    )
    def delete(self, request: Request, token: str) -> Response:
        try:
            services.device_unregister(user_id=_user_id(request), token=token)
        except Device.DoesNotExist as error:
            raise Http404 from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class InboxListApi(generics.ListAPIView[InboxItem]):
    serializer_class = InboxItemOutputSerializer
    queryset = InboxItem.objects.none()  # for the schema; get_queryset is what runs

    def get_queryset(self) -> QuerySet[InboxItem]:
        filters = InboxListFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.inbox_list(
            user_id=_user_id(self.request), unread_only=filters.validated_data["unread"]
        )

    @extend_schema(
        tags=TAGS,
        summary="My notifications, newest first",
        parameters=[InboxListFilterSerializer],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class InboxDetailApi(generics.RetrieveAPIView[InboxItem]):
    serializer_class = InboxItemOutputSerializer
    queryset = InboxItem.objects.none()  # for the schema; get_queryset is what runs

    def get_queryset(self) -> QuerySet[InboxItem]:
        return selectors.inbox_list(user_id=_user_id(self.request))

    @extend_schema(tags=TAGS, summary="One of my notifications")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class InboxMarkReadApi(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Mark one of my notifications read",
        request=None,
        responses={200: InboxItemOutputSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        try:
            item = services.inbox_mark_read(user_id=_user_id(request), inbox_item_id=pk)
        except InboxItem.DoesNotExist as error:
            raise Http404 from error
        return Response(InboxItemOutputSerializer(item).data)


class InboxMarkAllReadApi(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Mark all my notifications read",
        request=None,
        responses={200: MarkedReadSerializer},
    )
    def post(self, request: Request) -> Response:
        marked = services.inbox_mark_all_read(user_id=_user_id(request))
        return Response(MarkedReadSerializer({"marked": marked}).data)


class InboxUnreadCountApi(APIView):
    @extend_schema(
        tags=TAGS,
        summary="How many of my notifications are unread",
        responses=UnreadCountSerializer,
    )
    def get(self, request: Request) -> Response:
        unread = selectors.inbox_unread_count(user_id=_user_id(request))
        return Response(UnreadCountSerializer({"unread": unread}).data)


class PreferenceApi(APIView):
    @extend_schema(tags=TAGS, summary="My notification preferences", responses=PreferenceSerializer)
    def get(self, request: Request) -> Response:
        preference = selectors.preference_get(user_id=_user_id(request))
        return Response(PreferenceSerializer(preference).data)

    @extend_schema(
        tags=TAGS,
        summary="Change my notification preferences",
        description=(
            "Muted events are neither listed nor pushed. During quiet hours (local times in "
            "time_zone; 22:00 to 07:00 spans midnight) new offers are listed but not pushed."
        ),
        request=PreferenceSerializer,
        responses=PreferenceSerializer,
    )
    def patch(self, request: Request) -> Response:
        data = PreferenceSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        quiet_hours: Any = False
        if "quiet_hours_start" in values:
            start, end = values["quiet_hours_start"], values["quiet_hours_end"]
            quiet_hours = (start, end) if start is not None else None
        preference = services.preference_update(
            user_id=_user_id(request),
            muted_events=values.get("muted_events"),
            quiet_hours=quiet_hours,
            time_zone=values.get("time_zone"),
        )
        return Response(PreferenceSerializer(preference).data)
