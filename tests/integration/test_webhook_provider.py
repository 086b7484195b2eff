"""The webhook provider resolves a host name once, checks every address, and
sends to the address it checked, with the name kept in the Host header."""

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clarion.adapters.providers.webhook import WebhookProvider
from clarion.domain.delivery import Outcome, OutgoingMessage
from clarion.domain.enums import Channel, Priority
from clarion.domain.webhooks import AddressPolicy
from tests.support.fake_server import serve_in_thread

# the machine's own name resolves through /etc/hosts, with no DNS server needed
HOST = socket.gethostname()


@pytest.fixture
def hosts_seen() -> Iterator[tuple[list[str], int]]:
    seen: list[str] = []

    async def hook(request: Request) -> Response:
        seen.append(request.headers["host"])
        return Response(status_code=204)

    with serve_in_thread(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        yield seen, int(url.rsplit(":", 1)[1])


def to(url: str) -> OutgoingMessage:
    return OutgoingMessage(
        uuid.uuid4(), uuid.uuid4(), Channel.WEBHOOK, Priority.MEDIUM, url, {"data": {}}, 1
    )


def loopback_name() -> bool:
    return socket.getaddrinfo(HOST, 80)[0][4][0].startswith("127.")


@pytest.mark.skipif(not loopback_name(), reason="this machine's name is not on loopback")
async def test_a_name_that_resolves_to_loopback_is_refused_unless_allowed(
    hosts_seen: tuple[list[str], int],
) -> None:
    seen, port = hosts_seen
    url = f"http://{HOST}:{port}/hook"
    refusing = WebhookProvider(secret=b"k", policy=AddressPolicy())
    allowing = WebhookProvider(secret=b"k", policy=AddressPolicy([HOST]))
    try:
        refused = await refusing.send(to(url))
        assert refused.outcome is Outcome.PERMANENT
        assert "loopback" in (refused.error or "")
        assert seen == []
        sent = await allowing.send(to(url))
    finally:
        await refusing.close()
        await allowing.close()
    assert sent.outcome is Outcome.SENT
    # sent to the checked address, under the name the URL gave
    assert seen == [f"{HOST}:{port}"]


async def test_a_name_that_does_not_resolve_fails_for_good() -> None:
    provider = WebhookProvider(secret=b"k", policy=AddressPolicy())
    try:
        result: Any = await provider.send(to("http://no-such-host.invalid/hook"))
    finally:
        await provider.close()
    assert result.outcome is Outcome.PERMANENT
    assert "resolve" in result.error
