"""Make the base map's tiles from MAP_EXTRACT into MAP_TILES_FILE, unless they are up to date
(the set-up runs this on every `make run` and `make test`)."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.analytics import tilebuild


class Command(BaseCommand):
    help = "Prepare the dashboard's base map tiles (tilemaker, then PMTiles) once per extract."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--extract", type=Path, help="An .osm.pbf (default: MAP_EXTRACT).")
        parser.add_argument("--output", type=Path, help="The .pmtiles (default: MAP_TILES_FILE).")
        parser.add_argument("--force", action="store_true", help="Make them even if up to date.")

    def handle(self, *args: object, **options: Any) -> None:
        extract = options["extract"] or Path(settings.MAP_EXTRACT)
        output = options["output"] or Path(settings.MAP_TILES_FILE)
        try:
            done = tilebuild.prepare(extract, output, force=options["force"])
        except tilebuild.TileBuildError as error:
            raise CommandError(str(error)) from None
        if done.built:
            self.stdout.write(
                f"Base map tiles for {extract.name}: {output} "
                f"({output.stat().st_size // 1024} KB, {done.seconds:.1f} s)"
            )
        elif options["verbosity"] > 1:
            self.stdout.write(f"Base map tiles up to date: {output}")
