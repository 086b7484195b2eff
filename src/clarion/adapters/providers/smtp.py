"""The SMTP provider: email through any mail server, one connection per message.

Reply codes decide the outcome: 5xx refusals of the message or its recipient
fail for good, 4xx ones are retried. A server we cannot reach, that times out,
rejects our login or our sender is unwell or misconfigured: that counts against
the provider's circuit.

A recipient must be exactly one bare mailbox (`clarion.domain.mailbox`) and is
handed to the client explicitly, so the server gets one RCPT TO for it: a list
or a display name never reaches the server, nor is a recipient read back from
the headers.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

import aiosmtplib

from clarion.domain.content import EmailContent, expect
from clarion.domain.delivery import OutgoingMessage, SendResult
from clarion.domain.mailbox import mailbox_problem

MAX_ERROR_LENGTH = 200
SERVER_UNAVAILABLE = 421  # the server is closing the channel, not judging the message


class SmtpProvider:
    name = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        tls: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        self._username = username
        self._password = password
        self._tls = tls
        # None: upgrade only if the server offers STARTTLS; implicit TLS excludes it
        self._start_tls: bool | None = None if starttls and not tls else False
        self._timeout = timeout

    async def send(self, message: OutgoingMessage) -> SendResult:
        problem = mailbox_problem(message.recipient)
        if problem is not None:
            return SendResult.permanent(self.name, f"smtp: invalid recipient: {problem}")
        message_id = make_msgid(domain=self._domain)
        try:
            email = self._email(message, message_id)
        except ValueError:
            # a line break in the subject: refuse rather than let it inject headers
            return SendResult.permanent(self.name, "smtp: invalid subject")
        try:
            await aiosmtplib.send(
                email,
                recipients=[message.recipient],  # never derived from the headers
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._tls,
                start_tls=self._start_tls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPException as exc:
            return self._failure(exc)
        except OSError as exc:
            return SendResult.retry(self.name, f"smtp: {type(exc).__name__}", provider_fault=True)
        return SendResult.sent(self.name, message_id)

    async def close(self) -> None:
        """Nothing to release: every message opens and closes its own connection."""

    def _email(self, message: OutgoingMessage, message_id: str) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self._sender
        email["To"] = message.recipient
        content = expect(message.content, EmailContent)
        email["Subject"] = content.subject
        email["Message-ID"] = message_id
        for name, value in content.headers:
            email[name] = value
        email.set_content(content.body)
        if content.html:
            email.add_alternative(content.html, subtype="html")
        return email

    def _failure(self, exc: aiosmtplib.SMTPException) -> SendResult:
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
            return self._refused(exc.recipients[0])
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            return SendResult.permanent(self.name, self._error(exc), provider_fault=True)
        if isinstance(exc, aiosmtplib.SMTPNotSupported):
            # an address this server cannot carry (SMTPUTF8): the message's fault
            return SendResult.permanent(self.name, self._error(exc))
        if isinstance(exc, aiosmtplib.SMTPSenderRefused) and exc.code >= 500:
            # our sender address is refused: every message would be
            return SendResult.permanent(self.name, self._error(exc), provider_fault=True)
        if isinstance(
            exc,
            aiosmtplib.SMTPConnectError
            | aiosmtplib.SMTPHeloError
            | aiosmtplib.SMTPServerDisconnected
            | aiosmtplib.SMTPTimeoutError,
        ):
            return SendResult.retry(self.name, self._error(exc), provider_fault=True)
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            return self._refused(exc)
        return SendResult.retry(self.name, self._error(exc), provider_fault=True)

    def _refused(self, exc: aiosmtplib.SMTPResponseException) -> SendResult:
        if exc.code >= 500:
            return SendResult.permanent(self.name, self._error(exc))
        return SendResult.retry(
            self.name, self._error(exc), provider_fault=exc.code == SERVER_UNAVAILABLE
        )

    def _error(self, exc: aiosmtplib.SMTPException) -> str:
        reply = " ".join(exc.message.split())
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            return f"smtp: {exc.code} {reply}"[:MAX_ERROR_LENGTH]
        return f"smtp: {reply or type(exc).__name__}"[:MAX_ERROR_LENGTH]
