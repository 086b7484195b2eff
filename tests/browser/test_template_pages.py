"""The templates pages: a syntax error is shown next to the field it is in, an
SMS preview shows its segment count, and the version history shows old content."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import Console
from tests.support.accounts import login_admin
from tests.support.processes import Server

# 190 GSM-7 letters and a 10-character name: 200 septets, more than one
# segment's 160, so two concatenated parts of at most 153.
LONG_BODY = "A" * 190 + "{{ name }}"


def create_sms_template(url: str) -> str:
    name = f"console-sms-{uuid.uuid4().hex[:10]}"
    admin = login_admin(url)
    created = httpx.post(
        f"{url}/templates",
        headers=admin.headers,
        json={
            "name": name,
            "channel": "SMS",
            "variables": {"type": "object", "properties": {"name": {"type": "string"}}},
            "locales": {"en": {"body": "Hello {{ name }}"}},
        },
    )
    assert created.status_code == 201, created.text
    return name


def test_a_syntax_error_is_shown_and_an_sms_preview_counts_segments(
    admin_console: Console, console_server: Server
) -> None:
    name = create_sms_template(console_server.url)
    page = admin_console.open("/console/templates")
    page.get_by_role("link", name=name).click()
    page.wait_for_url(f"**/console/templates/{name}")
    body = page.get_by_label("Body · en")
    expect(body).to_have_value("Hello {{ name }}")

    body.fill("Hello {{ name }},\nsee you {{ name }")
    page.get_by_role("button", name="Save as a new version").click()
    error = page.locator("#f-en-body-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Line 2:")
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#current-version")).to_have_text("1")

    body.fill(LONG_BODY)
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator("#current-version")).to_have_text("2")
    expect(error).to_be_hidden()

    page.get_by_label("Sample data (JSON)").fill('{"name": "0123456789"}')
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.locator("#preview-output pre")).to_have_text("A" * 190 + "0123456789")
    expect(page.locator("#sms-segments")).to_have_text("2")
    expect(page.locator("#sms-encoding")).to_have_text("GSM-7")
    page.locator("#preview-heading").scroll_into_view_if_needed()
    admin_console.shoot("template")

    # one character outside GSM-7 and the same text is UCS-2: 200 / 67 → 3 parts
    page.get_by_label("Sample data (JSON)").fill('{"name": "012345678✓"}')
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.locator("#sms-encoding")).to_have_text("UCS-2")
    expect(page.locator("#sms-segments")).to_have_text("3")

    page.get_by_role("button", name="View version 1").click()
    expect(page.locator("#version-view dd pre")).to_have_text("Hello {{ name }}")


def test_a_new_template_is_listed_and_opened(admin_console: Console) -> None:
    name = f"console-new-{uuid.uuid4().hex[:10]}"
    page = admin_console.open("/console/templates")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Channel").select_option("PUSH")
    page.get_by_role("button", name="Create template").click()
    page.wait_for_url(f"**/console/templates/{name}?created=1")
    expect(page.locator("#current-version")).to_have_text("1")
    page.get_by_label("Title · en").fill("Hi {{ name }}")
    page.get_by_label("Body · en").fill("Welcome")
    page.get_by_label("Variables (JSON Schema of the data a notification brings)").fill(
        '{"type": "object", "properties": {"name": {"type": "string"}}}'
    )
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator("#current-version")).to_have_text("2")
    page.get_by_label("Sample data (JSON)").fill('{"name": "Ada"}')
    page.get_by_role("button", name="Preview", exact=True).click()
    # {"notification":{"title":"Hi Ada","body":"Welcome"}}
    expect(page.locator("#push-size")).to_have_text("52 / 4096 bytes")

    admin_console.open("/console/templates")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
    expect(row).to_contain_text("PUSH")
    expect(row).to_contain_text("en (default)")
    admin_console.shoot("templates")
