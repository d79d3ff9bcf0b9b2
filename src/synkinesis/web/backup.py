"""`synkinesis backup` / `synkinesis restore`: the database and the media folder in one file.

A backup is a tar file (owner-only, written under a temporary name and renamed when complete):

    manifest.json    when, from which database, Alembic revision, rows per table, id counters,
                     every file's size and SHA-256
    database.sqlite  a consistent snapshot of every table
    media/...        the patients' media folders

Consistency while the app runs: the database snapshot is taken first, in one go — SQLite through
its online backup API (a page-by-page copy inside one read transaction; writers are not blocked
for long), PostgreSQL by copying every table inside one REPEATABLE READ transaction (one snapshot).
Then the media folder is copied; a file the snapshot refers to that vanished meanwhile (an analysis
replaced, a patient deleted) makes the whole backup start again, so the archive never refers to a
file it lacks.

Why the snapshot is always an SQLite file, also for PostgreSQL (and not pg_dump): it needs no
client tools whose major version must match the server's, the same restore code serves both
databases (and can move a clinic from SQLite to PostgreSQL or back), and the file can be inspected
with any SQLite tool. The tables are small (rows of ids, numbers and JSON; media are files), so a
row copy takes seconds. Id counters travel in the manifest, so a restored database never gives a
deleted record's id to a new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import MetaData, create_engine, func, inspect, select, text

from ..errors import SynkinesisError
from .privacy import sqlite_file

FORMAT = "synkinesis-backup/1"
BATCH = 1000
# Files the database refers to: (table, column, kind) — kind "path" or "key_frames" (JSON list).
FILE_COLUMNS = (("recordings", "media_path", "path"), ("analyses", "table_path", "path"),
                ("analyses", "landmarks_path", "path"), ("analyses", "plot_path", "path"),
                ("analyses", "key_frames", "key_frames"))


class BackupError(SynkinesisError):
    pass


# ----------------------------------------------------------------------------------- backup

def backup(data_dir: Path, database_url: str, out: Path, tries: int = 3) -> dict:
    """Write a backup of the database and media of `data_dir` to `out` (a .tar); returns its manifest."""
    data_dir = Path(data_dir)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(tries):
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".backup-") as work:
            work = Path(work)
            snap = work / "database.sqlite"
            manifest = {"format": FORMAT, "created_at": datetime.now(timezone.utc).isoformat(),
                        "source": "postgresql" if database_url.startswith("postgresql") else "sqlite"}
            manifest.update(_snapshot(database_url, snap))
            referenced = _referenced_files(snap)
            files = _copy_media(data_dir, work / "media")
            missing = sorted(referenced - set(files))
            if missing and attempt < tries - 1:
                continue  # a file went away between the snapshot and the copy: take both again
            manifest["files"] = files
            manifest["missing_at_backup"] = missing  # only after `tries` changes in a row: listed, not hidden
            manifest["database_sha256"] = _sha256(snap)
            (work / "manifest.json").write_text(json.dumps(manifest, indent=1))
            partial = out.with_name(out.name + ".partial")
            try:
                with tarfile.open(partial, "w") as tar:
                    tar.add(work / "manifest.json", "manifest.json")
                    tar.add(snap, "database.sqlite")
                    if (work / "media").exists():
                        tar.add(work / "media", "media")
                os.chmod(partial, 0o600)
                os.replace(partial, out)
            except BaseException:  # e.g. the backup disk is full: no half-written file that looks like a backup
                partial.unlink(missing_ok=True)
                raise
            return manifest
    raise AssertionError("unreachable")


def _snapshot(database_url: str, snap: Path) -> dict:
    """A consistent copy of the database as an SQLite file; returns revision, row counts, id counters."""
    from ..store import migrate

    src_file = sqlite_file(database_url)
    if src_file is not None:
        if not src_file.exists():
            raise BackupError(f"There is no database at {src_file}: check --data-dir / --database-url.")
        src, dst = sqlite3.connect(src_file), sqlite3.connect(snap)
        try:
            src.backup(dst)  # one step: a consistent snapshot even while the app writes
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            src.close()
            dst.close()
        engine = create_engine(f"sqlite:///{snap}")
        with engine.connect() as c:
            info = _describe(c)
            info["id_counters"] = dict(c.execute(text("SELECT name, seq FROM sqlite_sequence")).all()) \
                if inspect(c).has_table("sqlite_sequence") else {}
        engine.dispose()
        return info
    source = create_engine(database_url)
    try:
        with source.connect().execution_options(isolation_level="REPEATABLE READ") as c:
            info = _describe(c)  # the first statement fixes the snapshot every later read sees
            migrate(f"sqlite:///{snap}", info["revision"])  # the same schema, as SQLite writes it
            target = create_engine(f"sqlite:///{snap}")
            try:
                with target.begin() as t:
                    smeta, tmeta = MetaData(), MetaData()
                    smeta.reflect(c)
                    tmeta.reflect(t)
                    for table in tmeta.sorted_tables:
                        if table.name != "alembic_version" and table.name in smeta.tables:
                            _copy_rows(c, smeta.tables[table.name], t, table, to_postgres=False)
                    info["id_counters"] = _pg_counters(c, smeta)
            finally:
                target.dispose()
    finally:
        source.dispose()
    return info


def _describe(c) -> dict:
    names = [n for n in inspect(c).get_table_names() if n not in ("sqlite_sequence",)]
    meta = MetaData()
    meta.reflect(c, only=names)
    revision = c.execute(text("SELECT version_num FROM alembic_version")).scalar() if "alembic_version" in names \
        else None
    return {"revision": revision,
            "rows": {n: c.execute(select(func.count()).select_from(meta.tables[n])).scalar() for n in sorted(names)}}


def _pg_counters(c, meta: MetaData) -> dict:
    out = {}
    for table in meta.sorted_tables:
        if "id" not in table.c:
            continue
        seq = c.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar()
        if seq:
            last, called = c.execute(text(f"SELECT last_value, is_called FROM {seq}")).one()
            out[table.name] = int(last) if called else int(last) - 1
    return out


def _copy_rows(src_conn, src_table, dst_conn, dst_table, to_postgres: bool) -> int:
    n = 0
    cols = [c.name for c in dst_table.columns if c.name in src_table.c]
    result = src_conn.execution_options(stream_results=True).execute(select(*(src_table.c[c] for c in cols)))
    while rows := result.fetchmany(BATCH):
        dst_conn.execute(dst_table.insert(), [{k: _value(v, to_postgres) for k, v in zip(cols, row)} for row in rows])
        n += len(rows)
    return n


def _value(v, to_postgres: bool):
    """Times are UTC everywhere: SQLite keeps them without an offset, PostgreSQL with one."""
    if isinstance(v, datetime):
        if v.tzinfo is None:
            return v.replace(tzinfo=timezone.utc) if to_postgres else v
        return v.astimezone(timezone.utc) if to_postgres else v.astimezone(timezone.utc).replace(tzinfo=None)
    return v


def _referenced_files(snap: Path) -> set[str]:
    """Paths (relative to the data folder) the snapshot's rows refer to."""
    out: set[str] = set()
    con = sqlite3.connect(snap)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, column, kind in FILE_COLUMNS:
            if table not in tables:
                continue
            for (value,) in con.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"):
                if kind == "path":
                    out.add(value)
                else:
                    for k in json.loads(value):  # each key frame's pictures (whole, face, close-ups)
                        out.update(v for v in (k.get("path"), k.get("face"), k.get("marks"),
                                               *(k.get("closeups") or {}).values()) if v)
    finally:
        con.close()
    return out


