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


def error_code(kind: type[Exception]) -> str:
    """The stable code an error of this class is answered with (the handler below and the API
    schema, which lists each operation's codes, both read it here)."""
    if issubclass(kind, DomainError):
        return kind.code
    for drf_kind, code in _DRF_CODES.items():
        if issubclass(kind, drf_kind):
            return code
    return str(getattr(kind, "default_code", "error"))


def error_status(kind: type[Exception]) -> int:
    return int(getattr(kind, "status_code", status.HTTP_400_BAD_REQUEST))


def _fields(detail: Any) -> dict[str, list[str]]:
    """A validation error's messages by field, one flat level: a nested input's fields are named
    by their path (``dropoff.lat``, ``parcels[0].weight_kg``), so ``fields`` is always a map of
    names to lists of messages."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            _collect(fields, str(key), value)
    elif isinstance(detail, list):
        _collect(fields, "non_field_errors", detail)
    elif detail:
        _collect(fields, "non_field_errors", [detail])
    return fields


def _collect(fields: dict[str, list[str]], name: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            # A list field's errors are keyed by the item's index (ListField) or listed in order
            # (a nested serializer with many=True, below): both read ``name[index]``.
            sub = (
                f"{name}[{key}]" if isinstance(key, int) or str(key).isdigit() else f"{name}.{key}"
            )
            _collect(fields, sub, inner)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            if isinstance(inner, dict | list):
                _collect(fields, f"{name}[{index}]", inner)
            else:
                fields.setdefault(name, []).append(str(inner))
    else:
        fields.setdefault(name, []).append(str(value))


def _message(detail: Any) -> str:
    """The human text of a non-validation error. simplejwt's errors carry a dict (``detail``,
    ``code``, sometimes ``messages``): its ``detail`` is the message, never the dict's repr."""
    if isinstance(detail, dict):
        return _message(detail.get("detail", next(iter(detail.values()), "")))
    if isinstance(detail, list):
        return " ".join(_message(item) for item in detail)
    return str(detail)


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
    code = error_code(type(exc))
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields(exc.detail)
        first = next(iter(fields), None)
        detail = f"Invalid input: {first}." if first else "Invalid input."
    else:
        fields = {}
        detail = _message(exc.detail)
    response.data = {"code": code, "detail": detail, "fields": fields}
    return response
