import pytest

from clarion.config import ConfigError, load_settings, normalise_database_url, unknown_variables


def test_embedded_defaults_need_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")  # no .env here
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///./clarion.db"
    assert settings.is_sqlite
    assert settings.is_embedded_queue
    assert settings.redis_url is None
    assert settings.port == 8000


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@db:5432/clarion", "postgresql+asyncpg://u@db:5432/clarion"),
        ("postgres://u@db/clarion", "postgresql+asyncpg://u@db/clarion"),
        ("sqlite:////var/lib/clarion.db", "sqlite+aiosqlite:////var/lib/clarion.db"),
    ],
)
def test_database_urls_get_the_async_driver(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CLARION_PORT", "eighty"),
        ("CLARION_PORT", "70000"),
        ("CLARION_DATABASE_URL", "mysql://root@localhost/clarion"),
        ("CLARION_DATABASE_URL", "clarion.db"),
        ("CLARION_REDIS_URL", "http://localhost:6379"),
        ("CLARION_LOG_LEVEL", "chatty"),
    ],
)
def test_a_bad_value_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert variable in str(error.value)


def test_a_rejected_database_url_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLARION_DATABASE_URL", "mysql://root:s3cret@db/clarion")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "CLARION_DATABASE_URL" in str(error.value)
    assert "s3cret" not in str(error.value)


def test_blank_redis_url_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLARION_REDIS_URL", "")
    assert load_settings().redis_url is None


def test_misspelt_variables_are_reported() -> None:
    env = {"CLARION_DATABSE_URL": "x", "CLARION_PORT": "1", "PATH": "/bin"}
    assert unknown_variables(env) == ["CLARION_DATABSE_URL"]