def _copy_media(data_dir: Path, dest: Path) -> dict[str, dict]:
    """Copy data_dir/media to dest; {path relative to the data folder: {size, sha256}}."""
    media = data_dir / "media"
    files: dict[str, dict] = {}
    if not media.exists():
        return files
    for root, _dirs, names in os.walk(media):
        for name in names:
            src = Path(root) / name
            rel = src.relative_to(data_dir)
            target = dest / src.relative_to(media)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(src, target)
            except FileNotFoundError:  # removed while copying (a replaced analysis): the snapshot check decides
                continue
            files[str(rel)] = {"size": target.stat().st_size, "sha256": _sha256(target)}
    return files


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------------- restore

def restore(archive: Path, data_dir: Path, database_url: str, replace: bool = False) -> dict:
    """Restore a backup into `database_url` and `data_dir/media` (the app must be stopped).

    Refuses a database or media folder that already holds records unless `replace`; checks every
    file against the manifest before anything is changed. Returns the manifest."""
    from ..store import migrate

    archive, data_dir = Path(archive), Path(data_dir)
    if not archive.is_file():
        raise BackupError(f"{archive} does not exist: give the path of a file written by `synkinesis backup`.")
    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".restore-") as work:
        work = Path(work)
        manifest = _unpack(archive, work)
        snap = work / "database.sqlite"
        media = data_dir / "media"
        if not replace and (_has_records(database_url) or (media.exists() and any(media.iterdir()))):
            raise BackupError("The target already holds records (database or media folder). Restore into an empty "
                              "data folder and database, or add --replace to overwrite them.")
        target = create_engine(database_url)
        try:
            _wipe(target)  # empty (or to be replaced): rebuilt at the backup's revision
            migrate(database_url, manifest["revision"])
            source = create_engine(f"sqlite:///{snap}")
            try:
                with source.connect() as s, target.begin() as t:
                    smeta, tmeta = MetaData(), MetaData()
                    smeta.reflect(s)
                    tmeta.reflect(t)
                    to_pg = t.dialect.name == "postgresql"
                    for table in tmeta.sorted_tables:
                        if table.name == "alembic_version" or table.name not in smeta.tables:
                            continue
                        _copy_rows(s, smeta.tables[table.name], t, table, to_postgres=to_pg)
                    _set_counters(t, tmeta, manifest.get("id_counters", {}))
            finally:
                source.dispose()
        finally:
            target.dispose()
        migrate(database_url)  # an older backup is brought up to this version's schema
        if media.exists():
            shutil.rmtree(media)
        if (work / "media").exists():
            os.replace(work / "media", media)
    return manifest


