"""Request guards that run before any parsing: a body-size limit counted while the body streams in,
and a refusal of non-finite numbers (NaN, Infinity) in JSON bodies.

A pure ASGI middleware, so it sees every request (chunked or not, any route, before CSRF, log-in
or form parsing) and never buffers more than the limit.
"""

from __future__ import annotations

import json
import math
import re

from fastapi import HTTPException  # FastAPI re-raises its own while parsing a body (not 400)

# The only routes that take a video or photo; every other route gets the small limit.
UPLOAD_PATH = re.compile(r"^/(api/)?visits/[^/]+/recordings/?$")
FORM_ROOM = 64 * 1024  # the other fields of an upload form


class _NotFinite:
    """Stands in for NaN/Infinity while a JSON body is parsed, so the field can be named."""


_NOT_FINITE = _NotFinite()


def _parse_float(text: str):
    x = float(text)
    return x if math.isfinite(x) else _NOT_FINITE  # 1e999 parses as inf


def non_finite_fields(value, path: str = "") -> list[str]:
    """Dotted paths of the NaN/Infinity values in parsed JSON (parsed with the hooks above). Iterative:
    a deeply nested body cannot exhaust the stack."""
    found, todo = [], [(path, value)]
    while todo:
        where, v = todo.pop()
        if v is _NOT_FINITE or (isinstance(v, float) and not math.isfinite(v)):
            found.append(where or "body")
        elif isinstance(v, dict):
            todo.extend((f"{where}.{k}" if where else str(k), x) for k, x in v.items())
        elif isinstance(v, list):
            todo.extend((f"{where}.{i}" if where else str(i), x) for i, x in enumerate(v))
    return sorted(found)


def json_non_finite(body: bytes) -> list[str]:
    try:
        parsed = json.loads(body, parse_constant=lambda _: _NOT_FINITE, parse_float=_parse_float)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []  # not JSON: the route's own parser answers 422
    return non_finite_fields(parsed)


def finite_problems(fields: list[str]) -> dict[str, str]:
    return {f: "must be a finite number (NaN and Infinity are not numbers)" for f in fields}


def too_large_message(limit: int, upload: bool) -> str:
    """`limit`: bytes of the file (uploads: the form's other fields come on top)."""
    mb = limit / 1024 / 1024
    if upload:
        return f"The file is larger than the {mb:g} MB limit. Record a shorter clip or lower the resolution."
    return (f"The request is larger than {mb:g} MB, the most any form or API call takes (only video and "
            "photo uploads may be larger). Send less data.")


def _is_json(content_type: str) -> bool:
    base = content_type.split(";", 1)[0].strip().lower()
    return base == "" or base == "application/json" or base.endswith("+json")


class RequestGuard:
    """Refuses a body larger than its route's limit with 413 while it streams in (Content-Length is
    only a hint: chunked bodies are counted), and a JSON body holding NaN/Infinity with 422 naming
    the fields. `limits(path) -> (bytes, is_upload)`; an upload's form gets FORM_ROOM on top."""

    def __init__(self, app, limits):
        self.app = app
        self.limits = limits

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit, upload = self.limits(scope["path"])
        message = too_large_message(limit, upload)
        if upload:
            limit += FORM_ROOM
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > limit:
            return await self._refuse(scope, receive, send, 413, message, {})
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if scope["method"] in ("POST", "PUT", "PATCH", "DELETE") and _is_json(content_type):
            # Small by the limit above: read it whole, check it, then hand it on unchanged.
            body, more = b"", True
            while more:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    return
                body += msg.get("body", b"")
                more = msg.get("more_body", False)
                if len(body) > limit:
                    return await self._refuse(scope, receive, send, 413, message, {})
            if bad := json_non_finite(body) if body else []:
                return await self._refuse(scope, receive, send, 422, "Some values were missing or invalid.",
                                          finite_problems(bad))
            sent = False

            async def replay():
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            return await self.app(scope, replay, send)

        received = 0

        async def counted():
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    # Raised inside the app: its error handler answers 413 (JSON or page);
                    # parsers stop here, so at most `limit` bytes were ever spooled.
                    raise HTTPException(413, message)
            return msg

        return await self.app(scope, counted, send)

    async def _refuse(self, scope, receive, send, status: int, message: str, problems: dict):
        # Answered before the app runs, in the app's error format (JSON for the API and fetch()).
        from starlette.responses import HTMLResponse, JSONResponse

        accept = dict(scope.get("headers", [])).get(b"accept", b"").decode("latin-1")
        if scope["path"].startswith("/api/") or accept.startswith("application/json") or status == 422:
            response = JSONResponse({"detail": message, "problems": problems}, status_code=status)
        else:
            from html import escape

            response = HTMLResponse(f"<!doctype html><title>Request refused</title><h1>{status}</h1>"
                                    f"<p>{escape(message)}</p><p><a href=\"/\">Back</a></p>", status_code=status)
        response.headers["Connection"] = "close"  # the unread body is not drained
        await response(scope, receive, send)
