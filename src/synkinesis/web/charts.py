"""Small inline SVG line charts (no script, no external files): practice progress and the measures
and scale totals across visits. Every point carries a tooltip with its exact value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape


@dataclass
class Series:
    name: str
    values: list[float | None]  # one per x position; None = no value there
    colour: str = "#246"
    dashed: bool = False
    point_colours: list[str] | None = None  # per point (e.g. red above a threshold)
    tips: list[str] | None = None  # per point tooltip; default "label: value unit"


def _esc(text) -> str:
    return escape(str(text), quote=True)


def line_chart(labels: list[str], series: list[Series], *, title: str, unit: str, better: str,
               ref: float | None = None, ref_label: str = "threshold", y_max: float | None = None,
               markers: list[tuple[str | date, str]] | None = None) -> str:
    """`markers`: (date, label) drawn as labelled vertical lines (e.g. treatments) when the labels are
    ISO dates; placed between the two visits around it, since the x axis is one step per visit."""
    w, h, left, right, top, bottom = 440, 150, 40, 10, 22, 24
    values = [v for s in series for v in s.values if v is not None]
    y_min = min(0.0, *values) * 1.15 if values else 0.0
    top_v = y_max or max(values + [ref or 0, 1e-9]) * 1.15
    n = max(len(labels) - 1, 1)

    def x(i):
        return left + (w - left - right) * (i / n if len(labels) > 1 else 0.5)

    def y(v):
        return top + (h - top - bottom) * (1 - (max(y_min, min(v, top_v)) - y_min) / (top_v - y_min))

    parts = [f'<svg class="trend-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" '
             f'height="{h}" role="img" aria-label="{_esc(title)}">',
             f'<text x="{left}" y="14" font-size="12" font-weight="600">{_esc(title)} '
             f'<tspan font-weight="400" font-style="italic" fill="#356">({_esc(better)})</tspan></text>',
             f'<line x1="{left}" y1="{y(y_min):.1f}" x2="{w - right}" y2="{y(y_min):.1f}" stroke="#99a"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{y(y_min):.1f}" stroke="#99a"/>',
             f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">{top_v:.3g}</text>',
             f'<text x="{left - 4}" y="{y(y_min):.1f}" font-size="10" text-anchor="end">{y_min:.3g}</text>',
             f'<text x="{left - 30}" y="{top + 16}" font-size="10">{_esc(unit)}</text>']
    if ref is not None:
        parts.append(f'<line class="threshold" x1="{left}" y1="{y(ref):.1f}" x2="{w - right}" y2="{y(ref):.1f}" '
                     f'stroke="#c33" stroke-dasharray="4 3"/><text x="{w - right}" y="{y(ref) - 3:.1f}" '
                     f'font-size="10" fill="#c33" text-anchor="end">{_esc(ref_label)} {ref:g}</text>')
    for k, s in enumerate(series):
        pts = [(i, v) for i, v in enumerate(s.values) if v is not None]
        if not pts:
            continue
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        parts.append(f'<polyline class="series" data-name="{_esc(s.name)}" fill="none" stroke="{s.colour}" '
                     f'stroke-width="1.5"{dash} points="' + " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in pts) + '"/>')
        for i, v in pts:
            colour = s.point_colours[i] if s.point_colours else s.colour
            tip = s.tips[i] if s.tips else f"{labels[i]}: {s.name} {v:g} {unit}"
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{colour}"><title>{_esc(tip)}'
                         f'</title></circle>')
        if len(series) > 1:  # legend
            lx = left + 8 + 110 * k
            parts.append(f'<line x1="{lx}" y1="{top + 6}" x2="{lx + 16}" y2="{top + 6}" stroke="{s.colour}" '
                         f'stroke-width="2"{dash}/><text x="{lx + 20}" y="{top + 9}" font-size="10">'
                         f'{_esc(s.name)}</text>')
    for when, label, iso in _marker_positions(labels, markers or []):
        mx = x(when)
        parts.append(f'<g class="marker"><line x1="{mx:.1f}" y1="{top}" x2="{mx:.1f}" y2="{y(y_min):.1f}" '
                     f'stroke="#7a3" stroke-width="1.5" stroke-dasharray="2 2"/><text x="{mx + 2:.1f}" '
                     f'y="{top + 20}" font-size="9" fill="#572">{_esc(label)}</text><title>{_esc(label)}, {iso}</title></g>')
    if labels:
        parts.append(f'<text x="{left}" y="{h - 6}" font-size="10">{_esc(labels[0])}</text>')
        if len(labels) > 1:
            parts.append(f'<text x="{w - right}" y="{h - 6}" font-size="10" text-anchor="end">'
                         f'{_esc(labels[-1])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _marker_positions(labels: list[str], markers) -> list[tuple[float, str, str]]:
    """Each marker's fractional x index (date interpolated between the visits around it); markers outside
    the charted dates or with non-date labels are left out rather than drawn at a misleading place."""
    try:
        days = [date.fromisoformat(str(lbl)[:10]).toordinal() for lbl in labels]
    except ValueError:
        return []
    out = []
    for when, label in markers:
        when = when if isinstance(when, date) else date.fromisoformat(str(when)[:10])
        d = when.toordinal()
        for i in range(len(days) - 1):
            a, b = days[i], days[i + 1]
            if a <= d <= b:
                out.append((i + (d - a) / (b - a) if b > a else float(i), label, when.isoformat()))
                break
        else:
            if len(days) == 1 and d == days[0]:
                out.append((0.0, label, when.isoformat()))
    return out
