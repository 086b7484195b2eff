"""Email suppressions: what the receipts say about an address, and what is then
never sent to it, until an admin lifts it."""

import uuid
from typing import Any

import httpx

from tests.support.apps import running, signed_in, signed_in_admin
from tests.support.notifications import events, posted, settled
from tests.support.receipts import configured, post_sendgrid, sendgrid_event


def email(user_id: str) -> dict[str, Any]:
    return {
        "userId": user_id,
        "channel": "EMAIL",
        "type": "TRANSACTIONAL",
        "payload": {"subject": "Your receipt", "body": "Thank you"},
    }


async def sandboxed(http: httpx.AsyncClient, admin: dict[str, str]) -> set[str]:
    messages = (await http.get("/admin/sandbox/messages?limit=200", headers=admin)).json()
    return {m["notificationId"] for m in messages}


def about(address: str, name: str, **extra: Any) -> dict[str, Any]:
    return sendgrid_event(name, f"sg-{uuid.uuid4().hex[:8]}") | {"email": address} | extra


async def test_a_hard_bounce_suppresses_the_address_and_the_next_email_is_not_sent(
    database_url: str,
) -> None:
    async with running(configured(database_url), workers=True) as (http, container):
        admin, _ = await signed_in_admin(http, container, "suppress-admin@example.com")
        reader = await signed_in(http, "Bouncing.Reader@example.com")
        user = str((await http.get("/auth/me", headers=reader)).json()["id"])
        first = await posted(http, admin, email(user))
        assert (await settled(http, admin, first))["status"] == "SENT"

        reason = "550 5.1.1 The email account that you tried to reach does not exist"
        bounce = about("bouncing.reader@example.com", "bounce", type="bounce", reason=reason)
        assert (await post_sendgrid(http, [bounce])).status_code == 200
        listed = (await http.get("/admin/suppressions", headers=admin)).json()
        assert [(s["address"], s["reason"]) for s in listed] == [
            ("bouncing.reader@example.com", f"hard bounce: {reason}")
        ]
        explained = await http.get(
            f"/users/{user}/preferences/explain",
            headers=admin,
            params={"type": "TRANSACTIONAL", "channel": "EMAIL"},
        )
        assert (explained.json()["send"], explained.json()["rule"]) == (False, "suppressed")

        before = await sandboxed(http, admin)
        second = await posted(http, admin, email(user))
        not_sent = await settled(http, admin, second)
        assert not_sent["status"] == "NOT_SENT"
        assert "hard bounce" in not_sent["errorMessage"]
        assert [e["type"] for e in await events(http, admin, second)] == ["CREATED", "NOT_SENT"]
        assert await sandboxed(http, admin) == before  # no provider was asked

        user_lift = await http.delete(
            "/admin/suppressions/EMAIL/bouncing.reader@example.com", headers=reader
        )
        assert user_lift.status_code == 403
        lifted = await http.delete(
            "/admin/suppressions/EMAIL/Bouncing.Reader@example.com", headers=admin
        )
        assert lifted.status_code == 204
        again = await http.delete(
            "/admin/suppressions/EMAIL/bouncing.reader@example.com", headers=admin
        )
        assert again.status_code == 404
        third = await posted(http, admin, email(user))
        assert (await settled(http, admin, third))["status"] == "SENT"


async def test_drops_and_complaints_suppress_and_a_blocked_bounce_does_not(
    database_url: str,
) -> None:
    async with running(configured(database_url), workers=False) as (http, container):
        admin, _ = await signed_in_admin(http, container, "suppress-admin2@example.com")
        received = await post_sendgrid(
            http,
            [
                about("dropped@example.com", "dropped", reason="Bounced Address"),
                about("complained@example.com", "spamreport"),
                about("blocked@example.com", "bounce", type="blocked", reason="421 try later"),
                about("opened@example.com", "open"),
            ],
        )
        assert received.status_code == 200, received.text
        listed = (await http.get("/admin/suppressions", headers=admin)).json()
        assert {s["address"]: s["reason"] for s in listed} == {
            "dropped@example.com": "dropped: Bounced Address",
            "complained@example.com": "spam complaint",
        }
        sms = await http.get("/admin/suppressions", headers=admin, params={"channel": "SMS"})
        assert sms.json() == []
