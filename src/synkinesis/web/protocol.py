"""The guided recording: the built-in "guided" protocol's steps, each a prompt, a countdown and a
hold in seconds, and the recorder's per-step quality check. The recorder stores each step's start
and end, and the analysis grades each expression from them (`synkinesis.assess`)."""

from __future__ import annotations

import threading

import anyio
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..protocols import load_protocol
from ..store.models import User
from .deps import current_user, get_db, visit_for
from .security import check_csrf

GUIDED = "guided"
COUNTDOWN_S = 3.0
MAX_CHECK_FRAMES = 24  # per group (rest, step): a few per second of a 3-s step is plenty
MAX_CHECK_PIXELS = 1280 * 720

api = APIRouter(prefix="/api", tags=["recordings"])


def protocol(speed: float = 1.0) -> list[dict]:
    return [{"step": s.key, "name": s.name, "prompt": s.instruction, "seconds": round(s.hold_s * speed, 2),
             "countdown": round(COUNTDOWN_S * speed, 2), "movement": s.movement}
            for s in load_protocol(GUIDED).steps]


class CheckOut(BaseModel):
    step: str
    movement: str
    ok: bool = Field(description="every check passed")
    checks: list[dict] = Field(description="[{key: face|frontal|size|light|rest|movement, ok, message (plain words), "
                                           "value, limit, unit}]")


_TRACKER = None
_TRACKER_LOCK = threading.Lock()  # one static-mode tracker per process, one call at a time


def _points(frames: list[bytes]):
    """(landmarks (F, 478, 3) px, brightness per frame, frame width) of JPEG frames."""
    import cv2
    import numpy as np

    from ..landmarks.tracker import FaceTracker
    from ..live.quality import brightness
    from .practice.jpeg import BadFrame, jpeg_size
    from .services import FormError  # here: services imports this module

    global _TRACKER
    pts, light, width = [], [], None
    with _TRACKER_LOCK:
        if _TRACKER is None:
            _TRACKER = FaceTracker(static=True)
        for data in frames:
            try:
                w, h = jpeg_size(data)
            except BadFrame:
                raise FormError("A picture sent for the check is not a JPEG; record the step again.",
                                {"frames": "JPEG pictures"}) from None
            bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if w * h <= MAX_CHECK_PIXELS else None
            if bgr is None:
                raise FormError("A picture sent for the check could not be read; record the step again.",
                                {"frames": "JPEG pictures up to 1280×720"})
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            p = _TRACKER.points(rgb)
            pts.append(np.full((478, 3), np.nan) if p is None else np.asarray(p, dtype=np.float64))
            light.append(brightness(rgb))
            width = w
    return (np.stack(pts) if pts else np.zeros((0, 478, 3))), light, width


def _check(step: str, rest: list[bytes], frames: list[bytes]) -> dict:
    from ..live.quality import check_step
    from .services import FormError

    s = next((s for s in load_protocol(GUIDED).steps if s.key == step), None)
    if s is None:
        raise FormError(f"The guided recording has no step {step!r}.", {"step": "a step of the guided protocol"})
    step_pts, light, width = _points(frames)
    rest_pts = _points(rest)[0] if rest and s.movement != "rest" else None
    return check_step(s.key, s.movement, step_pts, rest_pts, light=light, frame_width=width).to_dict()


@api.post("/visits/{visit_id}/record/check", response_model=CheckOut, dependencies=[Depends(check_csrf)],
          summary="Check one step of a guided recording (multipart: step, rest = JPEG frames of the rest step, "
                  "frames = JPEG frames of the step): the movement happened, face visible and frontal, light")
async def check_recorded_step(request: Request, visit_id: int, user: User = Depends(current_user),
                              db: Session = Depends(get_db)):
    from .services import FormError

    visit_for(db, user, visit_id)  # only for someone who may record this visit; nothing is read or stored
    db.commit()
    form = await request.form()
    rest = [await f.read() for f in form.getlist("rest") if hasattr(f, "read")][:MAX_CHECK_FRAMES]
    frames = [await f.read() for f in form.getlist("frames") if hasattr(f, "read")][:MAX_CHECK_FRAMES]
    if not frames:
        raise FormError("No pictures of the step were sent; record the step again.", {"frames": "required"})
    return await anyio.to_thread.run_sync(_check, str(form.get("step", "")), rest, frames)