def _unpack(archive: Path, work: Path) -> dict:
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(work, filter="data")  # no absolute paths, links out or devices
    except (tarfile.TarError, OSError) as e:
        raise BackupError(f"{archive.name} could not be read as a backup ({e}): it is damaged or not a backup.") \
            from None
    try:
        manifest = json.loads((work / "manifest.json").read_text())
        assert manifest.get("format") == FORMAT
    except (OSError, ValueError, AssertionError):
        raise BackupError(f"{archive.name} is not a synkinesis backup (no valid manifest).") from None
    bad = [] if _sha256(work / "database.sqlite") == manifest["database_sha256"] else ["database.sqlite"]
    for rel, info in manifest["files"].items():
        p = work / "media" / Path(rel).relative_to("media")
        if not p.is_file() or p.stat().st_size != info["size"] or _sha256(p) != info["sha256"]:
            bad.append(rel)
    if bad:
        raise BackupError(f"{archive.name} is damaged: {len(bad)} file(s) do not match the manifest "
                          f"(first: {bad[0]}). Nothing was restored; use another backup.")
    return manifest


def _has_records(database_url: str) -> bool:
    engine = create_engine(database_url)
    try:
        with engine.connect() as c:
            names = inspect(c).get_table_names()
            return any(c.execute(text(f"SELECT 1 FROM {t} LIMIT 1")).first() for t in ("clinics", "audit_events")
                       if t in names)
    finally:
        engine.dispose()


def _wipe(engine) -> None:
    """Drop every table (the restore recreates them at the backup's revision)."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.begin() as c:
        meta.drop_all(c)
        if c.dialect.name == "sqlite" and inspect(c).has_table("sqlite_sequence"):
            c.execute(text("DELETE FROM sqlite_sequence"))


def _set_counters(t, meta: MetaData, counters: dict) -> None:
    """Id counters as they were (above every deleted id), never below the highest id restored."""
    for table in meta.sorted_tables:
        if "id" not in table.c or table.name == "alembic_version":
            continue
        top = max(int(counters.get(table.name) or 0), int(t.execute(select(func.max(table.c.id))).scalar() or 0))
        if t.dialect.name == "postgresql":
            seq = t.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar()
            if seq:
                t.execute(text("SELECT setval(:s, :v, :called)"), {"s": seq, "v": max(top, 1), "called": top > 0})
        elif top and inspect(t).has_table("sqlite_sequence"):
            t.execute(text("DELETE FROM sqlite_sequence WHERE name = :n"), {"n": table.name})
            t.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES (:n, :v)"), {"n": table.name, "v": top})


def default_name(now: datetime | None = None) -> str:
    return f"synkinesis-backup-{(now or datetime.now(timezone.utc)).strftime('%Y%m%d-%H%M%S')}.tar"


