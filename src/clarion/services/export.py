"""Exports: every matching row, streamed as NDJSON or CSV with constant memory,
optionally with archived rows first; each export leaves a `data.export` entry
in the audit trail with its filters and how many rows it wrote."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol

import orjson

from clarion.adapters.db.documents import EVENT_FIELDS, NOTIFICATION_FIELDS, field_names
from clarion.adapters.db.export import Position, SqlExportReader
from clarion.domain.export import ExportFilters, ExportFormat, Kind, matches
from clarion.domain.identity import Principal, RequestContext
from clarion.observability.logging import get_logger
from clarion.ports import UnitOfWork
from clarion.services.users import audit_entry

log = get_logger(__name__)

CHUNK_ROWS = 1000
EXPORTS_ENTITY = uuid.uuid5(uuid.NAMESPACE_URL, "clarion:export")


class ArchivedDocuments(Protocol):
    def documents(self, kind: Kind, since: Any, until: Any) -> AsyncIterator[dict[str, Any]]: ...


def header(kind: Kind) -> list[str]:
    return field_names(NOTIFICATION_FIELDS if kind == "notifications" else EVENT_FIELDS)


def cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value


class Encoder:
    """Documents to bytes, one chunk at a time."""

    def __init__(self, kind: Kind, fmt: ExportFormat) -> None:
        self._names = header(kind)
        self._fmt = fmt

    def start(self) -> bytes:
        if self._fmt is ExportFormat.NDJSON:
            return b""
        return self.csv_lines([self._names])

    def encode(self, documents: list[dict[str, Any]]) -> bytes:
        if self._fmt is ExportFormat.NDJSON:
            return b"".join(orjson.dumps(d) + b"\n" for d in documents)
        return self.csv_lines([[cell(d[name]) for name in self._names] for d in documents])

    @staticmethod
    def csv_lines(rows: list[list[Any]]) -> bytes:
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return out.getvalue().encode()


class Exporter:
    def __init__(
        self,
        reader: SqlExportReader,
        archive: ArchivedDocuments | None,
        uow_factory: Callable[[], UnitOfWork],
    ) -> None:
        self._reader = reader
        self._archive = archive
        self._uow_factory = uow_factory

    async def stream(
        self,
        kind: Kind,
        filters: ExportFilters,
        fmt: ExportFormat,
        principal: Principal,
        context: RequestContext,
    ) -> AsyncIterator[bytes]:
        """The export's bytes. The audit entry is written when the stream ends,
        with `complete: false` when the client went away or a read failed."""
        encoder = Encoder(kind, fmt)
        written = 0
        complete = False
        try:
            yield encoder.start()
            async for documents in self.documents(kind, filters):
                written += len(documents)
                yield encoder.encode(documents)
            complete = True
        finally:
            await self.audit(kind, filters, fmt, principal, context, written, complete)

    async def documents(
        self, kind: Kind, filters: ExportFilters
    ) -> AsyncIterator[list[dict[str, Any]]]:
        if filters.include_archived and self._archive is not None:
            batch: list[dict[str, Any]] = []
            async for doc in self._archive.documents(kind, filters.since, filters.until):
                if matches(kind, filters, doc):
                    batch.append(doc)
                    if len(batch) >= CHUNK_ROWS:
                        yield batch
                        batch = []
            if batch:
                yield batch
        after: Position | None = None
        while True:
            documents, after = await self._reader.chunk(kind, filters, after, CHUNK_ROWS)
            if documents:
                yield documents
            if after is None:
                return

    async def audit(
        self,
        kind: Kind,
        filters: ExportFilters,
        fmt: ExportFormat,
        principal: Principal,
        context: RequestContext,
        rows: int,
        complete: bool,
    ) -> None:
        details: Mapping[str, Any] = {
            "kind": kind,
            "format": fmt.value,
            "filters": filters.described(),
            "rows": rows,
            "complete": complete,
        }
        entry = audit_entry(principal, "data.export", "export", EXPORTS_ENTITY, context, **details)
        try:
            async with self._uow_factory() as uow:
                await uow.audit.record(entry)
        except Exception as exc:  # the rows went out; say loudly that the trail missed it
            log.error("export.audit.failed", kind=kind, rows=rows, error=type(exc).__name__)
        if not complete:
            log.warning("export.incomplete", kind=kind, rows=rows)
