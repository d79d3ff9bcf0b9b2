"""Tables. Every measured number is stored with its unit, engine and formula version (inside the
analysis JSON, plus indexed columns for the versions) so a corrected formula can recompute a visit.

Health data (names, dates of birth, media, measures) live only in these tables and the media folder;
audit rows hold ids and actions, never health data.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (JSON, Boolean, Date, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint,
                        false)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


# A deleted row's id is never given to a new row (SQLite reuses the largest rowid without AUTOINCREMENT;
# PostgreSQL sequences never go back): an id in the audit trail, a URL or a live practice session
# always means one record (revision 0006).
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}

ROLES = ("admin", "clinician", "patient")


class Clinic(Base):
    __tablename__ = "clinics"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Privacy: False keeps only landmarks, measures and key frames once the analysis has run.
    keep_original_video: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # one of ROLES
    display_name: Mapped[str] = mapped_column(String(200), default="")
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    # Set for role "patient": the one record this account may see.
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    clinic: Mapped[Clinic] = relationship()


class WebSession(Base):
    """A logged-in browser. The cookie holds a random token; only its SHA-256 is stored."""
    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Failed and successful log-ins, for rate limiting across processes (added in revision 0002)."""
    __tablename__ = "login_attempts"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


# The cause of the facial palsy, a closed list in clinical words (revision 0008). None: not recorded
# (records made before the field existed).
CAUSES: dict[str, str] = {
    "bells_palsy": "Bell's palsy",
    "ramsay_hunt": "Ramsay Hunt syndrome (herpes zoster oticus)",
    "vestibular_schwannoma": "Vestibular schwannoma (acoustic neuroma) or its surgery",
    "other_tumour": "Other tumour or its surgery (e.g. parotid)",
    "trauma": "Trauma (e.g. temporal bone fracture, facial laceration)",
    "infection": "Other infection (e.g. Lyme disease, otitis media)",
    "congenital": "Congenital",
    "other": "Other",
    "unknown": "Unknown",
}


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("clinic_id", "mrn", name="uq_patients_clinic_mrn"), NEVER_REUSE_IDS)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    mrn: Mapped[str] = mapped_column(String(50))  # medical record number, unique per clinic
    family_name: Mapped[str] = mapped_column(String(100), index=True)
    given_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date, index=True)
    affected_side: Mapped[str] = mapped_column(String(5))  # patient's own (anatomical) "left" | "right"
    # Revision 0008. Bilateral palsy: `affected_side` is then the more affected side.
    cause: Mapped[str | None] = mapped_column(String(40))  # a key of CAUSES
    onset_date: Mapped[date | None] = mapped_column(Date)  # not in the future, not before birth
    bilateral: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    visits: Mapped[list[Visit]] = relationship(back_populates="patient", cascade="all, delete-orphan",
                                               passive_deletes=True, order_by="Visit.visit_date")

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    visit_date: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="visits")
    recordings: Mapped[list[Recording]] = relationship(back_populates="visit", cascade="all, delete-orphan",
                                                       passive_deletes=True, order_by="Recording.id")
    scores: Mapped[list[ScaleScore]] = relationship(back_populates="visit", cascade="all, delete-orphan",
                                                    passive_deletes=True, order_by="ScaleScore.id")


class Recording(Base):
    __tablename__ = "recordings"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "video" | "photo"
    original_name: Mapped[str] = mapped_column(String(255))
    # Relative to the data folder; None once the original is deleted for privacy.
    media_path: Mapped[str | None] = mapped_column(String(500))
    size_bytes: Mapped[int] = mapped_column(Integer)
    # Guided recording: [{"step": "rest", "prompt": ..., "start_s": 0.0, "end_s": 3.0}, ...]
    step_times: Mapped[list | None] = mapped_column(JSON)
    # The recording protocol it follows (a built-in key: "guided", "meei8", "scb"): its expressions are
    # graded per step (web/grading.py). None: a free recording (indices only).
    protocol: Mapped[str | None] = mapped_column(String(40))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    visit: Mapped[Visit] = relationship(back_populates="recordings")
    job: Mapped[Job | None] = relationship(back_populates="recording", cascade="all, delete-orphan",
                                           passive_deletes=True, uselist=False)
    analysis: Mapped[Analysis | None] = relationship(back_populates="recording", cascade="all, delete-orphan",
                                                     passive_deletes=True, uselist=False)


