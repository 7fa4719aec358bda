"""Rows for a person's own data export: plain JSON values, points as {"lat", "lng"}."""

from typing import Any

from django.db.models import QuerySet


def _plain(value: Any) -> Any:
    return {"lat": value.y, "lng": value.x} if hasattr(value, "x") else value


def export_rows(queryset: QuerySet[Any], fields: list[str]) -> list[dict[str, Any]]:
    """The named fields of each row, in the queryset's order."""
    return [{name: _plain(row[name]) for name in fields} for row in queryset.values(*fields)]
