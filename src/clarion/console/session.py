"""Browser sessions: the console keeps the caller's access token in an HttpOnly,
SameSite=Strict cookie, and its refresh token in a second one that only the
refresh path receives. A request that changes state with the cookie must also
carry the session's CSRF token in a header or form field: a hash of the access
token, which a page of another site can neither read nor compute."""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import Response

from clarion.domain.errors import Forbidden

SESSION_COOKIE = "clarion_session"
REFRESH_COOKIE = "clarion_refresh"
LOGIN_COOKIE = "clarion_login"  # ties the sign-in form to this browser
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
REFRESH_PATH = "/console"  # page loads renew an expired access token too
CONSOLE_HEADER = "x-clarion-console"  # sent by the console's script only
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_REFUSED = "The request lacks this session's CSRF token; reload the console."


def csrf_token(credential: str) -> str:
    return hashlib.sha256(b"clarion-csrf:" + credential.encode()).hexdigest()


def session_token(request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE, "").strip()
    return token or None


def check_same_origin(request: Request) -> None:
    """Refuse what the browser says came from another site. SameSite=Strict keeps
    the cookie off such requests already; this covers a browser that ignores it."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise Forbidden(CSRF_REFUSED)
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host", ""):
        raise Forbidden(CSRF_REFUSED)  # `null` included: no host is spelled so


def check_csrf(request: Request, credential: str, presented: str | None = None) -> None:
    """For a state-changing request authenticated by a cookie: same origin, and
    the token in `presented` (a form field) or the header matches `credential`."""
    if request.method in SAFE_METHODS:
        return
    check_same_origin(request)
    given = presented if presented is not None else request.headers.get(CSRF_HEADER, "")
    if not given or not hmac.compare_digest(given, csrf_token(credential)):
        raise Forbidden(CSRF_REFUSED)


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(
    response: Response,
    request: Request,
    access: str,
    refresh: str,
    *,
    access_ttl: int,
    refresh_ttl: int,
) -> None:
    https = secure(request)
    response.set_cookie(
        SESSION_COOKIE,
        access,
        max_age=access_ttl,
        path="/",
        httponly=True,
        secure=https,
        samesite="strict",
    )
    response.set_cookie(
        REFRESH_COOKIE,
        refresh,
        max_age=refresh_ttl,
        path=REFRESH_PATH,
        httponly=True,
        secure=https,
        samesite="strict",
    )


def clear_session(response: Response, request: Request) -> None:
    https = secure(request)
    for name, path in ((SESSION_COOKIE, "/"), (REFRESH_COOKIE, REFRESH_PATH)):
        response.delete_cookie(name, path=path, httponly=True, secure=https, samesite="strict")
