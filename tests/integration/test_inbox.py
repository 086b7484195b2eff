"""The in-app inbox as its user sees it: unread first, read marks, the unread
count, and the live stream, whose event arrives only once the inbox has it."""

import asyncio
import json
from typing import Any

import httpx

from clarion.api.app import create_app
from tests.conftest import make_settings
from tests.support.apps import running, signed_in, signed_in_admin
from tests.support.fake_server import served_on_this_loop
from tests.support.notifications import posted


def in_app(user_id: str, title: str) -> dict[str, Any]:
    return {
        "userId": user_id,
        "channel": "IN_APP",
        "type": "ALERT",
        "payload": {"title": title, "body": "b", "data": {"n": title}},
    }


async def until_inbox_has(http: httpx.AsyncClient, headers: dict[str, str], count: int) -> Any:
    for _ in range(200):
        inbox = (await http.get("/users/me/inbox?limit=50", headers=headers)).json()
        if len(inbox["items"]) >= count:
            return inbox
        await asyncio.sleep(0.05)
    raise AssertionError(f"the inbox never held {count} notifications")


async def test_unread_first_then_newest_and_read_marks_count_down(database_url: str) -> None:
    async with running(make_settings(database_url=database_url), workers=True) as (http, c):
        admin, admin_id = await signed_in_admin(http, c, "inbox@example.com")
        ids = []
        for title in ("first", "second", "third"):
            ids.append(await posted(http, admin, in_app(str(admin_id), title)))
        inbox = await until_inbox_has(http, admin, 3)
        assert [n["id"] for n in inbox["items"]] == ids[::-1]  # newest first
        assert inbox["unread"] == 3

        read = await http.post(f"/users/me/inbox/{ids[2]}/read", headers=admin)
        assert read.json() == {"marked": 1}
        again = await http.post(f"/users/me/inbox/{ids[2]}/read", headers=admin)
        assert again.json() == {"marked": 0}  # already read: nothing changes
        inbox = (await http.get("/users/me/inbox", headers=admin)).json()
        assert [n["id"] for n in inbox["items"]] == [ids[1], ids[0], ids[2]]  # unread first
        assert inbox["items"][2]["readAt"] is not None
        count = await http.get("/users/me/inbox/unread-count", headers=admin)
        assert count.json() == {"unread": 2}
        unread_only = await http.get("/users/me/inbox?unreadOnly=true", headers=admin)
        assert [n["id"] for n in unread_only.json()["items"]] == [ids[1], ids[0]]

        cached = await http.get(f"/notifications/{ids[0]}", headers=admin)  # fills the cache
        assert cached.json()["readAt"] is None
        everything = await http.post("/users/me/inbox/read-all", headers=admin)
        assert everything.json() == {"marked": 2}
        count = await http.get("/users/me/inbox/unread-count", headers=admin)
        assert count.json() == {"unread": 0}
        # the notification's own view shows the read mark too (no stale cache)
        single = await http.get(f"/notifications/{ids[0]}", headers=admin)
        assert single.json()["readAt"] is not None


async def test_another_users_notification_cannot_be_marked_read(database_url: str) -> None:
    async with running(make_settings(database_url=database_url), workers=True) as (http, c):
        admin, admin_id = await signed_in_admin(http, c, "owner@example.com")
        created = await posted(http, admin, in_app(str(admin_id), "x"))
        await until_inbox_has(http, admin, 1)
        other = await signed_in(http, "other@example.com")
        refused = await http.post(f"/users/me/inbox/{created}/read", headers=other)
        assert refused.status_code == 404
        assert (await http.get("/users/me/inbox/unread-count", headers=admin)).json()["unread"] == 1


async def test_the_stream_announces_a_notification_the_inbox_already_holds(
    database_url: str,
) -> None:
    async with running(make_settings(database_url=database_url), workers=True) as (http, c):
        admin, admin_id = await signed_in_admin(http, c, "live@example.com")
        async with (
            served_on_this_loop(create_app(container=c)) as url,
            httpx.AsyncClient(base_url=url, timeout=10) as live,
            live.stream("GET", "/users/me/inbox/stream", headers=admin) as stream,
        ):
            lines = stream.aiter_lines()
            assert (await anext(lines)).startswith(": connected")
            created = await posted(http, admin, in_app(str(admin_id), "now"))
            async with asyncio.timeout(10):
                line = await anext(lines)
                while not line.startswith("data: "):
                    line = await anext(lines)
            event = json.loads(line[len("data: ") :])
            # read at once, as a client does on the event: it is there
            inbox = (await http.get("/users/me/inbox", headers=admin)).json()
    assert event["id"] == created
    assert (event["title"], event["data"]) == ("now", {"n": "now"})
    assert inbox["items"][0]["id"] == event["id"]
    assert inbox["items"][0]["status"] == "SENT"
