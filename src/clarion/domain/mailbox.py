"""One email address, and nothing else: what a recipient may be.

A recipient is exactly one RFC 5321 mailbox, `local-part@domain`, written bare.
The local part is a dot-atom (quoted strings are refused: they let spaces,
commas and `@` into an address that other software then splits differently).
The domain is a host name of letter-digit-hyphen labels ending in a top-level
label that starts with a letter; address literals such as `[192.0.2.1]` are
refused, since they would steer the mail server to any address at all. Only
ASCII is accepted (no SMTPUTF8): an internationalised domain is written in its
`xn--` form.

Lists, display names, comments, angle brackets, whitespace and control
characters are refused, so one notification never becomes several RCPT TO
commands or extra headers.
"""

from __future__ import annotations

import re

MAX_LOCAL_OCTETS = 64
MAX_DOMAIN_OCTETS = 255
MAX_MAILBOX_OCTETS = 254  # a forward-path is 256 octets, angle brackets included

# RFC 5322 atext, the characters of a dot-atom besides its dots
DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
TOP_LABEL = re.compile(r"[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")

LIST_SEPARATORS = frozenset(",;")
DECORATION = frozenset('<>()"[]\\:')


def mailbox_problem(value: str) -> str | None:
    """Why `value` is not exactly one bare mailbox, as a short phrase; None if it is."""
    if not value:
        return "the address is empty"
    if not value.isascii():
        return "only ASCII characters are accepted"
    if any(c.isspace() or not c.isprintable() for c in value):
        return "spaces and control characters are not allowed"
    if any(c in LIST_SEPARATORS for c in value):
        return "a list of addresses is not allowed"
    if value.count("@") > 1:
        return "more than one @: a list or a quoted local part is not allowed"
    local, at, domain = value.rpartition("@")
    if not at:
        return "an @ and a domain are required"
    if any(c in DECORATION for c in local):
        return "display names, comments, quotes and angle brackets are not allowed"
    if domain.startswith("["):
        return "address literals are not allowed; use a domain name"
    if len(value) > MAX_MAILBOX_OCTETS:
        return f"longer than {MAX_MAILBOX_OCTETS} characters"
    return local_problem(local) or domain_problem(domain)


def local_problem(local: str) -> str | None:
    if not local:
        return "the part before the @ is empty"
    if len(local) > MAX_LOCAL_OCTETS:
        return f"the part before the @ is longer than {MAX_LOCAL_OCTETS} characters"
    if not DOT_ATOM.fullmatch(local):
        return "the part before the @ is not valid"
    return None


def domain_problem(domain: str) -> str | None:
    if not domain:
        return "the domain is empty"
    if len(domain) > MAX_DOMAIN_OCTETS:
        return f"the domain is longer than {MAX_DOMAIN_OCTETS} characters"
    *labels, top = domain.split(".")
    if not labels:
        return "the domain needs a top-level domain, e.g. example.com"
    if not all(LABEL.fullmatch(label) for label in labels) or not TOP_LABEL.fullmatch(top):
        return "the domain is not a valid host name"
    return None
