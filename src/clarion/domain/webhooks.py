"""Where the webhook channel may send: never to private, loopback or other
internal addresses (server-side request forgery), unless an operator allowed
the host or range in `CLARION_WEBHOOK_ALLOWED_HOSTS`.

An IPv6 address that stands for an IPv4 one (IPv4-mapped, -compatible or
-translated, NAT64, 6to4, Teredo) is judged by the IPv4 address it carries:
where the network translates or tunnels it, that is the address reached.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# where its IPv4 address sits depends on the prefix length the site chose
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
TEREDO = ipaddress.IPv6Network("2001::/32")
LAST_32_BITS = 0xFFFFFFFF

# a host name label once in ASCII (underscores occur in real internal names)
NAME_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")
MALFORMED = "the URL is not valid"


def literal_address(host: str) -> IpAddress | None:
    """The address a host written as an IP literal stands for, including the
    short and numeric IPv4 forms resolvers accept (`127.1`, `2130706433`)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):  # ValueError: a NUL character
        return None


def carried_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address embeds and may reach; empty if none.
    Teredo carries two: its server and (inverted) its client."""
    if address.teredo is not None:
        return list(address.teredo)
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    low = ipaddress.IPv4Address(int(address) & LAST_32_BITS)
    if address in NAT64 or address in IPV4_TRANSLATED:
        return [low]
    if address in IPV4_COMPATIBLE and int(address) > 1:  # not :: nor ::1
        return [low]
    return []


def is_host_name(host: str) -> bool:
    """A name a resolver could look up: labels of letters, digits, hyphens and
    underscores, in Unicode or ASCII; no spaces, percent signs or empty labels."""
    try:
        ascii_name = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return len(ascii_name) <= 253 and all(
        NAME_LABEL.fullmatch(label) for label in ascii_name.split(".")
    )


def host_problem(netloc: str, host: str) -> str | None:
    """Why the URL's host is not an IP literal or a host name, or None."""
    host_and_port = netloc.rpartition("@")[2]
    if host_and_port.startswith("["):
        rest = host_and_port.partition("]")[2]
        if rest and not rest.startswith(":"):
            return MALFORMED
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return MALFORMED
        return None
    if literal_address(host) is None and not is_host_name(host):
        return "the URL's host is not a valid host name"
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
        try:
            return (urlsplit(url).hostname or "").lower().rstrip(".")
        except ValueError:
            return ""

    def refusal(self, url: str) -> str | None:
        """Why `url` may not be called, judged without a DNS lookup; None if it may."""
        try:
            parts = urlsplit(url)
            # reading the host checks a bracketed one
            host = (parts.hostname or "").lower().rstrip(".")
        except ValueError:
            return MALFORMED
        if parts.scheme not in {"http", "https"}:
            return "only http and https URLs are allowed"
        if not host:
            return "the URL has no host"
        if parts.username or parts.password:
            return "credentials in the URL are not allowed"
        try:
            parts.port  # noqa: B018 (reading it checks it)
        except ValueError:
            return "the URL's port is not valid"
        if problem := host_problem(parts.netloc, host):
            return problem
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
        if isinstance(address, ipaddress.IPv6Address):
            if address in NAT64_LOCAL_USE:
                return "local-use NAT64 addresses (64:ff9b:1::/48) are not allowed"
            carried = carried_ipv4(address)
            for ipv4 in carried:
                if refused := self.address_refusal(ipv4):
                    return f"{refused} (the IPv6 address carries {ipv4})"
            if carried:
                return None
        if address.is_loopback:
            return "loopback addresses are not allowed"
        if not address.is_global or address.is_multicast:
            return "private and internal addresses are not allowed"
        return None
