"""Obviously fake questionnaire wording for tests. The real SAQ / FaCE wording is licensed per
clinic and must never ship with this project: every text here says it is test wording."""

from __future__ import annotations

import json

from synkinesis.scales.face import FACE_REVERSED_ITEMS
from synkinesis.scales.questionnaire import WORDING_FORMAT

N_ITEMS = {"saq": 9, "face": 15}


def fake_wording(instrument: str = "saq", language: str = "en") -> dict:
    """A valid wording file whose every text is a labelled placeholder. FaCE's reverse-coded items
    print their responses from 5 down to 1 (as a form may), to check printed order is kept."""
    items = []
    for n in range(1, N_ITEMS[instrument] + 1):
        item = {"number": n, "text": f"TEST WORDING question {n} (not the licensed text)"}
        if instrument == "face" and n in FACE_REVERSED_ITEMS:
            item["responses"] = [{"value": v, "label": f"Test label {n}.{v}"} for v in range(5, 0, -1)]
        items.append(item)
    return {"format": WORDING_FORMAT, "instrument": instrument, "language": language,
            "title": f"TEST WORDING {instrument.upper()} questionnaire",
            "licence": "Test wording for automated tests only: not a licensed instrument.",
            "instructions": "TEST WORDING instructions: choose one answer per question.",
            "responses": [{"value": v, "label": f"Test answer {v}"} for v in range(1, 6)],
            "items": items}


def fake_wording_bytes(instrument: str = "saq", language: str = "en") -> bytes:
    return json.dumps(fake_wording(instrument, language)).encode()
