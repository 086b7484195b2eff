"""Preferences as a user sees them: the README's precedence table row by row,
what the pipeline does agreeing with `explain` for every row, and NOT_SENT as a
state of its own."""

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clarion.api.app import create_app
from clarion.bootstrap import Container
from clarion.domain.time import utcnow
from tests.support.apps import serving, signed_in, signed_in_admin
from tests.support.notifications import events, posted, settled

README = Path(__file__).parents[2] / "README.md"
PHONE = "+15005550123"

# (rule, preferences, type, channel, sent?) — one case per row of the README's table,
# and both outcomes of the rows whose result is "as set"
CASES: list[tuple[str, dict[str, Any], str, str, bool]] = [
    ("suppressed", {}, "TRANSACTIONAL", "SMS", False),
    ("transactional", {"channels": {"EMAIL": False}}, "TRANSACTIONAL", "EMAIL", True),
    (
        "type+channel",
        {"types": {"MARKETING": False}, "typeChannels": {"MARKETING": {"EMAIL": True}}},
        "MARKETING",
        "EMAIL",
        True,
    ),
    (
        "type+channel",
        {"channels": {"IN_APP": True}, "typeChannels": {"ALERT": {"IN_APP": False}}},
        "ALERT",
        "IN_APP",
        False,
    ),
    (
        "type",
        {"types": {"REMINDER": False}, "channels": {"IN_APP": True}},
        "REMINDER",
        "IN_APP",
        False,
    ),
    ("type", {"types": {"ALERT": True}, "channels": {"EMAIL": False}}, "ALERT", "EMAIL", True),
    ("channel", {"channels": {"IN_APP": False}}, "MARKETING", "IN_APP", False),
    ("channel", {"channels": {"EMAIL": True}}, "MARKETING", "EMAIL", True),
    ("default", {"types": {"REMINDER": False}}, "MARKETING", "EMAIL", True),
]


@pytest.fixture
async def serve(container: Container) -> AsyncIterator[Any]:
    async with serving(create_app(container=container, workers=True)) as http:
        admin, admin_id = await signed_in_admin(http, container, "prefs-admin@example.com")
        yield http, admin, admin_id, container


def readme_rules() -> list[str]:
    """The `rule` column of the README's precedence table, in order."""
    text = README.read_text()
    table = text[text.index("| # | when | result | `rule` |") :].split("\n\n")[0]
    return re.findall(r"^\| \d \|.*\| `([a-z+]+)` \|$", table, flags=re.MULTILINE)


def test_the_cases_cover_every_row_of_the_readme_table() -> None:
    assert readme_rules() == [
        "suppressed",
        "transactional",
        "type+channel",
        "type",
        "channel",
        "default",
    ]
    assert {rule for rule, *_ in CASES} == set(readme_rules())


async def new_user(http: httpx.AsyncClient, admin: dict[str, str], phone: str | None) -> str:
    email = f"prefs-{uuid.uuid4().hex[:10]}@example.com"
    headers = await signed_in(http, email)
    user_id = str((await http.get("/auth/me", headers=headers)).json()["id"])
    if phone:
        changed = await http.patch(f"/users/{user_id}", headers=admin, json={"phone": phone})
        assert changed.status_code == 200, changed.text
    return user_id


def notification(user_id: str, type_: str, channel: str) -> dict[str, Any]:
    payloads = {
        "EMAIL": {"subject": "Hello", "body": "A body"},
        "SMS": {"body": "A text"},
        "IN_APP": {"title": "Hello", "body": "Inside"},
    }
    return {"userId": user_id, "channel": channel, "type": type_, "payload": payloads[channel]}


