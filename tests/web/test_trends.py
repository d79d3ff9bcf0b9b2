"""Trends across visits show each change with its minimal detectable change."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace as NS

from synkinesis.web.services import trends


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
