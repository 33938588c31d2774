"""The console's guard: only the person who started it, from this computer, may use it.

- Access needs the token printed at start (`?token=…`), exchanged once for an HttpOnly,
  SameSite=Strict session cookie; without it every page is refused (403, in Chinese).
- The Host header must name the loopback address the console listens on (no DNS rebinding).
- Every POST must carry the session's CSRF token (form field or X-CSRF-Token header), come from
  the console's own origin, and stay under the upload size limit.
- Every path taken from a request stays inside its campaign folder (`inside`, `upload_path`).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse

from ..layout import sanitise
from ..messages import Issue, issue

COOKIE = "xw_console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MB = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass
class Secrets:
    """The secrets of one console run: start token, session cookie value, CSRF token."""
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    session: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    max_upload: int = 200 * MB       # one request (all files of a drop together)
    max_file: int = 100 * MB         # one file
    hosts: tuple = ()                # accepted Host headers, e.g. ("127.0.0.1:8765", …)

    @property
    def csrf(self) -> str:
        return hmac.new(self.session.encode(), b"csrf", hashlib.sha256).hexdigest()

    def has_session(self, request: Request) -> bool:
        return hmac.compare_digest(request.cookies.get(COOKIE, ""), self.session)

    def csrf_ok(self, sent: str) -> bool:
        return bool(sent) and hmac.compare_digest(str(sent), self.csrf)


class Refused(Exception):
    """A request the console will not carry out; `issue` says why, `status` is the HTTP code."""

    def __init__(self, item: Issue, status: int = 400):
        super().__init__(str(item))
        self.issue, self.status = item, status


def human_size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{max(1, n // 1024)} KB"


def refusal(request: Request, item: Issue, status: int):
    """The refusal as JSON for scripts (fetch) and as a small Chinese page for the browser."""
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"ok": False, "errors": [item.to_dict()]}, status_code=status)
    back = "" if item.code in ("W001", "W012") else "<p><a class='button' href='/'>返回控制台首页</a></p>"
    page = ("<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            "<link rel='stylesheet' href='/static/console.css'><title>无法完成</title></head>"
            f"<body><main class='refused'><h1>无法完成</h1><p class='error'>{_esc(item.message)}</p>"
            f"<p class='code'>{item.code}</p>{back}</main></body></html>")
    return HTMLResponse(page, status_code=status)


def _esc(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


class Guard:
    """ASGI middleware applying the rules in the module docstring before any route runs."""

    def __init__(self, app, keys: Secrets):
        self.app, self.keys = app, keys

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        response = self.check(request)
        if response is not None:
            return await response(scope, receive, send)
        return await self.app(scope, receive, send)

    def check(self, request: Request):
        """A response refusing the request, a redirect that sets the cookie, or None (go on)."""
        keys = self.keys
        host = request.headers.get("host", "")
        if keys.hosts and host not in keys.hosts:
            return refusal(request, issue("W012", host=host or "（空）"), 403)
        if request.url.path.startswith("/static/"):
            return None
        token = request.query_params.get("token")
        if token is not None and hmac.compare_digest(token, keys.token):
            return self._welcome(request)
        if not keys.has_session(request):
            return refusal(request, issue("W001"), 403)
        if request.method not in ("GET", "HEAD"):
            return self._check_post(request)
        return None

    def _welcome(self, request: Request):
        """Swap the token for the session cookie and drop it from the address bar."""
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        target = request.url.path + (f"?{urlencode(query)}" if query else "")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, self.keys.session, httponly=True, samesite="strict",
                            path="/")
        return response

    def _check_post(self, request: Request):
        keys = self.keys
        origin = request.headers.get("origin") or request.headers.get("referer")
        if origin and urlsplit(origin).netloc not in keys.hosts:
            return refusal(request, issue("W002"), 403)
        sent = request.headers.get(CSRF_HEADER, "")
        if sent and not keys.csrf_ok(sent):
            return refusal(request, issue("W002"), 403)
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            return refusal(request, issue("W003", size="未知", limit=human_size(keys.max_upload)),
                           411)
        if int(length) > keys.max_upload:
            return refusal(request, issue("W003", size=human_size(int(length)),
                                          limit=human_size(keys.max_upload)), 413)
        return None


async def read_form(request: Request, keys: Secrets):
    """The POSTed form, after its CSRF token (field or header) and file sizes are checked."""
    form = await request.form(max_files=5000, max_fields=5000)
    if not (keys.csrf_ok(request.headers.get(CSRF_HEADER, "")) or
            keys.csrf_ok(str(form.get(CSRF_FIELD) or ""))):
        raise Refused(issue("W002"), 403)
    for _, value in form.multi_items():
        size = getattr(value, "size", None)
        if size is not None and size > keys.max_file:
            raise Refused(issue("W004", file=value.filename, size=human_size(size),
                                limit=human_size(keys.max_file)), 413)
    return form


def inside(root: Path, relative: str) -> Path:
    """`root/relative`, refused unless it names something inside `root` (no `..`, no absolute
    path or drive, no symbolic link leading out)."""
    parts = _parts(relative)
    target = root.joinpath(*parts).resolve()
    base = root.resolve()
    if target != base and base not in target.parents:
        raise Refused(issue("W005", name=relative), 400)
    return target


def upload_path(base: Path, name: str) -> Path:
    """Where an uploaded file called `name` (maybe "folder/file.xlsx") is saved under `base`:
    each part made safe for Windows (Chinese kept); traversal refused."""
    parts = [sanitise(p) for p in _parts(name)]
    if not parts:
        raise Refused(issue("W005", name=name or "（空）"), 400)
    return inside(base, "/".join(parts))


def _parts(name: str) -> list[str]:
    text = str(name).replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text) or "\x00" in text:
        raise Refused(issue("W005", name=name), 400)
    parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise Refused(issue("W005", name=name), 400)
    return parts
