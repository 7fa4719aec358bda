"""Simulate a store evening through the real system, then print its KPI table."""

import signal
import subprocess
import sys
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from backend.simulation.engine import (
    Policy,
    Simulation,
    SimulationConfig,
    simulated_world,
    simulation_environment,
)
from backend.simulation.report import kpi_table, run_kpis


def _clock(value: str) -> time:
    try:
        return datetime.strptime(value, "%H:%M").time()
    except ValueError as exc:
        raise CommandError(f"expected HH:MM, got {value!r}") from exc


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


COMPARE = [
    Policy(assignment_mode="first_response", offer_fanout_k=3),
    Policy(assignment_mode="first_response", offer_fanout_k=6),
    Policy(assignment_mode="customer_choice", offer_fanout_k=6),
    Policy(assignment_mode="best_match", offer_fanout_k=6),
    Policy(
        assignment_mode="first_response",
        offer_fanout_k=6,
        fee_base_eur=Decimal("5.00"),
        fee_per_detour_km_eur=Decimal("0.80"),
    ),
]


class Command(BaseCommand):
    help = "Simulate a store evening through the real services, Celery and notifications."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", default="16:00", help="HH:MM, local")
        parser.add_argument("--to", dest="end", default="21:00", help="HH:MM, local")
        parser.add_argument("--date", default=None, help="YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--speed",
            type=float,
            default=60.0,
            help="Simulated seconds per real second; 0 = as fast as it can",
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--store",
            action="append",
            default=[],
            help="Store name (repeatable; default: every demo store)",
        )
        parser.add_argument(
            "--compare",
            action="store_true",
            help="The same evening under several policies, as one table",
        )
        parser.add_argument("--quiet", action="store_true", help="No progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        # SIGTERM ends the run cleanly (its worker stopped, its clock cleared), like Ctrl-C.
        signal.signal(signal.SIGTERM, _stop)
        if not settings.SIMULATION_CLOCK:
            # The run needs its own clock and broker from the start: run it in a process of
            # its own with that environment.
            manage = Path(settings.ROOT_DIR) / "manage.py"
            argv = [sys.executable, str(manage), "simulate", *self._argv(options)]
            child = subprocess.Popen(argv, env=simulation_environment())  # noqa: S603
            try:
                code = child.wait()
            except SystemExit:  # stopped: let the run stop its worker and clock
                child.terminate()
                child.wait(timeout=60)
                raise
            if code:
                raise CommandError(f"the simulation failed (exit status {code})")
            return
        day = date.fromisoformat(options["date"]) if options["date"] else timezone.localdate()
        base = SimulationConfig(
            day=day,
            start=_clock(options["start"]),
            end=_clock(options["end"]),
            speed=options["speed"],
            seed=options["seed"],
            store_names=tuple(options["store"]),
        )
        policies = COMPARE if options["compare"] else [Policy()]
        rows = []
        with simulated_world() as drained:
            for policy in policies:
                config = SimulationConfig(**{**vars(base), "policy": policy})
                progress = None if options["quiet"] else self._progress(policy.label())
                result = Simulation(config, progress=progress).run(wait_for_worker=drained)
                if not options["quiet"]:
                    sys.stderr.write("\n")
                rows.append((policy.label(), run_kpis(result)))
        self.stdout.write(kpi_table(rows))

    @staticmethod
    def _argv(options: dict[str, Any]) -> list[str]:
        argv = [
            "--from",
            options["start"],
            "--to",
            options["end"],
            "--speed",
            str(options["speed"]),
            "--seed",
            str(options["seed"]),
        ]
        if options["date"]:
            argv += ["--date", options["date"]]
        for store in options["store"]:
            argv += ["--store", store]
        argv += ["--compare"] if options["compare"] else []
        argv += ["--quiet"] if options["quiet"] else []
        return argv

    def _progress(self, label: str):  # type: ignore[no-untyped-def]
        shown = [-1.0]

        def show(fraction: float, moment: datetime) -> None:
            if fraction - shown[0] < 0.005:  # redraw every half per cent
                return
            shown[0] = fraction
            filled = int(30 * min(max(fraction, 0.0), 1.0))
            local = timezone.localtime(moment).strftime("%H:%M")
            sys.stderr.write(
                f"\r{label[:28]:<28} [{'#' * filled}{'.' * (30 - filled)}] {fraction:6.1%} {local}"
            )
            sys.stderr.flush()

        return show
