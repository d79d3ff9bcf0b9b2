"""`create_app(settings)`: migrations, routers, templates, error pages and the worker thread."""

from __future__ import annotations

import json
import logging
import math
import secrets
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from urllib.parse import quote

from ..errors import SynkinesisError
from ..store import Database, migrate
from .deps import LoginRequired
from .privacy import make_private
from .security import CSRF_COOKIE, set_cookie
from .services import FormError, better_text
from .settings import Settings

from .deps import staff_user  # noqa: E402  (kept apart from the block above to ease merging)
from .limits import UPLOAD_PATH, RequestGuard  # noqa: E402
from .security import expected_csrf  # noqa: E402

HERE = Path(__file__).parent
log = logging.getLogger("synkinesis.web")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def finite(value):
    """JSON-safe copy: NaN/Infinity (e.g. in a record stored before they were refused) become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


class SafeJSONResponse(JSONResponse):
    """Every JSON answer: strict JSON, so one odd stored number cannot turn a record into a 500."""

    def render(self, content) -> bytes:
        return json.dumps(finite(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


# No inline script anywhere: templates load static files and pass data in <script type="application/json">.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
# ReDoc's styling library writes <style> elements (styles only; scripts stay 'self'), its search a blob: worker.
CSP_REDOC = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'") + "; worker-src 'self' blob:"
# Only the camera, only for this site (guided recording, mirror practice); the rest off.
PERMISSIONS = ("camera=(self), microphone=(), geolocation=(), display-capture=(), usb=(), serial=(), hid=(), "
               "payment=(), midi=(), accelerometer=(), gyroscope=(), magnetometer=()")
DOCS_ASSETS = "/static/docs"


def _docs_assets() -> Path:
    """Swagger UI and ReDoc files shipped by the fastapi-offline package: served by the app itself."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def _request_limits(settings: Settings):
    def limits(path: str) -> tuple[int, bool]:
        return (settings.max_upload_bytes, True) if UPLOAD_PATH.match(path) else (settings.max_request_bytes, False)
    return limits


def ROUTERS() -> list:
    """Every domain's routes (pages, then the JSON API under /api), in matching order: adding a domain
    is one line here."""
    from . import accounts, auth, patients, practice, protocol, questionnaires, recordings, scales, treatments

    return [
        auth.router,
        patients.pages, recordings.pages, scales.pages, accounts.pages,
        patients.api, recordings.api, scales.api, accounts.api, protocol.api,
        practice.router,
        treatments.router,
        questionnaires.router,
    ]


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

    # Docs and schema are routes of their own below: for signed-in staff only, assets served locally.
    app = FastAPI(title="Synkinesis clinic", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None, default_response_class=SafeJSONResponse,
                  description="Patients, visits, recordings, analyses, scales and questionnaires. Every "
                              "unsafe request needs the X-CSRF-Token header: the page's csrf-token (after "
                              "log-in it is also in the synk_csrf cookie). Numbers must be finite.")
    app.state.settings = settings
    app.state.db = db
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["better_text"] = better_text
    from .. import vocabulary  # every label and number on a page: label(key, plain), fmt(key, value)

    templates.env.globals.update(label=vocabulary.label, fmt=vocabulary.format_value, fmt_unit=vocabulary.format_number)
    from .questionnaires import panel as questionnaire_panel  # the questionnaire block of a patient's page

    templates.env.globals["questionnaire_panel"] = questionnaire_panel
    app.state.templates = templates

    # The body limit and the finite-number check see every request before anything parses it. Inside
    # the header middleware below (added later = outer), so the 413 it raises while a body streams in
    # reaches the app's error handler rather than the middleware's task group.
    app.add_middleware(RequestGuard, limits=_request_limits(settings))

    @app.middleware("http")
    async def csrf_cookie(request: Request, call_next):
        # Signed in: the token derives from the session. Before: a cookie token; pages embed it,
        # forms and fetch() echo it back.
        token = expected_csrf(request)
        fresh = token is None
        request.state.csrf = token or secrets.token_urlsafe(32)
        request.state.user = None
        response = await call_next(request)
        if fresh:
            set_cookie(response, request, CSRF_COOKIE, request.state.csrf)
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP_REDOC if request.url.path == "/redoc" else CSP)
        h.setdefault("Permissions-Policy", PERMISSIONS)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if request.url.scheme == "https" or settings.cookie_secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        if not request.url.path.startswith("/static/"):
            h.setdefault("Cache-Control", "no-store")  # health data: never cached
        return response

    if settings.trusted_proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)

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
        response = _error(request, exc.status_code, str(exc.detail))
        if exc.status_code == 413:
            response.headers["Connection"] = "close"  # the server stops reading the rest of the body
        return response

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def out_of_range(request: Request, exc: Exception):
        # A number too large for the database (an id in the address, or a value): the driver refuses
        # it. Never a 500: an id that cannot exist is "no such record", anything else a bad value.
        huge_id = any(str(v).isdigit() and int(v) > 2**31 - 1 for v in request.path_params.values())
        if huge_id:
            return _error(request, 404, "No such record, or you do not have access to it.")
        return _error(request, 422, "A number or text was out of range or too long.")

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

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_schema(user=Depends(staff_user)):
        return SafeJSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def swagger_docs(request: Request, user=Depends(staff_user)):
        return templates.TemplateResponse(request, "docs.html", {"ui": "swagger", "assets": DOCS_ASSETS,
                                                                 "csrf": request.state.csrf})

    @app.get("/redoc", include_in_schema=False)
    def redoc_docs(request: Request, user=Depends(staff_user)):
        return templates.TemplateResponse(request, "docs.html", {"ui": "redoc", "assets": DOCS_ASSETS,
                                                                 "csrf": request.state.csrf})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        # Browsers ask for /favicon.ico whatever base.html links; answer it rather than 404 on every page.
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "public, max-age=86400"})

    for router in ROUTERS():
        app.include_router(router)
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(_docs_assets())), name="docs-assets")
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    return app
