"""Schemathesis over the whole OpenAPI document of a real `clarion serve`, once
as an admin and once as an ordinary user: every check, a fixed seed, a bounded
number of examples. Any failure fails the test, listed by operation and check.

It runs the `schemathesis` CLI, the interface Schemathesis supports for CI (its
pytest loader for fixtures does not work with pytest 9.2). The one thing kept
from the fuzzer is acting on the caller's own account: see
tests/support/schemathesis_hooks.py and tests/e2e/test_caller_changes.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import Account, login_admin, register, serve_with_admin
from tests.support.schemathesis_report import RunReport

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
HOOKS = Path(__file__).parents[1] / "support" / "schemathesis_hooks.py"
SEED = 20240601
# per operation and phase. 150 took 329 s (admin) and 346 s (user) on 2 cores with 68
# operations, 11 of the suite's minutes; 50 keeps each run near 2 minutes, and a seed
# of its own keeps it repeatable
MAX_EXAMPLES = 50
# No crash files from an earlier run are replayed: every run does the same.
# "key" is not a sensitive marker, so a reproduction shows its Idempotency-Key
# (Authorization and X-API-Key are still hidden, by name).
# The live inbox is an endless event stream, read until its request timeout.
ACCEPTED = '"2xx", "401", "403", "404", "409", "429"'
CONFIG = f"""
[cache]
enabled = false

# Text with U+0000 is refused everywhere (PostgreSQL cannot store it), as the
# document's description says; tests/integration/test_api_errors.py covers it.
[generation]
allow-x00 = false

# Method and path are matched together, as the operation's name ("POST /x"):
# an include-path and an include-method in one block match either, not both.
[[operations]]
include-path = "/users/me/inbox/stream"
request-timeout = 1

# 422 for a body the schema admits, where the reason is a fact no schema states:
# a userId that names no account, a webhook URL on an internal address, an
# Idempotency-Key already used with another body (the IETF draft's 422).
[[operations]]
include-name-regex = "^POST /notifications$"
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "422"]

[[operations]]
include-name-regex = "^POST /notifications/batch$"
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "422"]

# A template the schema admits can still be refused for what only rendering
# knows: a syntax error, a variable used but not declared, a locale that is not
# a BCP 47 tag, a variables schema that is not one; preview and variables that
# do not fit the template's own schema. Its content may be large (e-mail HTML),
# so a body the schema refuses may first be too large for the server: 413.
[[operations]]
include-name-regex = "^POST /templates"
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "422"]
checks.negative_data_rejection.expected-statuses = ["400", "401", "403", "404", "409", "413", "422"]

[[operations]]
include-name-regex = "^PUT /templates/[^/]+$"
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "422"]
checks.negative_data_rejection.expected-statuses = ["400", "401", "403", "404", "409", "413", "422"]

# Preferences the schema admits can be refused for facts it does not state: a
# time zone that is not in the IANA database, a quiet window that starts and
# ends at the same minute, an opt-out of TRANSACTIONAL.
[[operations]]
include-name-regex = "^(PUT|PATCH) /users/[^/]+/preferences$"
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "422"]

# A caller changing their own email (or password) must give their current
# password: without it 422, with a wrong one 403.
[[operations]]
include-name-regex = "^PATCH /users/[^/]+$"
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "422"]

# An unsubscribe token is signed: only one the service issued works, any other
# string is 400 (a page saying so).
[[operations]]
include-name-regex = "^(GET|POST) /unsubscribe/"
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "400"]

# a cursor is opaque: only one the server issued pages on, another is 422
[[operations]]
include-name-regex = "^GET /(admin/)?notifications(/user/[^/]+)?$"
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "422"]

# the same for the audit trail's cursor; and a stats window whose `from` is
# not before its `to` is 422
[[operations]]
include-name-regex = "^GET /data-pipeline/audit-logs"
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "422"]

# an `action` the fuzzer means as the JSON boolean false reaches the server as
# the text "false": a well-formed action name, which matches no entry (200)
[[operations]]
include-name-regex = "^GET /data-pipeline/audit-logs$"
checks.negative_data_rejection.expected-statuses = ["200", "400", "401", "403", "404", "422"]

# an export window whose `from` is not before its `to` is 422
[[operations]]
include-name-regex = "^GET /data-pipeline/export/"
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "422"]
"""


def run_schemathesis(url: str, caller: Account, workdir: Path) -> tuple[RunReport, str, int]:
    """`schemathesis run` as `caller`; its report, its output, and how many
    times the hooks kept it off the caller's own account."""
    workdir.mkdir()
    (workdir / "schemathesis.toml").write_text(CONFIG)
    guard_log = workdir / "guard.log"
    guard_log.touch()
    command = [
        SCHEMATHESIS,
        "--config-file=schemathesis.toml",
        "--no-color",
        "run",
        f"{url}/openapi.json",
        "--checks=all",
        f"--seed={SEED}",
        f"--max-examples={MAX_EXAMPLES}",
        "--workers=1",
        "--continue-on-failure",
        "--generation-database=none",
        "--request-timeout=10",
        # The caller's token is sent with every request; generated credentials
        # beside it (a random X-API-Key wins over the token) would only buy 401s.
        # The ignored_auth check still sends its own missing and invalid ones.
        f"--header=Authorization: Bearer {caller.access_token}",
        "--generation-with-security-parameters=false",
        "--report=json,ndjson",
        "--report-dir=reports",
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HOOKS),
        "FUZZ_CALLER_ID": caller.id,
        "FUZZ_GUARD_LOG": str(guard_log),
    }
    done = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=540, check=False
    )
    output = done.stdout + done.stderr
    assert (workdir / "reports").is_dir(), output
    guarded = len(guard_log.read_text().splitlines())
    return RunReport.read(workdir / "reports"), output, guarded


@pytest.mark.parametrize("role", ["admin", "user"])
def test_schemathesis_finds_nothing(
    role: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve_with_admin(tmp_path / "server")
    try:
        caller = login_admin(server.url) if role == "admin" else register(server.url, "u@x.io")
        started = time.monotonic()
        report, output, guarded = run_schemathesis(server.url, caller, tmp_path / "schemathesis")
        elapsed = time.monotonic() - started
        me = httpx.get(f"{server.url}/auth/me", headers=caller.headers)
    finally:
        server.stop()

    print(output)  # shown by pytest when the test fails: each failure with its curl
    summary = f"schemathesis as {role}: {report.summary()} in {elapsed:.0f}s"
    with capsys.disabled():  # the figures are printed whether the run passes or fails
        print(f"\n{summary}; kept off the caller's own account {guarded} time(s)")

    assert me.status_code == 200, f"the fuzzer changed its own caller: {me.text}"
    assert me.json()["role"] == ("ADMIN" if role == "admin" else "USER")
    assert not report.errors, "\n".join(report.errors)
    assert report.operations_tested == report.operations_selected, summary
    if report.exit_code != 0:
        failures = "\n".join(group.describe() for group in report.failures)
        pytest.fail(f"{summary}\n{failures}\n(schemathesis output: stdout below)", pytrace=False)
