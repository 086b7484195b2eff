"""The console's session over HTTP, against a real `clarion serve`: who may sign
in, what an expired session gets, the CSRF token on every cookie-authenticated
change (and bearer calls untouched by it), and the stream token of the live inbox."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support.accounts import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    USER_PASSWORD,
    Account,
    login_admin,
    register,
    serve_with_admin,
)
from tests.support.console import REFRESH, SESSION, csrf_for, expired_access_token
from tests.support.processes import Server

pytestmark = pytest.mark.slow

EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = serve_with_admin(tmp_path_factory.mktemp("console-session"))
    try:
        yield started
    finally:
        started.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def sign_in_form(http: httpx.Client, email: str, password: str) -> httpx.Response:
    """The sign-in form as a browser fills it: its nonce cookie and CSRF field."""
    form = http.get("/console/login")
    assert form.status_code == 200, form.text
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
    assert match is not None, form.text
    fields = {"csrf": match.group(1), "next": "/console/overview", "email": email}
    return http.post(
        "/console/login",
        data={**fields, "password": password},
        headers={"Origin": str(http.base_url).rstrip("/")},
    )


def key_names(url: str, admin: Account) -> set[str]:
    listed = httpx.get(f"{url}/admin/api-keys", headers=admin.headers)
    assert listed.status_code == 200, listed.text
    return {key["name"] for key in listed.json()}


def test_an_admin_signs_in_with_the_form_and_gets_both_cookies(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http:
        signed_in = sign_in_form(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == "/console/overview"
        cookies = signed_in.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith(f"{SESSION}="))
        assert "HttpOnly" in session
        assert "SameSite=strict" in session or "samesite=strict" in session.lower()
        assert any(c.startswith(f"{REFRESH}=") for c in cookies)
        assert http.get("/console/overview").status_code == 200


def test_a_non_admin_is_refused_at_sign_in_and_gets_no_session(server: Server) -> None:
    user = register(server.url, unique("not-admin"))
    with httpx.Client(base_url=server.url) as http:
        refused = sign_in_form(http, user.email, USER_PASSWORD)
        assert refused.status_code == 403
        assert "administrators only" in refused.text
        assert not any(
            c.startswith((f"{SESSION}=", f"{REFRESH}="))
            for c in refused.headers.get_list("set-cookie")
        )
        assert SESSION not in http.cookies
        # nor can they reach a page by holding a valid token in the cookie
        http.cookies.set(SESSION, user.access_token)
        page = http.get("/console/overview")
        assert page.status_code == 403
        assert "administrators only" in page.text


def test_an_expired_session_is_sent_to_sign_in_and_refused_by_the_api(server: Server) -> None:
    admin = login_admin(server.url)
    expired = expired_access_token(server.cwd, admin.id)
    with httpx.Client(base_url=server.url, cookies={SESSION: expired}) as http:
        page = http.get("/console/users")
        assert page.status_code == 303
        location = page.headers["location"]
        assert location.startswith("/console/login?")
        assert "expired=1" in location
        # the stale cookie is cleared on the way out
        assert any(
            c.startswith(f'{SESSION}=""') or c.startswith(f"{SESSION}=;")
            for c in page.headers.get_list("set-cookie")
        ), page.headers.get_list("set-cookie")
        notice = httpx.get(f"{server.url}{location}")
        assert "Your session has ended" in notice.text
        me = http.get("/auth/me")
        assert me.status_code == 401
        assert me.json()["code"] == "unauthorized"


def test_an_expired_access_token_is_renewed_on_page_load_with_the_refresh_cookie(
    server: Server,
) -> None:
    admin = login_admin(server.url)
    expired = expired_access_token(server.cwd, admin.id)
    with httpx.Client(base_url=server.url) as http:
        http.cookies.set(SESSION, expired, domain="127.0.0.1")
        http.cookies.set(REFRESH, admin.refresh_token, domain="127.0.0.1", path="/console")
        page = http.get("/console/users")
        assert page.status_code == 200, page.headers
        renewed = page.cookies.get(SESSION)
        assert renewed
        assert renewed != expired
        assert page.cookies.get(REFRESH) not in (None, admin.refresh_token)  # rotated
        assert csrf_for(renewed) in page.text  # the page's CSRF token goes with the new one
        assert http.get("/auth/me").status_code == 200
        # the refresh token it replaced is spent
        spent = httpx.post(f"{server.url}/auth/refresh", json={"refreshToken": admin.refresh_token})
        assert spent.status_code == 401


def test_sign_out_after_the_access_cookie_lapsed_still_ends_the_session(server: Server) -> None:
    """A page left open past the access token's life: the browser sends only the
    refresh cookie, and the form's CSRF token is for a token it no longer has."""
    admin = login_admin(server.url)
    own = str(server.url).rstrip("/")
    stale_csrf = {"csrf": csrf_for(admin.access_token)}
    with httpx.Client(base_url=server.url) as http:
        http.cookies.set(REFRESH, admin.refresh_token, domain="127.0.0.1", path="/console")
        elsewhere = http.post("/console/logout", data=stale_csrf, headers={"Origin": EVIL})
        assert elsewhere.status_code == 403
        # refused from another origin: the refresh token still works
        kept = httpx.post(f"{server.url}/auth/refresh", json={"refreshToken": admin.refresh_token})
        assert kept.status_code == 200, kept.text
        renewed = kept.json()["refreshToken"]
        http.cookies.set(REFRESH, renewed, domain="127.0.0.1", path="/console")
        ended = http.post("/console/logout", data=stale_csrf, headers={"Origin": own})
        assert ended.status_code == 303, ended.text
        assert ended.headers["location"] == "/console/login"
    gone = httpx.post(f"{server.url}/auth/refresh", json={"refreshToken": renewed})
    assert gone.status_code == 401


