"""Signing keys for tokens, from settings or, in the embedded mode, generated once.

The generated HMAC secret lives in the data directory (mode 0600) so tokens
survive a restart; a scaled-out deployment must configure its own, because
several processes on several machines have to agree on it.

Every HMAC secret Clarion uses, configured or generated, holds at least
`MIN_SECRET_BYTES`: an empty or short one is refused at start, naming the
variable or the file, rather than signing with a key anyone can guess.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from pydantic import SecretStr

from clarion.config import HMAC_ALGORITHMS, ConfigError, Settings
from clarion.observability.logging import get_logger
from clarion.services.tokens import TokenKeys

log = get_logger(__name__)

SECRET_FILE = "jwt-secret"  # noqa: S105 (a file name)
SECRET_VARIABLE = "CLARION_JWT_SECRET"  # noqa: S105 (a variable's name)
MIN_SECRET_BYTES = 32


def load_token_keys(settings: Settings) -> TokenKeys:
    if settings.jwt_algorithm in HMAC_ALGORITHMS:
        secret = hmac_secret(settings)
        return TokenKeys(settings.jwt_algorithm, secret, secret)
    return key_pair(settings)


def hmac_secret(settings: Settings) -> bytes:
    if settings.jwt_secret is not None:
        return configured_secret(settings.jwt_secret, SECRET_VARIABLE)
    if settings.is_scaled_out:
        raise ConfigError(
            f"{SECRET_VARIABLE} is required when Clarion runs on shared engines "
            "(PostgreSQL, Kafka or Redis): every process must sign with the same key"
        )
    return generated_secret(settings.data_dir, SECRET_FILE, SECRET_VARIABLE)


def shared_secret(
    settings: Settings, value: SecretStr | None, variable: str, file: str, purpose: str
) -> bytes:
    """A key every process must agree on: the configured one, else one generated
    into the data directory, which several machines cannot share (so a
    scaled-out deployment is warned, once per start, to configure it)."""
    if value is not None:
        return configured_secret(value, variable)
    if settings.is_scaled_out:
        log.warning(
            f"{purpose}.generated_secret",
            hint=f"set {variable} so every process signs with the same key",
        )
    return generated_secret(settings.data_dir, file, variable)


def configured_secret(value: SecretStr, variable: str) -> bytes:
    """The secret a variable holds, refused when it is empty or short."""
    secret = value.get_secret_value().encode()
    length = len(secret.strip())
    # only the length goes into the message: never the value
    if length < MIN_SECRET_BYTES:
        held = f"holds {length} bytes" if length else "is empty"
        raise ConfigError(
            f"{variable} {held}; it must be at least {MIN_SECRET_BYTES} bytes of random data "
            "(for example the output of `openssl rand -base64 48`)"
        )
    return secret


def generated_secret(data_dir: Path, name: str, variable: str) -> bytes:
    """The secret kept in `data_dir/name`, generated the first time.

    The file appears whole or not at all: the secret is written and synced to
    a private temporary file that is then hard-linked to its name. A link,
    unlike a rename, never replaces a file, so when two processes race the
    first link wins and the other reads the winner's secret: both agree.
    """
    path = data_dir / name
    existing = stored_secret(path, variable)
    if existing is not None:
        return existing
    secret = secrets.token_urlsafe(64).encode()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        # mkstemp creates the file with mode 0600
        descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=data_dir)
    except OSError as exc:
        raise ConfigError(
            f"cannot write a secret into {data_dir.absolute()} ({exc.strerror}); "
            f"set {variable} instead"
        ) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secret)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return winners_secret(path, variable)
        except OSError as exc:
            raise ConfigError(
                f"cannot create {path.absolute()} ({exc.strerror}); set {variable} instead"
            ) from None
        sync_directory(data_dir)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return secret


def stored_secret(path: Path, variable: str) -> bytes | None:
    """The secret in `path`, None if there is no such file; refused when short."""
    try:
        secret = path.read_bytes().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path.absolute()} ({exc.strerror})") from None
    if len(secret) < MIN_SECRET_BYTES:
        held = "is empty" if not secret else f"holds only {len(secret)} bytes"
        raise ConfigError(
            f"{path.absolute()} {held}; a secret needs at least {MIN_SECRET_BYTES} bytes. "
            f"Delete the file so a new secret is generated at the next start, or set {variable}"
        )
    return secret


def winners_secret(path: Path, variable: str) -> bytes:
    secret = stored_secret(path, variable)
    if secret is None:  # linked, then deleted by someone else before we read it
        raise ConfigError(f"{path.absolute()} vanished while it was being created; start again")
    return secret


def sync_directory(directory: Path) -> None:
    """Make the new name durable: a crash after this keeps the file."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


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
