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
    w, left, right, bottom = 440, 40, 10, 24
    title_lines = _wrap(title, 62)
    top = 16 * len(title_lines) + 26  # the title, the "better" line, then the legend row
    h = top + 110 + bottom
    values = [v for s in series for v in s.values if v is not None]
    y_min = -nice_max(-min(values)) if values and min(values) < 0 else 0.0
    top_v = y_max or nice_max(max(values + [ref or 0, 1e-9]))
    n = max(len(labels) - 1, 1)

    def x(i):
        return left + (w - left - right) * (i / n if len(labels) > 1 else 0.5)

    def y(v):
        return top + (h - top - bottom) * (1 - (max(y_min, min(v, top_v)) - y_min) / (top_v - y_min))

    parts = [f'<svg class="trend-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" '
             f'height="{h}" role="img" aria-label="{_esc(title)}">']
    parts += [f'<text class="title" x="8" y="{14 + 16 * k}" font-size="12" font-weight="600">{_esc(line)}</text>'
              for k, line in enumerate(title_lines)]
    parts += [f'<text x="8" y="{16 * len(title_lines) + 10}" font-size="10" font-style="italic" fill="#356">'
              f'{_esc(better)}</text>',
              f'<line x1="{left}" y1="{y(y_min):.1f}" x2="{w - right}" y2="{y(y_min):.1f}" stroke="#99a"/>',
              f'<line x1="{left}" y1="{top}" x2="{left}" y2="{y(y_min):.1f}" stroke="#99a"/>',
              f'<line x1="{left}" y1="{y((top_v + y_min) / 2):.1f}" x2="{w - right}" y2="{y((top_v + y_min) / 2):.1f}" '
              f'stroke="#e3e5ee"/>',
              f'<text class="tick" x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">{_tick(top_v)}</text>',
              f'<text class="tick" x="{left - 4}" y="{y((top_v + y_min) / 2) + 3:.1f}" font-size="10" '
              f'text-anchor="end">{_tick((top_v + y_min) / 2)}</text>',
              f'<text class="tick" x="{left - 4}" y="{y(y_min):.1f}" font-size="10" text-anchor="end">{_tick(y_min)}</text>',
              f'<text x="{left + 4}" y="{top + 10}" font-size="10" fill="#556">{_esc(unit)}</text>']
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
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{colour}" stroke="{s.colour}">'
                         f'<title>{_esc(tip)}</title></circle>')
        if len(series) > 1:  # legend
            lx = left + 8 + 130 * k
            parts.append(f'<line x1="{lx}" y1="{top - 6}" x2="{lx + 16}" y2="{top - 6}" stroke="{s.colour}" '
                         f'stroke-width="2"{dash}/><text x="{lx + 20}" y="{top - 3}" font-size="10">'
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


def nice_max(v: float) -> float:
    """The smallest round number (1, 2, 2.5 or 5 × 10^k) at or above `v`, for an axis maximum
    that reads at a glance (10.7 mm → 20, 43.8 points → 50)."""
    import math

    v = float(v)
    if v <= 1e-6 or not math.isfinite(v):
        return 1.0
    p = 10 ** math.floor(math.log10(v))
    return next(m * p for m in (1, 2, 2.5, 5, 10) if m * p >= v - 1e-12)


def _tick(v: float) -> str:
    return f"{v:g}" if abs(v) >= 1 or v == 0 else f"{v:.2g}"


def _wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` characters, broken at spaces (a title is never cut off)."""
    lines, line = [], ""
    for word in str(text).split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [line] if line else lines or [""]


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
