"""The one way a page is rendered (with the signed-in user and the CSRF token) or redirected."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse


def render(request: Request, name: str, status_code: int = 200, **ctx):
    """Template `name` with `ctx`, the user (a plain copy, safe after the session closed) and the CSRF token."""
    ctx.setdefault("user", getattr(request.state, "user", None))
    ctx.setdefault("csrf", request.state.csrf)
    return request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    """303 See Other: after a form post, the browser GETs `url`."""
    return RedirectResponse(url, status_code=303)
