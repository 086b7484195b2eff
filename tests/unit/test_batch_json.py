"""A batch's answer, built without pydantic, reads exactly as the documented
BatchResult schema dumps it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from clarion.api.batch_json import BatchAnswer
from clarion.api.notification_schemas import BatchItemResult, BatchResult, NotificationOut
from clarion.domain.enums import (
    Channel,
    NotificationStatus,
    NotificationType,
    Priority,
    Receipt,
)
from clarion.domain.notifications import NotificationRecord

ACCEPTED = datetime(2026, 11, 28, 9, 30, 15, 123456, tzinfo=UTC)


def record(**changes: object) -> NotificationRecord:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "user_id": uuid.uuid4(),
        "channel": Channel.IN_APP,
        "type": NotificationType.TRANSACTIONAL,
        "priority": Priority.MEDIUM,
        "status": NotificationStatus.PENDING,
        "payload": {"title": "Hi", "body": "There", "data": {"empty": None, "list": [1, None]}},
        "metadata": None,
        "scheduled_for": None,
        "sent_at": None,
        "failed_at": None,
        "error_message": None,
        "attempts": 0,
        "next_attempt_at": None,
        "provider": None,
        "provider_message_id": None,
        "created_at": ACCEPTED,
        "updated_at": ACCEPTED,
    }
    values.update(changes)
    return NotificationRecord(**values)  # type: ignore[arg-type]


def test_the_answer_matches_the_schema_for_every_kind_of_item() -> None:
    paris = timezone(timedelta(hours=1))
    records = [
        record(),
        record(
            channel=Channel.EMAIL,
            priority=Priority.URGENT,
            status=NotificationStatus.SCHEDULED,
            metadata={"correlationId": "abc", "nothing": None},
            scheduled_for=datetime(2030, 1, 1, 9, 0, tzinfo=UTC),
        ),
        record(
            status=NotificationStatus.SENT,
            sent_at=ACCEPTED.replace(microsecond=0),
            attempts=2,
            provider="sandbox",
            provider_message_id="m-1",
            receipt=Receipt.OPENED,
            read_at=ACCEPTED.astimezone(paris),  # the same instant, another offset
            updated_at=ACCEPTED + timedelta(seconds=1),
        ),
        record(
            status=NotificationStatus.FAILED,
            failed_at=ACCEPTED,
            error_message="refused",
            next_attempt_at=ACCEPTED + timedelta(minutes=5),
        ),
    ]
    error = {"error": {"code": "validation_error", "status": 422, "details": None}}
    expected = BatchResult(
        created=4,
        failed=1,
        results=[
            BatchItemResult(index=0, status=201, notification=NotificationOut.of(records[0])),
            BatchItemResult(index=1, status=422, error=error),
            *[
                BatchItemResult(index=n + 2, status=201, notification=NotificationOut.of(r))
                for n, r in enumerate(records[1:])
            ],
        ],
    ).model_dump(mode="json", by_alias=True, exclude_none=True)

    answer = BatchAnswer()
    answer.created(0, records[0])
    answer.refused(1, 422, error)
    for n, item in enumerate(records[1:]):
        answer.created(n + 2, item)

    assert answer.body(size=5, created=4) == expected
    # the instant read in Paris keeps its offset, as the schema writes it
    assert expected["results"][3]["notification"]["readAt"].endswith("+01:00")
