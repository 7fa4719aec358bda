"""``Idempotency-Key`` on POSTs that create something: a retried request (same key, same body)
gets the first response back and creates nothing twice."""

import functools
import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.errors import DomainError
from backend.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
# A first attempt that has not finished after this long is taken as abandoned.
IN_PROGRESS_TIMEOUT = timedelta(minutes=2)


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request."


class IdempotentRequestInProgress(DomainError):
    code = "idempotent_request_in_progress"
    default_detail = "A request with this Idempotency-Key is still being processed."


class InvalidIdempotencyKey(DomainError):
    code = "invalid"
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The Idempotency-Key header must be 1 to 255 printable characters."


def _claim(request: Request, key: str, digest: str) -> IdempotencyRecord | Response:
    user = request.user if request.user.is_authenticated else None
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                user=user,
                key=key,
                method=request.method or "",
                path=request.path[:255],
                request_sha256=digest,
            )
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.get(user=user, key=key)
    if existing.request_sha256 != digest:
        raise IdempotencyKeyReused()
    if existing.status_code is None:
        if timezone.now() - existing.created_at < IN_PROGRESS_TIMEOUT:
            raise IdempotentRequestInProgress()
        existing.delete()
        return _claim(request, key, digest)
    response = Response(existing.response_body, status=existing.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent[ViewMethod: Callable[..., Response]](method: ViewMethod) -> ViewMethod:
    """Decorate an APIView's ``post``. Without the header the request runs as usual."""

    @functools.wraps(method)
    def wrapper(self: APIView, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return method(self, request, *args, **kwargs)
        if not 0 < len(key) <= 255 or not key.isprintable():
            raise InvalidIdempotencyKey()
        digest = hashlib.sha256(
            b"\0".join([(request.method or "").encode(), request.path.encode(), request.body])
        ).hexdigest()
        claimed = _claim(request, key, digest)
        if isinstance(claimed, Response):
            return claimed
        try:
            response = method(self, request, *args, **kwargs)
        except Exception:
            claimed.delete()
            raise
        if response.status_code >= 500:
            claimed.delete()
            return response
        claimed.status_code = response.status_code
        claimed.response_body = response.data
        claimed.save(update_fields=["status_code", "response_body"])
        return response

    wrapper.idempotent = True  # type: ignore[attr-defined]  # the API schema declares the header
    return wrapper  # type: ignore[return-value]


def idempotency_erase_for_user(*, user_id: int) -> int:
    """For an account being deleted: forget the replayable answers to its POSTs (they hold what
    it posted: addresses, phones, its home, delivery codes). Returns how many went."""
    deleted, _ = IdempotencyRecord.objects.filter(user_id=user_id).delete()
    return deleted
