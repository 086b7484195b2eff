"""Who may call what: every endpoint against every kind of caller, good and bad.

The matrix is data: endpoint → {caller: documented status}. One test per endpoint
sends every caller (API keys both as `Authorization: Bearer` and as `X-API-Key`)
and prints the whole row as a table when any cell is wrong (tests/support/matrix.py).
This file holds the rows for accounts and keys; test_access_matrix_notifications.py
those for notifications. Another test reads the app's routes, so an endpoint added
without rows in either matrix fails.
"""

from __future__ import annotations

import fnmatch
import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select

from clarion.adapters.db.models import AuditLog
from clarion.api.app import create_app
from clarion.bootstrap import Container
from clarion.domain.contacts import DeviceRecord
from clarion.domain.enums import Platform
from clarion.domain.time import utcnow
from tests.integration.test_access_matrix_notifications import (
    MATRIX as NOTIFICATIONS_MATRIX,
)
from tests.integration.test_access_matrix_templates import MATRIX as TEMPLATES_MATRIX
from tests.support.fake_server import served_on_this_loop
from tests.support.identity import (
    BAD_CREDENTIALS,
    KEY_CALLERS,
    PASSWORD,
    Caller,
    World,
    add_user,
    build_world,
    claims_for,
    create_key,
    error_shape_problem,
    login,
    register,
    sign,
)
from tests.support.matrix import (
    NON_ADMIN_KEYS,
    ORDER,
    VALID_CALLERS,
    Call,
    Endpoint,
    Row,
    admin_only,
    check_row,
    row,
    vias,
)


def owned_by_user_a(ok: int) -> Row:
    """Someone else's account looks absent (404), also to a key: keys are not users."""
    return row(
        {
            Caller.USER_A: ok,
            Caller.ADMIN: ok,
            Caller.ADMIN_KEY: ok,
            Caller.USER_B: 404,
            **dict.fromkeys(NON_ADMIN_KEYS, 404),
        }
    )


def signed_in_users(ok: int) -> Row:
    """The caller's own inbox: any signed-in user; a key is not a user (403)."""
    return row(
        {
            Caller.USER_A: ok,
            Caller.USER_B: ok,
            Caller.ADMIN: ok,
            Caller.ADMIN_KEY: 403,
            **dict.fromkeys(NON_ADMIN_KEYS, 403),
        }
    )


