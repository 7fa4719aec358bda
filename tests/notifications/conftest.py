"""Fixtures for the notifications tests.

FCM is replaced at the HTTP layer only (``responses`` patches requests' transport adapter):
firebase-admin's own message encoding, error parsing and retries, and google-auth's service
account credential with its OAuth token exchange, all run for real against a throwaway key.
"""

import contextlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import factory
import firebase_admin
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from rest_framework.test import APIClient

from notifications import backends, tasks

PROJECT_ID = "parcels-test"
FCM_SEND_URL = f"https://fcm.googleapis.com/v1/projects/{PROJECT_ID}/messages:send"
OAUTH_TOKEN_URL = "https://oauth2.googleapis.com/token"
ACCESS_TOKEN = "ya29.test-access-token"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = settings.AUTH_USER_MODEL

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Sequence(lambda n: f"Person {n}")
    language = "en"

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        return model_class.objects.create_user(*args, password="a-long-test-password", **kwargs)


@pytest.fixture
def user_factory() -> type[UserFactory]:
    return UserFactory


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


# --- FCM HTTP v1 answers, as the service sends them ---------------------------------------


def fcm_success(message_number: int = 1) -> tuple[int, dict[str, str], dict[str, Any]]:
    return 200, {}, {"name": f"projects/{PROJECT_ID}/messages/0:{message_number}%31bd1c96"}


def fcm_error(
    http_status: int,
    status: str,
    message: str,
    error_code: str | None,
    headers: dict[str, str] | None = None,
    extra_details: list[dict[str, Any]] | None = None,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    details = [{"@type": FCM_ERROR_TYPE, "errorCode": error_code}] if error_code else []
    body = {
        "error": {
            "code": http_status,
            "message": message,
            "status": status,
            "details": details + (extra_details or []),
        }
    }
    return http_status, headers or {}, body


UNREGISTERED = fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
INVALID_TOKEN = fcm_error(
    400,
    "INVALID_ARGUMENT",
    "The registration token is not a valid FCM registration token",
    "INVALID_ARGUMENT",
)
INVALID_MESSAGE = fcm_error(
    400,
    "INVALID_ARGUMENT",
    "Invalid value at 'message.data[0].value' (TYPE_STRING), 12",
    "INVALID_ARGUMENT",
    extra_details=[
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": "message.data[0].value", "description": "Invalid"}],
        }
    ],
)
SENDER_ID_MISMATCH = fcm_error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")
QUOTA_EXCEEDED = fcm_error(
    429,
    "RESOURCE_EXHAUSTED",
    "Quota exceeded for quota metric 'Send requests' and limit 'Send requests per minute'.",
    "QUOTA_EXCEEDED",
    headers={"Retry-After": "120"},
)
INTERNAL = fcm_error(500, "INTERNAL", "Internal error encountered.", "INTERNAL")

Answer = tuple[int, dict[str, str], dict[str, Any]]


@dataclass
class FakeFcm:
    """Answers FCM sends per device token from a script; records every request."""

    mock: responses.RequestsMock
    scripts: dict[str, list[Answer]] = field(default_factory=lambda: defaultdict(list))
    sends: list[dict[str, Any]] = field(default_factory=list)
    message_count: int = 0

    def script(self, token: str, *answers: Answer) -> None:
        """Answer the sends to ``token`` with these, in order; the last one repeats."""
        self.scripts[token] = list(answers)

    def _answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        self.sends.append(
            {"body": body, "headers": {k.lower(): v for k, v in request.headers.items()}}
        )
        token = body["message"]["token"]
        script = self.scripts.get(token) or [fcm_success()]
        answer = script.pop(0) if len(script) > 1 else script[0]
        status, headers, payload = answer
        if status == 200:
            self.message_count += 1
            status, headers, payload = fcm_success(self.message_count)
        return status, headers, json.dumps(payload)

    def tokens_sent(self) -> list[str]:
        return [send["body"]["message"]["token"] for send in self.sends]

    def oauth_exchanges(self) -> list[Any]:
        return [call.request for call in self.mock.calls if call.request.url == OAUTH_TOKEN_URL]


@pytest.fixture(scope="session")
def service_account_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def service_account_file(tmp_path: Any, service_account_key_pem: str) -> str:
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT_ID,
                "private_key_id": "0123456789abcdef",
                "private_key": service_account_key_pem,
                "client_email": f"push@{PROJECT_ID}.iam.gserviceaccount.com",
                "client_id": "1234567890",
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": OAUTH_TOKEN_URL,
            }
        )
    )
    return str(path)


@pytest.fixture
def fcm(settings: Any, service_account_file: str) -> Iterator[FakeFcm]:
    """The FCM backend with real firebase-admin code, answering from a per-token script."""
    settings.NOTIFICATIONS_BACKEND = "notifications.backends.FcmBackend"
    settings.FCM_CREDENTIALS_FILE = service_account_file
    backends._build_backend.cache_clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeFcm(mock)
        mock.add(
            responses.POST,
            OAUTH_TOKEN_URL,
            json={"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"},
        )
        mock.add_callback(responses.POST, FCM_SEND_URL, callback=fake._answer)
        yield fake
    backend = backends.get_backend()
    if isinstance(backend, backends.FcmBackend):
        with contextlib.suppress(ValueError):
            firebase_admin.delete_app(firebase_admin.get_app(backend.app_name))
    backends._build_backend.cache_clear()


@dataclass
class Enqueued:
    outbox_ids: list[int]
    countdown: float | None


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[Enqueued]:
    """Tasks queued for sending, recorded instead of published; run them with ``run_queued``."""
    queued: list[Enqueued] = []

    def apply_async(
        args: Any = None, kwargs: Any = None, countdown: float | None = None, **_: Any
    ) -> None:
        queued.append(Enqueued(list(kwargs["outbox_ids"]), countdown))

    monkeypatch.setattr(tasks.send_outbox_messages, "apply_async", apply_async)
    return queued


@pytest.fixture
def run_queued(enqueued: list[Enqueued]) -> Callable[[], list[dict[str, int]]]:
    """Run, as a worker would, every queued send task (including those queued meanwhile)."""

    def run() -> list[dict[str, int]]:
        reports = []
        while enqueued:
            job = enqueued.pop(0)
            result = tasks.send_outbox_messages.apply(kwargs={"outbox_ids": job.outbox_ids})
            reports.append(result.get())
        return reports

    return run
