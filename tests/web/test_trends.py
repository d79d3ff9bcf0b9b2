"""Trends across visits show each change with its minimal detectable change."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace as NS

from synkinesis.web.services import trend_charts, trends


def _analysis(pfh_left, sd_left):
    rest = {"pfh_mm_left": pfh_left, "pfh_mm_right": 9.0, "commissure_excursion_mm_left": 24.0,
            "commissure_excursion_mm_right": 22.0}
    sd = {k: 0.2 for k in rest} | {"pfh_mm_left": sd_left}
    return NS(result={"rest_measures": rest, "rest_sd": sd, "indices": {"ocular_oral": []}})


def test_changes_beyond_the_mdc_are_marked_detectable():
    visits = [NS(id=i, visit_date=date(2026, m, 1), scores=[], recordings=[NS(id=i, analysis=_analysis(p, s))])
              for i, (m, p, s) in enumerate([(1, 9.0, 0.2), (2, 8.0, 0.2), (3, 7.8, 0.2)], start=1)]
    t = trends(NS(visits=visits, affected_side="left"))
    rows = t["measures"]
    assert "change" not in rows[0]  # nothing before the first visit
    first = rows[1]["change"]["pfh_mm_left"]
    assert first["delta"] == -1.0 and first["mdc95"] == round(1.96 * (0.2 ** 2 * 2) ** 0.5, 2)
    assert first["detectable"]  # 1 mm > MDC95 0.55 mm
    assert not rows[2]["change"]["pfh_mm_left"]["detectable"]  # 0.2 mm is within the noise


def test_trend_charts_plot_each_side_and_scale_at_its_value():
    """The charts are drawn from the same numbers as the table: one polyline per side (affected solid,
    healthy dashed), points in visit order, higher values higher up, each with its exact value."""
    import re

    visits = [NS(id=i, visit_date=date(2026, m, 1), recordings=[NS(id=i, analysis=_analysis(p, 0.2))],
                 scores=[NS(scale="sunnybrook", total=t, label=None, unit="points", better="higher",
                              version="v1")])
              for i, (m, p, t) in enumerate([(1, 9.0, 40), (2, 8.0, 55), (3, 7.0, 70)], start=1)]
    t = trends(NS(visits=visits, affected_side="left"))
    assert "charts" not in t  # the JSON API stays data; the page draws the charts
    charts = trend_charts(t)
    assert len(charts) == 3  # PFH, commissure excursion, Sunnybrook (no ocular-oral values here)
    pfh = charts[0]
    lines = re.findall(r'<polyline class="series" data-name="([^"]+)"[^>]*?(stroke-dasharray="5 3")? points="([^"]+)"',
                       pfh)
    assert [(n, bool(d)) for n, d, _ in lines] == [("left (affected)", False), ("right (healthy)", True)]
    ys = [float(p.split(",")[1]) for p in lines[0][2].split()]
    assert ys[0] < ys[1] < ys[2]  # 9.0 → 8.0 → 7.0 mm: each lower on the chart (SVG y grows downwards)
    assert "2026-02-01: left (affected) 8 mm" in pfh
    assert "Sunnybrook" in charts[2] and "2026-03-01" in charts[2] and "70" in charts[2]
