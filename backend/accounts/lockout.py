"""Login lockout with django-axes: every login (the API's token endpoint, /admin/, /manager/)
counts failures per account and per client address, and refuses a locked-out one before the
password is checked, for ``LOGIN_LOCKOUT_MINUTES`` after the last failure.

The failures are rows in PostgreSQL (axes' database handler), so a lockout holds when Redis is
down. The client address is ``backend.core.client_ip`` (trusted proxies only), the same as the
rate limits'. A locked-out caller of the API gets 429 ``locked_out`` in the error shape; a
locked-out person on a login page gets a short page with the same status.

Ops lift a lockout early with ``manage.py axes_reset_username EMAIL`` or
``manage.py axes_reset_ip ADDRESS``.
"""

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from rest_framework import status

from backend.core.errors import DomainError

LOCKED_OUT_CODE = "locked_out"


class LoginLockedOut(DomainError):
    code = LOCKED_OUT_CODE
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many failed logins. Try again later."

    @property
    def retry_after_s(self) -> int:
        return int(settings.LOGIN_LOCKOUT_MINUTES * 60)


def lockout_detail() -> str:
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    return _("Too many failed logins. Try again in %(minutes)d minutes.") % {"minutes": minutes}


def login_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The account a login names, as stored (e-mails are kept in lower case): the API's token
    endpoint sends ``email``, Django's login forms ``username``. Cut to the 255 characters axes
    keeps, so that an absurdly long guess is a failure like any other, not a database error."""
    values = credentials or {}
    name = values.get("email") or values.get("username")
    if not isinstance(name, str) or not name.strip():
        return None
    return name.strip().lower()[:255]


class LoginLockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with two limits: ``LOGIN_FAILURE_LIMIT`` failures per account
    and ``LOGIN_FAILURE_LIMIT_PER_IP`` per client address (``AXES_LOCKOUT_PARAMETERS`` lists
    the two, in that order).

    Axes compares one number with one limit (``AXES_FAILURE_LIMIT``, the per-account one), so
    the per-address count is scaled onto it: ``ip_failures * account_limit // ip_limit``
    reaches ``account_limit`` exactly when ``ip_failures`` reaches ``ip_limit``.
    """

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        by_account, by_address = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        account_limit = settings.LOGIN_FAILURE_LIMIT
        address_limit = max(1, settings.LOGIN_FAILURE_LIMIT_PER_IP)
        return max(by_account, by_address * account_limit // address_limit)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """What a locked-out login gets (``AXES_LOCKOUT_CALLABLE``)."""
    response: HttpResponse
    if request.path.startswith("/api/"):
        body = {"code": LOCKED_OUT_CODE, "detail": lockout_detail(), "fields": {}}
        response = JsonResponse(body, status=status.HTTP_429_TOO_MANY_REQUESTS)
    else:
        page = format_html(
            '<!doctype html><html lang="{}"><meta charset="utf-8"><title>{}</title>'
            "<h1>{}</h1><p>{}</p></html>",
            getattr(request, "LANGUAGE_CODE", "en"),
            _("Locked out"),
            _("Locked out"),
            lockout_detail(),
        )
        response = HttpResponse(page, status=status.HTTP_429_TOO_MANY_REQUESTS)
    response["Retry-After"] = str(LoginLockedOut().retry_after_s)
    return response
