"""Which provider serves each channel, built from settings.

EMAIL goes to SendGrid, then SMTP (whichever are configured, in that order);
SMS to Twilio; PUSH to FCM; IN_APP to the inbox; WEBHOOK to the receiver's
URL. A channel with no configured provider uses the sandbox, and a process
that delivers says so once per channel when it starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from clarion.adapters.providers.fcm import FcmProvider
from clarion.adapters.providers.inbox import InboxProvider
from clarion.adapters.providers.sandbox import SandboxProvider
from clarion.adapters.providers.sendgrid import SendGridProvider
from clarion.adapters.providers.smtp import SmtpProvider
from clarion.adapters.providers.twilio import TwilioProvider
from clarion.adapters.providers.webhook import WebhookProvider
from clarion.adapters.token_keys import shared_secret
from clarion.config import Settings
from clarion.domain.enums import Channel
from clarion.domain.webhooks import AddressPolicy
from clarion.observability.logging import get_logger
from clarion.ports import Provider, SandboxOutbox
from clarion.services.channels import ChannelRoute, CircuitBreaker, Guarded

log = get_logger(__name__)
WEBHOOK_SECRET_FILE = "webhook-secret"  # noqa: S105 (a file name)


@dataclass
class Routes:
    by_channel: dict[Channel, ChannelRoute]
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    sandboxed: list[Channel] = field(default_factory=list)

    def announce(self) -> None:
        """Say once, where delivery runs, which channels only reach the sandbox."""
        for channel in self.sandboxed:
            log.info("delivery.channel.sandbox", channel=channel.value)

    async def close(self) -> None:
        for close in self.closers:
            await close()


def email_chain(settings: Settings) -> list[Provider]:
    chain: list[Provider] = []
    timeout = settings.provider_timeout_seconds
    if settings.sendgrid_api_key is not None:
        chain.append(
            SendGridProvider(
                api_key=settings.sendgrid_api_key.get_secret_value(),
                base_url=settings.sendgrid_base_url,
                sender=settings.email_from,
                timeout=timeout,
            )
        )
    if settings.smtp_host:
        chain.append(
            SmtpProvider(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.email_from,
                username=settings.smtp_username,
                password=settings.smtp_password.get_secret_value()
                if settings.smtp_password
                else None,
                starttls=settings.smtp_starttls,
                tls=settings.smtp_tls,
                timeout=timeout,
            )
        )
    return chain


def sms_chain(settings: Settings) -> list[Provider]:
    sid, token, sender = (
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        settings.twilio_from,
    )
    if not (sid and token and sender):
        return []
    return [
        TwilioProvider(
            account_sid=sid,
            auth_token=token.get_secret_value(),
            sender=sender,
            base_url=settings.twilio_base_url,
            status_callback=settings.twilio_status_callback_url,
            timeout=settings.provider_timeout_seconds,
        )
    ]


def push_chain(settings: Settings) -> list[Provider]:
    if not settings.fcm_credentials_file:
        return []
    return [
        FcmProvider(
            credentials_file=settings.fcm_credentials_file,
            base_url=settings.fcm_base_url,
            timeout=settings.provider_timeout_seconds,
        )
    ]


def webhook_policy(settings: Settings) -> AddressPolicy:
    return AddressPolicy(settings.webhook_allowed_list)


def webhook_secret(settings: Settings) -> bytes:
    """The key webhooks are signed with; an empty or short one stops the start."""
    return shared_secret(
        settings,
        settings.webhook_secret,
        "CLARION_WEBHOOK_SECRET",
        WEBHOOK_SECRET_FILE,
        "delivery.webhook",
    )


def build_routes(settings: Settings, sandbox: SandboxOutbox, policy: AddressPolicy) -> Routes:
    chains: dict[Channel, list[Provider]] = {
        Channel.EMAIL: email_chain(settings),
        Channel.SMS: sms_chain(settings),
        Channel.PUSH: push_chain(settings),
        Channel.IN_APP: [InboxProvider()],
        Channel.WEBHOOK: [
            WebhookProvider(
                secret=webhook_secret(settings),
                policy=policy,
                timeout=settings.provider_timeout_seconds,
            )
        ],
    }
    sandboxed = SandboxProvider(sandbox)
    routes = Routes(by_channel={})

    def breaker(channel: Channel) -> CircuitBreaker | None:
        # a webhook's failures belong to its receiver, not to the channel
        if channel is Channel.WEBHOOK:
            return None
        return CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_seconds)

    for channel, chain in chains.items():
        if not chain:
            routes.sandboxed.append(channel)
            chain = [sandboxed]
        routes.closers += [p.close for p in chain if hasattr(p, "close")]
        routes.by_channel[channel] = ChannelRoute(
            [
                Guarded(
                    provider,
                    # a webhook's failures belong to its receiver, not to the channel
                    None
                    if channel is Channel.WEBHOOK
                    else CircuitBreaker(
                        settings.breaker_failures, settings.breaker_cooldown_seconds
                    ),
                    asyncio.Semaphore(settings.provider_concurrency),
                )
                for provider in chain
            ],
            timeout=settings.provider_timeout_seconds,
        )
    return routes
