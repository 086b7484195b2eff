"""The delivery pages: the overview, the notification search, a notification's
timeline and the dead letters, driven in Chromium against the shared server.

The dead letter of the main test is an SMS to a user whose phone is the
sandbox's `+15005550109` (fails transiently on the first nine attempts, more
than the server's four), so it dead-letters. A re-drive starts again from the
first attempt, so the magic number would fail again: as an operator would,
the test first corrects the user's phone, then re-drives, and sees SENT."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import Console
from tests.support.accounts import Account, login_admin, register

FLAKY_PHONE = "+15005550109"
GOOD_PHONE = "+14155550123"


def wait_for_status(url: str, admin: Account, notification_id: str, status: str) -> dict[str, Any]:
    """Poll the API (bounded) until the notification reaches `status`."""
    deadline = time.monotonic() + 40
    current: dict[str, Any] = {}
    while time.monotonic() < deadline:
        current = httpx.get(f"{url}/notifications/{notification_id}", headers=admin.headers).json()
        if current["status"] == status:
            return current
        time.sleep(0.2)
    raise AssertionError(f"never {status}: {current}")


def send(url: str, admin: Account, body: dict[str, Any]) -> str:
    created = httpx.post(f"{url}/notifications", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    notification_id: str = created.json()["id"]
    return notification_id


def dead_sms(url: str, admin: Account, text: str) -> tuple[Account, str]:
    user = register(url, f"dlq-{uuid.uuid4().hex[:10]}@example.com")
    changed = httpx.patch(
        f"{url}/users/{user.id}", json={"phone": FLAKY_PHONE}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    body = {"userId": user.id, "channel": "SMS", "type": "ALERT", "payload": {"body": text}}
    notification_id = send(url, admin, body)
    wait_for_status(url, admin, notification_id, "FAILED")
    return user, notification_id


def test_a_dead_letter_is_found_inspected_and_redriven_to_sent(admin_console: Console) -> None:
    url = admin_console.url
    admin = login_admin(url)
    text = f"door code {uuid.uuid4().hex[:12]}"
    user, notification_id = dead_sms(url, admin, text)
    page = admin_console.page

    admin_console.open("/console/notifications")
    page.get_by_label("Text (content, address, email or phone)").fill(text)
    page.get_by_label("Status").select_option("FAILED")
    page.get_by_role("button", name="Search").click()
    link = page.get_by_role("link", name=notification_id)
    expect(link).to_be_visible()
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert "status=FAILED" in page.url  # the filters are in the address bar
    admin_console.shoot("notifications")

    link.click()
    page.wait_for_url(f"**/console/notifications/{notification_id}")
    expect(page.locator("#status")).to_have_text("FAILED")
    timeline = page.locator("#timeline")
    expect(timeline.locator("li[data-type=RETRIED]")).to_have_count(3)
    expect(timeline.locator("li[data-type=FAILED]")).to_contain_text("transient failure 4 of 9")
    expect(timeline.locator("li[data-type=FAILED]")).to_contain_text("Dead letter")
    expect(page.locator("#payload")).to_contain_text(text)
    admin_console.shoot("notification")

    # the cause fixed, as an operator would, before the re-drive
    fixed = httpx.patch(f"{url}/users/{user.id}", json={"phone": GOOD_PHONE}, headers=admin.headers)
    assert fixed.status_code == 200, fixed.text

    page.get_by_role("button", name="Re-drive").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Re-drive this notification?")
    dialog.get_by_role("button", name="Re-drive").click()
    wait_for_status(url, admin, notification_id, "SENT")
    expect(page.locator("#status")).to_have_text("SENT")
    expect(page.get_by_role("button", name="Re-drive")).to_have_count(0)
    expect(timeline.locator("li[data-type=SENT]")).to_contain_text("sandbox")
    expect(page.locator("#rendered")).to_contain_text(text)

    audit = httpx.get(
        f"{url}/data-pipeline/audit-logs",
        params={"action": "notification.retry", "entityId": notification_id},
        headers=admin.headers,
    )
    assert audit.status_code == 200, audit.text
    assert len(audit.json()["items"]) == 1


def test_the_overview_shows_the_dashboard(admin_console: Console) -> None:
    page = admin_console.page
    admin_console.open("/console/overview")
    expect(page.locator("#circuits")).to_contain_text("sandbox")
    expect(page.get_by_role("heading", name="Sent per minute (last hour)")).to_be_visible()
    expect(page.get_by_role("heading", name="URGENT lane backlog")).to_be_visible()
    expect(page.locator("#dead-letter-count")).to_have_text(re.compile(r"^\d+$"))
    # a second refresh adds a sample to the failure-rate chart
    chart = page.locator("#chart-failure").locator("xpath=..").locator("svg polyline")
    expect(chart).to_have_count(1)
    first = chart.get_attribute("points") or ""
    page.wait_for_function(
        "first => document.querySelector('section[aria-labelledby=chart-failure] polyline')"
        ".getAttribute('points') !== first",
        arg=first,
        timeout=12_000,
    )
    admin_console.shoot("overview")


def test_dead_letters_are_filtered_selected_and_redriven(admin_console: Console) -> None:
    url = admin_console.url
    admin = login_admin(url)
    user = register(url, f"dlq-many-{uuid.uuid4().hex[:8]}@example.com")
    ids = []
    for _ in range(2):
        to = f"fail-permanent-{uuid.uuid4().hex[:8]}@example.com"
        body = {"userId": user.id, "channel": "EMAIL", "type": "ALERT",
                "payload": {"subject": "s", "body": "b", "to": to}}  # fmt: skip
        ids.append(send(url, admin, body))
    for notification_id in ids:
        wait_for_status(url, admin, notification_id, "FAILED")
    page = admin_console.page

    admin_console.open("/console/dead-letters")
    page.get_by_label("Error contains").fill("no error says this")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No dead letter matches.")).to_be_visible()

    page.get_by_label("Error contains").fill("REJECTED PERMANENTLY")
    page.get_by_role("button", name="Filter").click()
    for notification_id in ids:
        expect(page.get_by_role("link", name=notification_id)).to_be_visible()
        page.get_by_label(f"Select {notification_id}").check()
    expect(page.locator("#redrive-selected")).to_have_text("Re-drive selected (2)")
    expect(page.locator("#dlq-counts")).to_contain_text("2 selected")
    admin_console.shoot("dead-letters")

    page.locator("#redrive-selected").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Re-drive 2 dead letters?")
    dialog.get_by_role("button", name="Re-drive").click()
    expect(page.locator("#notice")).to_contain_text("Re-drove 2 of 2.")
    for notification_id in ids:
        events = httpx.get(f"{url}/notifications/{notification_id}/events", headers=admin.headers)
        assert any((e["metadata"] or {}).get("redrivenBy") for e in events.json()), events.text

    # the sandbox rejects them again: back among the dead letters, re-drive on their timeline
    wait_for_status(url, admin, ids[0], "FAILED")
    admin_console.open(f"/console/notifications/{ids[0]}")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Re-driven by")
    expect(timeline.locator("li[data-type=FAILED]")).to_have_count(2)
