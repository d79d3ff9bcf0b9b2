"""File permissions of the data folder: health data readable by the app's own user only.

The data folder is 0700 (no other user can even list it), the SQLite database 0600, and the
process umask 077 makes every file the app writes later (uploads, analyses, backups, SQLite's
-wal/-shm files) 0600 and every folder 0700, whatever the libraries writing them ask for.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("synkinesis.web")
PRIVATE_UMASK = 0o077


def sqlite_file(database_url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
        else None


def make_private(data_dir: Path, database_url: str | None = None) -> None:
    """Set the umask and tighten what exists already (a data folder made by an older version)."""
    os.umask(PRIVATE_UMASK)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        for root, _dirs, files in os.walk(data_dir):
            os.chmod(root, 0o700)
            for f in files:
                p = os.path.join(root, f)
                if not os.path.islink(p):
                    os.chmod(p, os.stat(p).st_mode & 0o700)
        db = sqlite_file(database_url) if database_url else None
        if db is not None:
            for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
                if p.exists():
                    p.chmod(0o600)
    except PermissionError as e:  # files of another user: the app still runs, the administrator is told
        log.warning("could not make %s private (%s): check the data folder's owner", e.filename, e.strerror)