MATRIX: dict[Endpoint, Row] = {
    ("GET", "/auth/me"): row(dict.fromkeys(VALID_CALLERS, 200)),
    ("GET", "/users"): admin_only(200),
    ("GET", "/users/{user_id}"): owned_by_user_a(200),
    ("PATCH", "/users/{user_id}"): owned_by_user_a(200),
    ("DELETE", "/users/{user_id}"): owned_by_user_a(204),
    ("GET", "/users/{user_id}/preferences"): owned_by_user_a(200),
    ("PUT", "/users/{user_id}/preferences"): owned_by_user_a(200),
    ("PATCH", "/users/{user_id}/preferences"): owned_by_user_a(200),
    ("GET", "/users/{user_id}/preferences/explain"): owned_by_user_a(200),
    ("POST", "/users/{user_id}/devices"): owned_by_user_a(201),
    ("GET", "/users/{user_id}/devices"): owned_by_user_a(200),
    ("DELETE", "/users/{user_id}/devices/{device_id}"): owned_by_user_a(204),
    ("GET", "/users/me/inbox"): signed_in_users(200),
    ("GET", "/users/me/inbox/unread-count"): signed_in_users(200),
    ("POST", "/users/me/inbox/read-all"): signed_in_users(200),
    ("POST", "/users/me/inbox/stream-token"): signed_in_users(200),
    # nothing of theirs has that id: 404 for users, still 403 for keys
    ("POST", "/users/me/inbox/{notification_id}/read"): signed_in_users(404),
    ("GET", "/admin/users"): admin_only(200),
    ("POST", "/admin/users"): admin_only(201),
    ("POST", "/admin/users/{user_id}/role"): admin_only(200),
    ("POST", "/admin/api-keys"): admin_only(201),
    ("GET", "/admin/api-keys"): admin_only(200),
    ("DELETE", "/admin/api-keys/{key_id}"): admin_only(200),
    ("GET", "/admin/suppressions"): admin_only(200),
    ("DELETE", "/admin/suppressions/{channel}/{address}"): admin_only(204),
    ("GET", "/admin/notifications"): admin_only(200),
    ("GET", "/admin/dashboard"): admin_only(200),
    ("GET", "/data-pipeline/audit-logs"): admin_only(200),
    ("GET", "/data-pipeline/audit-logs/stats"): admin_only(200),
    ("GET", "/data-pipeline/export/notifications"): admin_only(200),
    ("GET", "/data-pipeline/export/events"): admin_only(200),
    ("DELETE", "/data-pipeline/anonymize/{user_id}"): admin_only(200),
    ("GET", "/data-pipeline/anonymization/stats"): admin_only(200),
    # Prometheus scrapes without a credential unless CLARION_METRICS_TOKEN is set
    ("GET", "/metrics"): dict.fromkeys(Caller, 200),
    ("POST", "/data-pipeline/archive"): admin_only(200),
    ("GET", "/data-pipeline/archive/stats"): admin_only(200),
    # Provider webhooks answer to the provider's signature, never to a Clarion
    # credential, an admin's included (signed requests: tests/integration/receipts/).
    ("POST", "/webhooks/sendgrid"): dict.fromkeys(Caller, 403),
    ("POST", "/webhooks/twilio"): dict.fromkeys(Caller, 403),
}
# Credential-free endpoints that take a body, and the never-ending event stream;
# each has tests of its own below.
PUBLIC: dict[Endpoint, str] = {
    ("GET", "/users/me/inbox/stream"): "test_inbox_stream_*",
    ("POST", "/auth/register"): "test_register_*",
    ("POST", "/auth/login"): "test_login_*",
    ("POST", "/auth/refresh"): "test_refresh_*",
    ("POST", "/auth/logout"): "test_logout_*",
    ("GET", "/unsubscribe/{token}"): "test_unsubscribe_*",
    ("POST", "/unsubscribe/{token}"): "test_unsubscribe_*",
}
NOT_API = ("/docs", "/redoc", "/openapi.json", "/docs-assets")
# the console's pages and sign-in answer with HTML, not the API's JSON; they
# reach data only through the API (tests/browser, tests/integration/test_console_session.py)
CONSOLE = "/console"
BODIES: dict[Endpoint, dict[str, Any]] = {
    ("PATCH", "/users/{user_id}"): {"name": "Renamed In The Matrix"},
    ("POST", "/admin/users/{user_id}/role"): {"role": "ADMIN"},
    ("POST", "/admin/api-keys"): {"name": "made in the matrix", "scopes": ["notifications:read"]},
    ("POST", "/users/{user_id}/devices"): {"platform": "ANDROID", "token": "matrix-device"},
    ("PUT", "/users/{user_id}/preferences"): {"types": {"MARKETING": False}},
    ("PATCH", "/users/{user_id}/preferences"): {"channels": {"SMS": False}},
}


def served_endpoints(container: Container) -> set[Endpoint]:
    """(method, path) of every route in `app.routes`, with included routers opened
    (FastAPI 0.16x keeps them nested); a mount or other non-API route counts as `*`."""
    found: set[Endpoint] = set()
    for route in iter_route_contexts(create_app(container=container).routes):
        # `{notification_id:uuid}` is served as `{notification_id}` in the document
        path = re.sub(r":\w+}", "}", route.path) if route.path else repr(route.original_route)
        if path.startswith(("/health", CONSOLE)) or path in NOT_API:
            continue
        methods = route.methods if isinstance(route.original_route, APIRoute) else None
        found |= {(method, path) for method in methods or {"*"}}
    return found


async def test_the_matrix_covers_every_endpoint_and_every_caller(container: Container) -> None:
    """Every matrix: this file's (accounts, keys), the notifications file's and the
    templates file's."""
    served = served_endpoints(container)
    matrices = [MATRIX, NOTIFICATIONS_MATRIX, TEMPLATES_MATRIX]
    assert sum(len(m) for m in matrices) == len(set().union(*matrices))  # no row twice
    listed = set(PUBLIC).union(*matrices)
    assert not set(PUBLIC) & set().union(*matrices)
    assert served - listed == set(), "endpoints without matrix rows"
    assert listed - served == set(), "matrix rows for endpoints that do not exist"
    for matrix in matrices:
        for endpoint, cells in matrix.items():
            assert set(cells) == set(Caller), f"{endpoint}: callers without a cell"
    assert sorted(ORDER) == sorted(Caller)
    for endpoint, tests in PUBLIC.items():
        assert fnmatch.filter(globals(), tests), f"{endpoint}: no {tests} test"


