from typing import Any

from django.core.management.base import BaseCommand, CommandError

from backend.simulation.demo import (
    DemoDataRefused,
    demo_load,
    region,
    travel_note,
    travel_warnings,
)


class Command(BaseCommand):
    help = (
        "Load the demo region (DEMO_REGION, Monaco by default: stores, customers, drivers, "
        "managers)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            accounts = demo_load()
        except DemoDataRefused as refused:
            raise CommandError(str(refused)) from refused
        data = region()
        self.stdout.write(
            f"Demo region loaded: {data.get('name', 'demo')}, {len(data['stores'])} stores, "
            f"{len(data['customers'])} customers, {len(data['drivers'])} drivers."
        )
        self.stdout.write(travel_note(data))
        for warning in travel_warnings(data):
            self.stdout.write(self.style.WARNING(f"Warning: {warning}"))
        self.stdout.write(f"Every demo account's password: {data['demo_password']}")
        width = max(len(a.role) for a in accounts)
        for account in accounts:
            self.stdout.write(f"  {account.role:<{width}}  {account.email:<36} {account.note}")
