"""Which URLs the webhook channel refuses before any DNS lookup."""

import pytest

from clarion.domain.webhooks import AddressPolicy

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
