"""Twilio's `X-Twilio-Signature`: how a status callback proves it came from Twilio."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Base64 HMAC-SHA1, keyed with the auth token, over the full URL followed by
    each POST parameter's name and value, in order of name."""
    signed = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def valid_twilio_signature(
    auth_token: str, url: str, params: Mapping[str, str], signature: str
) -> bool:
    """Whether `signature` is Twilio's for this request, compared in constant time."""
    if not signature:
        return False
    expected = twilio_signature(auth_token, url, params)
    # bytes, so a header with non-ASCII characters is rejected rather than raising
    return hmac.compare_digest(expected.encode(), signature.encode())
