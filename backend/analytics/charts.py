"""Charts and the drop-off map as inline SVG, drawn on the server: no JavaScript library, no map
tiles, nothing fetched at run time, so the dashboard works offline. Every text is escaped here;
numbers are formatted here."""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from backend.analytics.selectors import DropoffPoint, HistogramBucket

OUTCOME_COLOURS = {
    "delivered": "#2e7d32",
    "assigned": "#1565c0",
    "picked_up": "#1565c0",
    "open": "#ef6c00",
    "cancelled": "#757575",
    "expired": "#c62828",
    "failed": "#6a1b9a",
}


def _safe(svg: str) -> SafeString:
    # Every interpolated text went through escape() and numbers are formatted by this module.
    return mark_safe(svg)  # noqa: S308


@dataclass(frozen=True)
class SeriesPoint:
    label: str
    value: float | None


def line_chart(
    *,
    chart_id: str,
    points: Sequence[SeriesPoint],
    reference: float,
    reference_label: str,
    fmt: Callable[[float], str],
    minimum_top: float,
) -> SafeString:
    """Values per period as a line, with a dashed reference line. Missing values break it."""
    width, height, left, right, top, bottom = 640, 220, 48, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [p.value for p in points if p.value is not None]
    y_max = max([minimum_top, reference * 1.25, *values])
    count = max(len(points), 1)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / count)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        'stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" font-size="10">'
        f"{escape(fmt(y_max))}</text>",
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10">'
        f"{escape(fmt(0))}</text>",
    ]
    ref_y = y(reference)
    parts.append(
        f'<line class="reference" x1="{left}" y1="{ref_y:.1f}" x2="{width - right}" '
        f'y2="{ref_y:.1f}" stroke="#c62828" stroke-dasharray="6 4"/>'
        f'<text x="{width - right}" y="{ref_y - 4:.1f}" text-anchor="end" font-size="11" '
        f'fill="#c62828">{escape(reference_label)}</text>'
    )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, p in enumerate(points):
        if p.value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(p.value):.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(
            f'<polyline fill="none" stroke="#1565c0" stroke-width="2" points="{" ".join(seg)}"/>'
        )
    for i, p in enumerate(points):
        if p.value is not None:
            parts.append(
                f'<circle class="point" cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="3" '
                f'fill="#1565c0"><title>{escape(p.label)}: {escape(fmt(p.value))}</title>'
                "</circle>"
            )
    if points:
        for i in sorted({0, len(points) // 2, len(points) - 1}):
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="middle" font-size="10">'
                f"{escape(points[i].label)}</text>"
            )
    parts.append("</svg>")
    return _safe("".join(parts))


def histogram_labels(buckets: Sequence[HistogramBucket]) -> list[str]:
    labels = []
    for b in buckets:
        low = b.from_s // 60
        if b.to_s is None:
            labels.append(f"≥ {low} min")
        elif low == 0:
            labels.append(f"< {b.to_s // 60} min")
        else:
            labels.append(f"{low}–{b.to_s // 60} min")
    return labels


def bar_chart(*, chart_id: str, labels: Sequence[str], counts: Sequence[int]) -> SafeString:
    """Vertical bars with their counts (the time-to-first-response distribution)."""
    width, height, left, bottom, top = 640, 200, 12, 32, 16
    plot_h = height - bottom - top
    n = max(len(counts), 1)
    slot = (width - 2 * left) / n
    peak = max([1, *counts])
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {width} {height}" role="img" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value) in enumerate(zip(labels, counts, strict=True)):
        h = plot_h * value / peak
        x0 = left + i * slot + slot * 0.1
        parts.append(
            f'<rect class="bar" data-count="{value}" x="{x0:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{slot * 0.8:.1f}" height="{h:.1f}" fill="#1565c0"/>'
            f'<text x="{x0 + slot * 0.4:.1f}" y="{top + plot_h - h - 3:.1f}" '
            f'text-anchor="middle" font-size="10">{value}</text>'
            f'<text x="{x0 + slot * 0.4:.1f}" y="{height - 12}" text-anchor="middle" '
            f'font-size="10">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return _safe("".join(parts))


def funnel_chart(*, chart_id: str, steps: Sequence[tuple[str, int]]) -> SafeString:
    """Horizontal bars, each step as a share of the first."""
    width, row_h, label_w = 640, 30, 150
    base = steps[0][1] if steps else 0
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {width} {row_h * len(steps)}" '
        'role="img" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value) in enumerate(steps):
        share = value / base if base else 0.0
        bar_w = (width - label_w - 90) * share
        y0 = i * row_h
        parts.append(
            f'<text x="{label_w - 6}" y="{y0 + 19}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
            f'<rect class="step" data-count="{value}" x="{label_w}" y="{y0 + 5}" '
            f'width="{bar_w:.1f}" height="{row_h - 10}" fill="#2e7d32"/>'
            f'<text x="{label_w + bar_w + 6:.1f}" y="{y0 + 19}" font-size="12">'
            f"{value} ({share * 100:.0f} %)</text>"
        )
    parts.append("</svg>")
    return _safe("".join(parts))


def dropoff_map(
    *,
    chart_id: str,
    store_lat: float,
    store_lng: float,
    points: Sequence[DropoffPoint],
    outcome_labels: dict[str, str],
) -> SafeString:
    """Drop-off points projected around the store (equirectangular, north up, to scale), each
    coloured by the request's outcome, the store in the middle, a legend and a scale bar."""
    size, legend_w, pad = 420, 170, 16
    cos_lat = math.cos(math.radians(store_lat))

    def metres(lat: float, lng: float) -> tuple[float, float]:
        return (lng - store_lng) * 111_320 * cos_lat, (lat - store_lat) * 110_574

    projected = [(p, *metres(p.lat, p.lng)) for p in points]
    reach = max([1000.0, *(max(abs(dx), abs(dy)) for _, dx, dy in projected)])
    scale = (size / 2 - pad) / reach
    cx = cy = size / 2
    parts = [
        f'<svg id="{escape(chart_id)}" class="map" viewBox="0 0 {size + legend_w} {size}" '
        'role="img" xmlns="http://www.w3.org/2000/svg">',
        f'<rect x="0" y="0" width="{size}" height="{size}" fill="#f4f6f8" stroke="#ccc"/>',
    ]
    for p, dx, dy in projected:
        colour = OUTCOME_COLOURS.get(p.outcome, "#000")
        outcome_label = escape(outcome_labels.get(p.outcome, p.outcome))
        parts.append(
            f'<circle class="dropoff" data-outcome="{escape(p.outcome)}" '
            f'cx="{cx + dx * scale:.1f}" cy="{cy - dy * scale:.1f}" r="4" fill="{colour}" '
            f'fill-opacity="0.8"><title>#{p.request_id} {outcome_label}</title></circle>'
        )
    parts.append(
        f'<rect class="store" x="{cx - 7}" y="{cy - 7}" width="14" height="14" fill="#000">'
        f"<title>{escape(_('Store'))}</title></rect>"
    )
    # Scale bar: a round number of km about a quarter of the width.
    km = max(1, round(reach / 2000))
    bar = km * 1000 * scale
    parts.append(
        f'<line x1="{pad}" y1="{size - pad}" x2="{pad + bar:.1f}" y2="{size - pad}" '
        f'stroke="#000" stroke-width="2"/><text x="{pad}" y="{size - pad - 5}" '
        f'font-size="10">{km} km</text>'
    )
    legend = [
        ("store", _("Store"), "#000"),
        *(
            (state, outcome_labels.get(state, state), colour)
            for state, colour in OUTCOME_COLOURS.items()
            if state != "picked_up"
        ),
    ]
    for i, (key, label, colour) in enumerate(legend):
        y0 = pad + i * 20
        parts.append(
            f'<g class="legend-item" data-outcome="{escape(key)}">'
            f'<circle cx="{size + 16}" cy="{y0 + 6}" r="5" fill="{colour}"/>'
            f'<text x="{size + 28}" y="{y0 + 10}" font-size="12">{escape(label)}</text></g>'
        )
    parts.append("</svg>")
    return _safe("".join(parts))
