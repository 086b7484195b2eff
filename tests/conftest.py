"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from clarion.api.app import create_app
from clarion.bootstrap import Container, build_container
from clarion.config import Settings
from tests.support.apps import serving
from tests.support.databases import PostgresDatabase, SqliteTemplate, postgres_reachable
from tests.support.kafka import TansuBroker

BACKENDS = ("sqlite", "postgresql")
_outcomes: Counter[tuple[str, str]] = Counter()


def pytest_configure(config: pytest.Config) -> None:
    # Tests build their own settings; a developer's shell or .env must not leak in.
    for name in [name for name in os.environ if name.startswith("CLARION_")]:
        del os.environ[name]


def pytest_sessionstart(session: pytest.Session) -> None:
    reason = postgres_reachable()
    if reason is not None:
        pytest.exit(
            "PostgreSQL is needed for the database tests and did not answer at "
            f"TEST_POSTGRES_URL (default 127.0.0.1:5432): {reason}",
            returncode=3,
        )


# Under pytest-xdist, the tests that start processes (servers, workers,
# brokers) keep to one worker, one at a time, as do the browser tests: side by
# side they would take each other's CPU, and their deadlines would measure the
# neighbour instead of Clarion. `make test` runs tests/e2e after the rest. There
# the Schemathesis runs, which have no deadline and mostly wait on their own
# server, take the second worker beside the processes group.
SERIAL_GROUPS = {"e2e": "processes", "browser": "browser"}
OWN_GROUPS = {"test_schemathesis.py": "fuzz"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "backend" in callspec.params:
            # carried on each report, so the xdist controller can count it too
            item.user_properties.append(("backend", callspec.params["backend"]))
        group = OWN_GROUPS.get(item.path.name) or SERIAL_GROUPS.get(item.path.parent.name)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    backend = dict(report.user_properties).get("backend")
    if backend is None:
        return
    if report.when == "call" or report.outcome != "passed":
        _outcomes[(str(backend), report.outcome)] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _outcomes or hasattr(terminalreporter.config, "workerinput"):
        return
    terminalreporter.section("database backends")
    for backend in BACKENDS:
        counts = ", ".join(
            f"{_outcomes[(backend, outcome)]} {outcome}"
            for outcome in ("passed", "failed", "skipped")
        )
        terminalreporter.write_line(f"{backend:>10}: {counts}")


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    """A Tansu broker for the session, started only when a test asks for it."""
    broker = TansuBroker(tmp_path_factory.mktemp("tansu") / "tansu.log").start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase]:
    database = PostgresDatabase()
    database.create()
    yield database
    database.drop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(
    backend: str,
    sqlite_template: SqliteTemplate,
    postgres_database: PostgresDatabase,
    tmp_path: Path,
) -> AsyncIterator[str]:
    """An empty, migrated database of the parametrised backend."""
    if backend == "sqlite":
        yield sqlite_template.fresh_copy(tmp_path)
    else:
        await postgres_database.truncate()
        yield postgres_database.url


TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


def make_settings(**overrides: object) -> Settings:
    """Settings for a test: no .env, a fixed signing key, rate limits off unless asked."""
    values: dict[str, object] = {
        "jwt_secret": TEST_JWT_SECRET,
        # a fixed key: nothing is generated into the working directory
        "webhook_secret": "test-webhook-signing-secret-0123456789",
        "rate_limit_enabled": False,
        # most tests make their users the way an open deployment does
        "registration": "open",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    built = build_container(settings)
    yield built
    await built.close()


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_app(container=container), client_ip="127.0.0.1") as http:
        yield http
