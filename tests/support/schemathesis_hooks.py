"""Hooks for `schemathesis run` (loaded through SCHEMATHESIS_HOOKS, in its process).

The fuzzer signs in as one caller for the whole run. Schemathesis reuses ids it
saw in responses, so it would also delete that caller, take its role away, or
give it a new password (which ends every token issued before), and every later
request would fail for a reason unrelated to the request. Those operations
still run, but never on the caller's own account: the id is swapped for one no
account has, and a change of the caller's own password is left out of the
body. tests/e2e/test_caller_changes.py covers a caller changing itself.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import schemathesis

CALLER_ID = uuid.UUID(os.environ["FUZZ_CALLER_ID"])
GUARD_LOG = os.environ.get("FUZZ_GUARD_LOG")
STAND_IN = str(uuid.uuid5(uuid.NAMESPACE_URL, "clarion:no-such-account"))
# (method, path template) -> the path parameter naming the account it changes
SELF_CHANGING = {
    ("DELETE", "/users/{user_id}"): "user_id",
    ("POST", "/admin/users/{user_id}/role"): "user_id",
}


def names_caller(value: object) -> bool:
    try:
        return uuid.UUID(str(value)) == CALLER_ID
    except ValueError:
        return False


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: Any) -> None:
    name = SELF_CHANGING.get((case.method.upper(), case.path))
    parameters = case.path_parameters
    if name is not None and parameters is not None and names_caller(parameters.get(name)):
        parameters[name] = STAND_IN
        guarded(case)
    own_account = parameters is not None and names_caller(parameters.get("user_id"))
    if (case.method.upper(), case.path) == ("PATCH", "/users/{user_id}") and own_account:
        body = case.body
        if isinstance(body, dict) and "password" in body:
            del body["password"]
            guarded(case)


def guarded(case: schemathesis.Case) -> None:
    if GUARD_LOG:
        with open(GUARD_LOG, "a") as log:
            log.write(f"{case.method} {case.path}\n")
