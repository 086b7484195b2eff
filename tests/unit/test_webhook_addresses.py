"""Which URLs the webhook channel refuses before any DNS lookup, and which
addresses a name may resolve to when it is called."""

import asyncio
import socket
from typing import Any

import pytest

from clarion.adapters.providers.webhook import WebhookProvider
from clarion.domain.delivery import Outcome
from clarion.domain.enums import Channel
from clarion.domain.webhooks import AddressPolicy
from tests.support.outgoing import outgoing

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.1/hook",  # short IPv4 forms that resolvers accept
    "http://2130706433/hook",
    "http://0x7f.0.0.1/hook",
    "http://localhost:8080/hook",
    "http://api.localhost/hook",
    "http://[::1]/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://172.16.5.4/hook",
    "http://169.254.169.254/latest/meta-data",  # cloud metadata
    "http://[fd00::1]/hook",
    "http://0.0.0.0/hook",
    "ftp://example.com/hook",
    "http://user:secret@example.com/hook",
    "http://example.com:99999/hook",  # no such port
]


@pytest.mark.parametrize("url", REFUSED)
def test_internal_addresses_are_refused_by_default(url: str) -> None:
    assert AddressPolicy().refusal(url) is not None


@pytest.mark.parametrize("url", ["https://hooks.example.com/in", "http://93.184.216.34/hook"])
def test_public_addresses_and_names_pass(url: str) -> None:
    assert AddressPolicy().refusal(url) is None


def test_an_operator_can_allow_a_host_or_a_range() -> None:
    policy = AddressPolicy(["127.0.0.1", "10.0.0.0/8", "Internal.Example"])
    assert policy.refusal("http://127.0.0.1:9000/hook") is None
    assert policy.refusal("http://10.9.8.7/hook") is None
    assert policy.refusal("http://internal.example/hook") is None
    assert policy.refusal("http://192.168.1.1/hook") is not None
    assert policy.refusal("http://localhost/hook") is not None


# IPv6 forms that reach an IPv4 address: judged by the address they carry
CARRYING_INTERNAL = [
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",  # NAT64 → 169.254.169.254
    "http://[64:ff9b::127.0.0.1]/hook",  # NAT64, written with the dotted tail
    "http://[64:ff9b::a00:1]/hook",  # NAT64 → 10.0.0.1
    "http://[2002:a9fe:a9fe::1]/hook",  # 6to4 → 169.254.169.254
    "http://[2002:c0a8:1::1]/hook",  # 6to4 → 192.168.0.1
    "http://[::127.0.0.1]/hook",  # IPv4-compatible
    "http://[::a9fe:a9fe]/hook",
    "http://[::ffff:169.254.169.254]/hook",  # IPv4-mapped
    "http://[::ffff:0:7f00:1]/hook",  # IPv4-translated (SIIT) → 127.0.0.1
    "http://[2001:0:5ef5:79fd:0:ffff:80ff:fffe]/hook",  # Teredo, client 127.0.0.1
    "http://[2001:0:a00:1:0:ffff:a3ff:fefe]/hook",  # Teredo via server 10.0.0.1
    # local-use NAT64: where the IPv4 address sits depends on the site's prefix
    "http://[64:ff9b:1::5db8:d822]/hook",
]
CARRYING_PUBLIC = [
    "http://[64:ff9b::5db8:d822]/hook",  # NAT64 → 93.184.216.34
    "http://[2002:5db8:d822::1]/hook",  # 6to4 → 93.184.216.34
    "http://[::ffff:93.184.216.34]/hook",
    "http://[2001:0:5ef5:79fd:0:ffff:a247:27dd]/hook",  # Teredo, client 93.184.216.34
]


@pytest.mark.parametrize("url", CARRYING_INTERNAL)
def test_ipv6_addresses_carrying_an_internal_ipv4_address_are_refused(url: str) -> None:
    assert AddressPolicy().refusal(url) is not None


@pytest.mark.parametrize("url", CARRYING_PUBLIC)
def test_ipv6_addresses_carrying_a_public_ipv4_address_pass(url: str) -> None:
    assert AddressPolicy().refusal(url) is None


def test_the_reason_names_the_ipv4_address_carried() -> None:
    reason = AddressPolicy().refusal("http://[64:ff9b::a9fe:a9fe]/")
    assert reason is not None
    assert "169.254.169.254" in reason


def test_an_allowed_range_covers_the_ipv6_forms_of_its_addresses() -> None:
    policy = AddressPolicy(["10.0.0.0/8"])
    assert policy.refusal("http://[64:ff9b::a00:1]/hook") is None
    assert policy.refusal("http://[::ffff:10.1.2.3]/hook") is None
    assert policy.refusal("http://[2002:a00:1::1]/hook") is None
    assert policy.refusal("http://[64:ff9b::c0a8:1]/hook") is not None  # 192.168.0.1


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        "http://[zz]/",
        "http://[v1.x]/",
        "http://[::1]x/",
        "http://a b/",
        "http://%zz/",
        "http://exa%2Emple.com/",
        "http://ex\x00ample.com/",
        "http://a..b/",
    ],
)
def test_a_malformed_url_gets_a_reason_not_an_exception(url: str) -> None:
    reason = AddressPolicy().refusal(url)
    assert isinstance(reason, str)
    assert reason


async def test_a_name_resolving_to_an_ipv6_form_of_an_internal_address_is_not_called(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same judgement applies to what a host name resolves to at send time."""
    loop = asyncio.get_running_loop()

    async def resolve(host: str, port: Any, **kwargs: Any) -> Any:
        assert host == "hooks.example.test"
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("64:ff9b::a9fe:a9fe", port, 0, 0))]

    monkeypatch.setattr(loop, "getaddrinfo", resolve)
    provider = WebhookProvider(secret=b"k" * 32, policy=AddressPolicy(), timeout=1.0)
    try:
        message = outgoing(
            Channel.WEBHOOK,
            "http://hooks.example.test/hook",
            {"url": "http://hooks.example.test/hook", "data": {}},
        )
        result = await provider.send(message)
    finally:
        await provider.close()

    assert result.outcome is Outcome.PERMANENT
    assert result.error is not None
    assert "169.254.169.254" in result.error
