"""An email recipient is exactly one bare mailbox: what `mailbox_problem` accepts."""

from email.utils import getaddresses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clarion.domain.mailbox import mailbox_problem

LONGEST_LOCAL = "l" * 64
LONGEST = f"{LONGEST_LOCAL}@{'d' * 63}.{'d' * 63}.{'d' * 57}.com"  # 254 characters

ACCEPTED = [
    "ada@example.com",
    "Ada.Lovelace@Example.COM",
    "first.last+tag@mail.example.co.uk",
    "o'brien@example.ie",
    "x@a.io",
    "user_name-1@xn--bcher-kva.example",
    "!#$%&'*+-/=?^_`{|}~@example.com",
    f"{LONGEST_LOCAL}@example.com",
    LONGEST,
]


@pytest.mark.parametrize("value", ACCEPTED)
def test_one_bare_address_is_accepted(value: str) -> None:
    assert mailbox_problem(value) is None


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("ok@x.example,postmaster,root", "list"),
        ("ok@x.example;root@x.example", "list"),
        ("ok@x.example,", "list"),
        ("ada@example.com\r\nBcc: eve@example.com", "control"),
        ("ada@example.com\n", "control"),
        ("ada\x00@example.com", "control"),
        ("Ada <ada@example.com>", "spaces"),
        ("ada@example.com (root)", "spaces"),
        ("<ada@example.com>", "angle brackets"),
        ("(root)ada@example.com", "comments"),
        ('"ada"@example.com', "quotes"),
        ('"ada@x"@example.com', "more than one @"),
        ("ada@example.com@root", "more than one @"),
        ("ada@[192.0.2.1]", "address literals"),
        ("ada@[IPv6:2001:db8::1]", "address literals"),
        ("root", "@"),
        ("", "empty"),
        ("jürgen@example.de", "ASCII"),
        ("ada@bücher.example", "ASCII"),
        ("a" * 65 + "@example.com", "longer than 64"),
        (LONGEST.replace("@", "l@"), "longer than 254"),
    ],
)
def test_lists_names_and_other_decoration_are_refused_with_a_reason(value: str, said: str) -> None:
    problem = mailbox_problem(value)
    assert problem is not None
    assert said in problem


@pytest.mark.parametrize(
    "value",
    [
        " ada@example.com",
        "ada@example.com ",
        "ada@example.com\t",
        "@example.com",
        "ada@",
        ".ada@example.com",
        "ada.@example.com",
        "a..da@example.com",
        "ada@localhost",
        "ada@example",
        "ada@example.com.",
        "ada@.example.com",
        "ada@exa..mple.com",
        "ada@-example.com",
        "ada@example-.com",
        "ada@exam_ple.com",
        "ada@example.123",
        "ada@192.0.2.1",
        f"ada@{'d' * 64}.com",
        "ada@example.com>",
        "ada\\@example.com",
    ],
)
def test_malformed_addresses_are_refused(value: str) -> None:
    assert mailbox_problem(value) is not None


HOSTILE = "abc.@-+_,;:<>()[]\"' \t\r\n\x00\\"


@st.composite
def near_addresses(draw: st.DrawFn) -> str:
    """A good address with a few characters, good or hostile, put in anywhere."""
    address = draw(st.sampled_from(ACCEPTED))
    inserted = draw(st.text(alphabet=HOSTILE, max_size=3))
    at = draw(st.integers(0, len(address)))
    return address[:at] + inserted + address[at:]


@given(near_addresses())
def test_whatever_is_accepted_a_mail_library_reads_as_that_one_address(value: str) -> None:
    """The recipients a mail client derives from a To header holding the value
    are the value itself, alone."""
    if mailbox_problem(value) is None:
        assert getaddresses([value]) == [("", value)]