@pytest.mark.parametrize(
    ("rule", "chosen", "type_", "channel", "sent"),
    CASES,
    ids=[f"{rule}-{'sent' if sent else 'not sent'}" for rule, _, _, _, sent in CASES],
)
async def test_each_row_decides_as_the_readme_says_and_explain_agrees(
    serve: Any,
    rule: str,
    chosen: dict[str, Any],
    type_: str,
    channel: str,
    sent: bool,
) -> None:
    http, admin, _, container = serve
    user = await new_user(http, admin, PHONE if channel == "SMS" else None)
    saved = await http.put(f"/users/{user}/preferences", headers=admin, json=chosen)
    assert saved.status_code == 200, saved.text
    if rule == "suppressed":
        uow = container.unit_of_work()
        try:
            await uow.contacts.suppress([PHONE], "the recipient replied STOP", utcnow())
            await uow.commit()
        finally:
            await uow.close()

    explained = await http.get(
        f"/users/{user}/preferences/explain",
        headers=admin,
        params={"type": type_, "channel": channel},
    )
    assert explained.status_code == 200, explained.text
    assert (explained.json()["send"], explained.json()["rule"]) == (sent, rule)

    nid = await posted(http, admin, notification(user, type_, channel))
    done = await settled(http, admin, nid)
    trail = await events(http, admin, nid)
    if sent:
        assert done["status"] == "SENT", done
        assert [e["type"] for e in trail] == ["CREATED", "SENT"]
    else:
        assert done["status"] == "NOT_SENT", done
        assert done["errorMessage"] == explained.json()["reason"]
        assert [e["type"] for e in trail] == ["CREATED", "NOT_SENT"]
        assert trail[1]["metadata"]["rule"] == rule


async def test_not_sent_is_listed_apart_from_failures_and_never_reaches_a_provider(
    serve: Any,
) -> None:
    http, admin, _, _ = serve
    user = await new_user(http, admin, None)
    await http.put(
        f"/users/{user}/preferences", headers=admin, json={"types": {"MARKETING": False}}
    )
    nid = await posted(http, admin, notification(user, "MARKETING", "EMAIL"))
    assert (await settled(http, admin, nid))["status"] == "NOT_SENT"

    listed = await http.get("/notifications", headers=admin, params={"status": "NOT_SENT"})
    assert [n["id"] for n in listed.json()["items"]] == [nid]
    failed = await http.get("/notifications", headers=admin, params={"status": "FAILED"})
    assert failed.json()["items"] == []
    dead = (await http.get("/admin/dlq", headers=admin)).json()
    assert nid not in [letter["notification"]["id"] for letter in dead]
    sandbox = (await http.get("/admin/sandbox/messages?limit=50", headers=admin)).json()
    assert nid not in [m["notificationId"] for m in sandbox]
    # a terminal state: it cannot be cancelled or re-driven
    assert (await http.delete(f"/notifications/{nid}", headers=admin)).status_code == 409
    redrive = await http.post(f"/admin/notifications/{nid}/retry", headers=admin)
    assert redrive.status_code == 409


async def test_transactional_cannot_be_turned_off_and_patch_changes_only_what_it_names(
    serve: Any,
) -> None:
    http, admin, _, _ = serve
    user = await new_user(http, admin, None)
    refused = await http.put(
        f"/users/{user}/preferences",
        headers=admin,
        json={"types": {"TRANSACTIONAL": False}, "channels": {"SMS": False}},
    )
    assert refused.status_code == 422
    assert refused.json()["details"][0]["field"] == "types.TRANSACTIONAL"
    assert (await http.get(f"/users/{user}/preferences", headers=admin)).json()["channels"] == {}

    await http.put(
        f"/users/{user}/preferences",
        headers=admin,
        json={"channels": {"SMS": False, "PUSH": False}, "types": {"MARKETING": False}},
    )
    patched = await http.patch(
        f"/users/{user}/preferences",
        headers=admin,
        json={"channels": {"SMS": None, "EMAIL": False}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json() == {
        "channels": {"PUSH": False, "EMAIL": False},
        "types": {"MARKETING": False},
        "typeChannels": {},
        "timezone": None,
        "quietHours": [],
    }
    bad = await http.patch(
        f"/users/{user}/preferences", headers=admin, json={"channels": {"FAX": False}}
    )
    assert bad.status_code == 422


async def test_a_user_reads_and_changes_their_own_and_nobody_elses(serve: Any) -> None:
    http, admin, _, _ = serve
    mine = await signed_in(http, "prefs-me@example.com")
    me = (await http.get("/auth/me", headers=mine)).json()["id"]
    other = await new_user(http, admin, None)
    own = await http.patch(
        f"/users/{me}/preferences", headers=mine, json={"types": {"ALERT": False}}
    )
    assert own.status_code == 200
    for method, path in [
        ("GET", f"/users/{other}/preferences"),
        ("PUT", f"/users/{other}/preferences"),
        ("GET", f"/users/{other}/preferences/explain?type=ALERT&channel=EMAIL"),
    ]:
        answer = await http.request(
            method, path, headers=mine, json={} if method == "PUT" else None
        )
        assert answer.status_code == 404, (method, path, answer.text)
    assert (await http.get(f"/users/{other}/preferences", headers=admin)).json()["types"] == {}
