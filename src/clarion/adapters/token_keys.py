"""Signing keys for tokens, from settings or, in the embedded mode, generated once.

The generated HMAC secret lives in the data directory (mode 0600) so tokens
survive a restart; a scaled-out deployment must configure its own, because
several processes on several machines have to agree on it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from clarion.config import HMAC_ALGORITHMS, ConfigError, Settings
from clarion.services.tokens import TokenKeys

SECRET_FILE = "jwt-secret"  # noqa: S105 (a file name)
MIN_SECRET_BYTES = 32


def load_token_keys(settings: Settings) -> TokenKeys:
    if settings.jwt_algorithm in HMAC_ALGORITHMS:
        secret = hmac_secret(settings)
        return TokenKeys(settings.jwt_algorithm, secret, secret)
    return key_pair(settings)


def hmac_secret(settings: Settings) -> bytes:
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value().encode()
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"CLARION_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes of random data"
            )
        return secret
    if settings.is_scaled_out:
        raise ConfigError(
            "CLARION_JWT_SECRET is required when Clarion runs on shared engines "
            "(PostgreSQL, Kafka or Redis): every process must sign with the same key"
        )
    return generated_secret(settings.data_dir)


def generated_secret(data_dir: Path, name: str = SECRET_FILE) -> bytes:
    path = data_dir / name
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(64).encode()
    # O_EXCL: if two processes race, one creates the file and the other reads it
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(secret)
    return secret


def key_pair(settings: Settings) -> TokenKeys:
    if settings.jwt_private_key_file is None and settings.jwt_public_key_file is None:
        raise ConfigError(
            f"CLARION_JWT_ALGORITHM={settings.jwt_algorithm} needs CLARION_JWT_PRIVATE_KEY_FILE "
            "(to sign) and/or CLARION_JWT_PUBLIC_KEY_FILE (to verify)"
        )
    private: Any = None
    public: Any = None
    if settings.jwt_private_key_file is not None:
        private = load_pem_private_key(read(settings.jwt_private_key_file, "PRIVATE"), None)
        public = private.public_key()
    if settings.jwt_public_key_file is not None:
        public = load_pem_public_key(read(settings.jwt_public_key_file, "PUBLIC"))
    return TokenKeys(settings.jwt_algorithm, private, public)


def read(path: Path, which: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"CLARION_JWT_{which}_KEY_FILE cannot be read: {exc.strerror}") from None
