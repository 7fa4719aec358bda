"""Checking a shopper's identity before they may drive.

A backend takes the submitted document; the built-in ``ManualReview`` keeps it in private
storage (never under a public URL) for ops to look at in the admin before approving. A
provider's SDK (document and selfie checks) would be another class with the same ``submit``,
chosen by ``IDENTITY_CHECK_BACKEND``, approving or rejecting through the same services.
"""

from typing import Protocol

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.module_loading import import_string

from backend.accounts.models import DriverProfile


class IdentityCheck(Protocol):
    def submit(self, *, profile: DriverProfile, document: UploadedFile) -> None:
        """Take the document for this profile (the caller holds the profile's row lock)."""


class ManualReview:
    """The document waits, privately, for a person to look at it."""

    def submit(self, *, profile: DriverProfile, document: UploadedFile) -> None:
        if profile.identity_document:
            profile.identity_document.delete(save=False)
        extension = (document.name or "").rsplit(".", 1)[-1].lower()
        profile.identity_document.save(
            f"driver-{profile.user_id}.{extension}", document, save=False
        )
        profile.identity_submitted_at = timezone.now()
        profile.save(update_fields=["identity_document", "identity_submitted_at"])


def identity_check() -> IdentityCheck:
    check: IdentityCheck = import_string(settings.IDENTITY_CHECK_BACKEND)()
    return check
