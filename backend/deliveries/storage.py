"""Where delivery proof photos are kept: a private storage (``STORAGES["proofs"]``).

The files live under ``PROOF_PHOTO_ROOT``, outside ``MEDIA_ROOT``, and have no URL: the only way
to see one is the authorised endpoint ``GET /api/v1/delivery-requests/{id}/proof-photo/``.
"""

from django.core.files.storage import FileSystemStorage, Storage, storages


class PrivateFileSystemStorage(FileSystemStorage):
    """Files on disk that are never served by URL."""

    def url(self, name: str | None) -> str:
        raise ValueError("A private file is not served by URL; read it through the API.")


def proof_photo_storage() -> Storage:
    """The storage of ``DeliveryRequest.proof_photo`` (a callable, so that the settings choose
    it at run time and migrations do not record it)."""
    return storages["proofs"]
