"""`Idempotency-Key` on POSTs, with Stripe's semantics: the first response for a
key is stored and replayed for 24 hours; the same key with another body is 422;
a request still in flight with the key gets 409; keys are scoped per caller."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from fastapi.responses import JSONResponse

from clarion.api.responses import Json
from clarion.domain.errors import Conflict, InvalidInput
from clarion.domain.identity import Principal
from clarion.domain.time import utcnow
from clarion.ports import UnitOfWork

KEEP_FOR = timedelta(hours=24)


class KeyReused(InvalidInput):
    code = "idempotency_key_reused"


class KeyInFlight(Conflict):
    code = "idempotency_key_in_use"


MAX_KEY_LENGTH = 255


def request_hash(path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{path}\n{canonical}".encode()).hexdigest()


async def idempotent(
    uow: UnitOfWork,
    principal: Principal,
    key: str | None,
    fingerprint: Callable[[], str],
    handle: Callable[[], Awaitable[tuple[int, Any]]],
) -> JSONResponse:
    """`fingerprint` hashes the request; it is called only when there is a key."""
    if key is None:
        status, body = await handle()
        return Json(body, status)
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"Idempotency-Key must have 1 to {MAX_KEY_LENGTH} characters.")
    scope = f"{principal.kind}:{principal.id}"
    reserved_at = utcnow()
    request = fingerprint()
    stored = await uow.idempotency.reserve(scope, key, request, reserved_at, KEEP_FOR)
    if stored is not None:
        if stored.request_hash != request:
            raise KeyReused("This Idempotency-Key was used with a different request.")
        if stored.status is None:
            raise KeyInFlight("A request with this Idempotency-Key is still in progress.")
        return Json(stored.body, stored.status, headers={"Idempotent-Replayed": "true"})
    try:
        status, body = await handle()
        if not await uow.idempotency.finish(scope, key, status, body, reserved_at=reserved_at):
            # our hold lapsed and another request has the key: undo our work
            raise KeyInFlight("A request with this Idempotency-Key is still in progress.")
    except Exception:
        # the request did no work: let the client try again with the same key
        # (its own work is rolled back first, so its connection is free again)
        await uow.rollback()
        await uow.idempotency.release(scope, key, reserved_at=reserved_at)
        raise
    return Json(body, status)
