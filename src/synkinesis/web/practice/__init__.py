"""Mirror-biofeedback practice: the practice page, its WebSocket, programmes and session summaries.

Real-time path (one connection = one practice session of one exercise):

    browser: camera → <video> shown MIRRORED (CSS only) → canvas (unmirrored) → JPEG ≈ 320×240 q0.7
             → WebSocket binary message [float64 capture time (ms, the page's clock)] + [JPEG]
    server:  one face-mesh tracker (`make_engine(static=False)`) and the session's `LiveSession`;
             decode + landmarks + `LiveSession.update` run in a worker thread, the event loop stays free
             → JSON reply {"type": "fb", "ts": capture time echoed, "fb": Feedback.to_dict(), "pts": …}
    browser: sends the newest camera frame only once the previous reply has arrived (one in flight).

The session's time axis is the browser's capture clock, so holds and repetitions are timed as the
patient performed them whatever the network or server delay. Only numbers are stored
(`LiveSession.summary()`), never video: saved every few seconds and at every repetition, so a lost
camera or connection keeps what was done; a reconnect to the same session id continues it (its
calibration and repetitions are kept in this process; after a server restart the repetitions come
back from the database and the session calibrates again).

Who may use it: the patient (own record) and the staff of the patient's clinic (`deps.can_see`); the
WebSocket checks the session cookie and that the Origin is this site.
"""

from .hub import DRAW_INDEX, DRAW_LINES, LiveEntry, PracticeHub, hub_of, inference_executor, process_frame, restore_live
from .jpeg import BadFrame, jpeg_size
from .routes import CLOSE_BAD_FRAME, CLOSE_FINISHED, CLOSE_SUPERSEDED, router
from .service import (adherence, exercise_catalogue, exercise_progress, new_session_row, overview, programme_dict,
                      progress_chart, session_dict, validate_items)

__all__ = ["BadFrame", "CLOSE_BAD_FRAME", "CLOSE_FINISHED", "CLOSE_SUPERSEDED", "DRAW_INDEX", "DRAW_LINES", "LiveEntry",
           "PracticeHub", "adherence", "exercise_catalogue", "exercise_progress", "hub_of", "inference_executor", "jpeg_size",
           "new_session_row", "overview", "process_frame", "programme_dict", "progress_chart", "restore_live", "router",
           "session_dict", "validate_items"]
