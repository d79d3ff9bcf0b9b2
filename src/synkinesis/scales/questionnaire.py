"""Patient-reported questionnaires (SAQ, FaCE) without invented wording.

A validated questionnaire is valid only with its validated wording, which is licensed and which
this project does not ship. Two ways in, both scored by the scale module itself:

1. **Transcription** (`transcribe`): a clinician copies a completed paper form — item numbers
   and the response numbers as printed on it. No wording is needed or shown.
2. **Self-entry on licensed wording** (`Wording`): a clinic loads its licensed wording as a JSON
   file (`load_wording`); patients answer on that wording, and their answers are scored through
   the same path as a transcription (`Wording.score`).

The wording file holds what is printed and nothing else: instrument, language, licence note,
instructions, the items in printed order and each item's response labels in printed order, each
with the number printed beside it. Reverse-coding is the scale module's business (e.g.
`face.FACE_REVERSED_ITEMS`), never the file's: a file with scoring fields is rejected.

    {"format": "synkinesis-questionnaire-wording/1", "instrument": "saq", "language": "en",
     "title": "…", "licence": "…", "instructions": "…",
     "responses": [{"value": 1, "label": "…"}, …, {"value": 5, "label": "…"}],
     "items": [{"number": 1, "text": "…"}, …]}

`responses` at the top is the default for every item; an item may carry its own `responses`
(FaCE items have different labels per item).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from synkinesis.errors import InvalidInput

from . import SCALES, ScoreResult
from .base import Ordinal, ScaleInputError

WORDING_FORMAT = "synkinesis-questionnaire-wording/1"
# Patient-reported instruments: items q1…qN, each answered with a printed response number.
QUESTIONNAIRES = ("saq", "face")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")  # BCP 47 as used in practice: en, nl, pt-BR


class WordingError(InvalidInput):
    """A wording file was rejected; `problems` lists every reason, in words."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


def _items(instrument: str) -> list[Ordinal]:
    items = [i for i in SCALES[instrument].items if isinstance(i, Ordinal)]
    assert len(items) == len(SCALES[instrument].items), "questionnaires have ordinal items only"
    return items


def _title(instrument: str) -> str:
    return {"saq": "SAQ", "face": "FaCE"}[instrument]


# ------------------------------------------------------------------------------ transcription


def check_instrument(instrument: str) -> str:
    if instrument not in QUESTIONNAIRES:
        raise ScaleInputError(f"{instrument!r} is not a patient questionnaire; questionnaires: "
                              f"{', '.join(QUESTIONNAIRES)}.")
    return instrument


def item_number(raw: object, n_items: int) -> int:
    """An item number from 12, "12", "q12" or "item 12"; ValueError otherwise."""
    if isinstance(raw, bool):
        raise ValueError
    if isinstance(raw, int):
        n = raw
    else:
        m = re.fullmatch(r"\s*(?:q|item\s*)?(\d+)\s*", str(raw), flags=re.IGNORECASE)
        if not m:
            raise ValueError
        n = int(m.group(1))
    if not 1 <= n <= n_items:
        raise ValueError
    return n


def transcribe(instrument: str, answers: Mapping[object, object]) -> ScoreResult:
    """Score a paper form from item numbers → printed response numbers, exactly as the scale
    module scores it (the same `score`, the same validation and messages).

    >>> transcribe("saq", {n: 3 for n in range(1, 10)}).total
    60.0
    """
    check_instrument(instrument)
    items = _items(instrument)
    if not isinstance(answers, Mapping):
        raise ScaleInputError(f"{_title(instrument)}: answers must map item numbers to the printed "
                              f"response numbers; got {type(answers).__name__}.")
    values: dict[str, object] = {}
    problems: dict[str, str] = {}
    for raw, response in answers.items():
        try:
            n = item_number(raw, len(items))
        except ValueError:
            problems[str(raw)] = (f"{_title(instrument)} has items 1–{len(items)}; "
                                  f"there is no item {raw!r}.")
            continue
        if f"q{n}" in values:
            problems[f"q{n}"] = f"{_title(instrument)} item {n} was given more than once."
        values[f"q{n}"] = response
    if problems:
        raise ScaleInputError(" ".join(problems.values()), problems)
    return SCALES[instrument].score(values)


def transcription_form(instrument: str) -> dict[str, Any]:
    """What a transcription form needs: the items by number and the response numbers allowed."""
    check_instrument(instrument)
    return {"instrument": instrument, "title": SCALES[instrument].title,
            "items": [{"number": k, "key": i.key, "min": i.lo, "max": i.hi}
                      for k, i in enumerate(_items(instrument), start=1)]}


# -------------------------------------------------------------------------------- wording file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ResponseOption(_Strict):
    """One printed response: the number printed beside it and its label."""

    value: int
    label: str = Field(min_length=1)


class WordingItem(_Strict):
    number: int
    text: str = Field(min_length=1)
    responses: tuple[ResponseOption, ...] | None = None


