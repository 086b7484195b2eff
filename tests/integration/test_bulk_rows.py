"""Multi-row inserts on SQLite: every row arrives once, with its values converted
as SQLAlchemy would, whatever the batch size against the chunk size."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, Uuid, create_engine
from sqlalchemy.exc import IntegrityError

from clarion.adapters.db.bulk import CHUNK, insert_rows

ROWS = Table(
    "rows",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("n", Integer, nullable=False),
    Column("label", String),
    Column("at", DateTime(timezone=True)),
    Column("doc", JSON),
)
START = datetime(2026, 11, 28, 12, tzinfo=UTC)


def made(count: int) -> list[dict[str, object]]:
    return [
        {
            "id": uuid.uuid4(),
            "n": n,
            "label": None if n % 5 == 0 else f"row {n % 3}",
            "at": START + timedelta(seconds=n % 4),
            "doc": {"n": n, "list": [n, "x"]},
        }
        for n in range(count)
    ]


@pytest.mark.parametrize("count", [1, 2, CHUNK - 1, CHUNK, CHUNK + 1, 1000, 3 * CHUNK + 127])
def test_every_row_is_stored_once_with_its_values(tmp_path: Path, count: int) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    ROWS.create(engine)
    rows = made(count)
    with engine.begin() as connection:
        insert_rows(connection, ROWS, rows)
    with engine.connect() as connection:
        stored = [dict(r._mapping) for r in connection.execute(ROWS.select().order_by(ROWS.c.n))]
    assert [r["n"] for r in stored] == list(range(count))
    for want, got in zip(rows, stored, strict=True):
        assert got["id"] == want["id"]
        assert got["label"] == want["label"]
        assert got["at"].replace(tzinfo=UTC) == want["at"]
        assert got["doc"] == want["doc"]


def test_a_bad_row_in_a_later_chunk_fails_the_insert_and_the_transaction_keeps_nothing(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    ROWS.create(engine)
    rows = made(CHUNK + 10)
    rows[-1]["id"] = rows[0]["id"]  # a duplicate key, in the second chunk
    with pytest.raises(IntegrityError), engine.begin() as connection:
        insert_rows(connection, ROWS, rows)
    with engine.connect() as connection:
        assert connection.execute(ROWS.select()).all() == []
