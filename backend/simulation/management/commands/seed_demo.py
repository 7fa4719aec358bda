from typing import Any

from django.core.management.base import BaseCommand, CommandError

from backend.simulation.demo import DemoDataRefused, demo_load, region


class Command(BaseCommand):
    help = "Load the demo region (3 stores around Lyon, customers, drivers, managers)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            accounts = demo_load()
        except DemoDataRefused as refused:
            raise CommandError(str(refused)) from refused
        data = region()
        self.stdout.write(
            f"Demo region loaded: {len(data['stores'])} stores, {len(data['customers'])} "
            f"customers, {len(data['drivers'])} drivers."
        )
        self.stdout.write(f"Every demo account's password: {data['demo_password']}")
        width = max(len(a.role) for a in accounts)
        for account in accounts:
            self.stdout.write(f"  {account.role:<{width}}  {account.email:<36} {account.note}")
