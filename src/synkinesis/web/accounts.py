"""Accounts and administration: the clinic's accounts, its privacy choice and its audit trail — pages and
JSON API (the signed-in account: /api/me)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..actions import Action, accounts
from ..store.models import AuditEvent, Clinic, User
from . import services as sv
from ..vocabulary import action_words, record_words
from .deps import MAX_ID, account_for, actor, admin_user, audit, current_user, get_db
from .render import redirect, render
from .schemas import AuditLog, Me
from .security import check_csrf

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["accounts"])
CSRF = [Depends(check_csrf)]


# --- pages

@dataclass(frozen=True)
class AuditFilter:
    """The audit log's filters, as typed into the page's form or the API's query (all optional)."""
    patient_id: int | None = None
    user: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    include_files: bool = False  # key-frame / file reads (`read_file`): image-load noise, hidden by default

    @classmethod
    def parse(cls, q) -> "AuditFilter":
        """From query parameters (strings; empty = no filter). Bad values → FormError naming the field."""
        problems = {}

        def num(name):
            v = (q.get(name) or "").strip()
            if not v:
                return None
            if not v.isdigit() or not 0 < int(v) <= MAX_ID:
                problems[name] = "a patient id is a whole number, e.g. 12"
                return None
            return int(v)

        def day(name):
            v = (q.get(name) or "").strip()
            try:
                return date.fromisoformat(v) if v else None
            except ValueError:
                problems[name] = "a date as YYYY-MM-DD"
                return None

        action = (q.get("action") or "").strip()
        if action and action not in ACTIONS:
            problems["action"] = "one of the listed actions"
        f = cls(num("patient_id"), (q.get("user") or "").strip()[:100], action, day("date_from"), day("date_to"),
                (q.get("include_files") or "").lower() in ("1", "on", "yes", "true"))
        if f.date_from and f.date_to and f.date_to < f.date_from:
            problems["date_to"] = "the end date is before the start date"
        if problems:
            raise sv.FormError("Check the audit log filters: " + "; ".join(f"{k}: {v}" for k, v in problems.items()),
                               problems)
        return f

    def query(self, clinic_id: int):
        stmt = select(AuditEvent).where(AuditEvent.clinic_id == clinic_id)
        if self.patient_id is not None:
            stmt = stmt.where(AuditEvent.patient_id == self.patient_id)
        if self.user:
            stmt = stmt.where(func.lower(AuditEvent.username).contains(self.user.lower(), autoescape=True))
        if self.action:
            stmt = stmt.where(AuditEvent.action == self.action)
        elif not self.include_files:
            stmt = stmt.where(AuditEvent.action != Action.READ_FILE.value)
        if self.date_from:
            stmt = stmt.where(AuditEvent.at >= datetime.combine(self.date_from, time(), timezone.utc))
        if self.date_to:
            stmt = stmt.where(AuditEvent.at < datetime.combine(self.date_to + timedelta(days=1), time(), timezone.utc))
        return stmt.order_by(AuditEvent.id.desc())

    def as_query_string(self) -> str:
        return urlencode({k: v for k, v in (("patient_id", self.patient_id or ""), ("user", self.user),
                                            ("action", self.action), ("date_from", self.date_from or ""),
                                            ("date_to", self.date_to or ""),
                                            ("include_files", "on" if self.include_files else "")) if v})


ACTIONS = [a.value for a in Action]
PAGE_ROWS = 500
CSV_ROWS = 100_000
# The codes (for filtering and scripts) and, last, the same in words (for a person reading the file).
CSV_COLUMNS = ["id", "at", "user_id", "username", "role", "action", "object_type", "object_id", "patient_id", "ip",
               "action_in_words", "record_in_words"]


def _event_row(e: AuditEvent) -> dict:
    return {"id": e.id, "at": e.at.isoformat(), "user_id": e.user_id, "username": e.username, "role": e.role,
            "action": e.action, "object_type": e.object_type, "object_id": e.object_id,
            "patient_id": e.patient_id, "ip": e.ip, "action_in_words": action_words(e.action),
            "record_in_words": record_words(e.object_type)}


def _csv_cell(v) -> str:
    v = "" if v is None else str(v)
    # A cell starting with = + - @ would run as a formula in a spreadsheet (a name typed at log-in can).
    return "'" + v if v[:1] in ("=", "+", "-", "@", "\t", "\r") else v


