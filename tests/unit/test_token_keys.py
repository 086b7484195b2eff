"""Signing keys: generated and kept for the embedded mode (whole, and one for all
processes), required when scaled out, never empty or short, and asymmetric
algorithms accepted from PEM files."""

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from clarion.adapters.token_keys import hmac_secret, load_token_keys
from clarion.config import ConfigError
from clarion.domain.errors import Unauthorized
from clarion.services.tokens import TokenKeys, TokenService
from tests.conftest import make_settings


def service(keys: TokenKeys) -> TokenService:
    return TokenService(
        keys=keys,
        issuer="clarion",
        audience="clarion-api",
        access_ttl=timedelta(minutes=5),
        refresh_ttl=timedelta(days=1),
    )


def test_the_embedded_mode_generates_a_secret_once_and_keeps_it(tmp_path: Path) -> None:
    settings = make_settings(jwt_secret=None, data_dir=tmp_path / "data")
    first = load_token_keys(settings)
    second = load_token_keys(settings)
    assert first.signing_key == second.signing_key
    secret_file = tmp_path / "data" / "jwt-secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert len(secret_file.read_bytes()) >= 64


@pytest.mark.parametrize(
    "shared",
    [
        {"database_url": "postgresql://db/clarion"},
        {"redis_url": "redis://cache:6379/0"},
        {"kafka_bootstrap_servers": "broker:9092"},
    ],
)
def test_scaled_out_refuses_to_start_without_a_secret(
    tmp_path: Path, shared: dict[str, str]
) -> None:
    settings = make_settings(jwt_secret=None, data_dir=tmp_path, **shared)
    with pytest.raises(ConfigError, match="CLARION_JWT_SECRET is required"):
        load_token_keys(settings)
    assert not (tmp_path / "jwt-secret").exists()


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="CLARION_JWT_SECRET"):
        load_token_keys(make_settings(jwt_secret="short"))


def write_pem(path: Path, private_key: object) -> Path:
    pem = private_key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    return path


@pytest.mark.parametrize(
    ("algorithm", "make_key"),
    [
        ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
        ("EdDSA", ed25519.Ed25519PrivateKey.generate),
    ],
)
def test_asymmetric_algorithms_sign_and_verify(
    tmp_path: Path, algorithm: str, make_key: object
) -> None:
    key_file = write_pem(tmp_path / "key.pem", make_key())  # type: ignore[operator]
    settings = make_settings(jwt_algorithm=algorithm, jwt_private_key_file=key_file)
    tokens = service(load_token_keys(settings))
    user = uuid.uuid4()
    issued = tokens.issue(user, "access")
    assert jwt.get_unverified_header(issued.token)["alg"] == algorithm
    assert tokens.decode(issued.token, "access")["sub"] == str(user)


def test_a_token_signed_with_another_algorithm_is_refused(tmp_path: Path) -> None:
    """The algorithm is pinned: an HS256 token signed with the RSA public key
    (the classic confusion attack) does not verify under RS256."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = write_pem(tmp_path / "key.pem", private)
    tokens = service(
        load_token_keys(make_settings(jwt_algorithm="RS256", jwt_private_key_file=key_file))
    )
    good = jwt.decode(
        tokens.issue(uuid.uuid4(), "access").token, options={"verify_signature": False}
    )
    forged = jwt.encode(good, "some-hmac-secret-of-sufficient-length-0123456789", "HS256")
    with pytest.raises(Unauthorized):
        tokens.decode(forged, "access")


def test_a_missing_key_file_is_reported_by_variable(tmp_path: Path) -> None:
    settings = make_settings(jwt_algorithm="RS256", jwt_private_key_file=tmp_path / "absent.pem")
    with pytest.raises(ConfigError, match="CLARION_JWT_PRIVATE_KEY_FILE"):
        load_token_keys(settings)


@pytest.mark.parametrize("content", [b"", b"\n", b"too-short-to-sign-with\n"])
def test_an_empty_or_short_secret_file_stops_the_start_and_says_what_to_do(
    tmp_path: Path, content: bytes
) -> None:
    """What a crash between creating and writing the file used to leave: every
    login then failed while readiness said ready."""
    (tmp_path / "jwt-secret").write_bytes(content)
    with pytest.raises(ConfigError) as refused:
        load_token_keys(make_settings(jwt_secret=None, data_dir=tmp_path))
    message = str(refused.value)
    assert str((tmp_path / "jwt-secret").absolute()) in message
    assert "Delete the file" in message
    assert "CLARION_JWT_SECRET" in message
    if content.strip():
        assert content.strip().decode() not in message


CRASH_WHILE_WRITING = """
import os, sys
from clarion.adapters.token_keys import hmac_secret
from clarion.config import Settings

def crash(*args, **kwargs):
    os._exit(9)  # killed once the file is open, before the secret is in it

os.fdopen = crash
hmac_secret(Settings(_env_file=None, data_dir=sys.argv[1]))
"""


def test_a_crash_while_generating_leaves_no_half_written_secret(tmp_path: Path) -> None:
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_WHILE_WRITING, str(tmp_path)],
        env={k: v for k, v in os.environ.items() if not k.startswith("CLARION_")},
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert crashed.returncode == 9, crashed.stderr

    assert not (tmp_path / "jwt-secret").exists()
    keys = load_token_keys(make_settings(jwt_secret=None, data_dir=tmp_path))
    assert isinstance(keys.signing_key, bytes)
    assert len(keys.signing_key) >= 64
    assert (tmp_path / "jwt-secret").read_bytes() == keys.signing_key


def test_a_process_that_starts_while_another_writes_the_secret_agrees_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second process generating the secret at the very moment the first one
    writes its file ends up with the same secret as the first, never an empty one."""
    settings = make_settings(jwt_secret=None, data_dir=tmp_path)
    real_fdopen = os.fdopen
    rival: list[bytes] = []

    def second_process_starts_meanwhile(*args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(*args, **kwargs)
        if not rival:
            rival.append(b"")  # the rival's own write does not start a third
            rival[0] = hmac_secret(settings)
        return handle

    monkeypatch.setattr(os, "fdopen", second_process_starts_meanwhile)
    first = hmac_secret(settings)

    assert rival, "the rival never ran: the secret is no longer written through os.fdopen"
    assert len(first) >= 64
    assert first == rival[0] == (tmp_path / "jwt-secret").read_bytes()
