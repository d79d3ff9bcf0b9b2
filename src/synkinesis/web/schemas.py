"""What the JSON API answers (its `response_model`s, shown at /docs). Extra keys are allowed so a
later field added to a service's dict is not silently dropped."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class Me(Out):
    id: int
    username: str
    role: str = Field(description="admin, clinician or patient")
    clinic_id: int | None
    patient_id: int | None = Field(description="a patient account's own record")


class PatientOut(Out):
    id: int
    mrn: str
    family_name: str
    given_name: str
    birth_date: str = Field(description="YYYY-MM-DD")
    affected_side: str = Field(description="the patient's own side: left or right (bilateral: the more affected)")
    cause: str | None = Field(None, description="cause of the palsy (a key of store.models.CAUSES); null: not recorded")
    onset_date: str | None = Field(None, description="YYYY-MM-DD; null: not recorded")
    bilateral: bool = Field(False, description="palsy on both sides")


class PatientList(Out):
    patients: list[PatientOut]


class JobStatus(Out):
    recording_id: int
    status: str = Field(description="none, queued, running, done or failed")
    progress: float = Field(description="0–1")
    error: str | None = Field(description="why the analysis failed, and what to do")
    attempts: int
    analysis_id: int | None


class UploadOut(JobStatus):
    url: str = Field(description="the recording's page")


class RecordingOut(JobStatus):
    id: int
    kind: str = Field(description="video or photo")
    original_name: str
    original_kept: bool = Field(description="false once the clinic's privacy setting let the original go")
    step_times: list[dict[str, Any]] | None
    protocol: str | None


class ScoreOut(Out):
    id: int
    visit_id: int
    scale: str
    version: str
    total: int | float | None
    label: str | None
    unit: str | None
    better: str = Field(description="higher or lower")
    better_text: str
    result: dict[str, Any]


class VisitOut(Out):
    id: int
    patient_id: int
    visit_date: str = Field(description="YYYY-MM-DD")
    note: str
    recordings: list[RecordingOut]
    scores: list[ScoreOut]


class PatientFull(PatientOut):
    visits: list[VisitOut]


class Deleted(Out):
    deleted: int = Field(description="the deleted record's id")


class AssessmentOut(Out):
    assessment: dict[str, Any] = Field(description="the per-expression grading with the corrected steps")


class KeyFrameOut(Out):
    label: str
    frame: int
    time_s: float
    url: str
    face_url: str | None = None  # cropped to the face (None: analysed before the crops)
    closeup_urls: dict[str, str] = {}  # eye_left, eye_right, mouth_left, mouth_right (patient's sides)


class AnalysisOut(Out):
    id: int
    recording_id: int
    affected_side: str
    engine_version: str
    formula_version: str
    indices_version: str
    key_frames: list[KeyFrameOut]
    result: dict[str, Any] = Field(description="provenance, units, episodes, indices, rest measures")


class AuditEventOut(Out):
    id: int
    at: str
    user_id: int | None
    username: str
    role: str
    action: str = Field(description="one of synkinesis.actions.Action")
    object_type: str
    object_id: int | None
    patient_id: int | None
    ip: str | None


class AuditLog(Out):
    events: list[AuditEventOut]


Number = int | float  # kept as stored (15 stays 15, 2.5 stays 2.5)


# --- visits' trends (GET /api/patients/{id}/trends)

class TrendMeasureInfo(Out):
    key: str
    name: str
    unit: str
    better: str


class TrendScore(Out):
    title: str
    better: str = Field(description="higher or lower")
    better_text: str
    points: list[dict[str, Any]] = Field(description="per visit: visit_id, date, total, label, unit, better, version")


class VisitTrends(Out):
    affected_side: str
    measures: list[dict[str, Any]] = Field(description="per analysed recording, oldest first: rest measures by side "
                                                       "(mm), their SDs, the ocular-oral excess and its MDC95, the "
                                                       "change from the previous visit")
    measure_info: list[TrendMeasureInfo]
    scores: dict[str, TrendScore] = Field(description="per scale key")


# --- the recording page's player (GET /api/recordings/{id}/frames)

class PlayerSeries(Out):
    name: str = Field(description="the patient's own side and whether it is affected or healthy")
    colour: str = Field(description="the side's colour (affected red, healthy blue), CSS")
    dashed: bool = Field(description="drawn dashed (the healthy side)")
    values: list[Number | None] = Field(description="one per frame, the row's unit; null where not measured")


class PlayerRow(Out):
    title: str
    unit: str
    series: list[PlayerSeries]


class PlayerSpan(Out):
    name: str = Field(description="the step or movement, in words")
    start: Number = Field(description="seconds from the start")
    end: Number = Field(description="seconds from the start")


class PlayerData(Out):
    time_s: list[Number] = Field(description="each frame's time, seconds")
    rows: list[PlayerRow]
    spans: list[PlayerSpan]


# --- questionnaires (web/questionnaires.py)

class WordingOut(Out):
    id: int
    instrument: str = Field(description="saq or face")
    language: str = Field(description="language code, as loaded")
    title: str
    loaded_at: str | None = Field(None, description="ISO date-time (in lists)")


class WordingList(Out):
    wordings: list[WordingOut]


class AssignmentOut(Out):
    id: int
    patient_id: int
    visit_id: int
    instrument: str
    language: str
    status: str = Field(description="open, done or cancelled")
    assigned_at: str = Field(description="ISO date-time")
    completed_at: str | None = Field(description="ISO date-time, once answered")
    score_id: int | None = Field(description="the stored score, once answered")
    wording_loaded: bool = Field(description="whether the clinic has the licensed wording to show the patient")


class AssignmentWithForm(AssignmentOut):
    form: dict[str, Any] | None = Field(description="instructions, items and response labels in printed order; "
                                                    "null when the wording was removed")


class QuestionnaireChange(Out):
    difference: Number = Field(description="points, later minus earlier")
    direction: str
    detectable: bool = Field(description="beyond the published detectable change")
    mdc: Number | None = Field(description="the published detectable change, points")
    text: str


class QuestionnairePoint(Out):
    score_id: int
    visit_id: int
    date: str
    total: Number | None = Field(description="points")
    shown: str = Field(description="the total as shown, rounded as the questionnaire publishes it")
    unit: str | None
    better: str
    entered: str = Field(description="answered by the patient, transcribed from paper, or entered on the form")
    change: QuestionnaireChange | None = Field(description="from the completion before; null for the first")


class PatientQuestionnaires(Out):
    assignments: list[AssignmentOut]
    scores: dict[str, list[QuestionnairePoint]] = Field(description="per questionnaire key (saq, face)")


# --- scales (GET /api/scales)

class ScaleInfo(Out):
    entered_by: str = Field(description="clinician or patient")


# --- practice

class ProgrammeItemOut(Out):
    exercise: str = Field(description="key in the exercise catalogue")
    name: str
    instructions: str
    reps: int
    hold_s: Number = Field(description="seconds")
    rest_s: Number = Field(description="seconds")
    threshold: Number = Field(description="unwanted-movement threshold, in the unwanted signal's unit")
    target: Number = Field(description="wanted movement that fills the bar, in the wanted signal's unit")
    sessions_per_day: int
    wanted: str
    unwanted: str
    wanted_unit: str = Field(description="mm or pct")
    unwanted_unit: str = Field(description="mm or pct")
    prescribed: dict[str, Any] = Field(description="what the clinician set (null: the exercise's default)")


class ProgrammeOut(Out):
    patient_id: int
    id: int | None = Field(description="null: no programme prescribed, the default applies")
    default: bool
    note: str
    created_at: str | None
    created_by: int | None
    items: list[ProgrammeItemOut]


class ExerciseOut(Out):
    key: str
    name: str
    instructions: str
    wanted: str
    unwanted: str
    wanted_target: Number
    threshold: Number
    hold_s: Number
    reps: int
    rest_s: Number
    wanted_unit: str
    unwanted_unit: str
    target_range: list[Number] = Field(description="[lowest, highest] target a clinician may set")


class ProgrammeWithCatalogue(ProgrammeOut):
    exercises: list[ExerciseOut]


class PracticeSessionOut(Out):
    id: int
    patient_id: int
    exercise: str
    name: str
    status: str = Field(description="active, finished or interrupted")
    interrupted: str | None = Field(description="why it stopped, when interrupted")
    local_date: str = Field(description="the patient's calendar day, YYYY-MM-DD")
    started_at: str
    updated_at: str
    ended_at: str | None
    reps_done: int
    reps_prescribed: int
    complete: bool
    settings: dict[str, Any] = Field(description="the exercise as prescribed for this session")
    summary: dict[str, Any] | None = Field(description="numbers only (never video): repetitions, medians")
    ws_url: str = Field(description="the session's WebSocket")


class AdherenceCounts(Out):
    prescribed: int
    complete: int
    partial: int
    reps: int
    share: float | None = Field(description="complete ÷ prescribed, 0–1; null when nothing was prescribed")


class AdherenceDay(AdherenceCounts):
    date: str


class AdherenceWeek(AdherenceCounts):
    week: str = Field(description="ISO week, YYYY-Www")


class Adherence(Out):
    sessions_per_day: int
    since: str
    days: list[AdherenceDay]
    weeks: list[AdherenceWeek] = Field(description="each with `from`: its Monday")


class ProgressPoint(Out):
    session_id: int
    date: str
    reps_done: int
    reps_prescribed: int
    threshold: Number | None
    median_unwanted: Number | None
    share_without_synkinesis: Number | None = Field(description="0–1")
    complete: bool


class ExerciseProgress(Out):
    name: str
    unwanted_signal: str | None
    unit: str = Field(description="% or mm")
    points: list[ProgressPoint]


class PracticeOverview(Out):
    programme: ProgrammeOut
    adherence: Adherence
    trends: dict[str, ExerciseProgress] = Field(description="practice progress per exercise key, oldest first")
    sessions: list[PracticeSessionOut] = Field(description="the latest 50, newest first")


# --- treatments (the rest of its shapes sit in web/treatments.py)

class TreatmentVocabulary(Out):
    products: list[dict[str, Any]]
    muscles: list[dict[str, Any]]
    purposes: dict[str, str]
    approaches: dict[str, str]
    point_sides: dict[str, str]
    surgery_types: dict[str, str]
    surgery_sides: dict[str, str]
    adverse_events: dict[str, str]


class MuscleSuggestion(Out):
    muscle: str
    side: str
    distance: Number
    label: str


class FaceMapSuggestions(Out):
    on_face: bool
    neck: bool = Field(description="below the jaw: only platysma is suggested")
    side: str | None
    suggestions: list[MuscleSuggestion]


class TreatmentSettingsOut(Out):
    botox_interval_days: int
    follow_up_from_days: int
    follow_up_to_days: int
    dose_limits: dict[str, Any] = Field(description="per product, in its own units")


class TreatmentSettingsInForce(TreatmentSettingsOut):
    limits_in_force: dict[str, dict[str, Any]] = Field(description="per product: the limits applied and their "
                                                                   "sources")
