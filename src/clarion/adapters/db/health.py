"""The database as a readiness component."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


class DatabaseComponent:
    name = "database"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.kind = "sqlite" if engine.dialect.name == "sqlite" else "postgresql"

    async def ping(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
