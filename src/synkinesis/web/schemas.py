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
    affected_side: str = Field(description="the patient's own side: left or right")


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
    deleted: int = Field(description="the deleted patient's id")


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
