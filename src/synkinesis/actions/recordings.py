"""Recordings and their analyses: upload, retry, correct a guided recording's steps, and the worker's
replacing of an analysis and deleting of the original for privacy — each with its audit row."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from sqlalchemy.orm import Session

from ..errors import InvalidInput
from ..records import analyses
from ..records.analyses import jsonable
from ..records.checks import FormError, protocol_choice, storage_error
from ..records.media import check_media, display_name, media_checks, move_into_place, recording_dir, spool_upload
from ..store.models import Analysis, Job, Recording, Visit
from .base import Action, Actor, audit


async def add_recording(db: Session, actor: Actor, settings, visit: Visit, upload, step_times: list | None = None,
                        protocol: str | None = None) -> Recording:
    """Validate and store an upload, and queue its analysis. Nothing is kept if any step fails.
    `protocol`: the recording protocol a video follows (its expressions are graded), or None.

    No database connection is held while the file is spooled and checked (seconds, for a video):
    the read transaction is ended first and the rows (recording, job, audit) are written in one
    short one afterwards."""
    protocol = protocol_choice(protocol, step_times)
    if upload is None or not hasattr(upload, "read"):
        raise FormError("Choose a video or photo to upload.", {"file": "required"})
    patient_id, visit_id = visit.patient_id, visit.id
    db.commit()  # ends the read transaction: its connection goes back to the pool during the media work
    try:
        tmp = await spool_upload(upload, settings.tmp_dir, settings.max_upload_bytes)
    except OSError as e:
        raise storage_error(e) from None
    final = None
    try:
        name = display_name(upload.filename)
        kind = await asyncio.get_running_loop().run_in_executor(media_checks(), check_media, tmp, name,
                                                                settings.face_check_frames)
        if protocol and kind != "video":
            raise FormError("A photo has no movements to grade: upload it with no protocol, or upload a video of "
                            "the protocol.", {"protocol": "only for videos"})
        rec = Recording(visit_id=visit_id, kind=kind, original_name=name, media_path=None,
                        size_bytes=tmp.stat().st_size, step_times=step_times, protocol=protocol,
                        created_by=actor.user_id)
        db.add(rec)
        db.flush()
        final = recording_dir(settings.media_dir, patient_id, rec.id) / f"original{tmp.suffix}"
        move_into_place(tmp, final)
        rec.media_path = str(final.relative_to(settings.data_dir))
        db.add(Job(recording_id=rec.id, status="queued", progress=0.0, attempts=0))
        audit(db, actor, Action.CREATE, "recording", rec.id, patient_id)
        db.commit()
        return rec
    except BaseException as e:
        db.rollback()
        if final is not None:
            shutil.rmtree(final.parent, ignore_errors=True)
        if isinstance(e, OSError):
            raise storage_error(e) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)


def retry_recording(db: Session, actor: Actor, rec: Recording) -> Job:
    """Queue a failed analysis again. Only what failed: a finished analysis is never redone by a
    click (the original may be gone, and the stored result is what the clinic relies on)."""
    job = rec.job
    if job is None:
        job = Job(recording_id=rec.id)
        db.add(job)
    elif job.status in ("queued", "running"):
        raise FormError("This analysis is already queued or running.", status=409)
    elif job.status != "failed":
        raise FormError("This analysis has finished; only a failed analysis can be retried.", status=409)
    job.status, job.progress, job.error, job.finished_at = "queued", 0.0, None, None
    db.flush()
    audit(db, actor, Action.RETRY, "recording", rec.id, rec.visit.patient_id)
    db.commit()
    return job


def correct_steps(db: Session, actor: Actor, settings, rec: Recording, steps: list[dict] | None) -> dict:
    """Grade a protocol recording's expressions again with corrected step times (None: the times the
    guided recorder stored, or the steps found automatically). Nothing changes when the times are
    not valid (FormError says why). Returns the new assessment."""
    a = rec.analysis
    if a is None or not rec.protocol or rec.kind != "video":
        raise FormError("Only an analysed video that follows a protocol (a guided recording, or an upload with a "
                        "protocol) is graded per expression; this recording is not one.", status=409)
    if rec.job is not None and rec.job.status in ("queued", "running"):
        raise FormError("This recording is being analysed again; correct its steps when that has finished.",
                        status=409)
    try:
        assessment = jsonable(analyses.regrade(settings.data_dir, a, rec.protocol,
                                              rec.step_times if steps is None else steps, corrected=steps is not None))
    except InvalidInput as e:
        raise FormError(str(e), {"steps": str(e)}) from None
    except OSError:
        raise FormError("The stored measures of this recording are missing, so its steps cannot be graded again. "
                        "Analyse it again (Retry) if the original is kept, or upload it again.", status=409) from None
    result = {**a.result, "assessment": assessment}  # a new dict: the JSON column sees the change
    known = assessment.get("step_times") if not assessment.get("refused") else None
    if known:  # the corrected steps also name the movements the synkinesis indices are measured in
        from ..pipeline import analyze_measured

        ana = analyze_measured(analyses.stored_measured(settings.data_dir, a), a.affected_side, steps=known,
                               protocol=rec.protocol)
        fresh = jsonable(ana.to_dict())
        result.update(indices=fresh["indices"], headline=fresh["headline"], episodes=fresh["episodes"],
                      rest=fresh["rest"])
        a.indices_version = str(fresh["indices"].get("version", ""))
    a.result = result
    db.flush()
    audit(db, actor, Action.CORRECT_STEPS, "recording", rec.id, rec.visit.patient_id)
    db.commit()
    return assessment


def replace_analysis(db: Session, actor: Actor, data_dir: Path, rec: Recording, side: str, columns: dict,
                     keep_original: bool) -> tuple[Path | None, Path | None]:
    """The worker's finished analysis replaces the recording's previous one; without the clinic's
    consent to keep originals, the original video is let go too. Adds the audit rows and leaves the
    commit to the caller (with the job's status, one transaction). Returns (folder of the replaced
    analysis, original file) to remove from disk once committed."""
    replaced = original = None
    patient_id = rec.visit.patient_id
    if rec.analysis is not None:
        replaced = (data_dir / rec.analysis.table_path).parent
        db.delete(rec.analysis)
        db.flush()
    new = Analysis(recording_id=rec.id, affected_side=side, **columns)
    db.add(new)
    db.flush()
    audit(db, actor, Action.REPLACE_ANALYSIS, "recording", rec.id, patient_id)
    if not keep_original and rec.media_path:
        original = data_dir / rec.media_path  # deleted once the analysis is committed
        rec.media_path = None
        audit(db, actor, Action.DELETE_ORIGINAL, "recording", rec.id, patient_id)
    return replaced, original
