"""Where pushes go: Firebase Cloud Messaging, or the log when there are no Firebase credentials.

A backend takes a batch of ``Push`` and answers one ``PushResult`` per push, in order. It never
raises for a failed push: the outcome says whether the device is gone, whether to retry (and
when at the earliest), or whether the push can never succeed.
"""

import email.utils
import enum
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# FCM HTTP v1 sends one message per request; firebase-admin's send_each takes at most 500.
FCM_BATCH_SIZE = 500


@dataclass(frozen=True)
class Push:
    """One message to one device. ``data`` values are strings (FCM's rule)."""

    token: str
    title: str
    body: str
    data: dict[str, str]
    high_priority: bool = False
    ttl_s: int | None = None
    collapse_key: str | None = None
    # Android notification tag / APNs collapse id: a push with the same tag replaces the shown one.
    tag: str | None = None


class Outcome(enum.StrEnum):
    SENT = "sent"
    # The token is unregistered, belongs to another sender, or is not a token at all.
    DEVICE_GONE = "device_gone"
    # Quota, server errors, network: try again later.
    RETRY = "retry"
    # Will never succeed as it is (a malformed message, APNs credentials missing).
    PERMANENT = "permanent"


@dataclass(frozen=True)
class PushResult:
    outcome: Outcome
    message_id: str = ""
    error: str = ""
    retry_after_s: float | None = field(default=None)


class PushBackend(Protocol):
    def send_batch(self, pushes: Sequence[Push]) -> list[PushResult]: ...


class LoggingBackend:
    """Logs each push instead of sending it, so the product runs without Firebase."""

    def send_batch(self, pushes: Sequence[Push]) -> list[PushResult]:
        results = []
        for push in pushes:
            message_id = f"logged/{uuid.uuid4()}"
            logger.info(
                "push to device ...%s: %s | %s | data=%s",
                push.token[-8:],
                push.title,
                push.body,
                push.data,
                extra={
                    "push_message_id": message_id,
                    "push_token_suffix": push.token[-8:],
                    "push_title": push.title,
                    "push_body": push.body,
                    "push_data": push.data,
                    "push_high_priority": push.high_priority,
                    "push_ttl_s": push.ttl_s,
                    "push_collapse_key": push.collapse_key,
                },
            )
            results.append(PushResult(Outcome.SENT, message_id=message_id))
        return results


class FcmBackend:
    """Sends through firebase-admin (FCM HTTP v1) with a service account file.

    The Firebase app is created on the first send, once per credentials file, and shared by the
    threads of the process.
    """

    _lock = threading.Lock()

    def __init__(self, credentials_file: str, http_timeout_s: float = 10.0) -> None:
        self.credentials_file = credentials_file
        self.http_timeout_s = http_timeout_s
        self.app_name = (
            "notifications-" + hashlib.sha256(credentials_file.encode()).hexdigest()[:12]
        )

    def _app(self) -> Any:
        import firebase_admin
        from firebase_admin import credentials

        with self._lock:
            try:
                return firebase_admin.get_app(self.app_name)
            except ValueError:
                return firebase_admin.initialize_app(
                    credentials.Certificate(self.credentials_file),
                    options={"httpTimeout": self.http_timeout_s},
                    name=self.app_name,
                )

    def _refresh_access_token(self, app: Any) -> None:
        """Get the OAuth access token once, before send_each's threads (one per message) would
        each exchange their own on a cold start."""
        from google.auth.transport.requests import Request

        credential = app.credential.get_credential()
        with self._lock:
            if not credential.valid:
                credential.refresh(Request())

    def send_batch(self, pushes: Sequence[Push]) -> list[PushResult]:
        from firebase_admin import messaging

        app = self._app()
        results: list[PushResult] = []
        try:
            self._refresh_access_token(app)
        except Exception as error:  # google-auth raises several types (RefreshError, transport)
            logger.warning("fcm access token refresh failed: %s", error)
            return [PushResult(Outcome.RETRY, error=f"OAuth: {error}") for _ in pushes]
        for start in range(0, len(pushes), FCM_BATCH_SIZE):
            chunk = pushes[start : start + FCM_BATCH_SIZE]
            try:
                batch = messaging.send_each([to_fcm_message(p) for p in chunk], app=app)
            except Exception as error:  # send_each wraps most failures in UnknownError
                # No answer for any message of the chunk: all of them are retried.
                logger.warning("fcm batch failed: %s", error)
                text = f"{type(error).__name__}: {error}"
                results.extend(PushResult(Outcome.RETRY, error=text) for _ in chunk)
                continue
            for response in batch.responses:
                if response.success:
                    results.append(PushResult(Outcome.SENT, message_id=response.message_id))
                else:
                    results.append(_classify_safely(response.exception))
        return results