@pages.get("/admin/audit")
def audit_page(request: Request, user: User = Depends(admin_user), db: Session = Depends(get_db)):
    try:
        f, error, problems = AuditFilter.parse(request.query_params), None, {}
    except sv.FormError as e:
        f, error, problems = AuditFilter(), str(e), e.problems
    events = db.scalars(f.query(user.clinic_id).limit(PAGE_ROWS)).all()
    return render(request, "audit.html", status_code=422 if error else 200, events=events, f=f,
                  values=request.query_params, actions=[(a, action_words(a)) for a in ACTIONS], error=error,
                  problems=problems, action_words=action_words, record_words=record_words,
                  page_rows=PAGE_ROWS, csv_query=f.as_query_string())


@pages.get("/admin/audit.csv")
def audit_csv(request: Request, user: User = Depends(admin_user), db: Session = Depends(get_db)):
    f = AuditFilter.parse(request.query_params)
    events = db.scalars(f.query(user.clinic_id).limit(CSV_ROWS)).all()
    audit(db, request, user, Action.EXPORT_AUDIT, "audit_log", None, f.patient_id)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for e in events:
        row = _event_row(e)
        w.writerow([_csv_cell(row[c]) for c in CSV_COLUMNS])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'})


@pages.get("/admin/clinic")
def clinic_page(request: Request, user: User = Depends(admin_user), db: Session = Depends(get_db)):
    return render(request, "clinic.html", clinic=db.get(Clinic, user.clinic_id))


@pages.post("/admin/clinic", dependencies=CSRF)
async def clinic_save(request: Request, user: User = Depends(admin_user), db: Session = Depends(get_db)):
    clinic = db.get(Clinic, user.clinic_id)
    accounts.update_privacy(db, actor(request, user), clinic,
                            (await request.form()).get("keep_original_video") == "yes")
    return redirect("/admin/clinic")


@pages.get("/admin/users")
def accounts_page(request: Request, user: User = Depends(admin_user), db: Session = Depends(get_db)):
    return _accounts(request, db, user)


def _accounts(request: Request, db: Session, user: User, status_code: int = 200, **ctx):
    ctx = {"values": {}, "problems": {}, "error": None, "notice": request.query_params.get("done")} | ctx
    return render(request, "users.html", status_code=status_code, accounts=sv.clinic_accounts(db, user.clinic_id),
                  min_password=sv.MIN_PASSWORD, **ctx)


@pages.post("/admin/users", dependencies=CSRF)
async def account_create(request: Request, user: User = Depends(admin_user), db: Session = Depends(get_db)):
    values = {k: v for k, v in (await request.form()).items() if k != "csrf_token"}
    try:
        accounts.create_account(db, actor(request, user), values)
    except sv.FormError as e:
        db.rollback()
        values.pop("password", None)
        return _accounts(request, db, user, e.status, values=values, problems=e.problems, error=str(e))
    return redirect("/admin/users?done=created")


@pages.post("/admin/users/{user_id}/active", dependencies=CSRF)
async def account_active(request: Request, user_id: int, user: User = Depends(admin_user),
                         db: Session = Depends(get_db)):
    account = account_for(db, user, user_id)
    active = (await request.form()).get("active") == "yes"
    accounts.set_active(db, actor(request, user), account, active)
    return redirect(f"/admin/users?done={'activated' if active else 'deactivated'}")


@pages.post("/admin/users/{user_id}/password", dependencies=CSRF)
async def account_password(request: Request, user_id: int, user: User = Depends(admin_user),
                           db: Session = Depends(get_db)):
    account = account_for(db, user, user_id)
    try:
        accounts.reset_password(db, actor(request, user), account, (await request.form()).get("password"))
    except sv.FormError as e:
        db.rollback()
        return _accounts(request, db, user, e.status, problems={f"password-{account.id}": e.problems["password"]},
                         error=str(e))
    return redirect("/admin/users?done=password")


# --- JSON API

@api.get("/me", response_model=Me, summary="The logged-in account")
def me(user: User = Depends(current_user)):
    return {"id": user.id, "username": user.username, "role": user.role, "clinic_id": user.clinic_id,
            "patient_id": user.patient_id}


@api.get("/audit", response_model=AuditLog, summary="Audit trail of this clinic (admin only)",
         description="Newest first. Filters (all optional): patient_id, user (part of the user name), action, "
                     "date_from / date_to (YYYY-MM-DD, inclusive), include_files (key-frame/file reads, left out "
                     "by default).")
def audit_log(request: Request, limit: int = Query(500, ge=1, le=5000, description="newest events, 1–5000"),
              user: User = Depends(admin_user), db: Session = Depends(get_db)):
    f = AuditFilter.parse(request.query_params)
    events = db.scalars(f.query(user.clinic_id).limit(limit)).all()
    return {"events": [_event_row(e) for e in events]}
