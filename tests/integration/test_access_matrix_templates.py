"""Who may change and read templates: every endpoint against every kind of caller
(tests/support/matrix.py). Templates are shared by every sender: admins and keys
holding templates:write change them (the service key holds it); anyone who may
send reads and previews them, so a key with only notifications:read may not."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from clarion.bootstrap import Container
from tests.support.identity import Caller, World, build_world
from tests.support.matrix import Call, Endpoint, Row, check_row, row

WRITERS = frozenset({Caller.ADMIN, Caller.ADMIN_KEY, Caller.SERVICE_KEY})
READERS = WRITERS | {Caller.USER_A, Caller.USER_B, Caller.WRITE_ONLY_KEY}


def changing(ok: int) -> Row:
    return row(
        {caller: ok if caller in WRITERS else 403 for caller in READERS | {Caller.READ_ONLY_KEY}}
    )


def reading(ok: int) -> Row:
    return row({**dict.fromkeys(READERS, ok), Caller.READ_ONLY_KEY: 403})


MATRIX: dict[Endpoint, Row] = {
    ("POST", "/templates"): changing(201),
    ("GET", "/templates"): reading(200),
    ("GET", "/templates/{name}"): reading(200),
    ("GET", "/templates/{name}/versions"): reading(200),
    ("POST", "/templates/{name}/preview"): reading(200),
    ("PUT", "/templates/{name}"): changing(200),
    ("DELETE", "/templates/{name}"): changing(204),
}


def sms(name: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"channel": "SMS", "locales": {"en": {"body": "From the matrix"}}}
    return body | ({"name": name} if name else {})


async def fresh(client: httpx.AsyncClient, world: World) -> str:
    name = f"matrix-{uuid.uuid4().hex[:10]}"
    made = await client.post("/templates", json=sms(name), headers=world.admin.headers)
    assert made.status_code == 201, made.text
    return name


@pytest.fixture
async def world(client: httpx.AsyncClient, container: Container) -> World:
    return await build_world(client, container)


@pytest.mark.parametrize("endpoint", list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
async def test_template_access_matrix(
    endpoint: Endpoint, client: httpx.AsyncClient, world: World
) -> None:
    method, template = endpoint

    async def prepare(caller: Caller) -> Call:
        if endpoint == ("POST", "/templates"):
            name = f"matrix-{uuid.uuid4().hex[:10]}"
            return Call(template, sms(name), name)
        if template == "/templates":
            return Call(template)
        name = await fresh(client, world)
        body = sms() if method == "PUT" else {} if method == "POST" else None
        return Call(template.format(name=name), body, name)

    def judge(response: httpx.Response, caller: Caller, call: Call) -> str | None:
        body = response.json()
        if endpoint == ("GET", "/templates"):
            return None if isinstance(body.get("items"), list) else f"answered {body!r:.60}"
        if template.endswith("/versions"):
            names = {item["name"] for item in body["items"]}
            return None if names == {call.target} else f"versions of {names}"
        if body.get("name") != call.target:
            return f"answered about {body.get('name')}, not {call.target}"
        if method == "PUT" and body["version"] != 2:
            return f"saved as version {body['version']}"
        return None

    await check_row(client, world, endpoint, MATRIX[endpoint], prepare, judge)