def to_fcm_message(push: Push) -> Any:
    """The firebase-admin message for one push, with Android and APNs options."""
    from firebase_admin import messaging

    ttl = timedelta(seconds=push.ttl_s) if push.ttl_s is not None else None
    apns_headers = {"apns-priority": "10" if push.high_priority else "5", "apns-push-type": "alert"}
    if push.ttl_s is not None:
        apns_headers["apns-expiration"] = str(int(time.time()) + push.ttl_s)
    if push.tag:
        apns_headers["apns-collapse-id"] = push.tag[:64]
    return messaging.Message(
        token=push.token,
        notification=messaging.Notification(title=push.title, body=push.body),
        data=push.data,
        android=messaging.AndroidConfig(
            priority="high" if push.high_priority else "normal",
            ttl=ttl,
            collapse_key=push.collapse_key,
            notification=messaging.AndroidNotification(tag=push.tag),
        ),
        apns=messaging.APNSConfig(
            headers=apns_headers,
            payload=messaging.APNSPayload(
                aps=messaging.Aps(thread_id=push.collapse_key, sound="default")
            ),
        ),
    )


def _is_bad_token_error(error: Any) -> bool:
    """A 400 INVALID_ARGUMENT is about the token (not the message) when FCM says so."""
    if "registration token" in str(error).lower():
        return True
    response = getattr(error, "http_response", None)
    try:
        details = response.json()["error"]["details"] if response is not None else []
    except (ValueError, KeyError, TypeError):
        return False
    for detail in details:
        for violation in detail.get("fieldViolations", []) if isinstance(detail, dict) else []:
            if violation.get("field") == "message.token":
                return True
    return False


def retry_after_s(error: Any) -> float | None:
    """Seconds from the ``Retry-After`` header of a failed FCM answer (delta or HTTP date)."""
    response = getattr(error, "http_response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # unreadable: the exponential backoff alone decides
    if parsed.tzinfo is None:
        return None
    return max(0.0, parsed.timestamp() - time.time())


def _classify_safely(error: Any) -> PushResult:
    """Classification must never raise: the other answers of the batch are being recorded."""
    try:
        return classify_error(error)
    except Exception:
        logger.exception("could not classify an FCM error")
        return PushResult(Outcome.RETRY, error=f"{type(error).__name__}: {error}")


def classify_error(error: Any) -> PushResult:
    """Map a firebase-admin exception for one message to what to do about it."""
    from firebase_admin import exceptions, messaging

    text = f"{type(error).__name__}: {error}"
    if isinstance(error, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return PushResult(Outcome.DEVICE_GONE, error=text)
    if isinstance(error, exceptions.InvalidArgumentError):
        if _is_bad_token_error(error):
            return PushResult(Outcome.DEVICE_GONE, error=text)
        return PushResult(Outcome.PERMANENT, error=text)
    if isinstance(
        error,
        messaging.QuotaExceededError
        | exceptions.ResourceExhaustedError
        | exceptions.InternalError
        | exceptions.UnavailableError
        | exceptions.DeadlineExceededError
        | exceptions.UnknownError
        | exceptions.UnauthenticatedError,
    ):
        return PushResult(Outcome.RETRY, error=text, retry_after_s=retry_after_s(error))
    if isinstance(error, exceptions.FirebaseError) and getattr(error, "http_response", None):
        status = error.http_response.status_code
        if status == 429 or status >= 500:
            return PushResult(Outcome.RETRY, error=text, retry_after_s=retry_after_s(error))
    if isinstance(error, exceptions.FirebaseError) and error.http_response is None:
        # No HTTP answer at all: a network failure.
        return PushResult(Outcome.RETRY, error=text)
    return PushResult(Outcome.PERMANENT, error=text)


@lru_cache(maxsize=4)
def _build_backend(path: str, credentials_file: str) -> PushBackend:
    backend_class = import_string(path)
    if backend_class is FcmBackend:
        return FcmBackend(credentials_file)
    backend: PushBackend = backend_class()
    return backend


def get_backend() -> PushBackend:
    """The configured backend (``NOTIFICATIONS_BACKEND``), built once per configuration."""
    return _build_backend(
        settings.NOTIFICATIONS_BACKEND, getattr(settings, "FCM_CREDENTIALS_FILE", "")
    )
