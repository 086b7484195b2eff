"""A batch's answer as plain JSON values.

A batch answers with up to 1,000 notifications. Validating each stored record
into `NotificationOut` and dumping it again cost more than storing it, so the
answer is built here directly. It is exactly what
`BatchResult.model_dump(mode="json", by_alias=True, exclude_none=True)` gives
(tests/unit/test_batch_json.py compares the two); `BatchResult` stays the
documented schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from clarion.domain.notifications import NotificationRecord

_MOMENT = TypeAdapter(datetime)


class BatchAnswer:
    """The items of one batch's answer, by index. A batch's rows share their
    accept time, so each distinct time is formatted once."""

    def __init__(self) -> None:
        self._items: dict[int, dict[str, Any]] = {}
        self._times: dict[tuple[datetime, Any], str] = {}

    def refused(self, index: int, status: int, error: dict[str, Any]) -> None:
        self._items[index] = {"index": index, "status": status, "error": error}

    def created(self, index: int, record: NotificationRecord) -> None:
        notification = self.notification(record)
        self._items[index] = {"index": index, "status": 201, "notification": notification}

    def body(self, size: int, created: int) -> dict[str, Any]:
        results = [self._items[index] for index in range(size)]
        return {"created": created, "failed": size - created, "results": results}

    def notification(self, record: NotificationRecord) -> dict[str, Any]:
        values = {
            "id": str(record.id),
            "userId": str(record.user_id),
            "channel": record.channel.value,
            "type": record.type.value,
            "priority": record.priority.value,
            "status": record.status.value,
            "payload": record.payload,
            "metadata": record.metadata,
            "scheduledFor": self._time(record.scheduled_for),
            "sentAt": self._time(record.sent_at),
            "failedAt": self._time(record.failed_at),
            "errorMessage": record.error_message,
            "attempts": record.attempts,
            "nextAttemptAt": self._time(record.next_attempt_at),
            "provider": record.provider,
            "providerMessageId": record.provider_message_id,
            "receipt": None if record.receipt is None else record.receipt.value,
            "readAt": self._time(record.read_at),
            "createdAt": self._time(record.created_at),
            "updatedAt": self._time(record.updated_at),
        }
        return {name: value for name, value in values.items() if value is not None}

    def _time(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        # equal instants with different offsets are written differently
        key = (value, value.utcoffset())
        text = self._times.get(key)
        if text is None:
            text = self._times[key] = _MOMENT.dump_python(value, mode="json")
        return text