async def resolve_call(
    endpoint: Endpoint, caller: Caller, world: World, client: httpx.AsyncClient, c: Container
) -> Call:
    """The concrete path and its target. Calls that change who a caller is (a role)
    or remove things (deletes by admins) get a fresh target of their own."""
    method, template = endpoint
    body = BODIES.get(endpoint)
    if endpoint == ("POST", "/admin/users"):
        email = f"opened-{uuid.uuid4().hex[:10]}@example.com"
        return Call(template, {"email": email, "password": PASSWORD, "name": "Opened"})
    if "{device_id}" in template:
        device = await add_device(c, world.user_a.id)
        return Call(template.format(user_id=world.user_a.id, device_id=device), body)
    if "{notification_id}" in template:
        return Call(template.format(notification_id=uuid.uuid4()), body)
    if "{address}" in template:
        address = f"bounced-{uuid.uuid4().hex[:10]}@example.com"
        uow = c.unit_of_work()
        try:
            await uow.suppressions.suppress_emails([(address, "hard bounce: 550")], utcnow())
            await uow.commit()
        finally:
            await uow.close()
        return Call(template.format(channel="EMAIL", address=address))
    if template.endswith("/explain"):
        query = "?type=MARKETING&channel=EMAIL"
        return Call(template.format(user_id=world.user_a.id) + query, target=world.user_a.id)
    if "/devices" in template:
        return Call(template.format(user_id=world.user_a.id), body)
    if "{user_id}" in template:
        target = world.user_a.id
        fresh = template.endswith("/role") or (
            method == "DELETE" and caller in (Caller.ADMIN, Caller.ADMIN_KEY)
        )
        if fresh:
            target = await add_user(c, f"target-{uuid.uuid4().hex[:10]}@example.com")
        return Call(template.format(user_id=target), body, target)
    if "{key_id}" in template:
        target = (await create_key(client, world.admin.headers, ["notifications:read"])).id
        return Call(template.format(key_id=target), body, target)
    return Call(template, body)


async def add_device(container: Container, user_id: uuid.UUID) -> uuid.UUID:
    device = DeviceRecord(uuid.uuid4(), user_id, Platform.IOS, uuid.uuid4().hex, utcnow())
    uow = container.unit_of_work()
    try:
        await uow.contacts.add_device(device)
        await uow.commit()
    finally:
        await uow.close()
    return device.id


def body_problem(
    response: httpx.Response, endpoint: Endpoint, caller: Caller, world: World, call: Call
) -> str | None:
    if endpoint == ("GET", "/metrics"):
        return None if "http_requests_total" in response.text else "no exposition"
    if endpoint[1].startswith("/data-pipeline/export/"):
        kind = response.headers.get("content-type", "")
        return None if kind.startswith("application/x-ndjson") else f"answered {kind}"
    body = response.json()
    if endpoint == ("GET", "/auth/me"):
        expected_kind = "api_key" if caller in KEY_CALLERS else None
        if body.get("id") != str(world.identity(caller)) or body.get("kind") != expected_kind:
            return f"/auth/me answered for {body.get('kind')} {body.get('id')}"
    elif "/preferences" in endpoint[1]:
        shape = {"send", "rule", "reason"} if "explain" in endpoint[1] else {"channels", "types"}
        return None if shape <= set(body) else f"answered {body!r:.80}"
    elif call.target is not None and body.get("id", body.get("userId")) != str(call.target):
        about = body.get("id", body.get("userId"))
        return f"answered about {about}, not the target {call.target}"
    return None


