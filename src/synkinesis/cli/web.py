"""The clinic app's commands: `serve`, `worker`, `create-clinic`, `backup` and `restore`."""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path
from typing import Optional

import typer

from .common import fail


def _settings(data_dir: Path, database_url: Optional[str], **kw):
    from ..web.privacy import make_private
    from ..web.settings import Settings

    settings = Settings(data_dir=data_dir, database_url=database_url, **kw)
    make_private(settings.data_dir, settings.database_url)  # before the database file is created
    return settings


def serve(
    data_dir: Path = typer.Option(Path("data"), help="Folder for the SQLite database and media."),
    database_url: Optional[str] = typer.Option(None, help="e.g. postgresql+psycopg://user@127.0.0.1/db "
                                                          "(default: SQLite in --data-dir)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000),
    demo: bool = typer.Option(False, help="Seed a demo clinic, log-ins and an analysed recording."),
    worker: bool = typer.Option(True, help="Run the analysis worker in this process."),
    max_upload_mb: float = typer.Option(200.0, help="Largest upload accepted."),
    secure_cookies: bool = typer.Option(False, help="Mark cookies Secure (HTTPS only) even though this server "
                                                    "speaks plain HTTP: use it behind a TLS reverse proxy."),
    trusted_proxy: list[str] = typer.Option([], help="Address of a reverse proxy whose X-Forwarded-For/-Proto "
                                                     "headers are believed (repeatable). Without it they are "
                                                     "ignored, so nobody can fake their address."),
):
    """Start the clinic web app (SQLite in --data-dir, or --database-url)."""
    # Pages at /, the JSON API at /api, its docs at /docs.
    import uvicorn

    from ..store import Database, migrate
    from ..web.app import create_app

    settings = _settings(data_dir, database_url, run_worker=worker, max_upload_mb=max_upload_mb,
                         **({"cookie_secure": True} if secure_cookies else {}),
                         **({"trusted_proxies": list(trusted_proxy)} if trusted_proxy else {}))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)
    if demo:
        from ..web.demo import DEMO_USERS, seed_demo

        typer.echo("Preparing the demo clinic (the first time: a real face video and three synthetic guided "
                   "recordings — one before and one after a Botox session — are analysed first, about a minute)…")
        db = Database(settings.database_url)
        seed_demo(settings, db)
        db.dispose()
    app = create_app(settings, migrate_db=False)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/login"
    typer.echo(f"Synkinesis clinic: open {url}")
    if demo:
        for username, role, password in DEMO_USERS:
            typer.echo(f"  {role:<9} user {username!r:<12} password {password!r}")
    typer.echo(f"Data folder: {settings.data_dir}  (Ctrl+C stops)")
    # No access log: URLs carry search text (names, dates of birth). Errors still go to stderr.
    # proxy_headers off: uvicorn would believe X-Forwarded-For from any loopback client; the app
    # reads them only from --trusted-proxy addresses (create_app).
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", proxy_headers=False)


def create_clinic(
    name: str = typer.Argument(..., help="The clinic's name as shown in the app."),
    admin: str = typer.Option(..., "--admin", help="User name of the clinic's first administrator."),
    data_dir: Path = typer.Option(Path("data"), help="Same data folder as `serve`."),
    database_url: Optional[str] = typer.Option(None, help="Same database as `serve`."),
):
    """Create a clinic and its first administrator (password asked, never an argument)."""
    # Asked, so it stays out of shell history. The administrator then adds clinicians under Accounts.
    from ..actions import Actor
    from ..actions.accounts import create_clinic as create
    from ..store import Database, migrate
    from ..web.services import FormError

    password = typer.prompt("Password for the administrator", hide_input=True, confirmation_prompt=True)
    settings = _settings(data_dir, database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)
    db = Database(settings.database_url)
    try:
        with db.session() as s:
            try:
                clinic = create(s, Actor.system("command line"), name, admin, password)
            except FormError as e:
                s.rollback()
                details = "; ".join(f"{k}: {v}" for k, v in e.problems.items())
                fail(f"{e} ({details}). Nothing was created.")
            clinic_id = clinic.id
    finally:
        db.dispose()
    typer.echo(f"Clinic {name!r} (id {clinic_id}) created with administrator {admin!r}. "
               f"Start the app with `synkinesis serve --data-dir {settings.data_dir}` and log in.")


def worker(
    data_dir: Path = typer.Option(Path("data"), help="Same data folder as `serve`."),
    database_url: Optional[str] = typer.Option(None, help="Same database as `serve`."),
    poll_s: float = typer.Option(1.0, help="Seconds between checks for queued analyses."),
):
    """Run queued analyses for the web app in a separate process."""
    # Alongside `serve --no-worker`, or as extra workers.
    from ..store import Database, migrate
    from ..web.worker import WorkerThread

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = _settings(data_dir, database_url)
    migrate(settings.database_url)
    db = Database(settings.database_url)
    w = WorkerThread(db, settings.data_dir, poll_s)
    w.worker_id = w.worker_id.replace(":thread", ":process")
    signal.signal(signal.SIGTERM, lambda *_: w.stop())
    w.start()
    typer.echo(f"Worker {w.worker_id} polling {settings.data_dir} every {poll_s:g} s (Ctrl+C stops)")
    try:
        while w.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        w.stop()
    w.join()


def backup(
    out: Optional[Path] = typer.Argument(None, help="Backup file to write (default: "
                                                   "backups/synkinesis-backup-<UTC time>.tar here)."),
    data_dir: Path = typer.Option(Path("data"), help="Same data folder as `serve`."),
    database_url: Optional[str] = typer.Option(None, help="Same database as `serve`."),
):
    """Back up the clinic's database and media to one file (safe while the app runs)."""
    from ..web.backup import BackupError, default_name
    from ..web.backup import backup as run_backup

    settings = _settings(data_dir, database_url)
    out = out or Path("backups") / default_name()
    try:
        m = run_backup(settings.data_dir, settings.database_url, out)
    except OSError as e:
        raise BackupError(f"The backup could not be written ({e.strerror or e}: {e.filename}). Nothing was kept; "
                          "check the target disk's free space and permissions and run it again.") from None
    typer.echo(f"Backup written to {out.resolve()}: {m['rows'].get('patients', 0)} patients, "
               f"{m['rows'].get('analyses', 0)} analyses, {m['rows'].get('audit_events', 0)} audit events, "
               f"{len(m['files'])} media files. Keep a copy on another disk or site.")
    if m["missing_at_backup"]:
        typer.echo(f"Note: {len(m['missing_at_backup'])} file(s) changed during every try and are not in the backup; "
                   "run it again at a quieter time.", err=True)


def restore(
    archive: Path = typer.Argument(..., help="A file written by `synkinesis backup`."),
    data_dir: Path = typer.Option(Path("data"), help="Data folder to restore into."),
    database_url: Optional[str] = typer.Option(None, help="Database to restore into (default: SQLite in --data-dir)."),
    replace: bool = typer.Option(False, help="Overwrite a database and media folder that already hold records."),
):
    """Restore a backup into an empty (or, with --replace, this) data folder and database; stop the app first."""
    from ..web.backup import restore as run_restore

    settings = _settings(data_dir, database_url)
    m = run_restore(archive, settings.data_dir, settings.database_url, replace=replace)
    typer.echo(f"Restored the backup of {m['created_at']}: {m['rows'].get('patients', 0)} patients, "
               f"{len(m['files'])} media files, into {settings.data_dir}. Start the app with `synkinesis serve`.")


__all__ = ["backup", "create_clinic", "restore", "serve", "worker"]
