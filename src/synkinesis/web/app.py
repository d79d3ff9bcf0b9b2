"""`create_app(settings)`: migrations, routers, templates, error pages and the worker thread."""

from __future__ import annotations

import logging
import secrets
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from urllib.parse import quote

from ..errors import SynkinesisError
from ..store import Database, migrate
from .deps import LoginRequired
from .privacy import make_private
from .security import CSRF_COOKIE, set_cookie
from .services import FormError, better_text
from .settings import Settings

HERE = Path(__file__).parent
log = logging.getLogger("synkinesis.web")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(settings: Settings | None = None, *, migrate_db: bool = True) -> FastAPI:
    settings = settings or Settings()
    make_private(settings.data_dir, settings.database_url)  # health data: owner-only files from here on
    if migrate_db:
        migrate(settings.database_url)
    db = Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        worker = None
        if settings.run_worker:
            from .worker import WorkerThread

            worker = WorkerThread(db, settings.data_dir, settings.worker_poll_s)
            worker.start()
        app.state.worker = worker
        yield
        if worker:
            worker.stop()
            worker.join(timeout=30)
        db.dispose()

    app = FastAPI(title="Synkinesis clinic", version="1", lifespan=lifespan,
                  description="Patients, visits, recordings, analyses, scales and questionnaires. Every "
                              "unsafe request needs the X-CSRF-Token header (value of the synk_csrf cookie).")
    app.state.settings = settings
    app.state.db = db
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["better_text"] = better_text
    app.state.templates = templates

    @app.middleware("http")
    async def csrf_cookie(request: Request, call_next):
        # Every visitor gets a CSRF token cookie; pages embed it, forms and fetch() echo it back.
        token = request.cookies.get(CSRF_COOKIE)
        fresh = token is None
        request.state.csrf = token or secrets.token_urlsafe(32)
        request.state.user = None
        response = await call_next(request)
        if fresh:
            set_cookie(response, request, CSRF_COOKIE, request.state.csrf)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")  # health data: never cached
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        if _is_api(request):
            return JSONResponse({"detail": "Log in first."}, status_code=401)
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(FormError)
    async def form_error(request: Request, exc: FormError):
        return _error(request, exc.status, str(exc), exc.problems)

    @app.exception_handler(SynkinesisError)
    async def user_error(request: Request, exc: SynkinesisError):
        status = 413 if type(exc).__name__ == "UploadTooLarge" else 422
        return _error(request, status, str(exc), getattr(exc, "problems", {}))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        problems = {".".join(str(x) for x in e["loc"][1:]) or "request": e["msg"] for e in exc.errors()}
        return _error(request, 422, "Some values were missing or invalid.", problems)

    def _error(request: Request, status: int, message: str, problems: dict | None = None):
        if _is_api(request) or request.headers.get("accept", "").startswith("application/json"):
            return JSONResponse({"detail": message, "problems": problems or {}}, status_code=status)
        return templates.TemplateResponse(request, "error.html", {"status": status, "message": message,
                                                                  "problems": problems or {},
                                                                  "user": request.state.user,
                                                                  "csrf": request.state.csrf},
                                          status_code=status)

    from . import api, auth, pages, practice

    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(practice.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    return app
