from typing import Any

from rest_framework.pagination import CursorPagination


class NewestFirstPagination(CursorPagination):
    """Cursor pagination on every list: stable under inserts, no page counting."""

    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # ``next`` and ``previous`` are always in the envelope (null at either end).
        paginated: dict[str, Any] = super().get_paginated_response_schema(schema)
        paginated["required"] = ["next", "previous", "results"]
        return paginated
