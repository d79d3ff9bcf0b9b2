"""Engine, sessions and programmatic Alembic migrations (run at start-up by `serve` and `worker`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


# Connections: at least as many as requests that can run at once (Starlette runs sync routes on
# anyio's 40 threads; async uploads and the worker thread come on top), so a burst on a slow,
# loaded machine waits for CPU, never times out waiting for a pooled connection (a 500).
POOL_SIZE, MAX_OVERFLOW = 10, 40


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # check_same_thread: the worker thread and the request threads share the pool.
        # Pool as on PostgreSQL: SQLite connections are cheap, and page views, uploads and
        # the worker thread share it (WAL lets the readers run together).
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")  # cascades on delete, as on PostgreSQL
            cur.execute("PRAGMA journal_mode=WAL")  # readers don't block the one writer
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW, pool_pre_ping=True)


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (creates it from empty)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        s = self.sessionmaker()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()
