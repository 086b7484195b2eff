"""The access matrices' shared parts: rows as data, and the runner that sends every
caller to one endpoint and prints the whole row as a table when any cell is wrong."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.identity import (
    BAD_CREDENTIALS,
    KEY_CALLERS,
    Caller,
    World,
    error_shape_problem,
)

Endpoint = tuple[str, str]
Row = dict[Caller, int]
VALID_CALLERS = frozenset(Caller) - BAD_CREDENTIALS
NON_ADMIN_KEYS = frozenset({Caller.SERVICE_KEY, Caller.READ_ONLY_KEY, Caller.WRITE_ONLY_KEY})
ERROR_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found"}
# User A goes last: A deleting A must not take A away from the other cells.
ORDER = [
    *sorted(BAD_CREDENTIALS),
    Caller.USER_B,
    Caller.SERVICE_KEY,
    Caller.READ_ONLY_KEY,
    Caller.WRITE_ONLY_KEY,
    Caller.ADMIN,
    Caller.ADMIN_KEY,
    Caller.USER_A,
]


def row(good: Row) -> Row:
    """Bad credentials of every kind get 401 on every authenticated endpoint."""
    assert set(good) == VALID_CALLERS
    return {**dict.fromkeys(BAD_CREDENTIALS, 401), **good}


def admin_only(ok: int) -> Row:
    return row(
        {
            Caller.ADMIN: ok,
            Caller.ADMIN_KEY: ok,
            Caller.USER_A: 403,
            Caller.USER_B: 403,
            **dict.fromkeys(NON_ADMIN_KEYS, 403),
        }
    )


@dataclass(frozen=True)
class Call:
    """One cell's request: the concrete path and body, and what it is about."""

    path: str
    body: Any = None
    target: Any = None


Prepare = Callable[[Caller], Awaitable[Call]]
Judge = Callable[[httpx.Response, Caller, Call], str | None]


def vias(caller: Caller) -> tuple[str, ...]:
    """API keys are sent both as `Authorization: Bearer` and as `X-API-Key`."""
    return ("bearer", "x-api-key") if caller in KEY_CALLERS else ("bearer",)


async def check_row(
    client: httpx.AsyncClient,
    world: World,
    endpoint: Endpoint,
    expected: Row,
    prepare: Prepare,
    judge: Judge,
) -> None:
    """Every caller in ORDER, each with a request `prepare` makes for it. An error
    status must carry Clarion's error body; a success body is `judge`'s to check."""
    method, template = endpoint
    lines, wrong = [], 0
    for caller in ORDER:
        for via in vias(caller):
            call = await prepare(caller)
            response = await client.request(
                method, call.path, json=call.body, headers=world.headers(caller, via)
            )
            want = expected[caller]
            problem: str | None
            if response.status_code != want:
                problem = f"status {response.status_code}: {response.text[:100]}"
            elif want in ERROR_CODES:
                problem = error_shape_problem(response, ERROR_CODES[want])
            elif want == 204:
                problem = f"204 with a body: {response.text[:60]!r}" if response.content else None
            else:
                problem = judge(response, caller, call)
            wrong += problem is not None
            shown = via if caller is not Caller.ANONYMOUS else "-"
            mark = f"  <-- {problem}" if problem else ""
            lines.append(
                f"{caller:<20}{shown:<11}{want:<9}{response.status_code:<7}{mark}".rstrip()
            )
    table = "\n".join([f"{'caller':<20}{'via':<11}{'expected':<9}{'actual':<7}", *lines])
    assert wrong == 0, f"{wrong} wrong cell(s) for {method} {template}:\n{table}"
