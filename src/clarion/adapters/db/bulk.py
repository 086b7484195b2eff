"""Multi-row inserts and updates with each distinct value converted once.

A batch's rows share most of their values (the time they were accepted, the
user, the channel), and converting a value for the driver (a datetime to text
on SQLite, say) costs more than inserting it. This binds through the columns'
own type processors, as SQLAlchemy would, but remembers each conversion for
the batch, then hands the driver one executemany; on PostgreSQL a batch of
`COPY_FROM` rows or more goes in by COPY instead, which asyncpg streams in
PostgreSQL's binary format.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Dialect, Table, Update, insert
from sqlalchemy.util import await_

COPY_FROM = 50
CHUNK = 256  # rows in one SQLite INSERT


@dataclass(frozen=True)
class _Statement:
    sql: str
    positional: bool
    order: list[str]  # the row keys in the order the statement binds them
    names: list[str]  # their column names, for COPY
    processors: list[Callable[[Any], Any] | None]


@lru_cache(maxsize=256)
def _statement(table: Table, keys: tuple[str, ...], dialect: Dialect) -> _Statement:
    """Compiled once per table, set of keys and dialect: compiling costs more
    than inserting the one row a single request writes."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    order = list(compiled.positiontup or keys)
    columns = [table.c[key] for key in order]
    return _Statement(
        sql=compiled.string,
        positional=compiled.positional,
        order=order,
        names=[column.name for column in columns],
        processors=[
            column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns
        ],
    )


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = connection.dialect
    statement = _statement(table, tuple(rows[0]), dialect)
    order = statement.order
    converters = [_converter(process) for process in statement.processors]
    if dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        records = [
            tuple(convert(row[key]) for key, convert in zip(order, converters, strict=True))
            for row in rows
        ]
        driver = connection.connection.driver_connection
        assert driver is not None
        await_(driver.copy_records_to_table(table.name, records=records, columns=statement.names))
        return
    if statement.positional:
        params: list[Any] = [
            tuple(convert(row[key]) for key, convert in zip(order, converters, strict=True))
            for row in rows
        ]
        if dialect.name == "sqlite" and len(params) > 1:
            _insert_in_chunks(connection, statement.sql, params)
            return
    else:
        params = [
            {key: convert(row[key]) for key, convert in zip(order, converters, strict=True)}
            for row in rows
        ]
    connection.exec_driver_sql(statement.sql, params)


def _insert_in_chunks(connection: Connection, sql: str, params: list[tuple[Any, ...]]) -> None:
    """SQLite: many rows to an INSERT, not one INSERT per row. The driver lets go
    of the GIL around every statement it steps, and taking it back waits for
    the event loop's thread to yield it (up to the 5 ms switch interval) when
    that thread is busy: an executemany of 1,000 rows beside a busy thread took
    seconds, the same rows in chunks of 256 a few milliseconds. Chunks are 256
    rows, then powers of two, so each table has at most nine statements to
    prepare and SQLite's statement cache keeps them."""
    start = 0
    while start < len(params):
        size = min(CHUNK, 1 << ((len(params) - start).bit_length() - 1))
        chunk = params[start : start + size]
        connection.exec_driver_sql(_many_rows(sql, size), tuple(chain.from_iterable(chunk)))
        start += size


@lru_cache(maxsize=128)
def _many_rows(sql: str, size: int) -> str:
    """`sql` (a one-row INSERT) for `size` rows."""
    head, one_row = sql.rsplit(" VALUES ", 1)
    return f"{head} VALUES {', '.join([one_row] * size)}"


@dataclass(frozen=True)
class _Prepared:
    sql: str
    order: list[str]  # the bind parameters in the order the statement takes them
    constants: dict[str, Any]  # the values the statement itself binds
    processors: list[Callable[[Any], Any] | None]


@lru_cache(maxsize=64)
def _prepared(statement: Update, dialect: Dialect) -> _Prepared:
    compiled = statement.compile(dialect=dialect)
    # SQLite's and asyncpg's drivers both take positional parameters
    assert compiled.positional
    assert compiled.positiontup is not None
    order = list(compiled.positiontup)
    return _Prepared(
        sql=compiled.string,
        order=order,
        constants=dict(compiled.params),
        processors=[
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in order
        ],
    )


def execute_rows(connection: Connection, statement: Update, rows: Sequence[dict[str, Any]]) -> None:
    """`statement` (an UPDATE with named bind parameters) once per row, in one
    executemany, each distinct value converted once; the statement's own values
    fill the parameters a row does not name. Through `connection.execute`,
    SQLAlchemy built each row's parameters again, a few microseconds a row."""
    if not rows:
        return
    prepared = _prepared(statement, connection.dialect)
    constants = prepared.constants
    converters = [_converter(process) for process in prepared.processors]
    params = [
        tuple(
            convert(row[name] if name in row else constants[name])
            for name, convert in zip(prepared.order, converters, strict=True)
        )
        for row in rows
    ]
    connection.exec_driver_sql(prepared.sql, params)


def _converter(process: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    if process is None:
        return _same
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = converted = process(value)
            return converted
        except TypeError:  # unhashable (a JSON document): converted every time
            return process(value)

    return convert


def _same(value: Any) -> Any:
    return value
