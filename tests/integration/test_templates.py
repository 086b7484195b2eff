"""Templates as a sender uses them: saved with checks, versioned, rendered per
locale in the delivery pipeline, previewed without side effects."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from clarion.api.app import create_app
from clarion.bootstrap import Container
from tests.support.apps import serving, signed_in, signed_in_admin
from tests.support.identity import create_key
from tests.support.notifications import events, posted, settled

DEVICE = "device-token-" + "x" * 40
NAME = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


@pytest.fixture
async def serve(container: Container) -> AsyncIterator[Any]:
    async with serving(create_app(container=container, workers=True)) as http:
        admin, admin_id = await signed_in_admin(http, container, "templates@example.com")
        yield http, admin, admin_id


async def saved(
    http: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    response = await http.post("/templates", headers=headers, json=body)
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


async def user_with_locale(
    http: httpx.AsyncClient, admin: dict[str, str], email: str, locale: str | None
) -> str:
    headers = await signed_in(http, email)
    me = (await http.get("/auth/me", headers=headers)).json()
    if locale is not None:
        changed = await http.patch(f"/users/{me['id']}", headers=admin, json={"locale": locale})
        assert changed.status_code == 200, changed.text
        assert changed.json()["locale"] == locale.split("-")[0] + locale[2:].upper()
    return str(me["id"])


def templated(
    user_id: str, channel: str, name: str, variables: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "userId": user_id,
        "channel": channel,
        "type": "TRANSACTIONAL",
        "template": {"name": name},
        "variables": variables,
        **extra,
    }


async def sandbox_content(
    http: httpx.AsyncClient, admin: dict[str, str], nid: str
) -> dict[str, Any]:
    messages = (await http.get("/admin/sandbox/messages?limit=100", headers=admin)).json()
    [message] = [m for m in messages if m["notificationId"] == nid]
    content: dict[str, Any] = message["content"]
    return content


async def test_email_sms_and_push_render_in_two_locales_and_fall_back(serve: Any) -> None:
    http, admin, _ = serve
    await saved(
        http,
        admin,
        {
            "name": "welcome-email",
            "channel": "EMAIL",
            "variables": NAME,
            "locales": {
                "en": {
                    "subject": "Welcome, {{ name }}",
                    "body": "Hello {{ name }}",
                    "html": "<p>Hello {{ name }}</p>",
                },
                "fr": {"subject": "Bienvenue, {{ name }}", "body": "Bonjour {{ name }}"},
            },
        },
    )
    await saved(
        http,
        admin,
        {
            "name": "code-sms",
            "channel": "SMS",
            "variables": NAME,
            "locales": {"en": {"body": "Hi {{ name }}"}, "fr": {"body": "Salut {{ name }}"}},
        },
    )
    await saved(
        http,
        admin,
        {
            "name": "order-push",
            "channel": "PUSH",
            "variables": NAME,
            "defaultLocale": "en",
            "locales": {
                "en": {
                    "title": "Order for {{ name }}",
                    "body": "Shipped",
                    "data": {"who": "{{ name }}"},
                },
                "fr-BE": {"title": "Commande de {{ name }}", "body": "Expédiée"},
            },
        },
    )
    belgian = await user_with_locale(http, admin, "belgian@example.com", "fr-be")
    german = await user_with_locale(http, admin, "german@example.com", "de-DE")
    plain = await user_with_locale(http, admin, "plain@example.com", None)

    cases = [
        # (user, channel, template, extra, the content the provider must get)
        (
            belgian,
            "EMAIL",
            "welcome-email",
            {},
            {"subject": "Bienvenue, <b>", "body": "Bonjour <b>"},
        ),
        (
            german,
            "EMAIL",
            "welcome-email",
            {},
            {
                "subject": "Welcome, <b>",
                "body": "Hello <b>",
                "html": "<p>Hello &lt;b&gt;</p>",  # HTML is escaped, text is not
            },
        ),
        (belgian, "SMS", "code-sms", {"payload": {"to": "+15005550006"}}, {"body": "Salut <b>"}),
        (plain, "SMS", "code-sms", {"payload": {"to": "+15005550006"}}, {"body": "Hi <b>"}),
        (
            belgian,
            "PUSH",
            "order-push",
            {"payload": {"token": DEVICE}},
            {
                "title": "Commande de <b>",
                "body": "Expédiée",
            },
        ),
        (
            german,
            "PUSH",
            "order-push",
            {"payload": {"token": DEVICE}},
            {
                "title": "Order for <b>",
                "body": "Shipped",
                "data": {"who": "<b>"},
            },
        ),
    ]
    ids = [
        await posted(http, admin, templated(user, channel, name, {"name": "<b>"}, **extra))
        for user, channel, name, extra, _ in cases
    ]
    for nid, (_, _, name, _, expected) in zip(ids, cases, strict=True):
        sent = await settled(http, admin, nid)
        assert sent["status"] == "SENT", sent
        assert sent["attempts"] == 1
        assert sent["payload"]["template"] == {"name": name, "version": 1}
        content = await sandbox_content(http, admin, nid)
        content.pop("to", None)
        content.pop("token", None)
        assert content == expected
        # the notification keeps what it rendered to, for whoever reads it later
        for key, value in expected.items():
            assert sent["payload"][key] == value


async def test_save_names_the_line_of_a_syntax_error_and_an_undeclared_variable(
    serve: Any,
) -> None:
    http, admin, _ = serve
    broken = await http.post(
        "/templates",
        headers=admin,
        json={
            "name": "broken",
            "channel": "SMS",
            "variables": NAME,
            "locales": {"en": {"body": "Hi {{ name }}\nYour code is {{ code "}},
        },
    )
    assert broken.status_code == 422
    [detail] = broken.json()["details"]
    assert detail["field"] == "locales.en.body"
    assert detail["message"].startswith("line 2:")

    undeclared = await http.post(
        "/templates",
        headers=admin,
        json={
            "name": "typo",
            "channel": "EMAIL",
            "variables": NAME,
            "locales": {"en": {"subject": "Hi {{ nmae }}", "body": "{{ name }}"}},
        },
    )
    assert undeclared.status_code == 422
    [detail] = undeclared.json()["details"]
    assert detail["field"] == "locales.en.subject"
    assert "'nmae'" in detail["message"]

    no_default = await http.post(
        "/templates",
        headers=admin,
        json={
            "name": "no-default",
            "channel": "SMS",
            "defaultLocale": "en",
            "locales": {"fr": {"body": "Salut"}},
        },
    )
    assert no_default.status_code == 422
    assert no_default.json()["details"][0]["field"] == "defaultLocale"
    # nothing half-saved: none of them exists
    for name in ("broken", "typo", "no-default"):
        assert (await http.get(f"/templates/{name}", headers=admin)).status_code == 404


async def test_a_schema_ref_to_another_address_is_refused_and_never_fetched(serve: Any) -> None:
    http, admin, _ = serve
    connections = 0

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    listener = await asyncio.start_server(count, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        for schema in (
            {"type": "object", "properties": {"x": {"$ref": f"http://127.0.0.1:{port}/s.json"}}},
            {"type": "object", "properties": {"x": {"$ref": "#/$defs/missing"}}},
            {"type": "object", "properties": {"x": {"type": "string", "pattern": "(open"}}},
        ):
            refused = await http.post(
                "/templates",
                headers=admin,
                json={
                    "name": "remote-ref",
                    "channel": "SMS",
                    "variables": schema,
                    "locales": {"en": {"body": "{{ x }}"}},
                },
            )
            assert refused.status_code == 422, refused.text
            [detail] = refused.json()["details"]
            assert detail["field"] == "variables"
            assert detail["message"].startswith("not a valid JSON Schema")
    finally:
        listener.close()
        await listener.wait_closed()
    assert connections == 0
    assert (await http.get("/templates/remote-ref", headers=admin)).status_code == 404


async def test_variables_are_checked_at_accept_time_with_their_paths(serve: Any) -> None:
    http, admin, admin_id = serve
    schema = {
        "type": "object",
        "properties": {
            "order": {
                "type": "object",
                "properties": {"id": {"type": "integer"}},
                "required": ["id"],
            }
        },
        "required": ["order"],
    }
    await saved(
        http,
        admin,
        {
            "name": "order-sms",
            "channel": "SMS",
            "variables": schema,
            "locales": {"en": {"body": "Order {{ order.id }}"}},
        },
    )
    sms = {"payload": {"to": "+15005550006"}}
    missing = await http.post(
        "/notifications",
        headers=admin,
        json=templated(str(admin_id), "SMS", "order-sms", {}, **sms),
    )
    assert missing.status_code == 422
    assert missing.json()["details"][0]["field"] == "variables"
    assert '"order" is a required property' in missing.json()["details"][0]["message"]

    wrong = await http.post(
        "/notifications",
        headers=admin,
        json=templated(str(admin_id), "SMS", "order-sms", {"order": {"id": "x"}}, **sms),
    )
    assert wrong.status_code == 422
    assert wrong.json()["details"][0]["field"] == "variables.order.id"

    other_channel = await http.post(
        "/notifications",
        headers=admin,
        json=templated(str(admin_id), "PUSH", "order-sms", {"order": {"id": 1}}),
    )
    assert other_channel.status_code == 422
    assert other_channel.json()["details"][0]["field"] == "channel"

    unknown = await http.post(
        "/notifications", headers=admin, json=templated(str(admin_id), "SMS", "nope", {}, **sms)
    )
    assert unknown.status_code == 422
    assert unknown.json()["details"][0]["field"] == "template.name"

    batch = await http.post(
        "/notifications/batch",
        headers=admin,
        json={
            "notifications": [
                templated(str(admin_id), "SMS", "order-sms", {"order": {"id": 7}}, **sms),
                templated(str(admin_id), "SMS", "order-sms", {"order": {}}, **sms),
            ]
        },
    )
    assert batch.status_code == 200
    results = batch.json()["results"]
    assert [r["status"] for r in results] == [201, 422]
    assert results[1]["error"]["details"][0]["field"] == "variables.order"
    sent = await settled(http, admin, results[0]["notification"]["id"])
    assert sent["status"] == "SENT"
    assert (await sandbox_content(http, admin, sent["id"]))["body"] == "Order 7"


async def test_an_edit_is_version_2_and_what_was_queued_before_renders_version_1(
    serve: Any,
) -> None:
    http, admin, admin_id = serve
    await saved(
        http,
        admin,
        {"name": "notice", "channel": "SMS", "locales": {"en": {"body": "first wording"}}},
    )
    due = datetime.now(UTC) + timedelta(seconds=1.5)
    queued = await posted(
        http,
        admin,
        templated(
            str(admin_id),
            "SMS",
            "notice",
            {},
            payload={"to": "+15005550006"},
            scheduledFor=due.isoformat(),
        ),
    )
    edited = await http.put(
        "/templates/notice",
        headers=admin,
        json={"channel": "SMS", "locales": {"en": {"body": "second wording"}}},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2
    after = await posted(
        http, admin, templated(str(admin_id), "SMS", "notice", {}, payload={"to": "+15005550006"})
    )
    assert (await settled(http, admin, after))["payload"]["template"]["version"] == 2
    assert (await sandbox_content(http, admin, after))["body"] == "second wording"
    old = await settled(http, admin, queued, within=6.0)
    assert old["status"] == "SENT"
    assert old["payload"]["template"]["version"] == 1
    assert (await sandbox_content(http, admin, queued))["body"] == "first wording"

    history = (await http.get("/templates/notice/versions", headers=admin)).json()["items"]
    assert [v["version"] for v in history] == [2, 1]
    v1 = (await http.get("/templates/notice?version=1", headers=admin)).json()
    assert v1["locales"]["en"]["body"] == "first wording"


async def test_a_render_failure_in_the_pipeline_fails_for_good_with_its_reason(
    serve: Any,
) -> None:
    http, admin, admin_id = serve
    optional = {"type": "object", "properties": {"coupon": {"type": "string"}}}
    await saved(
        http,
        admin,
        {
            "name": "coupon",
            "channel": "IN_APP",
            "variables": optional,
            "locales": {"en": {"title": "A gift", "body": "Use {{ coupon }}"}},
        },
    )
    nid = await posted(http, admin, templated(str(admin_id), "IN_APP", "coupon", {}))
    failed = await settled(http, admin, nid)
    assert failed["status"] == "FAILED"
    assert failed["attempts"] == 1  # not retried: the same variables never render
    assert "coupon" in failed["errorMessage"]
    assert [e["type"] for e in await events(http, admin, nid)] == ["CREATED", "FAILED"]

    given = await posted(
        http, admin, templated(str(admin_id), "IN_APP", "coupon", {"coupon": "X1"})
    )
    assert (await settled(http, admin, given))["status"] == "SENT"
    inbox = (await http.get("/users/me/inbox", headers=admin)).json()["items"]
    assert [n["payload"]["body"] for n in inbox if n["id"] == given] == ["Use X1"]


async def test_preview_reports_sms_encoding_and_segments_and_push_size(serve: Any) -> None:
    http, admin, _ = serve
    await saved(
        http,
        admin,
        {
            "name": "long-sms",
            "channel": "SMS",
            "variables": {"type": "object", "properties": {"text": {"type": "string"}}},
            "locales": {"en": {"body": "{{ text }}"}},
        },
    )
    plain = await http.post(
        "/templates/long-sms/preview", headers=admin, json={"variables": {"text": "a" * 200}}
    )
    assert plain.status_code == 200, plain.text
    assert plain.json()["report"] == {"encoding": "GSM-7", "characters": 200, "segments": 2}
    emoji = await http.post(
        "/templates/long-sms/preview",
        headers=admin,
        json={"variables": {"text": "a" * 199 + "\U0001f600"}},
    )
    assert emoji.json()["report"] == {"encoding": "UCS-2", "characters": 201, "segments": 3}
    assert emoji.json()["content"] == {"body": "a" * 199 + "\U0001f600"}

    await saved(
        http,
        admin,
        {
            "name": "big-push",
            "channel": "PUSH",
            "variables": {"type": "object", "properties": {"text": {"type": "string"}}},
            "locales": {"en": {"title": "Big", "body": "{{ text }}"}},
        },
    )
    small = await http.post(
        "/templates/big-push/preview", headers=admin, json={"variables": {"text": "hi"}}
    )
    assert small.json()["report"]["fits"] is True
    big = await http.post(
        "/templates/big-push/preview", headers=admin, json={"variables": {"text": "é" * 3000}}
    )
    assert big.json()["report"]["limit"] == 4096
    assert big.json()["report"]["bytes"] > 4096
    assert big.json()["report"]["fits"] is False
    # a preview stores and sends nothing
    listed = (await http.get("/notifications", headers=admin)).json()["items"]
    assert listed == []


async def test_a_template_that_would_build_a_huge_string_is_refused_when_rendered(
    serve: Any,
) -> None:
    http, admin, _ = serve
    await saved(
        http,
        admin,
        {"name": "bomb", "channel": "SMS", "locales": {"en": {"body": "{{ 'x' * 1000000000 }}"}}},
    )
    preview = await http.post("/templates/bomb/preview", headers=admin, json={})
    assert preview.status_code == 422
    assert "not allowed" in preview.json()["details"][0]["message"]


async def test_who_may_change_and_read_templates(serve: Any) -> None:
    http, admin, admin_id = serve
    body = {"name": "shared", "channel": "SMS", "locales": {"en": {"body": "Hi"}}}
    user = await signed_in(http, "someone@example.com")
    assert (await http.post("/templates", headers=user, json=body)).status_code == 403
    assert (await http.post("/templates", json=body)).status_code == 401
    sender = await create_key(http, admin, ["notifications:write"], "sender")
    writer = await create_key(http, admin, ["templates:write"], "writer")
    as_sender = {"X-API-Key": sender.secret}
    as_writer = {"X-API-Key": writer.secret}
    assert (await http.post("/templates", headers=as_sender, json=body)).status_code == 403
    assert (await http.post("/templates", headers=as_writer, json=body)).status_code == 201
    again = await http.post("/templates", headers=as_writer, json=body)
    assert again.status_code == 409
    # anyone who sends may read and preview
    for headers in (user, as_sender):
        assert (await http.get("/templates/shared", headers=headers)).status_code == 200
        preview = await http.post("/templates/shared/preview", headers=headers, json={})
        assert preview.status_code == 200
    assert (await http.put("/templates/shared", headers=user, json=body)).status_code == 422
    change = {"channel": "SMS", "locales": {"en": {"body": "Hey"}}}
    assert (await http.put("/templates/shared", headers=user, json=change)).status_code == 403
    assert (await http.delete("/templates/shared", headers=user)).status_code == 403
    assert (await http.delete("/templates/shared", headers=as_writer)).status_code == 204
    gone = await http.post(
        "/notifications",
        headers=admin,
        json=templated(str(admin_id), "SMS", "shared", {}, payload={"to": "+15005550006"}),
    )
    assert gone.status_code == 422
