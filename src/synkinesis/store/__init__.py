"""Storage for the clinic app: SQLAlchemy 2 models, sessions and Alembic migrations.

One migration history serves SQLite (the default, a file in the data folder) and PostgreSQL.
Nothing here imports the web layer; the core (frames → findings) never imports this.
"""

from .db import Database, migrate
from .models import (Analysis, AuditEvent, Base, Clinic, Job, LoginAttempt, Patient, Recording, ScaleScore,
                     User, Visit, WebSession)

__all__ = ["Database", "migrate", "Base", "Clinic", "User", "WebSession", "LoginAttempt", "Patient", "Visit",
           "Recording", "Job", "Analysis", "ScaleScore", "AuditEvent"]
