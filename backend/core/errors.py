"""Domain errors and the one exception handler that turns every error into the same shape:

{"code": "<stable code the app can switch on>", "detail": "<for people>", "fields": {...}}
"""

from typing import Any

from django.core.exceptions import (
    ObjectDoesNotExist,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """A rule of the product refused the action. Subclasses set ``code`` and ``status_code``."""

    code: str = "conflict"
    status_code: int = status.HTTP_409_CONFLICT
    default_detail = "The action conflicts with the current state."

    def __init__(self, detail: str | None = None, **context: Any) -> None:
        self.detail = detail or self.default_detail
        self.context = context
        super().__init__(self.detail)


class NotAllowed(DomainError):
    code = "not_allowed"
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "You are not allowed to do this."


class InvalidInput(DomainError):
    """Input that passed the serializer's shape checks but breaks a rule (field named)."""

    code = "invalid"
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Invalid input."

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)
        self.fields = {field: [message]}


class InvalidState(DomainError):
    code = "invalid_state"
    default_detail = "The request is not in a state that allows this."


_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "invalid",
}


def _fields(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return {"non_field_errors": _flatten(detail)}
    return {}


def _flatten(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _flatten(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_flatten(inner) for inner in value]
    return str(value)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body = {"code": exc.code, "detail": exc.detail, "fields": getattr(exc, "fields", {})}
        retry_after_s = getattr(exc, "retry_after_s", None)
        headers = {"Retry-After": str(retry_after_s)} if retry_after_s else None
        return Response(body, status=exc.status_code, headers=headers)
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        # Django's own limits, met while a multipart body is parsed (the body-size middleware
        # refuses most such bodies before they are read).
        body = {"code": "request_too_large", "detail": str(exc), "fields": {}}
        return Response(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code = next(
        (code for kind, code in _DRF_CODES.items() if isinstance(exc, kind)),
        str(getattr(exc, "default_code", "error")),
    )
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields(exc.detail)
        first = next(iter(fields), None)
        detail = f"Invalid input: {first}." if first else "Invalid input."
    else:
        fields = {}
        detail = str(exc.detail)
    response.data = {"code": code, "detail": detail, "fields": fields}
    return response
