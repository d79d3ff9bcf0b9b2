"""Live mirror biofeedback: the same measures as offline analysis, one frame at a time.

`exercises` is the library (what to do, what is wanted, what must stay still); `session` turns a
stream of landmarks into feedback (two bars, a warning, repetitions) and a session summary.
No web imports: the web layer only moves frames in and feedback out.
"""

from .exercises import EXERCISES, Exercise, Prescription
from .session import Feedback, LiveSession

__all__ = ["EXERCISES", "Exercise", "Feedback", "LiveSession", "Prescription"]
