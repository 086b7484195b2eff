"""Where the console goes after sign-in: a path inside the console, never another host."""

from __future__ import annotations

import pytest

from clarion.console.router import safe_next

HOME = "/console/overview"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/console/overview",
        "/console/\\evil.example",
        "/\\evil.example",
        "https://evil.example",
        "https://evil.example/console/users",
        "/elsewhere",
        "",
        None,
    ],
)
def test_anything_but_a_console_path_leads_to_the_overview(target: str | None) -> None:
    assert safe_next(target) == HOME


@pytest.mark.parametrize(
    "target", ["/console/users", "/console/notifications/abc?status=FAILED", "/console/audit"]
)
def test_a_console_path_is_kept(target: str) -> None:
    assert safe_next(target) == target