JOB_STATES = ("queued", "running", "done", "failed")


class Job(Base):
    """One analysis to run. Workers (threads or processes) claim queued rows with a conditional UPDATE."""
    __tablename__ = "jobs"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1
    error: Mapped[str | None] = mapped_column(Text)  # user-facing reason when failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # while running

    recording: Mapped[Recording] = relationship(back_populates="job")


class Analysis(Base):
    __tablename__ = "analyses"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), unique=True)
    affected_side: Mapped[str] = mapped_column(String(5))
    engine_version: Mapped[str] = mapped_column(String(200))
    formula_version: Mapped[str] = mapped_column(String(50))
    indices_version: Mapped[str] = mapped_column(String(50))
    result: Mapped[dict] = mapped_column(JSON)  # Analysis.to_dict(): provenance, units, episodes, indices, rest
    # Files relative to the data folder: per-frame table (Parquet, mm), landmarks (.npy, px), plot (PNG).
    table_path: Mapped[str] = mapped_column(String(500))
    landmarks_path: Mapped[str] = mapped_column(String(500))
    plot_path: Mapped[str | None] = mapped_column(String(500))
    # [{"label": "rest", "frame": 7, "time_s": 0.23, "path": "..."}, ...] with landmarks drawn
    key_frames: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    recording: Mapped[Recording] = relationship(back_populates="analysis")


class ScaleScore(Base):
    __tablename__ = "scale_scores"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    scale: Mapped[str] = mapped_column(String(30))  # key in synkinesis.scales.SCALES
    version: Mapped[str] = mapped_column(String(50))  # scale + formula version
    total: Mapped[float | None] = mapped_column(Float)
    better: Mapped[str] = mapped_column(String(10))  # "higher" | "lower"
    unit: Mapped[str] = mapped_column(String(30))
    label: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[dict] = mapped_column(JSON)  # ScoreResult.to_dict(), items included
    # The video estimate the form was prefilled from (web/scales.py `estimate_record`): recording and
    # analysis ids, engine/formula/estimates versions, estimated items; None when entered without one.
    estimate: Mapped[dict | None] = mapped_column(JSON)
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    visit: Mapped[Visit] = relationship(back_populates="scores")


class AuditEvent(Base):
    """Who did what to which record, when. No foreign keys: the trail outlives deleted rows."""
    __tablename__ = "audit_events"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    clinic_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(50))  # e.g. "read", "create", "update", "delete", "login"
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[int | None] = mapped_column(Integer)
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    ip: Mapped[str | None] = mapped_column(String(64))  # added in revision 0002


# --- Mirror-biofeedback practice (revision 0003) ------------------------------------------------

class PracticeProgramme(Base):
    """A clinician's home-practice prescription for one patient. Every change is a new row (the
    history shows which thresholds applied when); the newest row is the current programme."""
    __tablename__ = "practice_programmes"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    # [{"exercise": key, "reps", "hold_s", "rest_s", "threshold", "target", "sessions_per_day"}, ...]
    # (None: the exercise's default from synkinesis.live.EXERCISES)
    items: Mapped[list] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


PRACTICE_STATES = ("active", "interrupted", "finished")


class PracticeSession(Base):
    """One live practice of one exercise. Only numbers are kept (LiveSession.summary()), never video.
    Saved while it runs, so a lost camera or connection keeps what was done; a reconnect resumes it."""
    __tablename__ = "practice_sessions"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("practice_programmes.id", ondelete="SET NULL"))
    exercise: Mapped[str] = mapped_column(String(50))  # key in synkinesis.live.EXERCISES
    settings: Mapped[dict] = mapped_column(JSON)  # the exercise as practised (programme overrides applied)
    status: Mapped[str] = mapped_column(String(12), default="active", index=True)  # one of PRACTICE_STATES
    interrupted: Mapped[str | None] = mapped_column(String(200))  # why it stopped early, for the patient
    local_date: Mapped[date] = mapped_column(Date, index=True)  # the patient's calendar day (adherence)
    reps_done: Mapped[int] = mapped_column(Integer, default=0)
    reps_prescribed: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict | None] = mapped_column(JSON)  # LiveSession.summary()
    resume_state: Mapped[dict | None] = mapped_column(JSON)  # what a restarted server needs to continue
    engine_version: Mapped[str] = mapped_column(String(200), default="")
    formula_version: Mapped[str] = mapped_column(String(50), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- Treatments: Botox sessions with their injection points, surgeries (revision 0007) ----------

TREATMENT_KINDS = ("botox", "surgery")


class Treatment(Base):
    """One Botox session or one surgery of one patient. The checked record (treatments.records
    `botox_to_dict` / `surgery_to_dict`, points left out) is kept whole in `details`; what lists,
    the due list and the timeline filter on is in columns."""
    __tablename__ = "treatments"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)  # one of TREATMENT_KINDS
    date: Mapped[date] = mapped_column(Date, index=True)
    product: Mapped[str | None] = mapped_column(String(40))  # Botox: treatments.vocab.PRODUCTS key
    surgery_type: Mapped[str | None] = mapped_column(String(40))  # surgery: treatments.vocab.SURGERY_TYPES key
    side: Mapped[str | None] = mapped_column(String(10))  # surgery: right | left | both
    details: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    points: Mapped[list[InjectionPointRow]] = relationship(back_populates="treatment", cascade="all, delete-orphan",
                                                           passive_deletes=True, order_by="InjectionPointRow.seq")


