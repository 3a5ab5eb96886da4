"""Inline SVG charts, drawn server-side so the page needs no library, no CDN and no network.

Every mark carries its data (`data-*` attributes and a `<title>` tooltip), so the page is
inspectable and testable without running any script.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

PALETTE = (
    "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777",
    "#4b5563", "#65a30d", "#7c3aed", "#0d9488",
)
WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 70, 170, 20, 40


@dataclass(frozen=True)
class Point:
    x: date
    y: float
    label: str = ""


def _scale(value: float, lo: float, hi: float, out_lo: float, out_hi: float) -> float:
    if hi == lo:
        return (out_lo + out_hi) / 2
    return out_lo + (value - lo) * (out_hi - out_lo) / (hi - lo)


def _number(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1_000:.0f}k"
    return f"{value:,.0f}"


def _anchor(ordinal: int, lo: int, hi: int) -> str:
    """Date labels at the plot's edges align inwards so they are never clipped."""
    return "start" if ordinal == lo and lo != hi else "end" if ordinal == hi and lo != hi else "middle"


def _frame(chart: str, title: str, body: list[str], height: int = HEIGHT) -> str:
    return (
        f'<svg class="chart" data-chart="{escape(chart)}" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _empty(chart: str, title: str, message: str) -> str:
    return _frame(chart, title, [
        f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="empty">'
        f"{escape(message)}</text>"
    ])


def line_chart(chart: str, title: str, series: Mapping[str, Sequence[Point]], y_label: str) -> str:
    """Lines over time, one per series, with a clickable legend (the page's script toggles)."""
    points = [p for values in series.values() for p in values]
    if not points:
        return _empty(chart, title, "No download history yet: it grows with each refresh.")
    xs = [p.x.toordinal() for p in points]
    x_lo, x_hi = min(xs), max(xs)
    y_hi = max(max(p.y for p in points), 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body: list[str] = []
    for i in range(5):  # y grid
        value = y_hi * i / 4
        y = _scale(value, 0, y_hi, TOP + plot_h, TOP)
        body.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
                    f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                    f"{_number(value)}</text>")
    for ordinal in sorted({x_lo, x_hi, (x_lo + x_hi) // 2}):
        x = _scale(ordinal, x_lo, x_hi, LEFT, LEFT + plot_w)
        body.append(f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 18}" '
                    f'text-anchor="{_anchor(ordinal, x_lo, x_hi)}">'
                    f"{date.fromordinal(ordinal).isoformat()}</text>")
    body.append(f'<text class="axis" x="14" y="{TOP + plot_h / 2}" '
                f'transform="rotate(-90 14 {TOP + plot_h / 2})" text-anchor="middle">'
                f"{escape(y_label)}</text>")
    for index, (name, values) in enumerate(series.items()):
        color = PALETTE[index % len(PALETTE)]
        ordered = sorted(values, key=lambda p: p.x)
        coords = [(_scale(p.x.toordinal(), x_lo, x_hi, LEFT, LEFT + plot_w),
                   _scale(p.y, 0, y_hi, TOP + plot_h, TOP), p) for p in ordered]
        group = [f'<g class="series" data-series="{escape(name)}">']
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in coords)
            group.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>')
        for x, y, p in coords:
            tip = f"{name} · {p.x.isoformat()} · {p.y:,.0f}{(' · ' + p.label) if p.label else ''}"
            group.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}" '
                f'data-x="{p.x.isoformat()}" data-y="{p.y:g}"><title>{escape(tip)}</title></circle>'
            )
        group.append("</g>")
        body.extend(group)
        ly = TOP + 14 * index
        body.append(
            f'<g class="legend" data-series="{escape(name)}" tabindex="0">'
            f'<rect x="{WIDTH - RIGHT + 10}" y="{ly}" width="10" height="10" fill="{color}"/>'
            f'<text x="{WIDTH - RIGHT + 24}" y="{ly + 9}">{escape(name[:24])}</text></g>'
        )
    return _frame(chart, title, body)


def timeline(chart: str, title: str, rows: Mapping[str, Sequence[tuple[date, str, bool, bool]]]) -> str:
    """One row per repository, a mark per release: (published, tag, prerelease, below threshold)."""
    marks = [m for values in rows.values() for m in values]
    if not marks:
        return _empty(chart, title, "No published releases.")
    ordinals = [m[0].toordinal() for m in marks]
    x_lo, x_hi = min(ordinals), max(ordinals)
    row_h = 18
    height = TOP + BOTTOM + row_h * len(rows)
    plot_w = WIDTH - 180 - 20
    body: list[str] = []
    for ordinal in sorted({x_lo, x_hi, (x_lo + x_hi) // 2}):
        x = _scale(ordinal, x_lo, x_hi, 180, 180 + plot_w)
        body.append(f'<text class="tick" x="{x:.1f}" y="{height - 16}" '
                    f'text-anchor="{_anchor(ordinal, x_lo, x_hi)}">'
                    f"{date.fromordinal(ordinal).isoformat()}</text>")
    for index, (repo, values) in enumerate(rows.items()):
        y = TOP + row_h * index + row_h / 2
        body.append(f'<text class="tick" x="174" y="{y + 4:.1f}" text-anchor="end">'
                    f"{escape(repo[-28:])}</text>"
                    f'<line class="grid" x1="180" x2="{180 + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>')
        for published, tag, prerelease, failing in values:
            x = _scale(published.toordinal(), x_lo, x_hi, 180, 180 + plot_w)
            cls = "release" + (" prerelease" if prerelease else "") + (" failing" if failing else "")
            tip = f"{repo} {tag} · {published.isoformat()}" + (" · pre-release" if prerelease else "")
            body.append(
                f'<circle class="{cls}" cx="{x:.1f}" cy="{y:.1f}" r="4" data-repo="{escape(repo)}" '
                f'data-tag="{escape(tag)}" data-x="{published.isoformat()}">'
                f"<title>{escape(tip)}</title></circle>"
            )
    return _frame(chart, title, body, height=height)


def bar_chart(chart: str, title: str, bars: Sequence[tuple[str, float, bool]], x_label: str) -> str:
    """Vertical bars: (label, value, highlighted)."""
    if not bars:
        return _empty(chart, title, "Nothing to show.")
    plot_w, plot_h = WIDTH - LEFT - 20, HEIGHT - TOP - BOTTOM
    y_hi = max(max(v for _, v, _ in bars), 1.0)
    step = plot_w / len(bars)
    body = [f'<text class="axis" x="{LEFT + plot_w / 2}" y="{HEIGHT - 4}" text-anchor="middle">'
            f"{escape(x_label)}</text>"]
    for i in range(5):
        value = y_hi * i / 4
        y = _scale(value, 0, y_hi, TOP + plot_h, TOP)
        body.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
                    f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                    f"{_number(value)}</text>")
    for index, (label, value, highlighted) in enumerate(bars):
        height = _scale(value, 0, y_hi, 0, plot_h)
        x = LEFT + index * step + step * 0.15
        cls = "bar failing" if highlighted else "bar"
        body.append(
            f'<rect class="{cls}" x="{x:.1f}" y="{TOP + plot_h - height:.1f}" '
            f'width="{step * 0.7:.1f}" height="{height:.1f}" data-x="{escape(label)}" '
            f'data-y="{value:g}"><title>{escape(label)}: {value:,.0f}</title></rect>'
            f'<text class="tick" x="{x + step * 0.35:.1f}" y="{HEIGHT - 22}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    return _frame(chart, title, body)
