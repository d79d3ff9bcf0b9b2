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
    visits = [NS(id=i, visit_date=date(2026, m, 1), scores=[], recordings=[NS(id=i, analysis=_analysis(p, s), protocol="meei8")])
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

    visits = [NS(id=i, visit_date=date(2026, m, 1), recordings=[NS(id=i, analysis=_analysis(p, 0.2), protocol="meei8")],
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
    assert "2026-02-01: left (affected) 8.0 mm" in pfh  # rounded by its unit
    from synkinesis.colours import AFFECTED, HEALTHY

    assert f'data-name="left (affected)" fill="none" stroke="{AFFECTED}"' in pfh  # one colour for the affected side
    assert f'data-name="right (healthy)" fill="none" stroke="{HEALTHY}"' in pfh
    assert "Sunnybrook" in charts[2] and "2026-03-01" in charts[2] and "70" in charts[2]


def _visit(i, month, recs):
    return NS(id=i, visit_date=date(2026, month, 1), scores=[], recordings=recs)


def test_one_point_per_visit_is_the_mean_of_its_protocol_recordings():
    """Two recordings of one visit make one point (their mean); a free recording beside a protocol
    recording of the same visit is left out of the point (different content, different rest)."""
    v1 = _visit(1, 1, [NS(id=1, analysis=_analysis(9.0, 0.2), protocol="meei8"),
                       NS(id=2, analysis=_analysis(8.0, 0.2), protocol="meei8"),
                       NS(id=3, analysis=_analysis(3.0, 0.2), protocol=None)])
    v2 = _visit(2, 2, [NS(id=4, analysis=_analysis(7.0, 0.2), protocol="meei8")])
    t = trends(NS(visits=[v1, v2], affected_side="left"))
    rows = t["measures"]
    assert [r["date"] for r in rows] == ["2026-01-01", "2026-02-01"]  # one point per visit
    assert rows[0]["pfh_mm_left"] == 8.5 and rows[0]["recording_ids"] == [1, 2]
    assert rows[1]["change"]["pfh_mm_left"]["delta"] == -1.5 and rows[1]["change"]["pfh_mm_left"]["detectable"]
    assert "mean" in t["how"] and "same protocol" in t["how"]


def test_no_change_is_judged_between_different_protocols_or_free_recordings():
    """A large difference between a guided recording and an MEEI-8 one (or two free uploads, which may
    not even be the same face) is not flagged as a change."""
    for protocols in (("guided", "meei8"), (None, None)):
        visits = [_visit(i, i, [NS(id=i, analysis=_analysis(p, 0.2), protocol=pr)])
                  for i, (p, pr) in enumerate(zip((9.0, 3.0), protocols), start=1)]
        rows = trends(NS(visits=visits, affected_side="left"))["measures"]
        assert rows[1]["change"] == {} and "not compared" in rows[1]["change_note"]


def test_chart_axes_are_round_and_titles_whole():
    import re

    from synkinesis.web.charts import Series, line_chart, nice_max

    assert [nice_max(v) for v in (10.7, 43.8, 0.8, 96, 0)] == [20, 50, 1, 100, 1]
    long = "Ocular-oral synkinesis: excess narrowing of the affected eye over the healthy eye during mouth movements"
    svg = line_chart(["2026-01-01", "2026-02-01"], [Series("x", [10.7, 3.2])], title=long, unit="mm",
                     better="lower is better")
    ticks = re.findall(r'class="tick"[^>]*>([^<]+)<', svg)
    assert ticks == ["20", "10", "0"]
    title = " ".join(re.findall(r'class="title"[^>]*>([^<]+)<', svg))
    assert title == long and all(len(t) <= 62 for t in re.findall(r'class="title"[^>]*>([^<]+)<', svg))


def test_the_headline_synkinesis_number_is_charted_first_with_one_point_per_visit():
    """The dynamic finding (headline(): the affected eye's excess narrowing, percentage points) is charted
    beside the rest measures, first; a visit whose recording reads as synkinetic has a filled point."""
    import re

    from synkinesis.colours import AFFECTED

    def synk(excess, mdc):
        a = _analysis(9.0, 0.2)
        a.result["indices"] = {"version": "indices/2", "summary": {
            "ocular_oral_excess_narrowing_pct_points": excess, "ocular_oral_mdc95_pct_points": mdc}}
        return a

    visits = [_visit(i, i, [NS(id=i, analysis=synk(ex, 4.0), protocol="guided")])
              for i, ex in enumerate((24.0, 12.0, 2.0), start=1)]
    t = trends(NS(visits=visits, affected_side="left"))
    assert [m["ocular_oral_excess"] for m in t["measures"]] == [24.0, 12.0, 2.0]
    assert [m["ocular_oral_flagged"] for m in t["measures"]] == [True, True, False]
    charts = trend_charts(t)
    head = charts[0]
    assert "Ocular-oral synkinesis" in head and len(re.findall(r"<circle ", head)) == 3
    fills = re.findall(r'<circle [^>]*fill="([^"]+)"', head)
    assert fills == [AFFECTED, AFFECTED, "#fff"]
    assert re.findall(r'class="tick"[^>]*>([^<]+)<', head)[0] == "25"  # a round maximum above 24
    assert "+24 percentage points" in head  # tooltips rounded by unit


def test_questionnaire_changes_are_read_against_the_published_detectable_change():
    """SAQ (28.2 points) and FaCE (17.6 points; scales-verified.md §7): a change is 'detectable' only
    at or beyond that size; a scale with no published value (House–Brackmann) is not judged."""
    def score(scale, total):
        return NS(scale=scale, total=total, label=None, unit="points", better="", version="v")

    visits = [NS(id=i, visit_date=date(2026, i, 1), recordings=[], scores=s) for i, s in enumerate([
        [score("saq", 80.0), score("face", 40.0), score("hb", 4.0)],
        [score("saq", 60.0), score("face", 60.0), score("hb", 3.0)],
        [score("saq", 30.0), score("face", None), score("hb", 3.0)],
        [score("saq", 30.0), score("face", 50.0), score("hb", 2.0)]], start=1)]
    s = trends(NS(visits=visits, affected_side="left"))["scores"]
    saq = [p["change"] for p in s["saq"]["points"]]
    assert saq[0] is None
    assert (saq[1]["difference"], saq[1]["direction"], saq[1]["detectable"]) == (-20.0, "better", False)  # < 28.2
    assert (saq[2]["difference"], saq[2]["detectable"], saq[2]["mdc"]) == (-30.0, True, 28.2)
    assert saq[3]["direction"] == "no change" and not saq[3]["detectable"]
    face = [p["change"] for p in s["face"]["points"]]
    assert face[1]["detectable"] and face[1]["direction"] == "better"  # +20 ≥ 17.6, higher is better
    assert face[2] is None and face[3]["difference"] == -10.0  # compared with the last total there was
    assert all(p["change"] is None or p["change"]["detectable"] is None for p in s["hb"]["points"])
