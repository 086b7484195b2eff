"""The reference ceiling: a FastAPI endpoint that validates a body and answers,
with no database, queue or auth, served the way Clarion is served."""

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Body(BaseModel):
    userId: str  # noqa: N815 (the same JSON as Clarion's)
    channel: str
    type: str
    payload: dict[str, Any]


@app.post("/notifications", status_code=201)
async def accept(body: Body) -> dict[str, str]:
    return {"status": "PENDING", "userId": body.userId}