@pytest.mark.parametrize("endpoint", list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
async def test_access_matrix(
    endpoint: Endpoint, client: httpx.AsyncClient, container: Container, world: World
) -> None:
    async def prepare(caller: Caller) -> Call:
        return await resolve_call(endpoint, caller, world, client, container)

    def judge(response: httpx.Response, caller: Caller, call: Call) -> str | None:
        return body_problem(response, endpoint, caller, world, call)

    await check_row(client, world, endpoint, MATRIX[endpoint], prepare, judge)


@pytest.fixture
async def world(client: httpx.AsyncClient, container: Container) -> World:
    return await build_world(client, container)


async def test_a_forged_token_with_nothing_wrong_is_accepted(
    client: httpx.AsyncClient, container: Container, world: World
) -> None:
    """The control for the forged tokens: their 401s come from their one defect."""
    token = sign(container, claims_for(container, world.user_a.id))
    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(world.user_a.id)


async def test_every_rejected_credential_gets_a_bearer_challenge(
    client: httpx.AsyncClient, world: World
) -> None:
    """RFC 7235 §3.1: a 401 MUST carry WWW-Authenticate; RFC 6750 §3 says how for
    Bearer (`error="invalid_token"` when a token was sent and failed)."""
    missing = []
    for caller in sorted(BAD_CREDENTIALS):
        for via in vias(caller):
            response = await client.get("/auth/me", headers=world.headers(caller, via))
            assert response.status_code == 401, f"{caller} via {via}"
            if not response.headers.get("www-authenticate", "").startswith("Bearer"):
                missing.append(f"{caller} via {via}")
    assert missing == [], f"401 without a WWW-Authenticate challenge: {missing}"


# --- isolation and privilege ------------------------------------------------------


async def test_a_user_cannot_read_change_or_delete_another_users_account(
    client: httpx.AsyncClient, world: World
) -> None:
    a, b = world.user_a, world.user_b
    b_session = await login(client, b.email)
    b_before = (await client.get(f"/users/{b.id}", headers=b.headers)).json()
    nobody = await client.get(f"/users/{uuid.uuid4()}", headers=a.headers)
    change = {"name": "Mallory", "email": "mallory@example.com", "password": "mallory's password"}
    attempts = {
        "GET": await client.get(f"/users/{b.id}", headers=a.headers),
        "PATCH": await client.patch(f"/users/{b.id}", json=change, headers=a.headers),
        "DELETE": await client.delete(f"/users/{b.id}", headers=a.headers),
    }
    for method, response in attempts.items():
        assert response.status_code == 404, f"{method}: {response.text}"
        # the same answer as for an account that does not exist: no existence oracle
        assert response.json() == nobody.json(), method
    assert (await client.get(f"/users/{b.id}", headers=b.headers)).json() == b_before
    refreshed = await client.post("/auth/refresh", json={"refreshToken": b_session["refreshToken"]})
    assert refreshed.status_code == 200, "B's sessions were signed out"
    await login(client, b.email, PASSWORD)
    mallory = await client.post(
        "/auth/login", json={"email": b.email, "password": change["password"]}
    )
    assert mallory.status_code == 401


async def test_a_user_cannot_raise_their_own_role(client: httpx.AsyncClient, world: World) -> None:
    a = world.user_a
    patch = await client.patch(
        f"/users/{a.id}", json={"name": "Still Me", "role": "ADMIN"}, headers=a.headers
    )
    assert patch.status_code == 422, patch.text
    assert error_shape_problem(patch, "validation_error") is None
    details = [(d["location"], d["field"], d["type"]) for d in patch.json()["details"]]
    assert details == [("body", "role", "extra_forbidden")], "role is an unknown field"
    grant = await client.post(
        f"/admin/users/{a.id}/role", json={"role": "ADMIN"}, headers=a.headers
    )
    assert grant.status_code == 403, grant.text
    assert error_shape_problem(grant, "forbidden") is None

    me = (await client.get("/auth/me", headers=a.headers)).json()
    assert (me["role"], me["name"]) == ("USER", "Someone"), "a rejected request changed nothing"
    seen_by_admin = await client.get(f"/users/{a.id}", headers=world.admin.headers)
    assert seen_by_admin.json()["role"] == "USER"
    assert (await client.get("/users", headers=a.headers)).status_code == 403


async def test_a_role_change_or_a_deletion_applies_to_tokens_already_issued(
    client: httpx.AsyncClient, world: World
) -> None:
    b, admin = world.user_b, world.admin.headers
    promote = await client.post(f"/admin/users/{b.id}/role", json={"role": "ADMIN"}, headers=admin)
    assert promote.status_code == 200, promote.text
    assert (await client.get("/users", headers=b.headers)).status_code == 200
    demote = await client.post(f"/admin/users/{b.id}/role", json={"role": "USER"}, headers=admin)
    assert demote.status_code == 200, demote.text
    assert (await client.get("/users", headers=b.headers)).status_code == 403
    assert (await client.delete(f"/users/{b.id}", headers=admin)).status_code == 204
    gone = await client.get("/auth/me", headers=b.headers)
    assert gone.status_code == 401, gone.text


# --- the credential-free /auth endpoints --------------------------------------------


async def test_register_answers_201_without_the_password_and_refuses_a_taken_email(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        "/auth/register",
        json={"email": "New.Person@Example.com", "password": PASSWORD, "name": "New"},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert set(body) == {
        "id",
        "email",
        "name",
        "role",
        "phone",
        "locale",
        "createdAt",
        "updatedAt",
    }
    assert (body["email"], body["role"]) == ("new.person@example.com", "USER")
    assert PASSWORD not in answer.text
    assert "argon2" not in answer.text
    for email in ("New.Person@Example.com", "new.person@example.com"):
        again = await client.post(
            "/auth/register", json={"email": email, "password": PASSWORD, "name": "Twin"}
        )
        assert again.status_code == 409, f"{email}: {again.text}"
        assert error_shape_problem(again, "conflict") is None


async def test_login_answers_a_bearer_token_pair(
    client: httpx.AsyncClient, container: Container
) -> None:
    user_id = await register(client, "login@example.com")
    response = await client.post(
        "/auth/login", json={"email": "login@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"accessToken", "refreshToken", "tokenType", "expiresIn"}
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] == container.settings.access_token_ttl_seconds
    assert response.headers["cache-control"] == "no-store"
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {body['accessToken']}"})
    assert me.json()["id"] == str(user_id)


async def test_login_fails_alike_for_a_wrong_password_and_an_unknown_email(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "known@example.com")
    wrong_password = await client.post(
        "/auth/login", json={"email": "known@example.com", "password": "not the password"}
    )
    unknown_email = await client.post(
        "/auth/login", json={"email": "unknown@example.com", "password": PASSWORD}
    )
    assert (wrong_password.status_code, unknown_email.status_code) == (401, 401)
    assert error_shape_problem(wrong_password, "unauthorized") is None
    assert wrong_password.json() == unknown_email.json()


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/auth/refresh", json={"refreshToken": token})


async def test_refresh_rotates_and_a_replayed_token_burns_its_family(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "rotate@example.com")
    first = (await login(client, "rotate@example.com"))["refreshToken"]
    other_session = await login(client, "rotate@example.com")
    second = await refresh(client, first)
    assert second.status_code == 200, second.text
    second_token = second.json()["refreshToken"]
    assert second_token != first
    third = await refresh(client, second_token)  # the rotated token works
    assert third.status_code == 200, third.text
    third_token = third.json()["refreshToken"]

    replay = await refresh(client, first)
    assert replay.status_code == 401, replay.text
    assert error_shape_problem(replay, "unauthorized") is None
    after_burn = await refresh(client, third_token)
    assert after_burn.status_code == 401, "the newest token of a replayed family must be dead"
    assert (await refresh(client, other_session["refreshToken"])).status_code == 200


async def test_logout_ends_the_refresh_token(client: httpx.AsyncClient) -> None:
    await register(client, "leaving@example.com")
    token = (await login(client, "leaving@example.com"))["refreshToken"]
    out = await client.post("/auth/logout", json={"refreshToken": token})
    assert out.status_code == 204, out.text
    after = await refresh(client, token)
    assert after.status_code == 401, after.text
    assert error_shape_problem(after, "unauthorized") is None


async def test_unsubscribe_answers_to_its_link_and_to_no_credential(
    client: httpx.AsyncClient, container: Container, world: World
) -> None:
    """The link is the authority: an admin's token with a bad link changes nothing,
    a valid link needs no token, and a link turns off its own user's mail only."""
    bad = await client.post("/unsubscribe/forged", headers=world.admin.headers)
    assert bad.status_code == 400
    link = container.unsubscribe_links.link(world.user_a.id, utcnow())
    path = "/unsubscribe/" + link.split("/unsubscribe/")[1]
    assert (await client.get(path)).status_code == 200
    assert (await client.post(path, content=b"List-Unsubscribe=One-Click")).status_code == 200
    a_prefs = await client.get(
        f"/users/{world.user_a.id}/preferences", headers=world.user_a.headers
    )
    assert a_prefs.json()["typeChannels"] == {"MARKETING": {"EMAIL": False}}
    b_prefs = await client.get(
        f"/users/{world.user_b.id}/preferences", headers=world.user_b.headers
    )
    assert b_prefs.json()["typeChannels"] == {}


# --- the audit trail ----------------------------------------------------------------


async def test_admin_actions_leave_audit_rows_with_who_and_where(
    client: httpx.AsyncClient, container: Container, world: World
) -> None:
    admin = {**world.admin.headers, "User-Agent": "access-matrix/1.0"}
    b = world.user_b.id
    victim = await add_user(container, "victim@example.com")
    role = await client.post(f"/admin/users/{b}/role", json={"role": "ADMIN"}, headers=admin)
    key = await create_key(client, admin, ["notifications:read"], "audited")
    revoke = await client.delete(f"/admin/api-keys/{key.id}", headers=admin)
    update = await client.patch(
        f"/users/{b}", json={"password": "reset by the admin"}, headers=admin
    )
    delete = await client.delete(f"/users/{victim}", headers=admin)
    assert (role.status_code, revoke.status_code, delete.status_code) == (200, 200, 204)
    assert update.status_code == 200

    async with container.sessions() as session:
        rows = (await session.scalars(select(AuditLog))).all()
    expected = {
        "user.role.change": ("user", b),
        "api_key.create": ("api_key", key.id),
        "api_key.revoke": ("api_key", key.id),
        "user.delete": ("user", victim),
        "user.update": ("user", b),
    }
    for action, (entity_type, entity_id) in expected.items():
        found = [r for r in rows if r.action == action and r.entity_id == str(entity_id)]
        assert len(found) == 1, f"{action}: {len(found)} rows"
        entry = found[0]
        assert entry.entity_type == entity_type, action
        assert entry.user_id == world.admin.id, action
        assert (entry.ip_address, entry.user_agent) == ("127.0.0.1", "access-matrix/1.0"), action
        assert entry.changes is not None
        assert entry.changes["actorId"] == str(world.admin.id), action
    change = next(r for r in rows if r.action == "user.role.change").changes or {}
    assert (change["before"], change["after"]) == ({"role": "USER"}, {"role": "ADMIN"})
    reset = next(r for r in rows if r.action == "user.update")
    assert reset.changes is not None
    assert reset.changes["fields"] == ["password"]
    assert "reset by the admin" not in str(reset.changes)


async def test_an_api_keys_admin_actions_are_audited_as_the_key(
    client: httpx.AsyncClient, container: Container, world: World
) -> None:
    made = await create_key(client, world.headers(Caller.ADMIN_KEY), ["admin"], "by a key")
    async with container.sessions() as session:
        entry = await session.scalar(
            select(AuditLog).where(
                AuditLog.action == "api_key.create", AuditLog.entity_id == str(made.id)
            )
        )
    assert entry is not None
    assert entry.changes is not None
    assert entry.user_id is None  # a key is not a user: the actor is named in the changes
    assert entry.changes["actorKind"] == "api_key"
    assert entry.changes["actorId"] == str(world.keys[Caller.ADMIN_KEY].id)
    assert entry.changes["after"]["scopes"] == ["admin"]


async def test_inbox_stream_is_open_to_signed_in_users_only(
    container: Container, world: World
) -> None:
    """The stream never ends, so the matrix cannot read it to the end: the first
    event (the subscription comment) shows it was opened. Over real HTTP, since
    the in-process transport would wait for the end of the body."""
    opened = {}
    app = create_app(container=container)
    async with served_on_this_loop(app) as url, httpx.AsyncClient(base_url=url) as http:
        for caller in sorted(Caller):
            async with http.stream(
                "GET", "/users/me/inbox/stream", headers=world.headers(caller)
            ) as response:
                if response.status_code == 200:
                    assert response.headers["content-type"].startswith("text/event-stream")
                    first = await anext(response.aiter_bytes())
                    assert first.startswith(b": connected")
                opened[caller] = response.status_code
    assert opened == {
        **dict.fromkeys(BAD_CREDENTIALS, 401),
        Caller.USER_A: 200,
        Caller.USER_B: 200,
        Caller.ADMIN: 200,
        Caller.ADMIN_KEY: 403,
        **dict.fromkeys(NON_ADMIN_KEYS, 403),
    }
