"""House–Brackmann facial nerve grading system (House & Brackmann 1985, Otolaryngol Head Neck
Surg 93:146). Grade I (normal) … VI (total paralysis); a lower grade is better.

Three ways in, usable together:

1. the clinician's grade, entered directly (`grade`: I–VI or 1–6) — this is the result when given;
2. decision keys: yes/no answers walked through `suggest_grade`, giving a *suggested* grade;
3. the measured variant: upward movement of the brow mid-point and lateral movement of the
   oral commissure in cm, 1 point per 0.25 cm up to 1 cm each, total out of 8, mapped to a grade
   by `HB_MEASURED_GRADE_CUTOFFS`.

Confirmed (scales-verified.md §4): the measured variant and its point → grade table (Physiopedia's
House–Brackmann table: I 8/8, II 7/8, III 5–6/8, IV 3–4/8, V 1–2/8, VI 0/8; same table gives the
function % of each grade, `HB_FUNCTION_PERCENT`), and the decision keys (Medscape's grade table).
Unconfirmed (named in `SCALE.notes`): that a partial 0.25-cm step earns no point (rounding down
is our reading of "1 point per 0.25 cm"; no source states the rule).

When more than one is given, the clinician's grade wins over the keys, the keys over the
measurement, and any disagreement is flagged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .base import (Better, Item, Number, Ordinal, ScaleInputError, Scale, ScoreResult, Subscore,
                   YesNo, parse_items, subscore_fields)

VERSION = "house-brackmann-1985/v1"
TITLE = "House–Brackmann"

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}
GRADE_NAMES = {1: "normal", 2: "mild dysfunction", 3: "moderate dysfunction",
               4: "moderately severe dysfunction", 5: "severe dysfunction", 6: "total paralysis"}
GRADE_RANGE = (1.0, 6.0)

# Measured variant, House & Brackmann 1985: minimum points out of 8 → grade.
# I 8/8; II 7/8; III 5–6/8; IV 3–4/8; V 1–2/8; VI 0/8 (Physiopedia House–Brackmann table).
HB_MEASURED_GRADE_CUTOFFS: tuple[tuple[int, int], ...] = ((8, 1), (7, 2), (5, 3), (3, 4), (1, 5), (0, 6))
# The same published table's "function %" column (share of normal movement → grade), for reference.
HB_FUNCTION_PERCENT: dict[int, tuple[int, int]] = {1: (100, 100), 2: (76, 99), 3: (51, 75), 4: (26, 50),
                                                   5: (1, 25), 6: (0, 0)}
HB_SOURCE_TABLE = "Physiopedia, House–Brackmann Scale (https://www.physio-pedia.com/House%E2%80%93Brackmann_Scale)"
NOTES = ("Unconfirmed: a movement between two 0.25-cm steps is credited the lower step (our reading "
         "of '1 point per 0.25 cm'; scales-verified.md §4).",)

CM_PER_POINT = 0.25
MAX_POINTS_PER_SITE = 4  # i.e. movement is credited up to 1 cm

# Questions of the decision helper, in the order they are asked; yes is always the healthy answer.
DECISION_QUESTIONS = {
    "any_motion": "any visible movement on the affected side?",
    "eye_closes_completely": "does the eye close completely (with maximal effort)?",
    "symmetric_at_rest": "normal symmetry and tone at rest?",
    "forehead_moves": "does the forehead move at all?",
    "eye_closes_with_minimal_effort": "does the eye close completely with minimal effort?",
    "normal_function": "normal function in all areas (no weakness, no synkinesis)?",
}
DECISION_KEYS = tuple(DECISION_QUESTIONS)

ITEMS: tuple[Item, ...] = (
    Ordinal(key="grade", name="grade", section="clinician", lo=1, hi=6,
            names={roman: g for g, roman in ROMAN.items()}, anchors=GRADE_NAMES, better=Better.LOWER,
            required=False, help="The clinician's House–Brackmann grade: "
                                 + "; ".join(f"{ROMAN[g]} {n}" for g, n in GRADE_NAMES.items())),
    *(YesNo(key=k, name=k.replace("_", " "), section="decision key", help=q.capitalize(), required=False)
      for k, q in DECISION_QUESTIONS.items()),
    Number(key="brow_cm", name="brow movement", section="measured", lo=0, hi=5, unit="cm",
           better=Better.HIGHER, required=False,
           help="Upward movement of the brow mid-point on the affected side, in cm."),
    Number(key="commissure_cm", name="commissure movement", section="measured", lo=0, hi=5, unit="cm",
           better=Better.HIGHER, required=False,
           help="Lateral movement of the oral commissure on the affected side, in cm."),
)


def grade_label(grade: int) -> str:
    return f"{ROMAN[grade]} ({GRADE_NAMES[grade]})"


def suggest_grade(*, any_motion: bool | None, eye_closes_completely: bool | None = None,
                  symmetric_at_rest: bool | None = None, forehead_moves: bool | None = None,
                  eye_closes_with_minimal_effort: bool | None = None,
                  normal_function: bool | None = None) -> tuple[int, str]:
    """A suggested grade from yes/no decision keys, and the path that led there.

    Derived from the House & Brackmann 1985 table: no motion → VI; incomplete eye closure → IV
    (symmetric at rest) or V (asymmetric at rest); complete closure → III or better, where eye
    closure is the III/IV divide as most versions of the table teach; III if the forehead does not
    move or closure needs effort; otherwise II, or I if function is normal everywhere. Only the
    answers on the path are needed. A suggestion: the clinician's grade decides.

    >>> suggest_grade(any_motion=True, eye_closes_completely=False, symmetric_at_rest=True)
    (4, 'any motion: yes; eye closes completely: no; symmetric at rest: yes')
    """
    answers = dict(any_motion=any_motion, eye_closes_completely=eye_closes_completely,
                   symmetric_at_rest=symmetric_at_rest, forehead_moves=forehead_moves,
                   eye_closes_with_minimal_effort=eye_closes_with_minimal_effort,
                   normal_function=normal_function)
    path: list[str] = []

    def ask(key: str) -> bool:
        answer = answers[key]
        if answer is None:
            after = f" (after {'; '.join(path)})" if path else ""
            message = (f"{TITLE} decision key '{key.replace('_', ' ')}' is needed{after}: "
                       f"{DECISION_QUESTIONS[key]} Answer yes or no.")
            raise ScaleInputError(message, {key: message})
        path.append(f"{key.replace('_', ' ')}: {'yes' if answer else 'no'}")
        return answer

    if not ask("any_motion"):
        grade = 6
    elif not ask("eye_closes_completely"):
        grade = 4 if ask("symmetric_at_rest") else 5
    elif not ask("forehead_moves") or not ask("eye_closes_with_minimal_effort"):
        grade = 3
    else:
        grade = 1 if ask("normal_function") else 2
    return grade, "; ".join(path)


def movement_points(cm: float) -> int:
    """1 point per *full* 0.25 cm of movement, at most 4 (1 cm). Rounding down is our reading of
    "1 point per 0.25 cm" (unconfirmed: see `NOTES`)."""
    return min(MAX_POINTS_PER_SITE, math.floor(cm / CM_PER_POINT + 1e-9))  # 1e-9: 0.75/0.25 in floats


def measured_grade(brow_cm: float, commissure_cm: float) -> tuple[int, int]:
    """(points out of 8, grade) from the two movements, via `HB_MEASURED_GRADE_CUTOFFS`.

    >>> measured_grade(1.0, 0.6)
    (6, 3)
    """
    points = movement_points(brow_cm) + movement_points(commissure_cm)
    grade = next(g for minimum, g in HB_MEASURED_GRADE_CUTOFFS if points >= minimum)
    return points, grade


def score(items: Mapping[str, object]) -> ScoreResult:
    """House–Brackmann grade from any of: `grade`; the decision keys; `brow_cm` + `commissure_cm`."""
    values = parse_items(TITLE, ITEMS, items)
    keys_given = any(k in values for k in DECISION_KEYS)
    measured = [k for k in ("brow_cm", "commissure_cm") if k in values]
    if "grade" not in values and not keys_given and not measured:
        raise ScaleInputError(
            f"{TITLE} needs the clinician's grade (grade=I…VI), the decision keys "
            f"({', '.join(DECISION_KEYS)}) or both measured movements (brow_cm, commissure_cm).")
    if len(measured) == 1:
        other = "commissure_cm" if measured == ["brow_cm"] else "brow_cm"
        message = f"{TITLE}: the measured grade needs both brow_cm and commissure_cm; {other} is missing."
        raise ScaleInputError(message, {other: message})

    parts: list[Subscore] = []
    grades: dict[str, int] = {}  # source → grade, in order of precedence
    flags: list[str] = []
    if "grade" in values:
        grades["clinician"] = int(values["grade"])
    if keys_given:
        key_grade, path = suggest_grade(**{k: values.get(k) for k in DECISION_KEYS})  # type: ignore[arg-type]
        grades["decision keys"] = key_grade
        parts.append(Subscore("key_grade", key_grade, GRADE_RANGE, Better.LOWER))
        flags.append(f"decision keys → grade {ROMAN[key_grade]} ({path})")
        flags.extend(_key_conflicts(values, key_grade))
    if measured:
        brow, comm = float(values["brow_cm"]), float(values["commissure_cm"])
        points, m_grade = measured_grade(brow, comm)
        grades["measurement"] = m_grade
        parts += [Subscore("measured_grade", m_grade, GRADE_RANGE, Better.LOWER),
                  Subscore("measured_points", points, (0.0, 8.0), Better.HIGHER),
                  Subscore("brow_points", movement_points(brow), (0.0, 4.0), Better.HIGHER),
                  Subscore("commissure_points", movement_points(comm), (0.0, 4.0), Better.HIGHER)]

    source, grade = next(iter(grades.items()))
    if source != "clinician":
        flags.insert(0, f"grade from {source}, not entered by a clinician")
    for other, g in list(grades.items())[1:]:
        if g != grade:
            flags.append(f"disagreement: {other} → grade {ROMAN[g]}, "
                         f"but the {source} grade is {ROMAN[grade]}")
    return ScoreResult(
        scale="hb", version=VERSION, total=float(grade), total_range=GRADE_RANGE, better=Better.LOWER,
        unit="grade", flags=tuple(flags), items=values, label=grade_label(grade),
        **subscore_fields(parts),
    )


def _key_conflicts(values: Mapping[str, object], key_grade: int) -> list[str]:
    """Answers that the HB 1985 table says should not occur together: worth a second look."""
    notes = []
    if values.get("eye_closes_completely") is True:
        if values.get("symmetric_at_rest") is False:
            notes.append("asymmetry at rest is a grade V sign, yet the eye closes completely: check")
        if values.get("forehead_moves") is False:
            notes.append("no forehead movement with complete eye closure: graded III on eye closure "
                         "(the 1985 table lists slight forehead movement for III, none for IV)")
    if values.get("normal_function") is True and key_grade != 1:
        notes.append("'normal function' answered yes, but other answers show weakness")
    return notes


SCALE = Scale(
    key="hb", title="House–Brackmann Facial Nerve Grading System", version=VERSION,
    source="House JW, Brackmann DE. Otolaryngol Head Neck Surg 1985;93:146-7.",
    summary="Grade I (normal) to VI (total paralysis). Enter the clinician's grade, and/or "
            "yes/no decision keys for a suggested grade, and/or brow and commissure movement in cm "
            "for the measured variant.",
    items=ITEMS, total_range=GRADE_RANGE, better=Better.LOWER, unit="grade", score=score, notes=NOTES,
)
