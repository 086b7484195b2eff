"""The SMTP provider against a real SMTP server (aiosmtpd) on a local port."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult

from clarion.adapters.providers.smtp import SmtpProvider
from clarion.domain.delivery import Outcome
from clarion.domain.enums import Channel
from tests.support.mail import Mailbox, smtp_server
from tests.support.outgoing import email, outgoing
from tests.support.processes import free_port

SENDER = "Clarion <no-reply@example.com>"


def provider(port: int, *, timeout: float = 5.0, **options: Any) -> SmtpProvider:
    return SmtpProvider(host="127.0.0.1", port=port, sender=SENDER, timeout=timeout, **options)


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox(refuse={"gone@example.com": "550 5.1.1 no such user"})


@pytest.fixture
def port(mailbox: Mailbox) -> Iterator[int]:
    with smtp_server(mailbox) as bound:
        yield bound


async def test_the_email_arrives_with_its_headers_and_body(mailbox: Mailbox, port: int) -> None:
    result = await provider(port).send(email())

    assert result.outcome is Outcome.SENT
    assert result.provider == "smtp"
    [envelope] = mailbox.received
    assert envelope.mail_from == "no-reply@example.com"
    assert envelope.rcpt_tos == ["ada@example.com"]
    received = mailbox.email()
    assert received["From"] == SENDER
    assert received["To"] == "ada@example.com"
    assert received["Subject"] == "Your invoice"
    assert received["Message-ID"] == result.provider_message_id
    assert received.get_content_type() == "text/plain"
    assert received.get_content().strip() == "Amount due: 12 EUR"


async def test_a_marketing_emails_unsubscribe_headers_arrive(mailbox: Mailbox, port: int) -> None:
    link = "<https://notify.example.com/unsubscribe/abc>"
    headers = (
        ("List-Unsubscribe", link),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    )
    message = outgoing(
        Channel.EMAIL, "ada@example.com", {"subject": "Sale", "body": "50% off", "headers": headers}
    )
    result = await provider(port).send(message)

    assert result.outcome is Outcome.SENT
    received = mailbox.email()
    assert received["List-Unsubscribe"] == link
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def test_html_arrives_as_an_alternative_to_the_text(mailbox: Mailbox, port: int) -> None:
    result = await provider(port).send(email(html="<p>Amount due: <b>12 EUR</b></p>"))

    assert result.outcome is Outcome.SENT
    received = mailbox.email()
    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(preferencelist=("plain",))
    html = received.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().strip() == "Amount due: 12 EUR"
    assert html.get_content().strip() == "<p>Amount due: <b>12 EUR</b></p>"


async def test_each_email_gets_its_own_message_id(mailbox: Mailbox, port: int) -> None:
    smtp = provider(port)
    first, second = await smtp.send(email()), await smtp.send(email())

    assert first.provider_message_id != second.provider_message_id
    assert [mailbox.email(i)["Message-ID"] for i in range(2)] == [
        first.provider_message_id,
        second.provider_message_id,
    ]


async def test_an_unknown_user_fails_for_good_without_blaming_the_server(
    mailbox: Mailbox, port: int
) -> None:
    result = await provider(port).send(email(recipient="gone@example.com"))

    assert result.outcome is Outcome.PERMANENT
    assert result.error == "smtp: 550 5.1.1 no such user"
    assert not result.provider_fault
    assert mailbox.received == []


async def test_a_recipient_deferred_with_451_is_retried() -> None:
    mailbox = Mailbox(refuse={"busy@example.com": "451 4.3.0 try again later"})
    with smtp_server(mailbox) as port:
        result = await provider(port).send(email(recipient="busy@example.com"))

    assert result.outcome is Outcome.RETRY
    assert result.error == "smtp: 451 4.3.0 try again later"
    assert not result.provider_fault


@pytest.mark.parametrize(
    ("reply", "outcome", "provider_fault"),
    [
        ("451 4.3.0 try again later", Outcome.RETRY, False),
        ("452 4.3.1 insufficient storage", Outcome.RETRY, False),
        ("421 4.3.2 service shutting down", Outcome.RETRY, True),
        ("554 5.6.0 message rejected", Outcome.PERMANENT, False),
    ],
)
async def test_a_refused_message_maps_to_its_outcome(
    reply: str, outcome: Outcome, provider_fault: bool
) -> None:
    mailbox = Mailbox(data_reply=reply)
    with smtp_server(mailbox) as port:
        result = await provider(port).send(email())

    assert result.outcome is outcome
    assert result.provider_fault is provider_fault
    assert result.error == f"smtp: {reply}"


def only(username: str, password: str) -> Any:
    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        valid = auth_data.login == username.encode() and auth_data.password == password.encode()
        return AuthResult(success=valid, handled=False)

    return authenticate


async def test_a_login_with_the_right_password_delivers() -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox, authenticator=only("clarion", "s3cret"), auth_require_tls=False) as p:
        result = await provider(p, username="clarion", password="s3cret").send(email())

    assert result.outcome is Outcome.SENT
    assert len(mailbox.received) == 1


async def test_a_refused_login_fails_for_good_and_blames_the_server() -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox, authenticator=only("clarion", "s3cret"), auth_require_tls=False) as p:
        result = await provider(p, username="clarion", password="wrong-pass").send(email())

    assert result.outcome is Outcome.PERMANENT
    assert result.provider_fault
    assert result.error is not None
    assert result.error.startswith("smtp: 535")
    assert "wrong-pass" not in result.error
    assert mailbox.received == []


async def test_a_server_that_is_not_listening_is_retried_and_blamed() -> None:
    result = await provider(free_port()).send(email())

    assert result.outcome is Outcome.RETRY
    assert result.provider_fault


async def test_a_server_that_never_greets_is_retried_and_blamed() -> None:
    connections: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.read()  # says nothing until the client hangs up

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await provider(port, timeout=0.5).send(email())
    finally:
        server.close()
        for writer in connections:
            writer.close()
            await writer.wait_closed()
        await server.wait_closed()

    assert result.outcome is Outcome.RETRY
    assert result.provider_fault
    assert len(connections) == 1


async def test_a_line_break_in_the_recipient_cannot_add_recipients(
    mailbox: Mailbox, port: int
) -> None:
    result = await provider(port).send(email(recipient="ada@example.com\r\nBcc: eve@example.com"))

    assert result.outcome is Outcome.PERMANENT
    assert not result.provider_fault
    assert mailbox.received == []


class EveryRcpt(Mailbox):
    """A mailbox that also notes every RCPT TO it is sent, refused or not."""

    def __init__(self) -> None:
        super().__init__()
        self.rcpt_commands: list[str] = []

    async def handle_RCPT(  # noqa: N802 - the name aiosmtpd calls
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.rcpt_commands.append(address)
        return await super().handle_RCPT(server, session, envelope, address, options)


@pytest.mark.parametrize(
    "recipient",
    [
        "ok@x.example,postmaster,root",
        "ok@x.example, root@localhost",
        "ok@x.example;root",
        "Ada <ada@example.com>, root",
        "ada@example.com (root)",
        "postmaster",
        "postmaster@[127.0.0.1]",
    ],
)
async def test_a_recipient_that_is_not_one_address_reaches_no_mailbox(recipient: str) -> None:
    mailbox = EveryRcpt()
    with smtp_server(mailbox) as port:
        result = await provider(port).send(email(recipient=recipient))

    assert result.outcome is Outcome.PERMANENT
    assert not result.provider_fault
    assert result.error is not None
    assert result.error.startswith("smtp: invalid recipient")
    assert mailbox.rcpt_commands == []
    assert mailbox.received == []


async def test_one_address_gets_exactly_one_rcpt_to() -> None:
    mailbox = EveryRcpt()
    with smtp_server(mailbox) as port:
        result = await provider(port).send(email(recipient="ada@example.com"))

    assert result.outcome is Outcome.SENT
    assert mailbox.rcpt_commands == ["ada@example.com"]
    assert mailbox.recipients == [["ada@example.com"]]
