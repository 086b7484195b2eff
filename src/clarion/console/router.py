"""`/console`: sign-in, sign-out, session refresh and the page shells. Each page
is rendered on the server with the session's CSRF token; its script reads and
changes data through the JSON API with the session cookie, so the console can
do nothing the API would not let the same admin do."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from importlib.resources import files
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from clarion import __version__
from clarion.api.deps import ContainerDep, auth_endpoint_limit, transaction
from clarion.api.responses import Json
from clarion.bootstrap import Container
from clarion.console import session
from clarion.domain.errors import ClarionError, Forbidden, Unauthorized
from clarion.domain.identity import Principal
from clarion.services.auth import TokenPair

ROOT = files("clarion.console")
STATIC_URL = "/console/static"
TEMPLATES = Environment(
    loader=FileSystemLoader(str(ROOT / "templates")),
    autoescape=select_autoescape(default=True),
)
MAX_FORM_BYTES = 8192


@dataclass(frozen=True)
class Page:
    path: str
    name: str  # templates/pages/<name>.html and static/pages/<name>.js
    title: str
    nav: str  # the menu entry it belongs to


# The menu, in order, then the pages reached from a list.
PAGES = [
    Page("/overview", "overview", "Overview", "overview"),
    Page("/notifications", "notifications", "Notifications", "notifications"),
    Page("/dead-letters", "dead-letters", "Dead letters", "dead-letters"),
    Page("/templates", "templates", "Templates", "templates"),
    Page("/users", "users", "Users", "users"),
    Page("/api-keys", "api-keys", "API keys", "api-keys"),
    Page("/audit", "audit", "Audit log", "audit"),
    Page("/data", "data", "Data pipeline", "data"),
    Page("/notifications/{item}", "notification", "Notification", "notifications"),
    Page("/templates/{item}", "template", "Template", "templates"),
    Page("/users/{item}", "user", "User", "users"),
]
MENU = [page for page in PAGES if "{" not in page.path]

router = APIRouter(prefix="/console", include_in_schema=False)


def render(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = TEMPLATES.get_template(name).render(
        static=STATIC_URL, version=__version__, menu=MENU, **values
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def safe_next(target: str | None) -> str:
    """Only a path inside the console: never another host (`//evil`, `/\\evil`)."""
    if target and target.startswith("/console/") and not any(c in target for c in ("\\", "://")):
        return target
    return "/console/overview"


def login_redirect(request: Request, *, expired: bool) -> RedirectResponse:
    target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    flag = "&expired=1" if expired else ""
    return RedirectResponse(f"/console/login?next={target}{flag}", status_code=303)


async def refreshed(container: Container, request: Request) -> tuple[TokenPair, Principal] | None:
    token = request.cookies.get(session.REFRESH_COOKIE)
    if not token:
        return None
    try:
        async with transaction(container.unit_of_work()) as uow:
            pair = await container.auth.refresh(uow, token)
        principal = await container.auth.principal_for_access_token(
            container.reading, pair.access_token
        )
    except ClarionError:
        return None
    return pair, principal


def keep_session(
    response: Response, request: Request, container: Container, pair: TokenPair
) -> None:
    session.set_session(
        response,
        request,
        pair.access_token,
        pair.refresh_token,
        access_ttl=pair.expires_in,
        refresh_ttl=container.settings.refresh_token_ttl_seconds,
    )


def page_handler(page: Page) -> Any:
    async def show(request: Request, container: ContainerDep) -> Response:
        access = session.session_token(request)
        principal: Principal | None = None
        renewed: TokenPair | None = None
        if access is not None:
            try:
                principal = await container.auth.principal_for_access_token(
                    container.reading, access
                )
            except Unauthorized:
                principal = None
        if principal is None:
            fresh = await refreshed(container, request)
            if fresh is None:
                away = login_redirect(request, expired=access is not None)
                session.clear_session(away, request)
                return away
            renewed, principal = fresh
            access = renewed.access_token
        assert access is not None
        response: Response
        if not principal.is_admin:
            response = render("refused.html", 403, title="Admins only")
        else:
            response = render(
                f"pages/{page.name}.html",
                title=page.title,
                page=page,
                item=request.path_params.get("item", ""),
                csrf=session.csrf_token(access),
            )
        if renewed is not None:
            keep_session(response, request, container, renewed)
        return response

    show.__name__ = f"console_{page.name.replace('-', '_')}"
    return show


for _page in PAGES:
    router.add_api_route(_page.path, page_handler(_page), methods=["GET"])


@router.get("")
@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/console/overview", status_code=303)


@router.get("/login")
async def login_form(request: Request, next: str | None = None, expired: bool = False) -> Response:
    nonce = secrets.token_urlsafe(24)
    response = render(
        "login.html",
        title="Sign in",
        next=safe_next(next),
        csrf=session.csrf_token(nonce),
        notice="Your session has ended; sign in again." if expired else "",
    )
    response.set_cookie(
        session.LOGIN_COOKIE,
        nonce,
        max_age=3600,
        path="/console/login",
        httponly=True,
        secure=session.secure(request),
        samesite="strict",
    )
    return response


async def form_fields(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Forbidden("The form is too large.")
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    # a value holding NUL is left out, as if not sent: PostgreSQL cannot compare
    # such text, and no account's email or password can match one
    return {key: values[0] for key, values in fields.items() if "\x00" not in values[0]}


@router.post("/login")
async def login(
    request: Request,
    container: ContainerDep,
    _limit: Annotated[None, Depends(auth_endpoint_limit)],
) -> Response:
    fields = await form_fields(request)
    target = safe_next(fields.get("next"))
    nonce = request.cookies.get(session.LOGIN_COOKIE, "")
    try:
        if not nonce:
            raise Forbidden(session.CSRF_REFUSED)
        session.check_csrf(request, nonce, fields.get(session.CSRF_FIELD, ""))
    except Forbidden:
        return render("refused.html", 403, title="Sign-in refused", reason="csrf")

    def again(message: str, status: int) -> HTMLResponse:
        return render(
            "login.html",
            status,
            title="Sign in",
            next=target,
            csrf=session.csrf_token(nonce),
            error=message,
            email=fields.get("email", ""),
        )

    try:
        async with transaction(container.unit_of_work()) as uow:
            pair = await container.auth.login(
                uow, email=fields.get("email", ""), password=fields.get("password", "")
            )
        principal = await container.auth.principal_for_access_token(
            container.reading, pair.access_token
        )
    except Unauthorized:
        return again("The email or password is wrong.", 401)
    if not principal.is_admin:
        async with transaction(container.unit_of_work()) as uow:
            await container.auth.logout(uow, pair.refresh_token)
        return again("The console is for administrators only.", 403)
    response = RedirectResponse(target, status_code=303)
    keep_session(response, request, container, pair)
    response.delete_cookie(session.LOGIN_COOKIE, path="/console/login")
    return response


@router.post("/logout")
async def logout(request: Request, container: ContainerDep) -> Response:
    access = session.session_token(request)
    fields = await form_fields(request)
    try:
        if access is None:
            # the access cookie lapsed while the page stood open: the form's token
            # is for a token the browser no longer sends, and only the refresh
            # cookie (SameSite=Strict) is left to end; the origin must still match
            session.check_same_origin(request)
        else:
            session.check_csrf(request, access, fields.get(session.CSRF_FIELD, ""))
    except Forbidden:
        return render("refused.html", 403, title="Sign-out refused", reason="csrf")
    refresh = request.cookies.get(session.REFRESH_COOKIE)
    if refresh:
        try:
            async with transaction(container.unit_of_work()) as uow:
                await container.auth.logout(uow, refresh)
        except ClarionError:
            pass  # already ended: the cookies go all the same
    response = RedirectResponse("/console/login", status_code=303)
    session.clear_session(response, request)
    return response


@router.post("/session/refresh")
async def refresh(request: Request, container: ContainerDep) -> Response:
    """Called by the console's script when an API call answers 401: a new access
    token in the cookie and the CSRF token that goes with it. Same-origin only,
    and only with the console's own header, which no cross-site form can send."""
    session.check_same_origin(request)
    if request.headers.get(session.CONSOLE_HEADER) != "1":
        raise Forbidden(session.CSRF_REFUSED)
    fresh = await refreshed(container, request)
    if fresh is None:
        raise Unauthorized("The session has ended; sign in again.")
    pair, principal = fresh
    if not principal.is_admin:
        raise Forbidden("The console is for administrators only.")
    response = Json({"csrf": session.csrf_token(pair.access_token), "expiresIn": pair.expires_in})
    response.headers["Cache-Control"] = "no-store"
    keep_session(response, request, container, pair)
    return response


def install_console(app: Any) -> None:
    app.mount(STATIC_URL, StaticFiles(directory=str(ROOT / "static")), name="console-static")
    app.include_router(router)