class InjectionPointRow(Base):
    """One injection of a Botox session. Units are the session product's own (never converted);
    the position is a face-mesh anchor (treatments.face_map.Anchor.to_dict()) or None."""
    __tablename__ = "injection_points"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(primary_key=True)
    treatment_id: Mapped[int] = mapped_column(ForeignKey("treatments.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # order as entered
    muscle: Mapped[str] = mapped_column(String(40))  # treatments.vocab.MUSCLES key
    muscle_other: Mapped[str] = mapped_column(String(200), default="")
    side: Mapped[str] = mapped_column(String(10))  # anatomical: right | left | midline
    purpose: Mapped[str] = mapped_column(String(20))  # synkinesis | balancing | other
    units: Mapped[float] = mapped_column(Float)
    volume_ml: Mapped[float | None] = mapped_column(Float)
    approach: Mapped[str] = mapped_column(String(20))  # transcutaneous | intraoral
    position: Mapped[dict | None] = mapped_column(JSON)

    treatment: Mapped[Treatment] = relationship(back_populates="points")


class TreatmentSettings(Base):
    """A clinic's treatment settings; no row = the defaults (treatments.due, treatments.limits)."""
    __tablename__ = "treatment_settings"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), unique=True)
    botox_interval_days: Mapped[int] = mapped_column(Integer, default=84)  # 12 weeks
    follow_up_from_days: Mapped[int] = mapped_column(Integer, default=10)
    follow_up_to_days: Mapped[int] = mapped_column(Integer, default=28)
    # {product: {"site_warn", "session_warn", "side_warn": {purpose: U}, "site_ceiling", "session_ceiling",
    #  "window_days"}} in that product's own units (treatments.limits.limits_for)
    dose_limits: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- Questionnaires: a clinic's licensed wording, and questionnaires given to patients (revision 0009) ---

ASSIGNMENT_STATES = ("open", "done", "cancelled")


class QuestionnaireWording(Base):
    """A clinic's licensed wording of one questionnaire (SAQ, FaCE) in one language, as validated by
    `scales.questionnaire.load_wording`. Patients answer on it; scoring never reads it."""
    __tablename__ = "questionnaire_wordings"
    __table_args__ = (UniqueConstraint("clinic_id", "instrument", "language", name="uq_wording_clinic_instr_lang"),
                      NEVER_REUSE_IDS)
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    instrument: Mapped[str] = mapped_column(String(20))  # one of scales.questionnaire.QUESTIONNAIRES
    language: Mapped[str] = mapped_column(String(35))  # BCP 47 tag: en, nl, pt-BR
    title: Mapped[str] = mapped_column(String(300))
    wording: Mapped[dict] = mapped_column(JSON)  # Wording.model_dump(mode="json")
    loaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class QuestionnaireAssignment(Base):
    """A questionnaire a clinician gave a patient to fill in for one visit: a to-do on the patient's
    page until answered (`score_id` then points at the stored score) or cancelled."""
    __tablename__ = "questionnaire_assignments"
    __table_args__ = NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    instrument: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(35))
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)  # one of ASSIGNMENT_STATES
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    score_id: Mapped[int | None] = mapped_column(ForeignKey("scale_scores.id", ondelete="SET NULL"))

    patient: Mapped[Patient] = relationship()
    visit: Mapped[Visit] = relationship()
