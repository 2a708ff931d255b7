"""Who may write: a bearer token for API clients, a login cookie plus a CSRF token for browsers.

Nothing is stored server-side: the session cookie and the CSRF token are HMACs of the configured
token (or, without one, of a secret made at start-up), so they stop working when the token changes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request

SESSION_COOKIE = "sf_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"


class Guard:
    def __init__(self, token: str | None) -> None:
        self.token = token
        # Without a token forms still carry a CSRF value, so another site cannot post to a local dev API.
        key = (token or secrets.token_hex(32)).encode()
        self._session = _mac(key, b"sf-session-v1")
        self.csrf = _mac(key, b"sf-csrf-v1")

    @property
    def enabled(self) -> bool:
        return self.token is not None

    def session_value(self) -> str:
        return self._session

    def accepts_login(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def logged_in(self, request: Request) -> bool:
        if self.token is None:
            return True
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return hmac.compare_digest(cookie.encode(), self._session.encode())

    def check_write(self, request: Request, form_csrf: str | None = None) -> None:
        """Raise 401/403 unless this request may change state."""
        bearer = _bearer(request)
        if bearer is not None:
            if self.token is None or hmac.compare_digest(bearer.encode(), self.token.encode()):
                return
            raise HTTPException(401, "invalid token")
        origin = request.headers.get("origin")
        if origin is None and request.cookies.get(SESSION_COOKIE) is None:
            # A non-browser client: browsers always send Origin on a POST.
            if self.token is None:
                return
            raise HTTPException(401, "this needs the API token: send `Authorization: Bearer <SF_API_TOKEN>`")
        if origin is not None and not _same_origin(origin, request):
            raise HTTPException(403, "cross-origin write refused")
        if not self.logged_in(request):
            raise HTTPException(401, "log in first")
        given = form_csrf if form_csrf is not None else request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.csrf.encode()):
            raise HTTPException(403, "missing or stale CSRF token: reload the page")


def _mac(key: bytes, purpose: bytes) -> str:
    return hmac.new(key, purpose, hashlib.sha256).hexdigest()


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _same_origin(origin: str, request: Request) -> bool:
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host