class Wording(_Strict):
    """A clinic's licensed wording of one questionnaire in one language, validated."""

    format: Literal["synkinesis-questionnaire-wording/1"]
    instrument: str
    language: str
    title: str = Field(min_length=1)
    licence: str = Field(min_length=1)
    edition: str | None = None  # e.g. the translation's name and year, as the licence names it
    instructions: str = Field(min_length=1)
    responses: tuple[ResponseOption, ...] | None = None
    items: tuple[WordingItem, ...]

    @field_validator("instrument")
    @classmethod
    def _instrument(cls, v: str) -> str:
        if v not in QUESTIONNAIRES:
            raise ValueError(f"must be one of {', '.join(QUESTIONNAIRES)}")
        return v

    @field_validator("language")
    @classmethod
    def _language(cls, v: str) -> str:
        if not _LANGUAGE.match(v):
            raise ValueError("must be a language tag such as 'en', 'nl' or 'pt-BR'")
        return v

    @model_validator(mode="after")
    def _matches_the_instrument(self) -> "Wording":
        problems: list[str] = []
        spec = _items(self.instrument)
        numbers = [i.number for i in self.items]
        expected = list(range(1, len(spec) + 1))
        if sorted(numbers) != expected:
            missing = sorted(set(expected) - set(numbers))
            extra = sorted(set(numbers) - set(expected))
            repeated = sorted({n for n in numbers if numbers.count(n) > 1})
            parts = [f"missing item(s) {', '.join(map(str, missing))}" if missing else "",
                     f"unknown item number(s) {', '.join(map(str, extra))}" if extra else "",
                     f"item(s) {', '.join(map(str, repeated))} listed more than once" if repeated else ""]
            problems.append(f"{_title(self.instrument)} has items 1–{len(spec)}, each exactly once: "
                            + "; ".join(p for p in parts if p) + ".")
        for item in self.items:
            responses = item.responses if item.responses is not None else self.responses
            if responses is None:
                problems.append(f"item {item.number} has no response labels (give 'responses' for the "
                                "item or for the whole questionnaire).")
                continue
            if 1 <= item.number <= len(spec):
                allowed = list(range(spec[item.number - 1].lo, spec[item.number - 1].hi + 1))
                got = [r.value for r in responses]
                if sorted(got) != allowed:
                    problems.append(f"item {item.number}: the printed response numbers must be "
                                    f"{', '.join(map(str, allowed))}, each once; got {', '.join(map(str, got))}.")
            labels = [r.label for r in responses]
            if len(set(labels)) != len(labels):
                problems.append(f"item {item.number}: two responses have the same label.")
        texts = [self.title, self.instructions, *(i.text for i in self.items),
                 *(r.label for i in self.items for r in (i.responses or ())), *(r.label for r in self.responses or ())]
        if any("(verify)" in t.lower() for t in texts):
            problems.append("the wording contains '(verify)': load only the final licensed wording.")
        if problems:
            raise ValueError(" ".join(problems))
        return self

    # --- use
    @property
    def key(self) -> str:
        """How a clinic's store files this wording: "<instrument>:<language>"."""
        return f"{self.instrument}:{self.language}"

    def responses_for(self, number: int) -> tuple[ResponseOption, ...]:
        """The responses of item `number` in printed order."""
        item = next(i for i in self.items if i.number == number)
        return item.responses if item.responses is not None else self.responses  # type: ignore[return-value]

    def form(self) -> dict[str, Any]:
        """The questionnaire as printed, for a self-entry page: no scoring information at all."""
        return {"instrument": self.instrument, "language": self.language, "title": self.title,
                "licence": self.licence, "instructions": self.instructions,
                "items": [{"number": i.number, "text": i.text,
                           "responses": [{"value": r.value, "label": r.label} for r in self.responses_for(i.number)]}
                          for i in self.items]}

    def score(self, answers: Mapping[object, object]) -> ScoreResult:
        """Score a patient's answers (item number → the chosen response's printed number) exactly
        as a transcription of the same form."""
        return transcribe(self.instrument, answers)


def _where(loc: tuple) -> str:
    """Pydantic's location ("items", 3, "responses", 0, "label") in words: "item 4, response 1, label"."""
    words, i = [], 0
    while i < len(loc):
        part = loc[i]
        if part in ("items", "responses") and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            words.append(f"{'item' if part == 'items' else 'response'} {loc[i + 1] + 1} (in printed order)")
            i += 2
            continue
        words.append(str(part))
        i += 1
    return ", ".join(words) or "the file"


def load_wording(source: str | Path | bytes | Mapping[str, Any]) -> Wording:
    """A validated `Wording` from a JSON file path, JSON text/bytes or an already parsed dict.
    Raises `WordingError` listing every problem in words (what is wrong, where, what to do)."""
    data: Any = source
    if isinstance(source, Path):
        try:
            data = source.read_text(encoding="utf-8")
        except OSError as e:
            raise WordingError(f"Cannot read the wording file {source}: {e.strerror or e}.") from None
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise WordingError("The wording file is not UTF-8 text: save it as UTF-8 JSON.") from None
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as e:
            raise WordingError(f"The wording file is not valid JSON (line {e.lineno}, column {e.colno}: "
                               f"{e.msg}).") from None
    if not isinstance(data, Mapping):
        raise WordingError("The wording file must be a JSON object with instrument, language, licence, "
                           "instructions and items.")
    if data.get("format") != WORDING_FORMAT:
        raise WordingError(f"The wording file must say \"format\": \"{WORDING_FORMAT}\"; "
                           f"got {data.get('format')!r}.")
    try:
        return Wording.model_validate(dict(data))
    except ValidationError as e:
        problems = []
        for err in e.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = ("is not part of the wording format (scoring, such as reverse-coding, belongs "
                       "to the scale, not to the wording)")
            elif err["type"] == "missing":
                msg = "is missing"
            where = _where(tuple(err["loc"]))
            problems.append(msg if where == "the file" else f"{where}: {msg}")
        raise WordingError("The wording file was not loaded: " + " ".join(
            p if p.endswith(".") else p + "." for p in problems), problems) from None


__all__ = ["QUESTIONNAIRES", "WORDING_FORMAT", "ResponseOption", "Wording", "WordingError", "WordingItem",
           "check_instrument", "item_number", "load_wording", "transcribe", "transcription_form"]
