"""A real SMTP server for tests: aiosmtpd with a handler that keeps the mail it
accepts and refuses as it is told."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.processes import free_port


class Mailbox:
    def __init__(
        self, *, refuse: dict[str, str] | None = None, data_reply: str | None = None
    ) -> None:
        self.refuse = refuse or {}  # recipient → the reply refusing it
        self.data_reply = data_reply  # a reply to DATA instead of accepting
        self.received: list[Any] = []  # the envelopes accepted
        self.port = 0

    async def handle_RCPT(  # noqa: N802 - the name aiosmtpd calls
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.data_reply is not None:
            return self.data_reply
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def email(self, index: int = 0) -> EmailMessage:
        parsed = message_from_bytes(self.received[index].content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def messages(self) -> list[EmailMessage]:
        return [self.email(i) for i in range(len(self.received))]

    @property
    def recipients(self) -> list[list[str]]:
        return [list(envelope.rcpt_tos) for envelope in self.received]

    @property
    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@contextmanager
def smtp_server(mailbox: Mailbox, **options: Any) -> Iterator[int]:
    """Serve `mailbox` on 127.0.0.1; yields (and records on it) the port."""
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    mailbox.port = controller.port
    try:
        yield controller.port
    finally:
        controller.stop()
