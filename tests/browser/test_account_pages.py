"""Users, one user and API keys in the console: a key made in the browser works
with curl until it is revoked there, and a role changed there is the API's role."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import Console
from tests.support.accounts import login_admin, register


def curl_status(url: str, key: str) -> int:
    """The status `curl` gets for GET /notifications with this key."""
    curl = shutil.which("curl")
    assert curl is not None, "the curl binary is missing"
    done = subprocess.run(
        [curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"X-API-Key: {key}", url],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return int(done.stdout)


def test_an_api_key_made_in_the_console_works_with_curl_until_it_is_revoked(
    admin_console: Console,
) -> None:
    page = admin_console.open("/console/api-keys")
    name = f"curl key {uuid.uuid4().hex[:8]}"
    page.get_by_label("Name").fill(name)
    page.get_by_label("notifications:write").uncheck()
    page.get_by_label("notifications:read").check()
    page.get_by_label("Rate limit (optional)").fill("100/second")
    page.get_by_role("button", name="Create key").click()

    box = page.locator(".secret")
    expect(box).to_contain_text("will not be shown again")
    secret = box.locator("#new-secret").inner_text().strip()
    assert len(secret) > 20
    box.get_by_role("button", name="Copy").click()
    expect(page.locator("#notice")).to_contain_text("copied")
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("notifications:read")
    expect(row).to_contain_text("100/second")
    expect(row).to_contain_text("active")
    assert secret not in row.inner_text()  # the list shows the prefix only

    listing = f"{admin_console.url}/notifications"
    assert 200 <= curl_status(listing, secret) < 300
    assert curl_status(listing, secret[:-1] + ("x" if secret[-1] != "x" else "y")) == 401

    box.get_by_role("button", name="Done, hide it").click()
    expect(page.locator(".secret")).to_have_count(0)
    row.get_by_role("button", name="Revoke").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(name)
    dialog.get_by_role("button", name="Revoke").click()
    expect(row).to_contain_text("revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)

    assert curl_status(listing, secret) == 401
    page.reload()
    expect(page.get_by_role("row").filter(has_text=name)).to_contain_text("revoked")
    expect(page.get_by_text(secret)).to_have_count(0)  # shown once, never again
    admin_console.shoot("api-keys")


def test_a_role_changed_in_the_console_is_the_users_role(admin_console: Console) -> None:
    url = admin_console.url
    email = f"role-{uuid.uuid4().hex[:8]}@example.com"
    user = register(url, email)

    page = admin_console.open(f"/console/users?search={email}")
    expect(page.get_by_label("Name or email")).to_have_value(email)
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("USER")
    admin_console.shoot("users")
    rows.get_by_role("link").click()
    page.wait_for_url(f"**/console/users/{user.id}")

    expect(page.get_by_role("heading", level=2).first).to_have_text(email.split("@")[0])
    expect(page.locator("#current-role")).to_have_text("USER")
    expect(page.get_by_text("None of their addresses is suppressed.")).to_be_visible()
    expect(page.get_by_text("No channel set: all on.")).to_be_visible()
    link = page.get_by_role("link", name="Their notifications")
    assert link.get_attribute("href") == f"/console/notifications?userId={user.id}"

    # MARKETING email is on by default for a fresh user
    page.get_by_label("Type", exact=True).select_option("MARKETING")
    page.get_by_label("Channel", exact=True).select_option("EMAIL")
    page.get_by_role("button", name="Would it be sent?").click()
    expect(page.locator("#explain-answer")).to_have_text(re.compile(r"^Sent — .*rule: default"))

    page.get_by_label("Role", exact=True).select_option("ADMIN")
    page.get_by_role("button", name="Change role").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(email)
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator("#current-role")).to_have_text("USER")
    admin = login_admin(url)
    seen = httpx.get(f"{url}/users/{user.id}", headers=admin.headers)
    assert seen.json()["role"] == "USER"

    page.get_by_role("button", name="Change role").click()
    page.get_by_role("dialog").get_by_role("button", name="Make ADMIN").click()
    expect(page.locator("#current-role")).to_have_text("ADMIN")
    expect(page.locator("#notice")).to_contain_text(f"{email} is now ADMIN")
    seen = httpx.get(f"{url}/users/{user.id}", headers=admin.headers)
    assert seen.status_code == 200
    assert seen.json()["role"] == "ADMIN"
    page.evaluate("window.scrollTo(0, 0)")
    admin_console.shoot("user")
