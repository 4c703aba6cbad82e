"""The web UI's pages, assets and login form, with the security headers every UI answer has.

Every page path answers ``static/index.html`` (its script routes on the path); assets come from
the package folder ``static/`` only (no listing, no ``..``, no hidden files). The login form
keeps the collector's token in an HttpOnly, SameSite=Strict cookie that ``TokenAuth`` accepts
like the bearer header.
"""

from __future__ import annotations

import mimetypes
import re
from html import escape
from importlib.resources import files
from pathlib import Path
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..collector import COOKIE_NAME, LOGIN_PATH, cookie_value, error, token_matches

__all__ = [
    "EMBED_CSP",
    "PUBLIC_PATHS",
    "UI_CSP",
    "html_error",
    "is_page",
    "not_found",
    "page_routes",
    "safe_next",
    "secured",
]

STATIC = Path(str(files("otel_bridge.ui") / "static"))
UI_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'; "
    "form-action 'self'"
)
# The report, diff and compare pages carry their own CSP (one inline script, by hash); this
# header adds what a meta element cannot say (frame-ancestors) and fetches nothing either.
EMBED_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
PUBLIC_PATHS = frozenset({LOGIN_PATH, "/static/login.*", "/static/app.css"})
_SEGMENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")  # no "..", no hidden files
MAX_FORM_BYTES = 8192


def secured(response: Response, csp: str = UI_CSP) -> Response:
    """The response with the UI's security headers (``csp``: its Content-Security-Policy)."""
    response.headers["Content-Security-Policy"] = csp
    response.headers.update(_HEADERS)
    return response


def is_page(path: str) -> bool:
    """True for the paths of the UI's pages (they all answer ``index.html``)."""
    return path in ("/", "/diff", "/compare") or path.startswith(("/runs/", "/sessions/"))


def html_error(status: int, message: str) -> Response:
    """A page that says what went wrong in words, with a way back to the runs."""
    text = escape(message)
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>otel-bridge: {status}</title>"
        '<link rel="stylesheet" href="/static/app.css"></head>'
        f'<body class="error-page"><main><h1>{text}</h1>'
        '<p><a href="/" target="_top">Back to the runs</a></p></main></body></html>'
    )
    return secured(HTMLResponse(body, status))


def not_found(request: Request, exc: Exception) -> Response:
    """The answer to a path no route takes: a page, or JSON under ``/api/``."""
    path = request.url.path
    if path.startswith("/api/") and "text/html" not in request.headers.get("accept", ""):
        return error(404, f"no such route: {request.method} {path}")
    return html_error(404, f"No such page: {path}")


def safe_next(target: str | None) -> str:
    """Where the login form may send the browser: a local path (not ``//``), else ``/``."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(c < " " or c in "\\\x7f" for c in target)
    ):
        return "/"
    return target


def _file(name: str) -> Path | None:
    """A file of the static folder by its relative name, or None."""
    parts = name.split("/")
    if not all(_SEGMENT.match(part) for part in parts):
        return None
    path = STATIC.joinpath(*parts)
    return path if path.is_file() and path.resolve().is_relative_to(STATIC.resolve()) else None


def _serve(path: Path) -> Response:
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type.endswith(("javascript", "json")):
        media_type += "; charset=utf-8"
    response = Response(path.read_bytes(), media_type=media_type)
    response.headers["Cache-Control"] = "no-cache"
    return secured(response)


def page_routes(token: str | None) -> list[BaseRoute]:
    """Pages, ``/static/{file}`` and ``/login`` (``token``: the collector's, or None)."""

    def page(request: Request) -> Response:
        return _serve(STATIC / "index.html")

    def static(request: Request) -> Response:
        path = _file(str(request.path_params["name"]))
        return _serve(path) if path else html_error(404, "No such file.")

    def login_form(request: Request) -> Response:
        if token is None:
            return secured(RedirectResponse("/", 303))
        return _serve(STATIC / "login.html")

    async def login(request: Request) -> Response:
        if token is None:
            return secured(RedirectResponse("/", 303))
        body = await _read_form(request)
        if body is None:
            return html_error(413, "The form was too large.")
        form = parse_qs(body, keep_blank_values=True, max_num_fields=10)
        target = safe_next((form.get("next") or ["/"])[0])
        given = (form.get("token") or [""])[0]
        if not token_matches(given, token):
            failed = f"{LOGIN_PATH}?next={quote(target, safe='')}&failed=1"
            return secured(RedirectResponse(failed, 303))
        response = secured(RedirectResponse(target, 303))
        response.headers["Set-Cookie"] = (
            f"{COOKIE_NAME}={cookie_value(token)}; HttpOnly; SameSite=Strict; Path=/"
        )
        return response

    return [
        Route("/", page, methods=["GET", "HEAD"]),
        Route("/runs/{trace_id}", page, methods=["GET", "HEAD"]),
        Route("/sessions/{session_id:path}", page, methods=["GET", "HEAD"]),
        Route("/diff", page, methods=["GET", "HEAD"]),
        Route("/compare", page, methods=["GET", "HEAD"]),
        Route("/static/{name:path}", static, methods=["GET", "HEAD"]),
        Route(LOGIN_PATH, login_form, methods=["GET", "HEAD"]),
        Route(LOGIN_PATH, login, methods=["POST"]),
    ]


async def _read_form(request: Request) -> str | None:
    """The form's body as text, or None beyond ``MAX_FORM_BYTES``."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")
