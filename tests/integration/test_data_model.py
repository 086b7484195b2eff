"""The data model behaves the same on both databases."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from clarion.adapters.db.models import AuditLog, Event, Notification, User
from clarion.bootstrap import Container
from clarion.domain.enums import Channel, EventType, NotificationStatus, NotificationType


def a_user(email: str = "ada@example.com") -> User:
    return User(email=email, password="not-a-real-hash", name="Ada")


async def test_a_notification_round_trips_with_aware_utc_times(container: Container) -> None:
    scheduled = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(hours=1)
    async with container.sessions() as session:
        user = a_user()
        session.add(user)
        await session.flush()
        notification = Notification(
            user_id=user.id,
            channel=Channel.EMAIL,
            type=NotificationType.TRANSACTIONAL,
            payload={"subject": "Hi", "body": "Wörld ✓", "nested": {"n": [1, 2]}},
            metadata_={"correlationId": "abc"},
            scheduled_for=scheduled,
            status=NotificationStatus.SCHEDULED,
        )
        session.add(notification)
        await session.commit()
        notification_id = notification.id

    async with container.sessions() as session:
        stored = await session.get_one(Notification, notification_id)
        assert stored.payload["nested"] == {"n": [1, 2]}
        assert stored.payload["body"] == "Wörld ✓"
        assert stored.metadata_ == {"correlationId": "abc"}
        assert stored.scheduled_for == scheduled
        assert stored.scheduled_for is not None
        assert stored.scheduled_for.tzinfo is not None
        assert stored.created_at.tzinfo is not None
        assert stored.priority == "MEDIUM"


async def test_an_unknown_status_is_refused_by_the_database(container: Container) -> None:
    async with container.sessions() as session:
        user = a_user()
        session.add(user)
        await session.commit()
        with pytest.raises(IntegrityError):
            await session.execute(
                text(
                    "INSERT INTO notifications (id, user_id, channel, type, priority, status, "
                    "payload, created_at, updated_at) VALUES (:id, :user, 'EMAIL', "
                    "'ALERT', 'LOW', 'BOGUS', '{}', :now, :now)"
                ),
                {"id": user.id.hex, "user": user.id.hex, "now": datetime.now(UTC)},
            )


async def test_emails_are_unique(container: Container) -> None:
    async with container.sessions() as session:
        session.add(a_user("same@example.com"))
        await session.commit()
        session.add(a_user("same@example.com"))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_deleting_a_user_removes_their_notifications_and_keeps_the_audit_trail(
    container: Container,
) -> None:
    async with container.sessions() as session:
        user = a_user()
        session.add(user)
        await session.flush()
        notification = Notification(
            user_id=user.id, channel=Channel.SMS, type=NotificationType.ALERT, payload={}
        )
        session.add(notification)
        await session.flush()
        session.add(
            Event(
                notification_id=notification.id,
                user_id=user.id,
                type=EventType.CREATED,
                status=NotificationStatus.PENDING,
                channel=Channel.SMS,
            )
        )
        session.add(AuditLog(user_id=user.id, action="user.delete", entity_type="user"))
        await session.commit()

        await session.delete(user)
        await session.commit()

    async with container.sessions() as session:
        assert (await session.scalars(select(Notification))).all() == []
        assert (await session.scalars(select(Event))).all() == []
        trail = (await session.scalars(select(AuditLog))).all()
        assert len(trail) == 1
        assert trail[0].user_id is None
        assert trail[0].action == "user.delete"
