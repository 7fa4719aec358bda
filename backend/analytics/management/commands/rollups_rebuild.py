"""Rebuild the KPI rollups of one store (or every store) over a range of store-local days."""

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.analytics.selectors import local_today
from backend.analytics.services import rollups_rebuild
from backend.stores.models import Store


class Command(BaseCommand):
    help = "Recompute StoreDayRollup rows from the raw requests (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", type=int, help="Store id (default: every store).")
        parser.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
        parser.add_argument(
            "--to", dest="end", type=date.fromisoformat, help="Inclusive (default: today)."
        )
        parser.add_argument(
            "--chunk-days", type=int, default=31, help="Days rebuilt per transaction."
        )

    def handle(self, *args: object, **options: Any) -> None:
        stores = Store.objects.only("id", "timezone").order_by("id")
        if options["store"] is not None:
            stores = stores.filter(pk=options["store"])
            if not stores.exists():
                raise CommandError(f"No store {options['store']}.")
        start: date = options["start"]
        chunk = timedelta(days=int(options["chunk_days"]))
        for store in stores:
            end: date = options["end"] or local_today(store=store)
            days = 0
            current = start
            while current <= end:
                last = min(end, current + chunk - timedelta(days=1))
                days += rollups_rebuild(store_id=store.pk, start=current, end=last)
                current = last + timedelta(days=1)
            self.stdout.write(f"store {store.pk}: {days} day(s) with postings, {start} to {end}")
