"""The webhook signing key: never empty or short, whether set or generated, and a
bad one stops `clarion serve` with a message instead of signing with it."""

from pathlib import Path

import pytest

from clarion.adapters.providers.registry import webhook_secret
from clarion.config import ConfigError
from tests.conftest import make_settings
from tests.support.processes import clean_env, free_port, run_clarion

SHORT = "whsec-too-short-to-sign"


@pytest.mark.parametrize("value", ["", "   ", SHORT])
def test_an_empty_or_short_variable_is_refused_by_name_without_echoing_it(value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        webhook_secret(make_settings(webhook_secret=value))
    message = str(refused.value)
    assert message.startswith("CLARION_WEBHOOK_SECRET ")
    assert "at least 32 bytes" in message
    assert SHORT not in message


@pytest.mark.parametrize("content", [b"", b"\n", SHORT.encode()])
def test_an_empty_or_short_secret_file_is_refused_by_path(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "webhook-secret").write_bytes(content)
    with pytest.raises(ConfigError) as refused:
        webhook_secret(make_settings(webhook_secret=None, data_dir=tmp_path))
    message = str(refused.value)
    assert str((tmp_path / "webhook-secret").absolute()) in message
    assert "Delete the file" in message
    assert SHORT not in message


def test_a_generated_secret_is_private_long_and_kept(tmp_path: Path) -> None:
    settings = make_settings(webhook_secret=None, data_dir=tmp_path / "data")
    first = webhook_secret(settings)
    assert webhook_secret(settings) == first
    secret_file = tmp_path / "data" / "webhook-secret"
    assert secret_file.read_bytes() == first
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert len(first) >= 64
    assert [p.name for p in secret_file.parent.iterdir()] == ["webhook-secret"]


@pytest.mark.slow
@pytest.mark.parametrize("how", ["empty file", "short variable"])
def test_serve_with_a_bad_webhook_secret_exits_with_a_readable_error(
    tmp_path: Path, how: str
) -> None:
    env = clean_env()
    if how == "empty file":
        (tmp_path / ".clarion").mkdir()
        (tmp_path / ".clarion" / "webhook-secret").write_bytes(b"")
    else:
        env["CLARION_WEBHOOK_SECRET"] = SHORT

    served = run_clarion("serve", "--port", str(free_port()), cwd=tmp_path, env=env)

    assert served.returncode == 2
    assert "Traceback" not in served.stderr
    assert served.stderr.startswith("clarion: ")
    if how == "empty file":
        assert str(tmp_path.resolve() / ".clarion" / "webhook-secret") in served.stderr
    else:
        assert "CLARION_WEBHOOK_SECRET" in served.stderr
    assert SHORT not in served.stdout + served.stderr
