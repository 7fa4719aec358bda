"""Where private files live: outside MEDIA_ROOT, never served by a URL of their own; a view that
checks who is asking reads them."""

from functools import cache

from django.conf import settings
from django.core.files.storage import FileSystemStorage


@cache
def private_storage() -> FileSystemStorage:
    return FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT, base_url=None)
