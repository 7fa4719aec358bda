"""Request body limits, checked on Content-Length before anything reads the body.

Every body may be up to ``REQUEST_BODY_MAX_BYTES`` (JSON, forms); Django's own
``DATA_UPLOAD_MAX_MEMORY_SIZE`` is the same number, for what it reads itself. A view that takes a
file upload names the setting that bounds its file in ``upload_max_bytes_setting``: a multipart
body to that view may be as large as that file plus ``MULTIPART_OVERHEAD_BYTES`` for the other
fields and the part headers. The view still checks the file itself. A body over its limit is a
413 in the API's error shape (plain text outside ``/api/``), never a 500, and is never read.

A body without Content-Length (chunked) is not read by Django at all, so it needs no check here.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

MULTIPART_OVERHEAD_BYTES = 64 * 1024
TOO_LARGE_CODE = "request_too_large"


def body_limit_bytes(*, view_class: type | None, content_type: str) -> int:
    """The largest body this view accepts with this content type."""
    limit: int = settings.REQUEST_BODY_MAX_BYTES
    upload_setting = getattr(view_class, "upload_max_bytes_setting", None)
    if upload_setting and content_type.startswith("multipart/form-data"):
        limit = max(limit, getattr(settings, upload_setting) + MULTIPART_OVERHEAD_BYTES)
    return limit


def too_large_response(request: HttpRequest, *, limit_bytes: int) -> HttpResponse:
    detail = f"The request body is larger than the {limit_bytes} bytes this endpoint accepts."
    if request.path.startswith("/api/"):
        return JsonResponse({"code": TOO_LARGE_CODE, "detail": detail, "fields": {}}, status=413)
    return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None  # Django reads such a body as empty
        # DRF's views carry their class as ``cls``, Django's class-based views as ``view_class``.
        view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
        limit = body_limit_bytes(
            view_class=view_class, content_type=request.META.get("CONTENT_TYPE", "")
        )
        if length > limit:
            return too_large_response(request, limit_bytes=limit)
        return None
