"""The audit and data pages: the audit trail filtered and paged, an export link
the browser downloads, and a user anonymised behind a typed confirmation."""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import expect

from clarion.services.export import header
from tests.browser.conftest import Console
from tests.support.accounts import Account, login_admin, register

DIGITS = re.compile(r"^\d+$")
PSEUDONYM = re.compile(r"^anon-[0-9a-f]{16}$")


def fresh_user(url: str, prefix: str) -> Account:
    return register(url, f"{prefix}-{uuid.uuid4().hex[:10]}@example.com")


def test_the_audit_trail_filters_by_target_and_action_and_pages(admin_console: Console) -> None:
    url, page = admin_console.url, admin_console.page
    admin, user = login_admin(url), fresh_user(url, "audited")
    # 26 role changes of one user: one more than a page of 25
    for turn in range(26):
        role = "ADMIN" if turn % 2 == 0 else "USER"
        changed = httpx.post(
            f"{url}/admin/users/{user.id}/role", headers=admin.headers, json={"role": role}
        )
        assert changed.status_code == 200, changed.text

    admin_console.open("/console/audit")
    expect(page.locator("[data-stat=total]")).to_have_text(DIGITS)
    page.get_by_label("Target id").fill(user.id)
    page.get_by_label("Actions (comma-separated)").fill("user.role.change")
    page.get_by_label("Per page").select_option("25")
    page.get_by_role("button", name="Apply").click()

    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(25)
    expect(rows.first).to_contain_text("user.role.change")
    expect(rows.first.get_by_role("link", name=admin.id)).to_be_visible()
    assert f"entityId={user.id}" in page.url  # the filters can be reloaded and shared
    expect(page.get_by_role("button", name="Newer")).to_be_disabled()

    page.get_by_role("button", name="Older").click()
    expect(rows).to_have_count(1)
    expect(page.get_by_role("button", name="Older")).to_be_disabled()
    page.get_by_role("button", name="Newer").click()
    expect(rows).to_have_count(25)

    page.get_by_label("Actions (comma-separated)").fill("User Create")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert")).to_contain_text("Not an action name: User Create")

    page.get_by_label("Actions (comma-separated)").fill("user.role.change")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(25)
    admin_console.shoot("audit")


def test_the_export_link_downloads_a_csv_of_the_chosen_user(
    admin_console: Console, tmp_path: Path
) -> None:
    url, page = admin_console.url, admin_console.page
    user = fresh_user(url, "exported")
    payload = {"title": "t", "body": "b"}
    body = {"userId": user.id, "channel": "IN_APP", "type": "ALERT", "payload": payload}
    created = httpx.post(f"{url}/notifications", headers=user.headers, json=body)
    assert created.status_code == 201, created.text

    admin_console.open("/console/data")
    page.get_by_label("Format").select_option("csv")
    page.get_by_label("User id", exact=True).fill(user.id)
    link = page.get_by_role("link", name="Download notifications (CSV)")
    expect(link).to_have_attribute("download", "")
    with page.expect_download() as started:
        link.click()
    download = started.value
    assert download.suggested_filename.startswith("notifications-")
    assert download.suggested_filename.endswith(".csv")
    saved = tmp_path / "export.csv"
    download.save_as(saved)

    table = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert table[0] == header("notifications")
    assert [row[table[0].index("id")] for row in table[1:]] == [created.json()["id"]]

    page.get_by_label("User id", exact=True).fill("not-a-uuid")
    expect(page.get_by_text("User id must be a UUID.")).to_be_visible()
    expect(page.locator("#export-link")).not_to_have_attribute("href", re.compile("."))


def test_a_user_is_anonymised_only_after_their_email_is_typed(admin_console: Console) -> None:
    url, page = admin_console.url, admin_console.page
    admin, user = login_admin(url), fresh_user(url, "forgotten")

    admin_console.open("/console/data")
    page.get_by_label("User id or email").fill(user.email)
    page.get_by_role("button", name="Find user").click()
    page.get_by_role("button", name="Anonymise this user…").click()

    dialog = page.get_by_role("dialog", name="Anonymise this user?")
    confirm = dialog.get_by_role("button", name="Anonymise")
    typed = dialog.get_by_label(f"Type {user.email} to confirm")
    expect(confirm).to_be_disabled()
    typed.fill(user.email[:-1])
    expect(confirm).to_be_disabled()
    typed.fill(user.email.upper())
    expect(confirm).to_be_disabled()
    typed.fill(user.email)
    expect(confirm).to_be_enabled()
    confirm.click()

    pseudonym = page.locator("#anon-pseudonym")
    expect(pseudonym).to_have_text(PSEUDONYM)
    account = httpx.get(f"{url}/users/{user.id}", headers=admin.headers)
    assert account.status_code == 200, account.text
    assert account.json()["email"] != user.email
    assert account.json()["email"].startswith(f"{pseudonym.inner_text()}@")
    expect(page.locator("[data-stat=anonymised-users]")).not_to_have_text("0")
    admin_console.shoot("data")
