"""Rate limits kept in Redis, per client address (``backend.core.client_ip``) or per user.

When Redis is unreachable the general limits let requests through (and log it): an outage of
the cache must not take the API down with it. Login and registration (``AuthThrottle``) fail
closed instead: without a working limit they would be open to unlimited password guessing and
sign-up floods, so they answer 503 ``rate_limit_unavailable`` until Redis is back. (The login
lockout itself is kept in PostgreSQL and holds either way.)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from backend.core.client_ip import client_ip

if TYPE_CHECKING:  # DRF imports its throttle classes while rest_framework.views loads
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class RateLimitUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "rate_limit_unavailable"
    default_detail = "Logging in and signing up are paused for a moment. Try again shortly."
    wait = 30  # seconds, sent as Retry-After


class _ClientAddress:
    """The client is who ``client_ip`` says (trusted proxies only), and the rates are read when
    a request comes, so that a change of settings applies at once."""

    def get_ident(self, request: Request) -> str:
        return client_ip(request) or ""

    def get_rate(self) -> str | None:
        scope: str = self.scope  # type: ignore[attr-defined]
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        return rates[scope]


class _FailOpen:
    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except RedisError:
            logger.warning("rate limit skipped: cache unreachable", exc_info=True)
            return True


class _FailClosed:
    fails_closed = True  # the API schema declares the 503 of such a limit

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except RedisError as error:
            logger.error("request refused: rate limit cache unreachable", exc_info=True)
            raise RateLimitUnavailable() from error


class AnonThrottle(_FailOpen, _ClientAddress, AnonRateThrottle):
    pass


class UserThrottle(_FailOpen, _ClientAddress, UserRateThrottle):
    pass


class AuthThrottle(_FailClosed, _ClientAddress, SimpleRateThrottle):
    """Login and registration: ``THROTTLE_AUTH`` per client address, signed in or not."""

    scope = "auth"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
