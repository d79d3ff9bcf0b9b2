"""Checks of what a person typed before an action stores it: `FormError` (field → message, HTTP
status) and the fields of a patient, a visit, a score, the protocol an upload follows."""

from __future__ import annotations

import logging
from datetime import date

from ..errors import SynkinesisError
from ..protocols import builtin
from ..scales import SCALES, ScaleInputError
from ..store.models import Patient, ScaleScore, User, Visit

log = logging.getLogger("synkinesis.web")
CLINICIAN_SCALES = ("sunnybrook", "hb", "eface")  # graded by a clinician
PATIENT_SCALES = ("saq", "face")  # answered by the patient (staff may enter a paper form)
SIDES = ("left", "right")
GUIDED = builtin.GUIDED["key"]  # the webcam recorder's protocol
EARLIEST_DATE = date(1900, 1, 1)  # a typo'd year (0001, 1024) is refused, not stored


class FormError(SynkinesisError):
    """Input a person typed was refused; `problems` maps field → message for the form."""

    def __init__(self, message: str, problems: dict[str, str] | None = None, status: int = 422):
        super().__init__(message)
        self.problems = problems or {}
        self.status = status


def parse_date(value: str | None, field: str, problems: dict) -> date | None:
    """A YYYY-MM-DD date, not in the future nor before 1900; a problem is added to `problems[field]`."""
    try:
        d = date.fromisoformat((value or "").strip())
    except ValueError:
        problems[field] = "Enter a date as YYYY-MM-DD."
        return None
    if d > date.today():
        problems[field] = "The date cannot be in the future."
    elif d < EARLIEST_DATE:
        problems[field] = f"The date cannot be before {EARLIEST_DATE.isoformat()}: check the year."
    return d


def patient_fields(data: dict) -> dict:
    """A new patient's columns from form or JSON fields; FormError names each wrong field."""
    problems: dict[str, str] = {}
    fields = {k: str(data.get(k) or "").strip() for k in ("mrn", "family_name", "given_name", "affected_side")}
    for k, label in (("mrn", "MRN"), ("family_name", "Family name"), ("given_name", "Given name")):
        if not fields[k]:
            problems[k] = f"{label} is required."
        elif len(fields[k]) > 100:
            problems[k] = f"{label} is too long (100 characters at most)."
    if fields["affected_side"] not in SIDES:
        problems["affected_side"] = "Choose the patient's own affected side: left or right."
    birth = parse_date(data.get("birth_date"), "birth_date", problems)
    if problems:
        raise FormError("Please correct the marked fields.", problems)
    return fields | {"birth_date": birth}


def visit_fields(patient: Patient, data: dict) -> dict:
    """A new visit's columns (date default today; not in the future nor before the patient's birth)."""
    problems: dict[str, str] = {}
    raw = (data.get("visit_date") or "").strip() or date.today().isoformat()
    d = parse_date(raw, "visit_date", problems)
    if d is not None and not problems and d < patient.birth_date:
        problems["visit_date"] = f"The visit cannot be before the patient's birth ({patient.birth_date.isoformat()})."
    note = str(data.get("note") or "")[:2000]
    if problems:
        raise FormError("Please correct the marked fields.", problems)
    return {"visit_date": d, "note": note}


def may_enter(user: User, key: str) -> bool:
    """Whether `user` may enter scale `key` on the scale form (staff only)."""
    if key not in SCALES:
        return False
    if user.role == "patient":
        # A patient answers only a questionnaire given to them, on the clinic's licensed wording
        # (web/questionnaires.py): never a bare form of item numbers.
        return False
    return True


def score_row(user: User, visit: Visit, key: str, items: dict) -> ScaleScore:
    """A scale's score from its items, not yet added (FormError: unknown scale, not the user's to
    enter, or items out of range)."""
    if key not in SCALES:
        raise FormError(f"Unknown scale {key!r}.", status=404)
    if not may_enter(user, key):
        raise FormError(f"{SCALES[key].title} is graded by a clinician." if key not in PATIENT_SCALES else
                        "Questionnaires are answered from the to-do on your page, when your clinic gives you one.",
                        status=403)
    items = {k: v for k, v in items.items() if v not in (None, "") and k in {i.key for i in SCALES[key].items}}
    try:
        r = SCALES[key].score(items)
    except ScaleInputError as e:
        raise FormError(str(e), e.problems) from None
    return ScaleScore(visit_id=visit.id, scale=key, version=r.version, total=r.total, better=str(r.better),
                      unit=r.unit, label=r.label, result=r.to_dict(), entered_by=user.id)


def upload_protocols() -> list[tuple[str, str]]:
    """(key, name) of the protocols an upload can follow (the guided one is the webcam recorder's)."""
    from ..protocols import builtin_protocols

    return [(k, p.name) for k, p in builtin_protocols().items() if k != GUIDED]


def protocol_choice(raw: str | None, step_times: list | None) -> str | None:
    """The protocol a new recording follows: the guided one with step times, else the chosen one or None."""
    if step_times:
        return GUIDED  # the webcam recorder's steps
    key = (raw or "").strip()
    if not key:
        return None
    known = [k for k, _ in upload_protocols()]
    if key not in known:
        raise FormError(f"Unknown protocol {key[:40]!r}: choose one of the list, or none.",
                        {"protocol": "one of: " + ", ".join(known)})
    return key


def storage_error(e: OSError) -> FormError:
    """The server's disk is full or read-only: the clinic's administrator must act, not the uploader."""
    log.error("upload not stored: %s (%s)", e.strerror or type(e).__name__, e.filename)
    return FormError("The server could not store the file: its storage is full or not writable. Nothing was "
                     "stored. Tell the clinic's administrator, then upload again.", status=503)
