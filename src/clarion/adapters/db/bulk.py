"""Multi-row inserts with each distinct value converted once.

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
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.util import await_

COPY_FROM = 50


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = connection.dialect
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    order = [key for key in (compiled.positiontup or keys)]
    columns = [table.c[key] for key in order]
    converters = [
        _converter(column.type.dialect_impl(dialect).bind_processor(dialect)) for column in columns
    ]
    if dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        records = [
            tuple(convert(row[key]) for key, convert in zip(order, converters, strict=True))
            for row in rows
        ]
        driver = connection.connection.driver_connection
        assert driver is not None
        await_(
            driver.copy_records_to_table(
                table.name, records=records, columns=[column.name for column in columns]
            )
        )
        return
    if compiled.positional:
        params: list[Any] = [
            tuple(convert(row[key]) for key, convert in zip(order, converters, strict=True))
            for row in rows
        ]
    else:
        params = [
            {key: convert(row[key]) for key, convert in zip(order, converters, strict=True)}
            for row in rows
        ]
    connection.exec_driver_sql(compiled.string, params)


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
