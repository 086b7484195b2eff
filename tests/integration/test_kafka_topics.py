"""The topics Clarion creates on a real (Tansu) broker, and their retention."""

from pathlib import Path

from confluent_kafka.admin import AdminClient, ConfigResource

from clarion.adapters.queue.kafka import KafkaQueue
from clarion.bootstrap import build_container
from tests.conftest import make_settings
from tests.support.kafka import TansuBroker

DAY_MS = 86_400_000


def retention_ms(bootstrap: str, topic: str) -> int | None:
    """The topic's retention.ms, None when the broker reports none set."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    [future] = admin.describe_configs([resource]).values()
    entry = future.result(timeout=10).get("retention.ms")
    return int(entry.value) if entry is not None and entry.value is not None else None


async def test_retry_and_dead_letter_topics_are_created_with_their_retention(
    tmp_path: Path,
) -> None:
    # a broker of its own: the shared one may already hold topics of these names
    broker = TansuBroker(tmp_path / "tansu.log").start()
    settings = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'clarion.db'}",
        kafka_bootstrap_servers=broker.bootstrap,
        kafka_retry_retention_days=2,
    )
    container = build_container(settings)
    try:
        queue = container.queue
        assert isinstance(queue, KafkaQueue)
        await queue.ensure_topics()
        assert retention_ms(broker.bootstrap, queue.retry_topic) == 2 * DAY_MS
        assert retention_ms(broker.bootstrap, queue.dlq_topic) == 30 * DAY_MS  # the seed's
        # the lanes are the broker's to keep: a topic nobody set keeps its default
        lane = next(iter(queue.lane_topics.values()))
        assert retention_ms(broker.bootstrap, lane) not in (2 * DAY_MS, 30 * DAY_MS)
    finally:
        await container.close()
        broker.stop()
