"""What the console refuses, seen from a browser: non-admins, expired sessions,
forms posted from another site, and any request to a host other than Clarion."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Response

from clarion.console.router import PAGES
from tests.browser.conftest import Console, new_console
from tests.support.accounts import ADMIN_PASSWORD, USER_PASSWORD, Account, login_admin, register
from tests.support.console import REFRESH, SESSION, expired_access_token
from tests.support.processes import Server


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def put_cookie(console: Console, name: str, value: str, path: str = "/") -> None:
    console.context.add_cookies(
        [
            {
                "name": name,
                "value": value,
                "domain": urlsplit(console.url).hostname or "",
                "path": path,
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )


def cookie_names(console: Console) -> set[str]:
    return {cookie["name"] for cookie in console.context.cookies()}


def test_a_non_admin_cannot_sign_in_nor_use_a_token_in_the_cookie(
    console: Console, console_server: Server
) -> None:
    user = register(console_server.url, f"{unique('reader')}@example.com")
    page = console.sign_in(user.email, USER_PASSWORD)
    assert "administrators only" in page.get_by_role("alert").inner_text()
    assert "/console/login" in page.url
    assert SESSION not in cookie_names(console)
    assert REFRESH not in cookie_names(console)

    put_cookie(console, SESSION, user.access_token)
    answer = page.goto(f"{console.url}/console/overview")
    assert answer is not None
    assert answer.status == 403
    assert "administrators only" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("navigation").count() == 0  # no console around it


def test_an_expired_session_is_sent_to_sign_in_with_a_notice(
    console: Console, console_server: Server
) -> None:
    admin = login_admin(console_server.url)
    expired = expired_access_token(console_server.cwd, admin.id)
    put_cookie(console, SESSION, expired)
    page = console.open("/console/users")
    assert "/console/login" in page.url
    assert "expired=1" in page.url
    assert "Your session has ended" in page.get_by_role("status").inner_text()
    assert SESSION not in cookie_names(console)  # cleared on the way out
    me = httpx.get(f"{console_server.url}/auth/me", cookies={SESSION: expired})
    assert me.status_code == 401
    # signing in again goes back where the admin was
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/users")


def test_an_expired_access_token_is_renewed_on_page_load(
    console: Console, console_server: Server
) -> None:
    admin = login_admin(console_server.url)
    expired = expired_access_token(console_server.cwd, admin.id)
    put_cookie(console, SESSION, expired)
    put_cookie(console, REFRESH, admin.refresh_token, path="/console")
    page = console.open("/console/users")
    assert page.url.endswith("/console/users")
    assert page.get_by_role("heading", level=1).inner_text() == "Users"
    session = {c["name"]: c["value"] for c in console.context.cookies()}
    assert session[SESSION] not in ("", expired)
    ok = httpx.get(f"{console_server.url}/auth/me", cookies={SESSION: session[SESSION]})
    assert ok.status_code == 200


class Attacker:
    """Pages of another site: `localhost` is a different site from `127.0.0.1`."""

    def __init__(self) -> None:
        pages = self.pages = dict[str, bytes]()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path, b"")
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def auto_post(self, name: str, action: str, fields: dict[str, str], enctype: str = "") -> str:
        inputs = "".join(
            f"<input type='hidden' name='{key}' value='{value}'>" for key, value in fields.items()
        )
        kind = f" enctype='{enctype}'" if enctype else ""
        html = (
            f"<!doctype html><form id='f' method='post' action='{action}'{kind}>{inputs}</form>"
            "<script>document.getElementById('f').submit()</script>"
        )
        self.pages[f"/{name}"] = html.encode()
        return f"{self.url}/{name}"


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    site = Attacker()
    site.thread.start()
    try:
        yield site
    finally:
        site.server.shutdown()
        site.server.server_close()


def posted_from(console: Console, attack: str, target: str) -> Response:
    """Open the attacker's page and wait for its form's answer from Clarion."""
    with console.page.expect_response(
        lambda r: r.url == target and r.request.method == "POST"
    ) as answer:
        console.page.goto(attack)
    return answer.value


def test_a_form_posted_from_another_site_changes_nothing(
    browser: Browser, console_server: Server, attacker: Attacker
) -> None:
    console = new_console(browser, console_server.url)
    try:
        console.sign_in()
        assert console.page.url.endswith("/console/overview")
        admin = login_admin(console_server.url)

        # a JSON body smuggled in a text/plain form: the classic cross-site API call
        name = unique("planted key")
        body = f'{{"name":"{name}","scopes":["admin"],"pad":"'
        create = f"{console.url}/admin/api-keys"
        attack = attacker.auto_post("key", create, {body: '"}'}, enctype="text/plain")
        refused = posted_from(console, attack, create)
        assert refused.request.header_value("origin") == attacker.url  # it did cross sites
        assert refused.status in (401, 403), refused.text()
        assert name not in key_names(console_server.url, admin)

        logout = f"{console.url}/console/logout"
        answer = posted_from(
            console, attacker.auto_post("logout", logout, {"csrf": "a guess"}), logout
        )
        assert answer.request.header_value("origin") == attacker.url
        assert answer.status == 403
        assert console.page.url == logout
        assert "did not come from this console" in console.page.get_by_role("alert").inner_text()

        # the admin's session survived both
        page = console.open("/console/overview")
        assert page.url.endswith("/console/overview")
        assert page.get_by_role("heading", level=1).inner_text() == "Overview"
    finally:
        strays = [u for u in console.foreign_requests() if not u.startswith(attacker.url)]
        console.context.close()
    assert strays == [], "the console asked another host"


def key_names(url: str, admin: Account) -> set[str]:
    listed = httpx.get(f"{url}/admin/api-keys", headers=admin.headers)
    assert listed.status_code == 200, listed.text
    return {key["name"] for key in listed.json()}


def real_items(url: str) -> dict[str, str]:
    """A notification id, a template name and a user id, made through the API."""
    admin = login_admin(url)
    user = register(url, f"{unique('walked')}@example.com")
    sent = httpx.post(
        f"{url}/notifications",
        headers=admin.headers,
        json={
            "userId": user.id,
            "channel": "IN_APP",
            "type": "ALERT",
            "payload": {"title": "Walked", "body": "Every page"},
        },
    )
    assert sent.status_code == 201, sent.text
    name = unique("walk")
    template = httpx.post(
        f"{url}/templates",
        headers=admin.headers,
        json={"name": name, "channel": "SMS", "locales": {"en": {"body": "Hello"}}},
    )
    assert template.status_code == 201, template.text
    return {"notification": sent.json()["id"], "template": name, "user": user.id}


def test_no_page_asks_another_host_or_runs_inline_code(
    admin_console: Console, console_server: Server
) -> None:
    items = real_items(console_server.url)
    page = admin_console.page
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    visited = []
    for shell in PAGES:
        path = "/console" + shell.path.replace("{item}", items.get(shell.name, ""))
        answer = page.goto(f"{admin_console.url}{path}")
        assert answer is not None
        assert answer.status == 200, path
        assert page.url.endswith(path), f"{path} went to {page.url}"
        policy = answer.headers.get("content-security-policy", "")
        assert "default-src 'none'" in policy, path
        assert "unsafe-inline" not in policy, path
        assert "unsafe-eval" not in policy, path
        page.wait_for_load_state("networkidle")
        visited.append(shell.name)
    assert len(visited) == len(PAGES)
    assert admin_console.foreign_requests() == []
    assert violations == []
    login = httpx.get(f"{console_server.url}/console/login")
    assert "unsafe-inline" not in login.headers["content-security-policy"]


UNNAMED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter((el) => el.type !== 'hidden' && el.offsetParent !== null)
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
    && !el.getAttribute('aria-labelledby') && !(el.tagName === 'BUTTON' && el.innerText.trim()))
  .map((el) => el.outerHTML.slice(0, 120))"""


def test_every_page_names_its_controls_and_runs_without_script_errors(
    admin_console: Console, console_server: Server
) -> None:
    """What a screen reader or keyboard user needs first: one h1, and a name for
    every field and button; and no page script that fails."""
    items = real_items(console_server.url)
    page = admin_console.page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for shell in PAGES:
        path = "/console" + shell.path.replace("{item}", items.get(shell.name, ""))
        page.goto(f"{admin_console.url}{path}")
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").count() == 1, path
        assert page.evaluate(UNNAMED_CONTROLS) == [], path
    assert errors == []