def error_of(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"status", "code", "message", "details"}
    assert body["status"] == status


def test_a_cookie_authenticated_change_needs_this_sessions_csrf_token(server: Server) -> None:
    admin = login_admin(server.url)
    right = csrf_for(admin.access_token)
    attempts = {
        "no token": {},
        "a wrong token": {"X-CSRF-Token": csrf_for("some other session")},
        "another site": {"X-CSRF-Token": right, "Origin": EVIL},
        "a cross-site fetch": {"X-CSRF-Token": right, "Sec-Fetch-Site": "cross-site"},
        "an opaque origin": {"X-CSRF-Token": right, "Origin": "null"},
    }
    names = {reason: f"csrf {reason} {uuid.uuid4().hex[:6]}" for reason in attempts}
    with httpx.Client(base_url=server.url, cookies={SESSION: admin.access_token}) as http:
        for reason, headers in attempts.items():
            body = {"name": names[reason], "scopes": ["admin"]}
            refused = http.post("/admin/api-keys", json=body, headers=headers)
            error_of(refused, 403)
            assert refused.json()["code"] == "forbidden", reason
        made = http.post(
            "/admin/api-keys",
            json={"name": "csrf right token", "scopes": ["notifications:read"]},
            headers={"X-CSRF-Token": right, "Origin": server.url},
        )
        assert made.status_code == 201, made.text
        # reading needs no token
        assert http.get("/admin/api-keys").status_code == 200
    assert not set(names.values()) & key_names(server.url, admin)


def test_bearer_and_api_key_calls_ignore_the_console_csrf_rules(server: Server) -> None:
    admin = login_admin(server.url)
    hostile = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
    made = httpx.post(
        f"{server.url}/admin/api-keys",
        json={"name": "bearer across sites", "scopes": ["admin"]},
        headers={**admin.headers, **hostile},
    )
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    again = httpx.post(
        f"{server.url}/admin/api-keys",
        json={"name": "key across sites", "scopes": ["notifications:read"]},
        headers={"X-API-Key": key, **hostile},
    )
    assert again.status_code == 201, again.text


def test_the_stream_token_opens_the_live_inbox_and_nothing_else(server: Server) -> None:
    user = register(server.url, unique("streamer"))
    issued = httpx.post(f"{server.url}/users/me/inbox/stream-token", headers=user.headers)
    assert issued.status_code == 200, issued.text
    token = issued.json()["token"]
    assert 0 < issued.json()["expiresIn"] <= 60
    with (
        httpx.Client(base_url=server.url, timeout=10) as http,
        http.stream("GET", "/users/me/inbox/stream", params={"token": token}) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert next(stream.iter_bytes()).startswith(b": connected")
    as_bearer = {"Authorization": f"Bearer {token}"}
    for method, path in [("GET", "/auth/me"), ("GET", "/users/me/inbox")]:
        refused = httpx.request(method, f"{server.url}{path}", headers=as_bearer)
        error_of(refused, 401)
    in_cookie = httpx.get(f"{server.url}/users/me/inbox", cookies={SESSION: token})
    error_of(in_cookie, 401)
    # nor does a made-up token open the stream
    forged = httpx.get(f"{server.url}/users/me/inbox/stream", params={"token": "x.y.z"})
    error_of(forged, 401)


def test_an_api_key_gets_no_stream_token(server: Server) -> None:
    admin = login_admin(server.url)
    made = httpx.post(
        f"{server.url}/admin/api-keys",
        json={"name": "no stream for keys", "scopes": ["admin"]},
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    refused = httpx.post(
        f"{server.url}/users/me/inbox/stream-token", headers={"X-API-Key": made.json()["key"]}
    )
    error_of(refused, 403)
