"""Proof that a receipt came from its provider.

SendGrid signs `timestamp + raw body` with ECDSA P-256 / SHA-256 and sends the
DER signature, base64, in `X-Twilio-Email-Event-Webhook-Signature`; the account's
public key (base64 DER SubjectPublicKeyInfo) checks it. A signature is accepted
only while its timestamp is within the configured window of now, either side,
so a captured request cannot be replayed later. Twilio signs its form with
HMAC-SHA1 keyed by the auth token (see `providers.twilio_signature`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache

from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from clarion.adapters.providers.twilio_signature import valid_twilio_signature
from clarion.domain.errors import Forbidden

TIMESTAMP = re.compile(r"[0-9]{1,12}")


class InvalidSignature(Forbidden):
    code = "invalid_signature"


class StaleSignature(Forbidden):
    code = "stale_signature"


@lru_cache(maxsize=4)
def sendgrid_public_key(encoded: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it (a PEM block is accepted too);
    ValueError when it is not a P-256 public key."""
    text = encoded.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode("".join(text.split())))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError("not a public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 public key")
    return key


def verify_sendgrid(
    key: ec.EllipticCurvePublicKey,
    *,
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    now: datetime,
    max_age_seconds: int,
) -> None:
    """Raise InvalidSignature unless SendGrid signed this body at `timestamp`, and
    StaleSignature when it did but `timestamp` is outside the window."""
    if not signature or not timestamp or not TIMESTAMP.fullmatch(timestamp):
        raise InvalidSignature("The request carries no valid SendGrid signature.")
    try:
        der = base64.b64decode(signature, validate=True)
        key.verify(der, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (ValueError, BadSignature):
        raise InvalidSignature("The request carries no valid SendGrid signature.") from None
    if abs(now.timestamp() - int(timestamp)) > max_age_seconds:
        raise StaleSignature("The SendGrid signature is too old or from the future.")


def verify_twilio(auth_token: str, url: str, params: Mapping[str, str], signature: str) -> None:
    """Raise InvalidSignature unless Twilio signed these parameters for `url`."""
    if not valid_twilio_signature(auth_token, url, params, signature):
        raise InvalidSignature("The request carries no valid Twilio signature.")
