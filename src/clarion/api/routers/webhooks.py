"""Provider receipts: SendGrid's Event Webhook and Twilio's status callbacks."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
