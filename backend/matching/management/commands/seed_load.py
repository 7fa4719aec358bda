from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from backend.matching.loadgen import REGIONS, load_clear, load_create


class Command(BaseCommand):
    help = "Fill the database with synthetic load: stores, active trips and open requests."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stores", type=int, default=10)
        parser.add_argument("--trips", type=int, default=10_000)
        parser.add_argument("--requests", type=int, default=1_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--region",
            choices=sorted(REGIONS),
            default="lyon",
            help="lyon: straight-line travel; monaco: places on the bundled road extract (run "
            "with TRAVEL_ENGINE=osrm so that they are drawn on the road network)",
        )
        parser.add_argument(
            "--keep", action="store_true", help="Add to an earlier load instead of replacing it."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["keep"]:
            load_clear()
        summary = load_create(
            stores=options["stores"],
            trips=options["trips"],
            requests=options["requests"],
            seed=options["seed"],
            region=options["region"],
        )
        self.stdout.write(
            f"loaded: stores={summary.stores} trips={summary.trips} "
            f"requests={summary.requests} seed={options['seed']}"
        )
