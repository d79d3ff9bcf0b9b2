"""Accounts and administration: the clinic's accounts, its privacy choice and its audit trail — pages and
JSON API (the signed-in account: /api/me)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..actions import accounts
from ..store.models import AuditEvent, Clinic, User
from . import services as sv
from .deps import account_for, actor, admin_user, current_user, get_db
from .render import redirect, render
from .schemas import AuditLog, Me
from .security import check_csrf

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["accounts"])
CSRF = [Depends(check_csrf)]


# --- pages

@pages.get("/admin/audit")
def audit_page(request: Request, user: User = Depends(admin_user), db: Session = Depends(get_db)):
    events = db.scalars(select(AuditEvent).where(AuditEvent.clinic_id == user.clinic_id)
                        .order_by(AuditEvent.id.desc()).limit(500)).all()
    return render(request, "audit.html", events=events)


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


@api.get("/audit", response_model=AuditLog, summary="Audit trail of this clinic (admin only)")
def audit_log(limit: int = Query(500, ge=1, le=5000, description="newest events, 1–5000"),
              user: User = Depends(admin_user), db: Session = Depends(get_db)):
    events = db.scalars(select(AuditEvent).where(AuditEvent.clinic_id == user.clinic_id)
                        .order_by(AuditEvent.id.desc()).limit(limit)).all()
    return {"events": [{"id": e.id, "at": e.at.isoformat(), "user_id": e.user_id, "username": e.username,
                        "role": e.role, "action": e.action, "object_type": e.object_type, "object_id": e.object_id,
                        "patient_id": e.patient_id, "ip": e.ip} for e in events]}
