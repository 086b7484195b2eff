"""Signing in reaches the overview; signing out ends the session."""

from __future__ import annotations

from tests.browser.conftest import Console


def test_the_sign_in_page_names_its_fields(console: Console) -> None:
    page = console.open("/console/login")
    assert page.get_by_label("Email").get_attribute("autocomplete") == "username"
    assert page.get_by_label("Password").get_attribute("type") == "password"
    console.shoot("sign-in")


def test_an_admin_signs_in_and_out(admin_console: Console) -> None:
    page = admin_console.page
    assert page.get_by_role("heading", level=1).inner_text() == "Overview"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/login")
    admin_console.open("/console/users")
    assert "/console/login" in page.url
