"""The KPI table at the end of a simulation: the figures of ``backend.analytics`` (the same the
dashboard shows), per store and for all stores, beside the field's reference."""

from dataclasses import dataclass

from backend.analytics.selectors import KpiTotals, store_kpis
from backend.simulation.engine import SimulationResult

REFERENCE_RESPONSE_RATE = 0.70
REFERENCE_RESPONSES_PER_POSTING = 2.8


@dataclass(frozen=True)
class RunKpis:
    rows: list[tuple[str, KpiTotals]]  # (store name, analytics totals)


def run_kpis(result: SimulationResult) -> RunKpis:
    rows = []
    for store in result.stores:
        report = store_kpis(store_id=store.pk, start=result.day, end=result.day)
        rows.append((store.name, report.totals))
    return RunKpis(rows=rows)


def _all_stores(rows: list[tuple[str, KpiTotals]]) -> dict[str, float]:
    totals = [t for _, t in rows]
    postings = sum(t.postings for t in totals)
    responded = sum(t.responded for t in totals)
    responders = sum(t.responses for t in totals)
    assigned = sum(t.assigned for t in totals)
    delivered = sum(t.delivered for t in totals)
    return {
        "postings": postings,
        "response_rate": responded / postings if postings else 0.0,
        "responses_per_posting": responders / postings if postings else 0.0,
        "assignment_rate": assigned / postings if postings else 0.0,
        "delivered_rate": delivered / postings if postings else 0.0,
        "detour_km": sum(t.detour_km for t in totals),
        "km_saved": sum(t.km_saved for t in totals),
        "co2_saved_kg": sum(t.co2_saved_kg for t in totals),
    }


COLUMNS = (
    "postings",
    "response rate",
    "responses/posting",
    "median 1st resp.",
    "assigned",
    "delivered",
    "on time",
    "expired",
    "detour km",
    "km saved",
    "CO2 saved kg",
)


def _line(name: str, values: list[str], width: int) -> str:
    return f"{name:<{width}} " + " ".join(
        f"{v:>{max(len(c), 8)}}" for v, c in zip(values, COLUMNS, strict=True)
    )


def kpi_table(runs: list[tuple[str, RunKpis]]) -> str:
    """One block per run (a policy), one line per store, a line for all stores, and the
    field's reference line."""
    width = max([len(name) for _, run in runs for name, _ in run.rows] + [24])
    out = [_line("", list(COLUMNS), width).rstrip()]
    for label, run in runs:
        out.append(f"-- {label}")
        for name, t in run.rows:
            out.append(
                _line(
                    name,
                    [
                        f"{t.postings}",
                        _pct(t.response_rate),
                        _num(t.responses_per_posting),
                        _minutes(t.first_response_median_s),
                        _pct(t.assignment_rate),
                        _pct(t.delivered_rate),
                        _pct(t.on_time_rate),
                        _pct(t.expiry_rate),
                        f"{t.detour_km:.1f}",
                        f"{t.km_saved:.1f}",
                        f"{t.co2_saved_kg:.1f}",
                    ],
                    width,
                )
            )
        total = _all_stores(run.rows)
        out.append(
            _line(
                "all stores",
                [
                    f"{total['postings']}",
                    f"{total['response_rate']:.0%}",
                    f"{total['responses_per_posting']:.2f}",
                    "",
                    f"{total['assignment_rate']:.0%}",
                    f"{total['delivered_rate']:.0%}",
                    "",
                    "",
                    f"{total['detour_km']:.1f}",
                    f"{total['km_saved']:.1f}",
                    f"{total['co2_saved_kg']:.1f}",
                ],
                width,
            )
        )
    out.append(
        _line(
            "field reference (pilot)",
            [
                "",
                f"{REFERENCE_RESPONSE_RATE:.0%}",
                f"{REFERENCE_RESPONSES_PER_POSTING:.2f}",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            width,
        )
    )
    return "\n".join(out)


def _pct(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.0%}"


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f} min"
