"""Where the webhook channel may send: never to private, loopback or other
internal addresses (server-side request forgery), unless an operator allowed
the host or range in `CLARION_WEBHOOK_ALLOWED_HOSTS`."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def literal_address(host: str) -> IpAddress | None:
    """The address a host written as an IP literal stands for, including the
    short and numeric IPv4 forms resolvers accept (`127.1`, `2130706433`)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


class AddressPolicy:
    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self._hosts: set[str] = set()
        self._networks: list[IpNetwork] = []
        for entry in allowed:
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self._hosts.add(entry.lower().rstrip("."))

    def host_of(self, url: str) -> str:
        return (urlsplit(url).hostname or "").lower().rstrip(".")

    def refusal(self, url: str) -> str | None:
        """Why `url` may not be called, judged without a DNS lookup; None if it may."""
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"}:
            return "only http and https URLs are allowed"
        host = self.host_of(url)
        if not host:
            return "the URL has no host"
        if parts.username or parts.password:
            return "credentials in the URL are not allowed"
        try:
            parts.port  # noqa: B018 (reading it checks it)
        except ValueError:
            return "the URL's port is not valid"
        if host in self._hosts:
            return None
        if host == "localhost" or host.endswith(".localhost"):
            return "loopback addresses are not allowed"
        address = literal_address(host)
        if address is None:
            return None  # a name: its addresses are checked when it is called
        return self.address_refusal(address)

    def address_refusal(self, address: IpAddress, host: str = "") -> str | None:
        if host and host in self._hosts:
            return None
        if any(address in network for network in self._networks):
            return None
        if address.is_loopback:
            return "loopback addresses are not allowed"
        if not address.is_global or address.is_multicast:
            return "private and internal addresses are not allowed"
        return None
