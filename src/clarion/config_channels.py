"""The delivery channels' settings: provider credentials, endpoints, the
circuit breakers and the webhook channel. A channel whose provider has no
credentials uses the sandbox."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class ChannelSettings(BaseModel):
    email_from: str = Field(
        default="Clarion <no-reply@localhost>", description="Sender of every email."
    )
    sendgrid_api_key: SecretStr | None = Field(
        default=None, description="SendGrid API key. Unset: email goes to SMTP or the sandbox."
    )
    sendgrid_base_url: str = Field(
        default="https://api.sendgrid.com", description="SendGrid API base URL."
    )
    sendgrid_webhook_public_key: str | None = Field(
        default=None,
        description="SendGrid Event Webhook verification key (base64 DER, as SendGrid shows it).",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server. Unset: no SMTP.")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port.")
    smtp_username: str | None = Field(default=None, description="SMTP login, if required.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_starttls: bool = Field(
        default=True, description="Upgrade the SMTP connection with STARTTLS when offered."
    )
    smtp_tls: bool = Field(default=False, description="Implicit TLS from the start (port 465).")
    twilio_account_sid: str | None = Field(
        default=None, description="Twilio account SID. Unset: SMS goes to the sandbox."
    )
    twilio_auth_token: SecretStr | None = Field(
        default=None, description="Twilio auth token (also checks status callbacks)."
    )
    twilio_from: str | None = Field(default=None, description="Twilio sender number.")
    twilio_base_url: str = Field(
        default="https://api.twilio.com", description="Twilio API base URL."
    )
    twilio_status_callback_url: str | None = Field(
        default=None,
        description="Public URL of POST /webhooks/twilio, sent as each message's StatusCallback.",
    )
    fcm_credentials_file: str | None = Field(
        default=None,
        description="FCM service-account JSON file. Unset: push goes to the sandbox.",
    )
    fcm_base_url: str = Field(
        default="https://fcm.googleapis.com", description="FCM HTTP v1 base URL."
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key for the webhook channel's signature (generated when embedded).",
    )
    webhook_allowed_hosts: str = Field(
        default="",
        description="Hosts or CIDR ranges a webhook may reach even though they are private "
        "or loopback, comma separated.",
    )
    receipt_max_age_seconds: int = Field(
        default=300, ge=10, le=86400, description="Oldest signed provider receipt accepted."
    )
    breaker_failures: int = Field(
        default=5, ge=1, le=1000, description="Provider faults in a row that open its circuit."
    )
    breaker_cooldown_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Time an open circuit waits before a probe."
    )
